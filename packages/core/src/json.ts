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
  if (typeof frame !== 'string' || frame.length > MAX_JSON_FRAME || !frame.trimStart().startsWith('{')) return undefined;
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

/** An object's values as strings (numbers and booleans stringified, objects as JSON, null as ''). */
export function stringRecord(value: unknown): Record<string, string> {
  if (!isJsonObject(value)) return {};
  // Object.fromEntries defines own properties, so a key named `__proto__` stays a key.
  return Object.fromEntries(
    Object.entries(value).map(([key, v]): [string, string] => {
      if (typeof v === 'string') return [key, v];
      if (v === null || v === undefined) return [key, ''];
      if (typeof v === 'object') return [key, JSON.stringify(v)];
      return [key, String(v)];
    }),
  );
}

/**
 * A JSON protocol's parse of the frame it just decoded, handed once to `rawMessage` (the raw
 * `<provider>_message` event) so a frame is parsed once, not twice. One use only: holding the
 * parse until the next frame would keep it alive long enough to be promoted out of the young
 * generation, call after call.
 */
export class FrameParse {
  #frame: string | undefined;
  #parsed: unknown;

  /** `JSON.parse(frame)`, remembered for `rawMessage`. Throws the parser's error for non-JSON (the text itself is remembered then). */
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

  /** The frame as a plain value: the remembered parse when it is the last decoded frame, else a fresh one (the text when not JSON). */
  rawMessage(frame: string | Uint8Array): unknown {
    if (typeof frame !== 'string') return frame;
    if (frame === this.#frame) {
      const parsed = this.#parsed;
      this.#frame = undefined;
      this.#parsed = undefined;
      return parsed;
    }
    try {
      return JSON.parse(frame) as unknown;
    } catch {
      return frame;
    }
  }
}
