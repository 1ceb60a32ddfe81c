/**
 * Reading the model's messages once. The SDK's transport parses every message twice (its
 * `_onMessage`, then its socket listener again), each time through a schema of every server event,
 * and deep-copies each one for `*`. Most of the traffic is a handful of flat delta events, and
 * most of the rest are messages the SDK only passes on (speech stopped, content parts, rate
 * limits, a transcript's end): these are read here with one `JSON.parse` and a field check that
 * accepts exactly what the SDK's schema accepts, and the events the SDK would emit for them are
 * built from that one parse.
 */
import { base64Decode } from '../audio/base64.js';
import { toProtocolError } from '../errors.js';
import { isSessionCreated } from './events.js';

/** Types the SDK's socket listener acts on after `_onMessage`; for every other type its parse is waste. */
const LISTENER_TYPES: ReadonlySet<string> = new Set([
  'error',
  'response.output_audio.delta',
  'input_audio_buffer.speech_started',
  'response.created',
  'response.done',
  'session.created',
]);

const TYPE_FIRST = '{"type":"';
const EVENT_ID_FIRST = '{"event_id":"';
const TYPE_NEXT = ',"type":"';

/**
 * The message's type when the message starts with it, or with an `event_id` and then it (the
 * service writes its events in one of these two ways); undefined otherwise (the caller then
 * parses the message to know). Never mistakes a nested `type` for the message's.
 */
export function leadingType(text: string): string | undefined {
  let start: number;
  if (text.startsWith(TYPE_FIRST)) start = TYPE_FIRST.length;
  else if (text.startsWith(EVENT_ID_FIRST)) {
    const idEnd = text.indexOf('"', EVENT_ID_FIRST.length);
    if (idEnd < 0 || text.lastIndexOf('\\', idEnd) >= EVENT_ID_FIRST.length) return undefined;
    if (!text.startsWith(TYPE_NEXT, idEnd + 1)) return undefined;
    start = idEnd + 1 + TYPE_NEXT.length;
  } else return undefined;
  const end = text.indexOf('"', start);
  if (end < 0) return undefined;
  const type = text.slice(start, end);
  return type.includes('\\') ? undefined : type;
}

/** True when the SDK's socket listener has nothing to do for a message of this type. */
export function listenerIgnores(type: string): boolean {
  return !LISTENER_TYPES.has(type);
}

/** The text of a socket message, as the SDK reads it. */
export function messageText(data: unknown): string {
  return typeof data === 'string' ? data : String(data);
}

/** Thrown by {@link HIDDEN}: a plain object, so throwing it captures no stack. */
const SKIP = Object.freeze({ skipped: true });
/**
 * What a hidden message's `data` reads as: the SDK's listener calls `toString()` on it inside its
 * own `try` and drops the message when that throws. Cheaper than any text it would parse: a
 * `SyntaxError` from `JSON.parse('')` costs more than parsing a whole audio delta.
 */
const HIDDEN = Object.freeze({
  toString(): string {
    throw SKIP;
  },
});

/**
 * Makes the SDK's socket listener, which runs right after `_onMessage` with the same event object,
 * drop the message at once: the transport already did everything it would do. True when that
 * worked; false when the event object refused it, and the listener will read the message as usual.
 */
export function hideFromListener(event: { data?: unknown }): boolean {
  try {
    Object.defineProperty(event, 'data', { value: HIDDEN, configurable: true, enumerable: true });
  } catch {
    return false;
  }
  return event.data === HIDDEN;
}

export type AudioDeltaEvent = {
  type: 'response.output_audio.delta';
  event_id: string;
  item_id: string;
  content_index: number;
  delta: string;
  output_index: number;
  response_id: string;
};

/** The SDK's typed event for a text-like delta: exactly the fields of its schema, in its order. */
export type TextDeltaEvent = {
  type: 'response.output_audio_transcript.delta' | 'response.output_text.delta';
  event_id: string;
  item_id: string;
  content_index: number;
  delta: string;
  output_index: number;
  response_id: string;
};

export type FunctionArgumentsDeltaEvent = {
  type: 'response.function_call_arguments.delta';
  event_id: string;
  item_id: string;
  call_id: string;
  delta: string;
  output_index: number;
  response_id: string;
};

/** The caller's speech transcribed word by word: its schema makes all but the ids optional. */
export type InputTranscriptDeltaEvent = {
  type: 'conversation.item.input_audio_transcription.delta';
  event_id: string;
  item_id: string;
  content_index?: number;
  delta?: string;
  logprobs?: unknown[] | null;
};

