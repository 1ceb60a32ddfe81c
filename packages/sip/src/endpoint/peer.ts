import {
  ConfigError,
  ProtocolError,
  decodeALaw,
  decodeMuLaw,
  encodeALaw,
  encodeMuLaw,
  type AudioFormat,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';
import {
  PT_CN,
  PT_PCMA,
  PT_PCMU,
  dtmfDigit,
  dtmfEventCode,
  isRtcp,
  parseRtp,
  parseTelephoneEvent,
  random16,
  random32,
  serializeRtp,
  serializeTelephoneEvent,
  tsDelta,
} from './rtp/packet.js';
import { randomToken } from './sip/message.js';

const NAME = 'sip';
const MULAW_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

export type RtpPeerSimulatorOptions = {
  /** The codec on the wire (G.711 μ-law or A-law at 8 kHz). Default: the `call_start` format. */
  format?: AudioFormat;
  /** The format of the audio events passed to `encodeInbound`, converted to `format`. Default: `format`. */
  inputFormat?: AudioFormat;
  /** Payload type offered for telephone events. Default 101. */
  telephoneEventPayloadType?: number;
  /** Offer comfort noise (the bridge marks a barge-in with it). Default true. */
  comfortNoise?: boolean;
  /** Duration of a digit whose event names none, ms. Default 100. */
  dtmfDurationMs?: number;
  /** Packet time, ms. Default 20. */
  ptimeMs?: number;
  /** Address written into the INVITE and its SDP. Default 127.0.0.1. */
  address?: string;
};

type Stream = {
  ssrc: number;
  seq: number;
  tsBase: number;
  nextTs: number;
  lastChunk: number | undefined;
  started: boolean;
};

/**
 * The phone's side of a SIP call's media, for tests and offline development: `encodeInbound`
 * turns call events into what a SIP user agent sends (an INVITE with an SDP offer for
 * `call_start`, RTP packets for audio, RFC 4733 events for DTMF, a BYE for `call_end`);
 * `decodeOutbound` reads the bridge's RTP as strictly as a careful receiver (one SSRC, sequence
 * numbers without gaps, timestamps that never run backwards and are contiguous within a
 * talkspurt, one packet time per audio packet, negotiated payload types only) and throws a
 * `ProtocolError` for anything else. A comfort-noise packet ends what was playing: `clear`.
 */
export class RtpPeerSimulator implements PeerSimulator {
  readonly #options: RtpPeerSimulatorOptions;
  readonly #callId = `${randomToken(12)}@peer.invalid`;
  readonly #fromTag = randomToken(6);
  #cseq = 0;
  #wire: AudioFormat;
  #stream: Stream | undefined;
  // What the bridge sends.
  #out: { ssrc: number | undefined; seq: number | undefined; end: number | undefined; dtmfDone: number[] } = {
    ssrc: undefined,
    seq: undefined,
    end: undefined,
    dtmfDone: [],
  };

  constructor(options: RtpPeerSimulatorOptions = {}) {
    for (const [name, format] of [
      ['format', options.format],
      ['inputFormat', options.inputFormat],
    ] as const) {
      if (format && !(format.sampleRate === 8000 && (format.encoding === 'pcmu' || format.encoding === 'pcma'))) {
        throw new ConfigError(`RtpPeerSimulator: \`${name}\` must be G.711 (pcmu or pcma) at 8000 Hz.`);
      }
    }
    this.#options = options;
    this.#wire = options.format ?? MULAW_8K;
  }

  get #ptime(): number {
    return this.#options.ptimeMs ?? 20;
  }

  get #audioPt(): number {
    return this.#wire.encoding === 'pcma' ? PT_PCMA : PT_PCMU;
  }

  get #eventPt(): number {
    return this.#options.telephoneEventPayloadType ?? 101;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    switch (event.type) {
      case 'call_start':
        return [this.#invite(event)];
      case 'audio':
        return this.#audio(event);
      case 'dtmf':
        return this.#dtmf(event);
      case 'call_end':
        return [this.#request('BYE', '')];
      default:
        // No playback acks, no clear confirmations, no flow control on RTP.
        return [];
    }
  }

  /**
   * Frames a bridge must refuse as malformed on an RTP media connection (for `errors.malformed` of
   * the conformance harness): a packet shorter than the RTP header, a packet of RTP version 1, and
   * a text frame that is no SIP message.
   */
  malformedFrames(): Array<string | Uint8Array> {
    return [
      Uint8Array.of(0x80, 0x00, 0x00),
      Uint8Array.of(0x40, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff),
      'this is not a SIP message',
    ];
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    if (typeof frame === 'string')
      throw new ProtocolError(NAME, 'the bridge sent a text frame; only RTP is expected', { frame });
    if (isRtcp(frame)) return [];
    let packet;
    try {
      packet = parseRtp(frame);
    } catch (error) {
      throw new ProtocolError(NAME, `the bridge sent a malformed RTP packet: ${(error as Error).message}`, { frame });
    }
    const out = this.#out;
    const fail = (message: string): never => {
      throw new ProtocolError(NAME, message, { frame });
    };
    if (out.ssrc !== undefined && packet.ssrc !== out.ssrc) fail(`SSRC changed from ${out.ssrc} to ${packet.ssrc}`);
    if (out.seq !== undefined && packet.sequence !== ((out.seq + 1) & 0xffff))
      fail(`sequence ${packet.sequence} follows ${out.seq}`);
    out.ssrc = packet.ssrc;
    out.seq = packet.sequence;
    const frameSamples = this.#ptime * 8;
    const sinceEnd = out.end === undefined ? 0 : tsDelta(packet.timestamp, out.end);
    switch (packet.payloadType) {
      case this.#audioPt: {
        if (packet.payload.byteLength !== frameSamples)
          fail(`audio packet of ${packet.payload.byteLength} bytes, expected ${frameSamples} (${this.#ptime} ms)`);
        if (out.end === undefined && !packet.marker) fail('the first audio packet has no marker bit');
        if (!packet.marker && sinceEnd !== 0) fail(`timestamp jumps by ${sinceEnd} samples within a talkspurt`);
        if (sinceEnd < 0) fail(`timestamp runs ${-sinceEnd} samples backwards`);
        out.end = (packet.timestamp + packet.payload.byteLength) >>> 0;
        return [{ type: 'audio', payload: packet.payload.slice() }];
      }
      case this.#eventPt: {
        if (sinceEnd < 0) fail(`telephone event starts ${-sinceEnd} samples before the audio sent`);
        const event = parseTelephoneEvent(packet.payload);
        const digit = dtmfDigit(event.event);
        if (digit === undefined) fail(`telephone event ${event.event} is not a digit`);
        if (!event.end || out.dtmfDone.includes(packet.timestamp)) return [];
        out.dtmfDone.push(packet.timestamp);
        if (out.dtmfDone.length > 16) out.dtmfDone.shift();
        out.end = (packet.timestamp + event.duration) >>> 0;
        return [{ type: 'dtmf', digits: digit! }];
      }
      case PT_CN:
        if (this.#options.comfortNoise === false) fail('comfort noise was not offered');
        if (sinceEnd < 0) fail(`comfort noise starts ${-sinceEnd} samples before the end of the audio sent`);
        // Silence from here: what was still queued is not played.
        return [{ type: 'clear' }];
      default:
        return fail(`payload type ${packet.payloadType} was not offered`);
    }
  }

  #request(method: string, body: string, extra: string[] = []): string {
    this.#cseq++;
    const lines = [
      `${method} sip:bridge@127.0.0.1 SIP/2.0`,
      `Via: SIP/2.0/WS peer.invalid;branch=z9hG4bK${randomToken(8)}`,
      'Max-Forwards: 70',
      `From: <sip:caller@peer.invalid>;tag=${this.#fromTag}`,
      'To: <sip:bridge@127.0.0.1>',
      `Call-ID: ${this.#callId}`,
      `CSeq: ${this.#cseq} ${method}`,
      ...extra,
    ];
    if (body) lines.push('Content-Type: application/sdp');
    lines.push(`Content-Length: ${new TextEncoder().encode(body).byteLength}`);
    return `${lines.join('\r\n')}\r\n\r\n${body}`;
  }

  #invite(event: Extract<CallEvent, { type: 'call_start' }>): string {
    if (!this.#options.format) {
      if (!(
        event.format.sampleRate === 8000 &&
        (event.format.encoding === 'pcmu' || event.format.encoding === 'pcma')
      )) {
        throw new ConfigError(
          `RtpPeerSimulator: the call's format ${event.format.encoding}@${event.format.sampleRate} is not G.711 at 8 kHz.`,
        );
      }
      this.#wire = { ...event.format };
    }
    // A new stream: a new source, with its own numbering.
    this.#stream = {
      ssrc: random32(),
      seq: random16(),
      tsBase: random32(),
      nextTs: 0,
      lastChunk: undefined,
      started: false,
    };
    const address = this.#options.address ?? '127.0.0.1';
    const pt = this.#audioPt;
    const te = this.#eventPt;
    const payloads = [pt, te, ...(this.#options.comfortNoise === false ? [] : [PT_CN])];
    const sdp = [
      'v=0',
      `o=- ${this.#stream.ssrc} ${this.#cseq + 1} IN IP4 ${address}`,
      's=-',
      `c=IN IP4 ${address}`,
      't=0 0',
      `m=audio 40000 RTP/AVP ${payloads.join(' ')}`,
      `a=rtpmap:${pt} ${pt === PT_PCMA ? 'PCMA' : 'PCMU'}/8000`,
      `a=rtpmap:${te} telephone-event/8000`,
      `a=fmtp:${te} 0-16`,
      ...(this.#options.comfortNoise === false ? [] : [`a=rtpmap:${PT_CN} CN/8000`]),
      `a=ptime:${this.#ptime}`,
      'a=sendrecv',
      `a=label:${event.streamId}`,
      '',
    ].join('\r\n');
    const extra: string[] = [];
    for (const [name, value] of Object.entries(event.customParameters)) {
      if (/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(name) && !/[\r\n]/.test(value)) extra.push(`X-${name}: ${value}`);
    }
    return this.#request('INVITE', sdp, extra).replace(
      `Call-ID: ${this.#callId}`,
      `Call-ID: ${event.callId ?? this.#callId}`,
    );
  }

  #streamOrStart(): Stream {
    this.#stream ??= {
      ssrc: random32(),
      seq: random16(),
      tsBase: random32(),
      nextTs: 0,
      lastChunk: undefined,
      started: false,
    };
    return this.#stream;
  }

  #packet(payloadType: number, marker: boolean, timestamp: number, payload: Uint8Array): Uint8Array {
    const stream = this.#streamOrStart();
    const packet = serializeRtp({
      payloadType,
      marker,
      sequence: stream.seq,
      timestamp: (stream.tsBase + timestamp) >>> 0,
      ssrc: stream.ssrc,
      payload,
    });
    stream.seq = (stream.seq + 1) & 0xffff;
    return packet;
  }

  #audio(event: Extract<CallEvent, { type: 'audio' }>): Uint8Array[] {
    const stream = this.#streamOrStart();
    const input = this.#options.inputFormat ?? this.#wire;
    let payload = event.payload;
    if (input.encoding !== this.#wire.encoding) {
      const linear = input.encoding === 'pcmu' ? decodeMuLaw(payload) : decodeALaw(payload);
      payload = this.#wire.encoding === 'pcmu' ? encodeMuLaw(linear) : encodeALaw(linear);
    }
    // Frames the carrier never got (a jump in its counter) were lost on the way: their sequence
    // numbers are skipped too.
    if (event.sequence !== undefined && stream.lastChunk !== undefined && event.sequence > stream.lastChunk + 1) {
      stream.seq = (stream.seq + (event.sequence - stream.lastChunk - 1)) & 0xffff;
    }
    if (event.sequence !== undefined) stream.lastChunk = event.sequence;
    // The event's own time where it has one (a trace's media timestamp), else right after what went before.
    let ts =
      event.timestampMs !== undefined && Number.isFinite(event.timestampMs)
        ? Math.round(event.timestampMs * 8)
        : stream.nextTs;
    const frame = this.#ptime * 8;
    const out: Uint8Array[] = [];
    for (let offset = 0; offset < payload.byteLength; offset += frame) {
      const chunk = payload.subarray(offset, Math.min(payload.byteLength, offset + frame));
      out.push(this.#packet(this.#audioPt, !stream.started, ts, chunk));
      stream.started = true;
      ts += chunk.byteLength;
    }
    stream.nextTs = ts;
    return out;
  }

  /** A digit as a phone sends it: a first packet, then the end packet three times. */
  #dtmf(event: Extract<CallEvent, { type: 'dtmf' }>): Uint8Array[] {
    const code = dtmfEventCode(event.digit);
    if (code === undefined) return [];
    const stream = this.#streamOrStart();
    const duration = Math.round((event.durationMs ?? this.#options.dtmfDurationMs ?? 100) * 8);
    const ts = stream.nextTs;
    const out = [
      this.#packet(
        this.#eventPt,
        true,
        ts,
        serializeTelephoneEvent({ event: code, end: false, volume: 10, duration: Math.min(duration, this.#ptime * 8) }),
      ),
    ];
    for (let i = 0; i < 3; i++)
      out.push(
        this.#packet(
          this.#eventPt,
          false,
          ts,
          serializeTelephoneEvent({ event: code, end: true, volume: 10, duration }),
        ),
      );
    // The tone took its time on the media clock: what follows starts after it. (A second digit at
    // the same timestamp would read as a retransmission of the first one's end.)
    stream.nextTs = ts + duration;
    return out;
  }
}
