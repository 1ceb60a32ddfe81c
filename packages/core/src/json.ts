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