/**
 * A message the SDK only passes on (`*` and its typed event, nothing else done with it), as its
 * schema outputs it: the schema's fields in its order, unknown ones left out.
 */
export type PlainEvent = { type: string; [field: string]: unknown };

/** A message the transport handles itself: `raw` as parsed (for `*`), `event` as the SDK's schema outputs it. */
export type FastModelEvent =
  | { kind: 'audio'; raw: Record<string, unknown>; event: AudioDeltaEvent }
  | { kind: 'text'; raw: Record<string, unknown>; event: TextDeltaEvent }
  | { kind: 'arguments'; raw: Record<string, unknown>; event: FunctionArgumentsDeltaEvent }
  | { kind: 'input'; raw: Record<string, unknown>; event: InputTranscriptDeltaEvent }
  | { kind: 'plain'; raw: Record<string, unknown>; event: PlainEvent };

/**
 * How a field of a pass-through message is read, as the SDK's schema reads it: `string` and
 * `number` are required; `string?` may be absent or null as well (`nullable().optional()`);
 * `part` is a content part, `rateLimits` a list of rate limits.
 */
type FieldRule = 'string' | 'number' | 'string?' | 'part' | 'rateLimits';
/** A message's fields in its schema's order, each with how it is read. */
type Schema = ReadonlyArray<readonly [string, FieldRule]>;

const CONTENT_PART_EVENT: Schema = [
  ['event_id', 'string'],
  ['item_id', 'string'],
  ['content_index', 'number'],
  ['output_index', 'number'],
  ['response_id', 'string'],
  ['part', 'part'],
];

/**
 * The messages the SDK's transport only passes on, with their schemas' fields in order
 * (`openaiRealtimeEvents` of `@openai/agents-realtime`): its `_onMessage` emits them on `*` and
 * under their type and does nothing else with them, and its socket listener ignores them. Each
 * is checked here field by field as the schema would; one the schema would refuse goes to the
 * SDK, which then handles it as before.
 */
const PLAIN_SCHEMAS: ReadonlyMap<string, Schema> = new Map<string, Schema>([
  [
    'input_audio_buffer.committed',
    [
      ['event_id', 'string'],
      ['item_id', 'string'],
      ['previous_item_id', 'string?'],
    ],
  ],
  [
    'input_audio_buffer.speech_stopped',
    [
      ['event_id', 'string'],
      ['item_id', 'string'],
      ['audio_end_ms', 'number'],
    ],
  ],
  ['output_audio_buffer.cleared', [['event_id', 'string']]],
  [
    'rate_limits.updated',
    [
      ['event_id', 'string'],
      ['rate_limits', 'rateLimits'],
    ],
  ],
  [
    'response.output_audio_transcript.done',
    [
      ['event_id', 'string'],
      ['item_id', 'string'],
      ['content_index', 'number'],
      ['transcript', 'string'],
      ['output_index', 'number'],
      ['response_id', 'string'],
    ],
  ],
  ['response.content_part.added', CONTENT_PART_EVENT],
  ['response.content_part.done', CONTENT_PART_EVENT],
]);

const FAST_TYPES: ReadonlySet<string> = new Set([
  'response.output_audio.delta',
  'response.output_audio_transcript.delta',
  'response.output_text.delta',
  'response.function_call_arguments.delta',
  'conversation.item.input_audio_transcription.delta',
  ...PLAIN_SCHEMAS.keys(),
]);

/** True for the types {@link fastModelEvent} may take. */
export function isFastType(type: string): boolean {
  return FAST_TYPES.has(type);
}

/**
 * The message as one of the deltas the transport handles itself, when it is one and carries every
 * field the SDK's schema requires with the right type; undefined otherwise (the SDK handles it).
 */
export function fastModelEvent(text: string): FastModelEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const { type, event_id, item_id, delta, output_index, response_id } = r;
  if (type === 'conversation.item.input_audio_transcription.delta') return inputTranscriptDelta(r);
  const plain = typeof type === 'string' ? PLAIN_SCHEMAS.get(type) : undefined;
  if (plain) return plainEvent(r, type as string, plain);
  if (
    typeof event_id !== 'string' ||
    typeof item_id !== 'string' ||
    typeof delta !== 'string' ||
    typeof output_index !== 'number' ||
    typeof response_id !== 'string'
  )
    return undefined;
  if (type === 'response.function_call_arguments.delta') {
    const callId = r.call_id;
    if (typeof callId !== 'string') return undefined;
    return {
      kind: 'arguments',
      raw: r,
      event: { type, event_id, item_id, call_id: callId, delta, output_index, response_id },
    };
  }
  const contentIndex = r.content_index;
  if (typeof contentIndex !== 'number') return undefined;
  if (type === 'response.output_audio.delta') {
    return {
      kind: 'audio',
      raw: r,
      event: { type, event_id, item_id, content_index: contentIndex, delta, output_index, response_id },
    };
  }
  if (type === 'response.output_audio_transcript.delta' || type === 'response.output_text.delta') {
    return {
      kind: 'text',
      raw: r,
      event: { type, event_id, item_id, content_index: contentIndex, delta, output_index, response_id },
    };
  }
  return undefined;
}

