// Larkline: an imaginary carrier whose media WebSocket speaks JSON, with base64 μ-law audio and
// no DTMF on the stream (its keypad events come by webhook, if at all). A third party's adapter,
// written against the published @switchboard/core only.
//
// Carrier → bridge:
//   {"event":"call.started","streamId","callId","codec":"PCMU","rate":8000,"from","to","params":{}}
//   {"event":"call.audio","streamId","seq":n,"ts":ms,"audio":"<base64>"}
//   {"event":"call.played","streamId","label":"<checkpoint>"}
//   {"event":"call.ended","streamId","reason"}
// Bridge → carrier:
//   {"event":"play","streamId","audio":"<base64>"}   {"event":"checkpoint","streamId","label"}
//   {"event":"flush","streamId"}                      {"event":"hangup","streamId"}
import { ProtocolError, TelephonyRealtimeTransport, base64Decode, base64Encode } from '@switchboard/core';

const PROVIDER = 'larkline';
const MULAW = Object.freeze({ encoding: 'pcmu', sampleRate: 8000, channels: 1 });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function parse(frame, fail) {
  if (typeof frame !== 'string') fail('binary frames are not part of the protocol');
  let message;
  try {
    message = JSON.parse(frame);
  } catch {
    fail('not JSON');
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) fail('not a JSON object');
  if (typeof message.event !== 'string') fail('no event');
  return message;
}

function audioOf(message, fail) {
  const audio = message.audio;
  if (typeof audio !== 'string' || audio.length % 4 !== 0 || !BASE64.test(audio)) fail('audio is not base64');
  return base64Decode(audio);
}

function optionalNumber(value, name, fail) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(`${name} is not a number >= 0`);
  return value;
}

function strings(value) {
  const out = {};
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  }
  return out;
}

/** Larkline's media stream, both ways. */
export class LarklineProtocol {
  name = PROVIDER;
  defaultFormat = MULAW;
  capabilities = Object.freeze({
    playbackAck: 'mark', // call.played answers each checkpoint once the audio before it played
    ackOnClear: 'none', // checkpoints pending at a flush are never answered
    clear: true,
    dtmfIn: false,
    dtmfOut: false,
  });
  #streamId;

  decode(frame) {
    const fail = (message) => {
      throw new ProtocolError(PROVIDER, message, { frame });
    };
    const message = parse(frame, fail);
    switch (message.event) {
      case 'call.started': {
        if (typeof message.streamId !== 'string' || message.streamId === '') fail('call.started without a streamId');
        if (message.codec !== undefined && message.codec !== 'PCMU')
          fail(`unsupported codec ${String(message.codec).slice(0, 16)}`);
        if (message.rate !== undefined && message.rate !== 8000) fail('unsupported rate');
        this.#streamId = message.streamId;
        const event = {
          type: 'call_start',
          streamId: message.streamId,
          format: MULAW,
          customParameters: strings(message.params),
          raw: message,
        };
        if (typeof message.callId === 'string') event.callId = message.callId;
        if (typeof message.from === 'string') event.from = message.from;
        if (typeof message.to === 'string') event.to = message.to;
        return [event];
      }
      case 'call.audio': {
        const event = { type: 'audio', payload: audioOf(message, fail) };
        const sequence = optionalNumber(message.seq, 'seq', fail);
        const timestampMs = optionalNumber(message.ts, 'ts', fail);
        if (sequence !== undefined) event.sequence = sequence;
        if (timestampMs !== undefined) event.timestampMs = timestampMs;
        return [event];
      }
      case 'call.played':
        if (typeof message.label !== 'string') fail('call.played without a label');
        return [{ type: 'playback_ack', name: message.label }];
      case 'call.ended':
        return [{ type: 'call_end', reason: typeof message.reason === 'string' ? message.reason : 'ended' }];
      default:
        return [];
    }
  }

  encode(command) {
    const streamId = this.#streamId;
    switch (command.type) {
      case 'audio':
        return [JSON.stringify({ event: 'play', streamId, audio: base64Encode(command.payload) })];
      case 'mark':
        return [JSON.stringify({ event: 'checkpoint', streamId, label: command.name })];
      case 'clear':
        return [JSON.stringify({ event: 'flush', streamId })];
      case 'hangup':
        return [JSON.stringify({ event: 'hangup', streamId })];
      default:
        return []; // no DTMF out
    }
  }
}

/** Larkline's side of the call, for offline tests and the conformance harness. */
export class LarklinePeerSimulator {
  #streamId = 'LS-unknown';

  encodeInbound(event) {
    switch (event.type) {
      case 'call_start': {
        this.#streamId = event.streamId;
        const frame = {
          event: 'call.started',
          streamId: event.streamId,
          codec: 'PCMU',
          rate: 8000,
          params: event.customParameters,
        };
        if (event.callId !== undefined) frame.callId = event.callId;
        if (event.from !== undefined) frame.from = event.from;
        if (event.to !== undefined) frame.to = event.to;
        return [JSON.stringify(frame)];
      }
      case 'audio': {
        const frame = { event: 'call.audio', streamId: this.#streamId, audio: base64Encode(event.payload) };
        if (event.sequence !== undefined) frame.seq = event.sequence;
        if (event.timestampMs !== undefined) frame.ts = event.timestampMs;
        return [JSON.stringify(frame)];
      }
      case 'playback_ack':
        return [JSON.stringify({ event: 'call.played', streamId: this.#streamId, label: event.name })];
      case 'call_end':
        return [JSON.stringify({ event: 'call.ended', streamId: this.#streamId, reason: event.reason ?? 'hangup' })];
      default:
        return []; // no DTMF on Larkline's stream, no flush confirmation
    }
  }

  decodeOutbound(frame) {
    const fail = (message) => {
      throw new Error(`larkline would refuse this frame: ${message}`);
    };
    const message = parse(frame, fail);
    if (message.streamId !== this.#streamId) fail(`streamId ${JSON.stringify(message.streamId)} is not the call's`);
    switch (message.event) {
      case 'play':
        return [{ type: 'audio', payload: audioOf(message, fail) }];
      case 'checkpoint':
        if (typeof message.label !== 'string' || message.label === '') fail('checkpoint without a label');
        return [{ type: 'mark', name: message.label }];
      case 'flush':
        return [{ type: 'clear' }];
      case 'hangup':
        return [{ type: 'hangup' }];
      default:
        return fail(`unknown event ${JSON.stringify(message.event)}`);
    }
  }

  malformedFrames() {
    return [
      'not json at all',
      '[1,2,3]',
      JSON.stringify({ streamId: this.#streamId }),
      JSON.stringify({ event: 'call.audio', streamId: this.#streamId, audio: 'no base64 here!' }),
      JSON.stringify({ event: 'call.audio', streamId: this.#streamId, seq: -1, audio: 'AAAA' }),
    ];
  }
}

/** The adapter as `switchboard-conformance run --adapter larkline-switchboard` loads it. */
export const conformance = {
  name: PROVIDER,
  capabilities: new LarklineProtocol().capabilities,
  createTransport: ({ connection, url, now, clock }) =>
    new TelephonyRealtimeTransport({ connection, protocol: new LarklineProtocol(), url, now, clock }),
  createPeerSimulator: () => new LarklinePeerSimulator(),
};
