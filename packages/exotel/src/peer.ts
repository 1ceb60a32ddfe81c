import {
  ConfigError,
  ProtocolError,
  base64Encode,
  durationMs,
  type AudioFormat,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import {
  peerAudioConverter,
  PeerMediaCounter,
  type PeerSimulator,
  assertTextFrame,
  checkExactKeys,
  checkOutboundStreamId,
  readFrameObject,
  readOutboundMark,
  readOutboundMedia,
  rejectOutboundEvent,
} from '@switchboard/core/protocol';
import { EXOTEL_FRAME_RULES } from './protocol.js';

export type ExotelPeerSimulatorOptions = {
  /** `stream_sid` used when a `call_start` event carries an empty `streamId`. Generated when absent. */
  streamSid?: string;
  /** `call_sid` used when a `call_start` event has no `callId`. Generated when absent. */
  callSid?: string;
  /** `account_sid` put in `start` and `stop`. Default a made-up one. */
  accountSid?: string;
  /** Sampling rate of the stream (`?sample-rate=`): 8000 (default), 16000 or 24000. */
  sampleRate?: 8000 | 16000 | 24000;
  /**
   * The stream's codec: `slin` (16-bit PCM, default) or `mulaw` (G.711 μ-law, ExoML's
   * `audio/x-mulaw;rate=8000`; `sampleRate` must then be 8000). Outbound chunks are held to the
   * same byte rules either way.
   */
  mediaEncoding?: 'slin' | 'mulaw';
  /**
   * The format of the audio events passed to `encodeInbound` (μ-law, A-law or L16 at any rate),
   * converted to the stream's codec and rate. Default: already the stream's format.
   */
  inputFormat?: AudioFormat;
  /**
   * How `start.media_format` reads: `documented` (`{"encoding":"audio/x-raw","sample_rate":"8000","bit_rate":"16"}`,
   * as the protocol page shows it) or `live` (`{"encoding":"base64","sample_rate":"8000","bit_rate":"128kbps"}`,
   * as live Voicebot streams send it). Default `documented`.
   */
  startFormat?: 'documented' | 'live';
};

/** Code of the ProtocolError raised for an outbound frame Exotel would not accept. */
export const EXOTEL_INVALID_FRAME_CODE = 'exotel_invalid_frame';
/** Code of the ProtocolError raised for an audio chunk outside Exotel's size rules. */
export const EXOTEL_INVALID_CHUNK_CODE = 'exotel_invalid_chunk';

function invalid(message: string, frame: unknown, code = EXOTEL_INVALID_FRAME_CODE): never {
  throw new ProtocolError('exotel', message, { frame, code });
}

function randomHex(bytes: number): string {
  let out = '';
  for (const b of globalThis.crypto.getRandomValues(new Uint8Array(bytes))) out += b.toString(16).padStart(2, '0');
  return out;
}

/**
 * Exotel's side of a Voicebot stream, for tests and offline development.
 *
 * `encodeInbound` writes what Exotel sends (`connected`, `start` with string counters and
 * `sample_rate`, `media`, `dtmf`, `mark`, `stop`), converting caller audio to the stream's codec
 * (slin, or μ-law with `mediaEncoding: 'mulaw'`);
 * `decodeOutbound` accepts `media`, `mark` and `clear` for the active `stream_sid` and REJECTS any
 * media chunk outside Exotel's rules (under 3200 bytes, over 100 000 bytes, not a multiple of 320
 * bytes) with a `ProtocolError` of code `exotel_invalid_chunk`: Exotel would play it with gaps.
 */
export class ExotelPeerSimulator implements PeerSimulator {
  readonly #options: ExotelPeerSimulatorOptions;
  readonly #accountSid: string;
  readonly #rate: number;
  readonly #mulaw: boolean;
  readonly #input: AudioFormat;
  #convert: (bytes: Uint8Array) => Uint8Array;
  #connected = false;
  #sequenceNumber = 0;
  readonly #counter = new PeerMediaCounter();
  #streamSid: string | undefined;
  #callSid: string | undefined;

  constructor(options: ExotelPeerSimulatorOptions = {}) {
    this.#options = options;
    this.#accountSid = options.accountSid ?? `exotel${randomHex(8)}`;
    this.#rate = options.sampleRate ?? 8000;
    if (![8000, 16000, 24000].includes(this.#rate))
      throw new ConfigError('ExotelPeerSimulator: sampleRate must be 8000, 16000 or 24000');
    const encoding = options.mediaEncoding ?? 'slin';
    if (encoding !== 'slin' && encoding !== 'mulaw')
      throw new ConfigError('ExotelPeerSimulator: mediaEncoding must be "slin" or "mulaw"');
    this.#mulaw = encoding === 'mulaw';
    if (this.#mulaw && this.#rate !== 8000)
      throw new ConfigError('ExotelPeerSimulator: a μ-law stream runs at 8000 Hz');
    this.#input = options.inputFormat ?? this.format;
    this.#convert = peerAudioConverter(this.#input, this.format);
  }

  /** The wire format: slin at the stream's rate, or μ-law 8 kHz. */
  get format(): AudioFormat {
    return { encoding: this.#mulaw ? 'pcmu' : 'l16', sampleRate: this.#rate, channels: 1 };
  }

  get streamSid(): string | undefined {
    return this.#streamSid;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    const frames: string[] = [];
    if (!this.#connected) {
      this.#connected = true;
      frames.push('{"event":"connected"}');
    }
    switch (event.type) {
      case 'call_start':
        frames.push(this.#start(event));
        break;
      case 'audio': {
        const wire = this.#convert(event.payload);
        if (wire.byteLength === 0) break;
        const { chunk, timestampMs } = this.#counter.next(event, durationMs(this.format, wire.byteLength));
        frames.push(
          this.#frame('media', {
            media: { chunk: String(chunk), timestamp: String(Math.round(timestampMs)), payload: base64Encode(wire) },
          }),
        );
        break;
      }
      case 'dtmf': {
        const dtmf: Record<string, string> = { digit: event.digit };
        if (event.durationMs !== undefined) dtmf['duration'] = String(event.durationMs);
        frames.push(this.#frame('dtmf', { dtmf }));
        break;
      }
      case 'playback_ack':
        frames.push(this.#frame('mark', { mark: { name: event.name } }));
        break;
      case 'call_end':
        frames.push(
          this.#frame('stop', {
            stop: { call_sid: this.#activeCall(), account_sid: this.#accountSid, reason: event.reason ?? 'callended' },
          }),
        );
        break;
      case 'playback_cleared':
      case 'flow_control':
        break;
    }
    return frames;
  }

  /**
   * Frames an Exotel bridge must refuse as malformed (for `errors.malformed` of the conformance
   * harness): a media payload that is not base64, a mark without a name, a dtmf without a digit,
   * and a binary frame (Exotel sends JSON text only).
   */
  malformedFrames(): Array<string | Uint8Array> {
    const sid = JSON.stringify(this.#streamSid ?? '00000000000000000000000000000000');
    return [
      `{"event":"media","stream_sid":${sid},"media":{"payload":"%%% not base64 %%%"}}`,
      `{"event":"mark","stream_sid":${sid},"mark":{}}`,
      `{"event":"dtmf","stream_sid":${sid},"dtmf":{}}`,
      Uint8Array.of(0x7b, 0x7d),
    ];
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    assertTextFrame(frame, invalid, 'stream frames must be JSON text, not binary');
    const message = readFrameObject(frame, invalid);
    const event = message['event'];
    let command: OutboundCommand;
    if (event === 'media') {
      checkExactKeys(message, ['event', 'stream_sid', 'media'], [], 'the frame', frame, invalid);
      const bytes = readOutboundMedia(message, frame, invalid);
      const { minBytes, maxBytes, multipleOf } = EXOTEL_FRAME_RULES;
      const n = bytes.byteLength;
      if (n < minBytes || n > maxBytes || n % multipleOf !== 0) {
        invalid(
          `media chunk of ${n} bytes: Exotel needs ${minBytes} to ${maxBytes} bytes in multiples of ${multipleOf}`,
          frame,
          EXOTEL_INVALID_CHUNK_CODE,
        );
      }
      command = { type: 'audio', payload: bytes };
    } else if (event === 'mark') {
      checkExactKeys(message, ['event', 'stream_sid', 'mark'], [], 'the frame', frame, invalid);
      command = { type: 'mark', name: readOutboundMark(message, frame, invalid, { nonEmpty: true }) };
    } else if (event === 'clear') {
      checkExactKeys(message, ['event', 'stream_sid'], [], 'the frame', frame, invalid);
      command = { type: 'clear' };
    } else {
      rejectOutboundEvent(event, 'media, mark and clear', frame, invalid);
    }
    checkOutboundStreamId(message, 'stream_sid', this.#streamSid, frame, invalid);
    return [command];
  }

  #frame(event: string, body: Record<string, unknown>): string {
    return JSON.stringify({ event, sequence_number: this.#next(), stream_sid: this.#activeStream(), ...body });
  }

  #next(): string {
    this.#sequenceNumber += 1;
    return String(this.#sequenceNumber);
  }

  #activeStream(): string {
    this.#streamSid ??= this.#options.streamSid ?? randomHex(16);
    return this.#streamSid;
  }

  #activeCall(): string {
    this.#callSid ??= this.#options.callSid ?? randomHex(16);
    return this.#callSid;
  }

  #start(event: Extract<CallEvent, { type: 'call_start' }>): string {
    this.#streamSid = event.streamId || this.#options.streamSid || randomHex(16);
    this.#callSid = event.callId ?? this.#options.callSid ?? randomHex(16);
    // A new stream: counters restart and the converter forgets the old stream's filter state.
    this.#counter.reset();
    this.#convert = peerAudioConverter(this.#input, this.format);
    const start: Record<string, unknown> = {
      stream_sid: this.#streamSid,
      call_sid: this.#callSid,
      account_sid: this.#accountSid,
    };
    if (event.from !== undefined) start['from'] = event.from;
    if (event.to !== undefined) start['to'] = event.to;
    start['custom_parameters'] = { ...event.customParameters };
    const bits = this.#mulaw ? 8 : 16;
    start['media_format'] =
      this.#options.startFormat === 'live'
        ? { encoding: 'base64', sample_rate: String(this.#rate), bit_rate: `${(this.#rate * bits) / 1000}kbps` }
        : {
            encoding: this.#mulaw ? 'audio/x-mulaw' : 'audio/x-raw',
            sample_rate: String(this.#rate),
            bit_rate: String(bits),
          };
    return JSON.stringify({ event: 'start', sequence_number: this.#next(), stream_sid: this.#streamSid, start });
  }
}