/** The SDK's schema output for an input transcription delta: its fields in its order, absent ones left out. */
function inputTranscriptDelta(r: Record<string, unknown>): FastModelEvent | undefined {
  const { event_id, item_id, content_index, delta, logprobs } = r;
  if (typeof event_id !== 'string' || typeof item_id !== 'string') return undefined;
  if (content_index !== undefined && typeof content_index !== 'number') return undefined;
  if (delta !== undefined && typeof delta !== 'string') return undefined;
  if (logprobs !== undefined && logprobs !== null && !Array.isArray(logprobs)) return undefined;
  const event: InputTranscriptDeltaEvent = {
    type: 'conversation.item.input_audio_transcription.delta',
    event_id,
    item_id,
  };
  if (content_index !== undefined) event.content_index = content_index;
  if (delta !== undefined) event.delta = delta;
  if (logprobs !== undefined) event.logprobs = logprobs === null ? null : [...(logprobs as unknown[])];
  return { kind: 'input', raw: r, event };
}

/** A pass-through message as its schema outputs it, or undefined where the schema would refuse it. */
function plainEvent(r: Record<string, unknown>, type: string, fields: Schema): FastModelEvent | undefined {
  const event: PlainEvent = { type };
  for (const [name, rule] of fields) {
    const value = r[name];
    if (rule === 'string' || rule === 'number') {
      if (typeof value !== rule) return undefined;
      event[name] = value;
    } else if (rule === 'string?') {
      if (value === undefined) continue;
      if (value !== null && typeof value !== 'string') return undefined;
      event[name] = value;
    } else {
      const read = rule === 'part' ? contentPart(value) : rateLimits(value);
      if (read === undefined) return undefined;
      event[name] = read;
    }
  }
  return { kind: 'plain', raw: r, event };
}

const PART_FIELDS = ['audio', 'text', 'transcript'] as const;

/** A content part as the schema reads it: optional `audio`, `text`, `transcript` strings, `type` text or audio. */
function contentPart(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const part: Record<string, unknown> = {};
  for (const name of PART_FIELDS) {
    const field = v[name];
    if (field === undefined) continue;
    if (typeof field !== 'string') return undefined;
    part[name] = field;
  }
  if (v.type !== undefined) {
    if (v.type !== 'text' && v.type !== 'audio') return undefined;
    part.type = v.type;
  }
  return part;
}

const LIMIT_NUMBERS = ['remaining', 'reset_seconds'] as const;

/** Rate limits as the schema reads them: objects with optional `limit`, `name`, `remaining`, `reset_seconds`. */
function rateLimits(value: unknown): Array<Record<string, unknown>> | undefined {
  if (!Array.isArray(value)) return undefined;
  const limits: Array<Record<string, unknown>> = [];
  for (const entry of value as unknown[]) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
    const e = entry as Record<string, unknown>;
    const limit: Record<string, unknown> = {};
    if (e.limit !== undefined) {
      if (typeof e.limit !== 'number') return undefined;
      limit.limit = e.limit;
    }
    if (e.name !== undefined) {
      if (e.name !== 'requests' && e.name !== 'tokens') return undefined;
      limit.name = e.name;
    }
    for (const name of LIMIT_NUMBERS) {
      const field = e[name];
      if (field === undefined) continue;
      if (typeof field !== 'number') return undefined;
      limit[name] = field;
    }
    limits.push(limit);
  }
  return limits;
}

/**
 * A copy of a parsed message for `*`, as the SDK gives it (a deep copy): a flat message, the
 * usual case, is copied field by field.
 */
export function copyEvent(raw: Record<string, unknown>): Record<string, unknown> {
  for (const key in raw) {
    const value = raw[key];
    if (typeof value === 'object' && value !== null) return deepCopy(raw);
  }
  return { ...raw };
}

