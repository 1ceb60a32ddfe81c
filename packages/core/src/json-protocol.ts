/**
 * Pieces of a carrier's JSON media-stream protocol that every such carrier decodes and encodes
 * the same way: the frame envelope (`{"event": …}` text frames), the `mark` and `dtmf` events,
 * `stop`, the `call_start` event, and the active stream id written into outbound frames.
 *
 * Each helper reports a bad frame through the carrier's own `fail`, so the error names the
 * carrier and carries its code; none of them throws anything but that.
 */
import { base64DecodeShared } from './audio/base64.js';
import { ProtocolError } from './errors.js';
import { isJsonObject, nonEmptyString, readCounter, type FrameParse, type JsonObject } from './json.js';
import type { AudioFormat, CallEvent, OutboundCommand } from './types.js';

/** Throws the carrier's `ProtocolError` for `frame`, saying `message`. */
export type FailFrame = (message: string, frame: unknown) => never;

/** Refuses a binary frame with `message`: the carriers that speak JSON send text frames only. */
export function assertTextFrame(frame: string | Uint8Array, fail: FailFrame, message: string): asserts frame is string {
  if (typeof frame !== 'string') fail(message, frame);
}

/**
 * A text frame parsed as a JSON object. With `parses`, the parse is remembered for the
 * protocol's `rawMessage`, and a frame longer than its `maxChars` is refused unparsed; without,
 * the frame is parsed plainly (a simulator's check).
 */
export function readFrameObject(frame: string, fail: FailFrame, parses?: FrameParse): JsonObject {
  if (parses !== undefined && frame.length > parses.maxChars) {
    fail(`text frame of ${frame.length} characters is longer than the ${parses.maxChars}-character limit`, frame);
  }
  let message: unknown;
  try {
    message = parses ? parses.parse(frame) : JSON.parse(frame);
  } catch {
    // The parser's own message quotes the input, so it is not kept as the cause.
    fail('frame is not valid JSON', frame);
  }
  if (!isJsonObject(message)) fail('frame is not a JSON object', frame);
  return message;
}

/** The frame's `event` field, which must be a string. */
export function readFrameEvent(message: JsonObject, frame: string, fail: FailFrame): string {
  const event = message['event'];
  if (typeof event !== 'string') fail('frame has no string "event" field', frame);
  return event;
}

/**
 * `media.payload` decoded from base64, into a pooled array when small: a view of a shared buffer
 * (its `byteOffset` and `byteLength` say where).
 */
export function decodeMediaPayload(payload: string, frame: unknown, fail: FailFrame): Uint8Array {
  try {
    return base64DecodeShared(payload);
  } catch {
    fail('media.payload is not valid base64', frame);
  }
}

/** A `mark` frame (`{"event":"mark","mark":{"name":…}}`): the carrier played the audio before the mark. */
export function decodeMarkFrame(message: JsonObject, frame: string, fail: FailFrame): CallEvent {
  const mark = message['mark'];
  const name = isJsonObject(mark) ? mark['name'] : undefined;
  if (typeof name !== 'string') fail('mark frame without a string mark.name', frame);
  return { type: 'playback_ack', name };
}

/** What a carrier's `dtmf` frame may hold. */
export type DtmfFrameRules = {
  /**
   * `any`: `dtmf.digit` is any non-empty string, passed on as sent. `keypad`: one key of 0-9,
   * `*`, `#` or A-D (either case), passed on upper-cased.
   */
  digits: 'any' | 'keypad';
  /** Whether `dtmf.duration` (ms) is read into `durationMs`. */
  duration: boolean;
};

/**
 * One key of a telephone keypad: 0-9, `*`, `#` or A-D (either case). The one copy of the keypad
 * rule, for reading `dtmf` frames and for checking digits before they are sent.
 */
