import {
  ConfigError,
  ProtocolError,
  type AudioFormat,
  type CallEvent,
  type MediaStreamProtocol,
  type OutboundCommand,
  type ProtocolCapabilities,
} from '@switchboard/core';
import { logger, toProtocolError } from '@switchboard/core/protocol';
import { checkFormat, formatName, frameBytes, isSupportedFormat, splitBytes } from './formats.js';
import { callStart, newStreamId, type RawWebSocketPreset, type StartOn } from './preset.js';
import { resolvePreset, type RawWebSocketPresetName } from './presets/index.js';

const log = logger('websocket');

export const DEFAULT_FRAME_MS = 20;
/** Largest message accepted or sent when the preset names no limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 65536;
/** Bytes per ms of the largest format this package carries (L16 at 48 kHz). */
const MAX_BYTES_PER_MS = 96;

export type RawWebSocketProtocolOptions = {
  /** The carrier's dialect: a built-in preset's name, or a preset object of your own. */
  preset: RawWebSocketPresetName | RawWebSocketPreset;
  /**
   * The audio format until a start message names one (and for a start message that names none):
   * L16 at 8/16/24/48 kHz, or μ-law / A-law at 8 kHz. Default: the preset's.
   */
  format?: AudioFormat;
  /** Duration of each binary audio message sent to the carrier, in whole ms (1 to 1000). Default 20. */
  frameMs?: number;
  /**
   * Largest WebSocket message accepted from or sent to the carrier, in bytes; a larger incoming
   * message is a `ProtocolError`. Default: the preset's (Asterisk 65500), else 65536. Must hold
   * one frame of 48 kHz L16 (`frameMs` × 96 bytes).
   */
  maxMessageBytes?: number;
  /**
   * `message`: the call starts with the carrier's start message (every preset's default).
   * `connect`: it starts when the socket opens, in `format`, for gateways that announce nothing.
   */
  startOn?: StartOn;
  /**
   * Output pacing: keep at most this much audio (ms) queued at the carrier, the rest waits in the
   * transport. `null` turns pacing off. Default: the preset's (1000 for Vonage, Asterisk and
   * jambonz; none for generic, whose gateway acknowledges marks).
   */
  leadMs?: number | null;
};

/**
 * Raw WebSocket audio for media gateways: binary frames carry audio, text frames carry control
 * messages in the preset's dialect. Pure: no timers and no I/O; its state is whether the call
 * started, the call's format and stream id, and which form of control messages the carrier uses.
 */
export class RawWebSocketProtocol implements MediaStreamProtocol {
  readonly name: string;
  readonly capabilities: ProtocolCapabilities;
  /** The configured format: what the transport assumes until the start message. */
  readonly defaultFormat: AudioFormat;
  readonly preset: RawWebSocketPreset;
  readonly frameMs: number;
  readonly maxMessageBytes: number;
  readonly startOn: StartOn;

  /** What the preset sees of the call; `format` stays the configured one. */
  readonly #call: { started: boolean; format: AudioFormat; json: boolean };
  #format: AudioFormat;
  #streamId: string | undefined;
  #opened = false;

  constructor(options: RawWebSocketPresetName | RawWebSocketProtocolOptions) {
    const config: RawWebSocketProtocolOptions =
      typeof options === 'string' ? { preset: options } : (options ?? ({} as RawWebSocketProtocolOptions));
    const preset = resolvePreset(config.preset);
    const format = checkFormat(config.format ?? preset.defaultFormat, '`format`');

    const frameMs = config.frameMs ?? DEFAULT_FRAME_MS;
    if (!Number.isInteger(frameMs) || frameMs < 1 || frameMs > 1000) {
      throw new ConfigError(`\`frameMs\` must be a whole number of ms from 1 to 1000, got ${String(config.frameMs)}.`);
    }
    const maxMessageBytes = config.maxMessageBytes ?? preset.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < frameMs * MAX_BYTES_PER_MS) {
      throw new ConfigError(
        `\`maxMessageBytes\` must be a whole number of at least ${frameMs * MAX_BYTES_PER_MS} (one ${frameMs} ms frame of 48 kHz L16), got ${String(maxMessageBytes)}.`,
      );
    }
    const startOn = config.startOn ?? preset.startOn;
    if (startOn !== 'message' && startOn !== 'connect') {
      throw new ConfigError(`\`startOn\` must be 'message' or 'connect', got ${JSON.stringify(startOn)}.`);
    }
    const leadMs = config.leadMs === undefined ? preset.leadMs : config.leadMs;
    if (leadMs !== null && leadMs !== undefined && !(Number.isFinite(leadMs) && leadMs > 0)) {
      throw new ConfigError(`\`leadMs\` must be a positive number of ms or null, got ${String(leadMs)}.`);
    }