function deepCopy(raw: Record<string, unknown>): Record<string, unknown> {
  if (typeof globalThis.structuredClone === 'function') return globalThis.structuredClone(raw);
  return JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
}

/** What {@link ModelMessages} needs from its transport. */
export type ModelMessageHost = {
  /** The SDK's own handling of a message (its `_onMessage`). */
  sdkMessage(event: { data?: unknown }): void;
  /** Emits one event on the transport; a listener that throws is reported, never thrown. */
  emit(name: string, event: unknown): void;
  emitError(error: unknown): void;
  /** The model socket now (a listener may have closed it). */
  socket(): unknown;
  /** Files the audio of `delta` under its response and item, before any listener runs. */
  audioDelta(delta: AudioDeltaEvent): void;
  /** The delta's audio, for `_onAudio` (what the SDK's socket listener would do with it). */
  audio(delta: AudioDeltaEvent, bytes: Uint8Array): void;
  awaitingModel(): boolean;
  modelReady(): void;
  /** True when the message is the service refusing a cancel of the transport's own: dropped. */
  refusedOwnCancel(text: string): boolean;
};

/**
 * The transport's `_onMessage`: each model message parsed once. The deltas of
 * {@link fastModelEvent} are emitted here as the SDK emits them (`*` with its own copy, the typed
 * event with the schema's fields, `audio_transcript_delta` / `output_text_delta`) and audio handed
 * on; the SDK's socket listener, which would parse each message again, is told to skip them and
 * every other message it has nothing to do for. Other messages go through the SDK's own handling.
 */
export class ModelMessages {
  readonly #host: ModelMessageHost;

  constructor(host: ModelMessageHost) {
    this.#host = host;
  }

  onMessage(event: { data?: unknown }): void {
    const host = this.#host;
    let text: string;
    let type: string | undefined;
    let fast: FastModelEvent | undefined;
    let audio: Uint8Array | undefined;
    try {
      text = messageText(event.data);
      type = leadingType(text);
      if (type === undefined || isFastType(type)) fast = fastModelEvent(text);
      // In a buffer of its own: the SDK's audio event hands out the ArrayBuffer itself.
      if (fast?.kind === 'audio') audio = base64Decode(fast.event.delta);
    } catch (error) {
      // Audio the SDK could not read either: said once, and the SDK never sees it.
      host.emitError(toProtocolError('model', error));
      hideFromListener(event);
      return;
    }
    if (fast && hideFromListener(event)) {
      this.#onFast(fast, audio);
      return;
    }
    try {
      if (fast?.kind === 'audio') {
        // The event refused to be skipped: the SDK's listener hands the audio to `_onAudio`.
        this.#audioDelta(fast.raw, fast.event);
        return;
      }
      if (host.awaitingModel() && (type === undefined ? isSessionCreated(text) : type === 'session.created'))
        host.modelReady();
      // The service refusing a barge-in's cancel that crossed the response's end is no error.
      if ((type === undefined || type === 'error') && host.refusedOwnCancel(text)) return;
      host.sdkMessage(event);
      if (type !== undefined && listenerIgnores(type)) hideFromListener(event);
    } catch (error) {
      host.emitError(error);
    }
  }

  #onFast(fast: FastModelEvent, audio: Uint8Array | undefined): void {
    const host = this.#host;
    if (fast.kind === 'audio') {
      const socket = host.socket();
      this.#audioDelta(fast.raw, fast.event);
      // A listener that closed the connection ends the delta here, as in the SDK.
      if (host.socket() !== socket || !audio) return;
      try {
        host.audio(fast.event, audio);
      } catch (error) {
        host.emitError(error);
      }
      return;
    }
    const { raw, event } = fast;
    host.emit('*', copyEvent(raw));
    host.emit(event.type, event);
    if (event.type === 'response.output_audio_transcript.delta') {
      host.emit('audio_transcript_delta', {
        type: 'transcript_delta',
        delta: event.delta,
        itemId: event.item_id,
        responseId: event.response_id,
      });
    } else if (event.type === 'response.output_text.delta') {
      host.emit('output_text_delta', {
        type: 'output_text_delta',
        delta: event.delta,
        itemId: event.item_id,
        responseId: event.response_id,
      });
    }
  }

  #audioDelta(raw: Record<string, unknown>, delta: AudioDeltaEvent): void {
    const host = this.#host;
    host.audioDelta(delta);
    host.emit('*', copyEvent(raw));
    host.emit('response.output_audio.delta', delta);
  }
}
