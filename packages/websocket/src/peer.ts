import {
  ConfigError,
  ProtocolError,
  durationMs,
  silence,
  type AudioFormat,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';
import { AudioConverter, checkFormat, frameBytes, splitBytes } from './formats.js';
import type { PeerCallState, RawWebSocketPreset } from './preset.js';
import { resolvePreset, type RawWebSocketPresetName } from './presets/index.js';
import { DEFAULT_FRAME_MS, DEFAULT_MAX_MESSAGE_BYTES } from './protocol.js';

/** Longest timestamp gap the peer fills with silence, in ms. */
const MAX_GAP_FILL_MS = 10_000;

export type RawWebSocketPeerSimulatorOptions = {
  /** The carrier's dialect. */
  preset: RawWebSocketPresetName | RawWebSocketPreset;
  /**
   * The carrier's audio format on the wire, announced by its start message. Default: the format
   * of the `call_start` event passed to `encodeInbound` (before any, the preset's default).
   */
  format?: AudioFormat;
  /**
   * The format of the audio events passed to `encodeInbound`, converted to the wire format
   * (G.711 decoded, resampled, encoded). Default: the wire format itself.
   */
  inputFormat?: AudioFormat;
  /** Duration of each binary audio message the carrier sends, in ms. Default 20. */
  frameMs?: number;
  /**
   * Largest message the carrier accepts from the bridge; larger is a `ProtocolError`. Default: the preset's, else
   * 65536.
   */
  maxMessageBytes?: number;
  /** Send JSON control messages where the carrier has both forms (Asterisk `f(json)`). Default false. */
  json?: boolean;
  /**
   * Fill a jump in the audio events' `timestampMs` with silence (up to 10 s), as a media gateway's
   * continuous stream does: raw WebSocket audio carries no timestamps. Default true.
   */
  padGaps?: boolean;
};

/**
 * The carrier's side of a raw WebSocket stream, for tests and offline development.
 * `encodeInbound` writes what the carrier sends for a call event (a start message in the wire
 * format, binary audio frames, DTMF, acks); `decodeOutbound` reads what the bridge sent, and
 * throws a `ProtocolError` where the carrier would refuse it.
 */
export class RawWebSocketPeerSimulator implements PeerSimulator {
  readonly preset: RawWebSocketPreset;
  readonly frameMs: number;
  readonly maxMessageBytes: number;
  readonly #options: RawWebSocketPeerSimulatorOptions;
  #wire: AudioFormat;
  #converter: AudioConverter;
  #nextTimestampMs: number | undefined;

  constructor(options: RawWebSocketPeerSimulatorOptions) {
    if (!options || typeof options !== 'object')
      throw new ConfigError('RawWebSocketPeerSimulator needs an options object with a `preset`.');
    this.preset = resolvePreset(options.preset);
    if (!this.preset.peer) throw new ConfigError(`Preset ${this.preset.name} has no carrier side (\`peer\`).`);
    this.#options = {
      ...options,
      ...(options.format ? { format: checkFormat(options.format, '`format`') } : {}),
      ...(options.inputFormat ? { inputFormat: checkFormat(options.inputFormat, '`inputFormat`') } : {}),
    };
    this.frameMs = options.frameMs ?? DEFAULT_FRAME_MS;
    if (!(Number.isFinite(this.frameMs) && this.frameMs > 0))
      throw new ConfigError(`\`frameMs\` must be a positive number, got ${String(options.frameMs)}.`);
    this.maxMessageBytes = options.maxMessageBytes ?? this.preset.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#wire = this.#options.format ?? this.preset.defaultFormat;
    this.#converter = this.#converterFor(this.#wire);
  }

  /** The carrier's audio format on the wire for the current call. */
  get format(): AudioFormat {
    return this.#wire;
  }

  encodeInbound(event: CallEvent): Array<string | Uint8Array> {
    if (event.type === 'audio') return this.#audio(event);
    if (event.type === 'call_start') {
      this.#wire = this.#options.format ?? checkFormat(event.format, 'the call_start format');
      this.#converter = this.#converterFor(this.#wire);
      this.#nextTimestampMs = undefined;
      return this.preset.peer.encodeEvent({ ...event, format: this.#wire }, this.#state());
    }
    return this.preset.peer.encodeEvent(event, this.#state());
  }

  /**
   * Frames a bridge must refuse as malformed from this carrier (for `errors.malformed` of the
   * conformance harness): text that is no control message, a control message the preset does not
   * know (Vonage, jambonz and Asterisk each in their own form), and, with L16 on the wire, a binary
   * frame of odd length (half a sample).
   */
  malformedFrames(): Array<string | Uint8Array> {
    const frames: Array<string | Uint8Array> = ['this is not a control message'];
    const unknown: Record<string, string> = {
      vonage: '{"event":"websocket:unknown"}',
      jambonz: '{"event":"unknown"}',
      asterisk: this.#options.json ? '{"event":"MEDIA_UNKNOWN"}' : 'MEDIA_UNKNOWN',
      generic: '{"type":"unknown"}',
    };
    const own = unknown[this.preset.name];
    if (own !== undefined) frames.push(own);
    if (this.#wire.encoding === 'l16') frames.push(Uint8Array.of(0x00, 0x10, 0x00));
    return frames;
  }

  decodeOutbound(frame: string | Uint8Array): OutboundCommand[] {
    if (typeof frame === 'string') return this.preset.peer.decodeControl(frame, this.#state());
    if (frame.byteLength > this.maxMessageBytes) {
      throw new ProtocolError(
        this.preset.name,
        `binary message of ${frame.byteLength} bytes is larger than the ${this.maxMessageBytes}-byte limit`,
        { frame },
      );
    }
    if (this.#wire.encoding === 'l16' && frame.byteLength % 2 !== 0) {
      throw new ProtocolError(
        this.preset.name,
        `binary message of ${frame.byteLength} bytes: L16 audio has 2 bytes per sample`,
        { frame },
      );
    }
    return frame.byteLength === 0 ? [] : [{ type: 'audio', payload: frame }];
  }

  #state(): PeerCallState {
    return { format: this.#wire, json: this.#options.json ?? false };
  }

  #converterFor(wire: AudioFormat): AudioConverter {
    return new AudioConverter(this.#options.inputFormat ?? wire, wire);
  }

  #audio(event: Extract<CallEvent, { type: 'audio' }>): Uint8Array[] {
    const input = this.#converter.from;
    const frames: Uint8Array[] = [];
    const size = frameBytes(this.#wire, this.frameMs);
    const at = event.timestampMs;
    if (at !== undefined && this.#nextTimestampMs !== undefined && (this.#options.padGaps ?? true)) {
      const gapMs = Math.min(at - this.#nextTimestampMs, MAX_GAP_FILL_MS);
      if (gapMs >= 1) frames.push(...splitBytes(this.#converter.convert(silence(input, gapMs)), size));
    }
    this.#nextTimestampMs = (at ?? this.#nextTimestampMs ?? 0) + durationMs(input, event.payload.byteLength);
    frames.push(...splitBytes(this.#converter.convert(event.payload), size));
    return frames;
  }
}
