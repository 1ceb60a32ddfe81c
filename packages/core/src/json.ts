/** Small readers for carriers' JSON frames, shared by the provider packages. */

export type JsonObject = Record<string, unknown>;

/** True for a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a carrier's counter (a sequence number, a chunk number, a rate): a non-negative JSON
 * integer, or a string holding a decimal integer. Anything else yields `undefined`.
 */
export function readCounter(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

/** Longest text frame {@link parseJsonObjectFrame} reads. */
const MAX_JSON_FRAME = 100_000;

/**
 * A text frame parsed as a JSON object, or `undefined` when it is not one: binary, longer than
 * 100 000 characters, not starting with `{`, not JSON, or JSON that is not an object. For
 * detection candidates, which look at frames of any carrier and must never throw.
 */
export function parseJsonObjectFrame(frame: unknown): JsonObject | undefined {
  if (typeof frame !== 'string' || frame.length > MAX_JSON_FRAME || !frame.trimStart().startsWith('{'))
    return undefined;
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return undefined;
  }
  return isJsonObject(value) ? value : undefined;
}

/** The value when it is a non-empty string. */
export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * An object's values as strings (numbers and booleans stringified, objects as JSON at any depth,
 * null as '').
 */
export function stringRecord(value: unknown): Record<string, string> {
  if (!isJsonObject(value)) return {};
  // Object.fromEntries defines own properties, so a key named `__proto__` stays a key.
  return Object.fromEntries(
    Object.entries(value).map(([key, v]): [string, string] => {
      if (typeof v === 'string') return [key, v];
      if (v === null || v === undefined) return [key, ''];
      if (typeof v === 'object') return [key, jsonText(v)];
      return [key, String(v)];
    }),
  );
}

/**
 * The JSON text of a value parsed from JSON (objects, arrays, strings, finite numbers, booleans,
 * null), at any depth: `JSON.stringify` itself recurses and overflows the stack on a value nested
 * a few thousand levels deep, which a peer can send in a few kilobytes. The same text as
 * `JSON.stringify` for every such value.
 */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  // Too deep for the native writer: the same output, with an explicit stack.
  const out: string[] = [];
  type Frame = { keys: string[] | undefined; items: unknown[] | Record<string, unknown>; at: number };
  const stack: Frame[] = [];
  const open = (v: unknown): void => {
    if (Array.isArray(v)) {
      out.push('[');
      stack.push({ keys: undefined, items: v, at: 0 });
    } else if (typeof v === 'object' && v !== null) {
      out.push('{');
      stack.push({ keys: Object.keys(v), items: v as Record<string, unknown>, at: 0 });
    } else {
      out.push(typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? JSON.stringify(v) : 'null');
    }
  };
  open(value);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.keys === undefined) {
      const items = frame.items as unknown[];
      if (frame.at >= items.length) {
        out.push(']');
        stack.pop();
        continue;
      }
      if (frame.at > 0) out.push(',');
      open(items[frame.at++]);
    } else {
      const keys = frame.keys;
      if (frame.at >= keys.length) {
        out.push('}');
        stack.pop();
        continue;
      }
      const key = keys[frame.at++]!;
      if (frame.at > 1) out.push(',');
      out.push(JSON.stringify(key), ':');
      open((frame.items as Record<string, unknown>)[key]);
    }
  }
  return out.join('');
}

/**
 * Longest text frame a carrier's JSON protocol reads by default: 1 MiB of characters. Carriers send
 * 20 ms media frames and start frames of a few kilobytes; a frame of many megabytes is refused
 * before it is parsed, so a peer cannot make the bridge parse and hold it.
 */
export const MAX_TEXT_FRAME_CHARS = 1024 * 1024;

/**
 * A JSON protocol's parse of the frame it just decoded, handed once to `rawMessage` (the raw
 * `<provider>_message` event) so a frame is parsed once, not twice. One use only: holding the
 * parse until the next frame would keep it alive long enough to be promoted out of the young
 * generation, call after call.
 */
export class FrameParse {
  /** Longest text frame the protocol parses, in characters: a longer one is refused unread. */
  readonly maxChars: number;
  #frame: string | undefined;
  #parsed: unknown;

  /** `maxChars`: default {@link MAX_TEXT_FRAME_CHARS} (1 MiB). */
  constructor(options: { maxChars?: number } = {}) {
    this.maxChars = options.maxChars ?? MAX_TEXT_FRAME_CHARS;
  }

  /**
   * `JSON.parse(frame)`, remembered for `rawMessage`. Throws the parser's error for non-JSON (the text itself is
   * remembered then).
   */
  parse(frame: string): unknown {
    let parsed: unknown;
    try {
      parsed = JSON.parse(frame);
    } catch (error) {
      this.#frame = frame;
      this.#parsed = frame;
      throw error;
    }
    this.#frame = frame;
    this.#parsed = parsed;
    return parsed;
  }

  /**
   * The frame as a plain value: the remembered parse when it is the last decoded frame, else a
   * fresh one (the text when not JSON, or longer than `maxChars`).
   */
  rawMessage(frame: string | Uint8Array): unknown {
    if (typeof frame !== 'string') return frame;
    if (frame === this.#frame) {
      const parsed = this.#parsed;
      this.#frame = undefined;
      this.#parsed = undefined;
      return parsed;
    }
    if (frame.length > this.maxChars) return frame;
    try {
      return JSON.parse(frame) as unknown;
    } catch {
      return frame;
    }
  }
}