export const KEYPAD_DIGIT = /^[0-9*#A-Da-d]$/;

/** A `dtmf` frame (`{"event":"dtmf","dtmf":{"digit":…}}`), read by the carrier's `rules`. */
export function decodeDtmfFrame(message: JsonObject, frame: string, fail: FailFrame, rules: DtmfFrameRules): CallEvent {
  const dtmf = message['dtmf'];
  const raw = isJsonObject(dtmf) ? dtmf['digit'] : undefined;
  let digit: string;
  if (rules.digits === 'keypad') {
    if (typeof raw !== 'string' || !KEYPAD_DIGIT.test(raw))
      fail('dtmf frame without a string dtmf.digit of 0-9, *, #, A-D', frame);
    digit = raw.toUpperCase();
  } else {
    if (typeof raw !== 'string' || raw.length === 0) fail('dtmf frame without a string dtmf.digit', frame);
    digit = raw;
  }
  const durationMs = rules.duration ? readCounter((dtmf as JsonObject)['duration']) : undefined;
  return durationMs === undefined ? { type: 'dtmf', digit } : { type: 'dtmf', digit, durationMs };
}

/**
 * A `stop` frame: the stream ended. The reason is `stop`, or with `readReason` the frame's
 * non-empty `stop.reason` when it has one.
 */
export function decodeStopFrame(message: JsonObject, options: { readReason?: boolean } = {}): CallEvent {
  if (options.readReason) {
    const stop = message['stop'];
    const reason = isJsonObject(stop) ? nonEmptyString(stop['reason']) : undefined;
    if (reason !== undefined) return { type: 'call_end', reason };
  }
  return { type: 'call_end', reason: 'stop' };
}

/** A `start` frame's `start` object (an empty one when the field is absent). */
export function readStartObject(message: JsonObject, frame: string, fail: FailFrame): JsonObject {
  const start = message['start'];
  if (start === undefined) return {};
  if (!isJsonObject(start)) fail('start frame with a non-object start field', frame);
  return start;
}

/** The stream id a `start` frame names in `field`: a non-empty string. */
export function readStartStreamId(value: unknown, field: string, frame: string, fail: FailFrame): string {
  if (value !== undefined && typeof value !== 'string') fail(`start frame with a non-string ${field}`, frame);
  const streamId = nonEmptyString(value);
  if (streamId === undefined) fail(`start frame without a ${field}`, frame);
  return streamId;
}

/** The `call_start` event a carrier's `start` frame decodes to. */
export type CallStartFields = {
  streamId: string;
  format: AudioFormat;
  customParameters: Record<string, string>;
  /** The decoded `start` frame. */
  raw: JsonObject;
  /** The carrier's call id, caller and callee as found in the frame: kept when non-empty strings. */
  callId: unknown;
  from: unknown;
  to: unknown;
};

/** Builds a `call_start` event; `callId`, `from` and `to` are set only when they are non-empty strings. */
export function callStartEvent(fields: CallStartFields): Extract<CallEvent, { type: 'call_start' }> {
  const event: Extract<CallEvent, { type: 'call_start' }> = {
    type: 'call_start',
    streamId: fields.streamId,
    format: fields.format,
    customParameters: fields.customParameters,
    raw: fields.raw,
  };
  const callId = nonEmptyString(fields.callId);
  if (callId !== undefined) event.callId = callId;
  const from = nonEmptyString(fields.from);
  if (from !== undefined) event.from = from;
  const to = nonEmptyString(fields.to);
  if (to !== undefined) event.to = to;
  return event;
}

/**
 * The active stream's id, for carriers whose outbound frames must name it: set when a `start`
 * is decoded, and kept as a JSON string literal ready to splice into frames.
 */
export class ActiveStreamId {
  readonly #provider: string;
  readonly #field: string;
  #id: string | undefined;
  #json: string | undefined;

  /** `provider` names the carrier in errors; `field` is the id's name on the wire (`streamSid`, `stream_sid`). */
  constructor(provider: string, field: string) {
    this.#provider = provider;
    this.#field = field;
  }

  /** The id, once a `start` has been decoded. */
  get id(): string | undefined {
    return this.#id;
  }

  set(id: string): void {
    this.#id = id;
    this.#json = JSON.stringify(id);
  }

  /** The id as a JSON string literal for an outbound `what` frame; a `ProtocolError` before any `start`. */
  json(what: string): string {
    if (this.#json === undefined) {
      throw new ProtocolError(
        this.#provider,
        `cannot send ${what} before the stream's start message (no ${this.#field} yet)`,
      );
    }
    return this.#json;
  }
}

/** How a carrier writes the commands its media stream carries, each as one JSON text frame. */
export type StreamCommandWriters = {
  /** Audio in the carrier's format; never called with an empty payload. */
  audio(payload: Uint8Array): string;
  mark(name: string): string;
  clear(): string;
  /** DTMF frames. Absent where DTMF goes through the carrier's REST API instead. */
  dtmf?(digits: string): string[];
};

/**
 * An outbound command as the carrier's frames. Empty audio writes nothing. `hangup` is never on
 * the media stream (each carrier hangs up through its call control or by closing the socket),
 * nor is DTMF for a carrier without a `dtmf` writer.
 */
export function encodeStreamCommand(command: OutboundCommand, writers: StreamCommandWriters): string[] {
  switch (command.type) {
    case 'audio':
      return command.payload.byteLength === 0 ? [] : [writers.audio(command.payload)];
    case 'mark':
      return [writers.mark(command.name)];
    case 'clear':
      return [writers.clear()];
    case 'dtmf':
      return writers.dtmf ? writers.dtmf(command.digits) : [];
    default:
      return [];
  }
}