    this.preset = preset;
    this.name = preset.name;
    this.defaultFormat = format;
    this.frameMs = frameMs;
    this.maxMessageBytes = maxMessageBytes;
    this.startOn = startOn;
    this.capabilities = {
      ...preset.capabilities,
      frame: { ms: frameMs, maxBytes: maxMessageBytes },
      ...(leadMs ? { pacing: { leadMs } } : {}),
    };
    this.#format = format;
    this.#call = { started: startOn === 'connect', format, json: false };
  }

  /** True once the call started (start message decoded, or the socket opened with `startOn: 'connect'`). */
  get started(): boolean {
    return this.#call.started;
  }

  /** The call's audio format: the configured one until a start message names another. */
  get format(): AudioFormat {
    return this.#format;
  }

  /** The stream id of the current call, once it started. */
  get streamId(): string | undefined {
    return this.#streamId;
  }

  /** With `startOn: 'connect'`, the `call_start` the opening of the socket implies (once). */
  open(): CallEvent[] {
    if (this.startOn !== 'connect' || this.#opened) return [];
    this.#opened = true;
    const event = callStart({
      streamId: newStreamId(this.name),
      format: this.#format,
      customParameters: {},
      raw: null,
    });
    this.#started(event);
    return [event];
  }

  decode(frame: string | Uint8Array): CallEvent[] {
    return typeof frame === 'string' ? this.#decodeControl(frame) : this.#decodeAudio(frame);
  }

  encode(command: OutboundCommand): Array<string | Uint8Array> {
    if (command.type === 'audio') return splitBytes(command.payload, frameBytes(this.#format, this.frameMs));
    return this.preset.encodeControl(command, this.#call);
  }

  /** A text frame as a plain value for the raw `<name>_message` event: parsed JSON, else the text. */
  rawMessage(frame: string | Uint8Array): unknown {
    if (typeof frame !== 'string' || !frame.trimStart().startsWith('{')) return frame;
    try {
      return JSON.parse(frame) as unknown;
    } catch {
      return frame;
    }
  }

  #decodeAudio(frame: Uint8Array): CallEvent[] {
    const size = frame.byteLength;
    if (size > this.maxMessageBytes)
      this.#fail(`binary frame of ${size} bytes is larger than the ${this.maxMessageBytes}-byte limit`, frame);
    if (!this.#call.started) this.#fail('audio before the call started (no start message yet)', frame);
    if (this.#format.encoding === 'l16' && size % 2 !== 0) {
      this.#fail(`binary frame of ${size} bytes: L16 audio has 2 bytes per sample`, frame);
    }
    return size === 0 ? [] : [{ type: 'audio', payload: frame }];
  }

  #decodeControl(text: string): CallEvent[] {
    if (text.length > this.maxMessageBytes)
      this.#fail(`text frame of ${text.length} characters is larger than the ${this.maxMessageBytes}-byte limit`);
    let events: CallEvent[];
    try {
      events = this.preset.decodeControl(text, this.#call);
    } catch (error) {
      // A preset of the user's own may throw anything: decode throws nothing but a ProtocolError.
      throw toProtocolError(this.name, error, text);
    }
    let started = false;
    for (const event of events) {
      if (event.type === 'call_start') {
        const format = event.format as AudioFormat | undefined;
        if (typeof format !== 'object' || format === null) this.#fail('start message without a format', text);
        if (!isSupportedFormat(format)) this.#fail(`start message with unsupported format ${formatName(format)}`, text);
        this.#started(event);
        started = true;
      }
    }
    if (!started && !this.#call.started)
      this.#fail('control message before the call started (no start message yet)', text);
    return events;
  }

  #started(event: Extract<CallEvent, { type: 'call_start' }>): void {
    this.#call.started = true;
    this.#format = event.format;
    this.#streamId = event.streamId;
    log('%s call started: stream %s, %s', this.name, event.streamId, formatName(event.format));
  }

  #fail(message: string, frame?: unknown): never {
    throw new ProtocolError(this.name, message, frame === undefined ? undefined : { frame });
  }
}
