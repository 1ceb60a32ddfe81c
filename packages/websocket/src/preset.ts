import {
  ProtocolError,
  type AudioFormat,
  type CallEvent,
  type CallStartEvent,
  type DtmfEvent,
  type OutboundCommand,
  type ProtocolCapabilities,
} from '@switchboard/core';
import { KEYPAD_DIGIT, excerpt, isJsonObject, jsonText, type JsonObject } from '@switchboard/core/protocol';

/**
 * How a call starts on the socket: `message`, with the carrier's first control message (which
 * says who is calling and in what format); `connect`, as soon as the socket opens.
 */
export type StartOn = 'message' | 'connect';

/** Every command except audio: what control messages carry. */
export type ControlCommand = Exclude<OutboundCommand, { type: 'audio' }>;
/** Every event except audio: what control messages announce. */
export type ControlEvent = Exclude<CallEvent, { type: 'audio' }>;

/** What a preset's bridge side sees of the call. */
export interface PresetCallState {
  /** True once a start message (or, with `startOn: 'connect'`, the socket itself) started the call. */
  readonly started: boolean;
  /** The format a start message that names none implies (the protocol's configured format). */
  readonly format: AudioFormat;
  /**
   * True when the carrier's start message was JSON. A preset that accepts both text and JSON
   * (Asterisk) answers in the form the carrier used.
   */
  json: boolean;
}

/** What a preset's carrier side (the peer simulator) sees of the call. */
export interface PeerCallState {
  /** The carrier's audio format on the wire: what a start message announces. */
  readonly format: AudioFormat;
  /** Send JSON control messages where the carrier has both forms (Asterisk `f(json)`). */
  readonly json: boolean;
}

/**
 * One carrier's dialect of raw WebSocket audio: binary frames carry audio (handled by
 * {@link RawWebSocketProtocol}), text frames carry the control messages this object maps.
 * The four built-in presets are `vonage`, `asterisk`, `jambonz` and `generic`; a gateway with
 * its own dialect can pass an object of this shape as `preset`.
 */
export interface RawWebSocketPreset {
  /** Short provider name: the protocol's `name` and the raw event type `<name>_message`. */
  readonly name: string;
  /** The audio format assumed until a start message names one. */
  readonly defaultFormat: AudioFormat;
  readonly startOn: StartOn;
  /** What the carrier can do; `frame` and `pacing` come from the protocol's options. */
  readonly capabilities: Omit<ProtocolCapabilities, 'frame' | 'pacing'>;
  /** Output pacing: most audio to keep queued at the carrier, in ms. Absent: no pacing. */
  readonly leadMs?: number;
  /** Largest WebSocket message the carrier accepts, in bytes. */
  readonly maxMessageBytes?: number;
  /**
   * Decodes one text frame. Returns a `call_start` for a start message; throws a
   * `ProtocolError` for a message it does not know or cannot read.
   */
  decodeControl(text: string, call: PresetCallState): CallEvent[];
  /** Encodes a command as text frames; none when the carrier cannot do it. */
  encodeControl(command: ControlCommand, call: PresetCallState): string[];
  /** The carrier's side of the same control messages, for the peer simulator. */
  readonly peer: {
    /** Text frames the carrier sends to announce an event (a `call_start` in `peer.format`). */
    encodeEvent(event: ControlEvent, peer: PeerCallState): string[];
    /**
     * What a text frame from the bridge asks the carrier to do; throws a `ProtocolError` where the carrier would refuse
     * it.
     */
    decodeControl(text: string, peer: PeerCallState): OutboundCommand[];
  };
}

export { isJsonObject };

/** A `ProtocolError` of `provider` about `frame` (quoted in a short, redacted excerpt). */
export function controlError(provider: string, message: string, frame?: unknown): ProtocolError {
  return new ProtocolError(provider, message, frame === undefined ? undefined : { frame });
}

/** Parses a text frame that must be a JSON object; throws a `ProtocolError` otherwise. */
export function parseJsonObject(provider: string, text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the input, so it is not kept as the cause.
    throw controlError(provider, 'control message is not valid JSON', text);
  }
  if (!isJsonObject(value)) throw controlError(provider, 'control message is not a JSON object', text);
  return value;
}

/**
 * A non-empty string field, `undefined` when absent; a `ProtocolError` for any other type. With
 * `scalarsAsText`, a finite number or a boolean is taken too, as its text (`447700900000`).
 */
export function optionalString(
  provider: string,
  message: JsonObject,
  key: string,
  frame: string,
  options: { scalarsAsText?: boolean } = {},
): string | undefined {
  const value = message[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (options.scalarsAsText && ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean'))
    return String(value);
  throw controlError(provider, `"${key}" must be a string`, frame);
}

/** A number field, given as a JSON number or a decimal string; `undefined` when absent. */
export function optionalNumber(provider: string, message: JsonObject, key: string, frame: string): number | undefined {
  const value = message[key];
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number))
    throw controlError(provider, `"${key}" must be a number`, frame);
  return number;
}

/** A DTMF digit (0-9, *, #, A-D); a `ProtocolError` for anything else. */
export function readDigit(provider: string, value: unknown, frame: string): string {
  if (typeof value !== 'string' || !KEYPAD_DIGIT.test(value)) {
    throw controlError(provider, 'DTMF message without a valid digit (0-9, *, #, A-D)', frame);
  }
  return value.toUpperCase();
}

/**
 * Fields as call parameters: strings as they are, numbers and booleans as text, objects as JSON
 * (at any depth); `null` and `undefined` are left out, and so are the `skip` keys.
 */
export function stringParameters(fields: JsonObject, skip: readonly string[] = []): Record<string, string> {
  // Object.fromEntries defines own properties, so a parameter named `__proto__` stays a parameter.
  return Object.fromEntries(
    Object.entries(fields)
      .filter(([key, value]) => !skip.includes(key) && value !== null && value !== undefined)
      .map(([key, value]): [string, string] => [
        key,
        typeof value === 'string' ? value : typeof value === 'object' ? jsonText(value) : String(value),
      ]),
  );
}

/** A fresh stream id for a carrier that names none: `<prefix>-<uuid>`. */
export function newStreamId(prefix: string): string {
  return `${prefix}-${globalThis.crypto.randomUUID()}`;
}

/** A `call_start` event with the optional fields set only when present. */
export function callStart(fields: {
  streamId: string;
  format: AudioFormat;
  callId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  customParameters: Record<string, string>;
  raw: unknown;
}): CallStartEvent {
  const event: CallStartEvent = {
    type: 'call_start',
    streamId: fields.streamId,
    format: fields.format,
    customParameters: fields.customParameters,
    raw: fields.raw,
  };
  if (fields.callId !== undefined) event.callId = fields.callId;
  if (fields.from !== undefined) event.from = fields.from;
  if (fields.to !== undefined) event.to = fields.to;
  return event;
}

/**
 * The `call_start` of a start message that is a JSON object: the call id from the `callId` field
 * named, the stream id from the `streamId` field named (else the call id, else a fresh one), the
 * caller and callee from `from` and `to`; the whole message, as received, is `raw`. With
 * `scalarsAsText` those fields may be numbers or booleans, read as text (for carriers that echo
 * values the application wrote, such as Vonage's NCCO headers).
 */
export function readCallStart(
  provider: string,
  message: JsonObject,
  frame: string,
  start: {
    callId: string;
    streamId?: string;
    format: AudioFormat;
    customParameters: Record<string, string>;
    scalarsAsText?: boolean;
  },
): CallStartEvent {
  const text = { scalarsAsText: start.scalarsAsText ?? false };
  const callId = optionalString(provider, message, start.callId, frame, text);
  const streamId =
    start.streamId === undefined ? undefined : optionalString(provider, message, start.streamId, frame, text);
  return callStart({
    streamId: streamId ?? callId ?? newStreamId(provider),
    callId,
    from: optionalString(provider, message, 'from', frame, text),
    to: optionalString(provider, message, 'to', frame, text),
    format: start.format,
    customParameters: start.customParameters,
    raw: message,
  });
}

/**
 * A `dtmf` event from a control message: the digit from the `digit` field named, the duration
 * (optional, not negative) from the `duration` field named, given in `unitsPerMs` units to the ms
 * (default 1).
 */
export function readDtmf(
  provider: string,
  message: JsonObject,
  frame: string,
  keys: { digit: string; duration: string; unitsPerMs?: number },
): DtmfEvent {
  const dtmf: DtmfEvent = { type: 'dtmf', digit: readDigit(provider, message[keys.digit], frame) };
  const duration = optionalNumber(provider, message, keys.duration, frame);
  if (duration !== undefined && duration < 0)
    throw controlError(provider, `"${keys.duration}" must not be negative`, frame);
  if (duration !== undefined) dtmf.durationMs = duration / (keys.unitsPerMs ?? 1);
  return dtmf;
}

/** A field's value as short text for an error message (`"stereo"`, `["a"]`), whatever its type or depth. */
export function shortText(value: unknown, max = 40): string {
  const text = typeof value === 'string' ? value : excerpt(value);
  return JSON.stringify(text.length > max ? text.slice(0, max) : text);
}

/**
 * The carrier's side of {@link readCallStart}: a `call_start`'s call id (as the `callIdKey`
 * field), caller and callee as start-message fields, leaving out those it does not have.
 */
export function callFields(event: CallStartEvent, callIdKey: string): Record<string, string> {
  const fields: Record<string, string> = {};
  if (event.callId !== undefined) fields[callIdKey] = event.callId;
  if (event.from !== undefined) fields['from'] = event.from;
  if (event.to !== undefined) fields['to'] = event.to;
  return fields;
}
