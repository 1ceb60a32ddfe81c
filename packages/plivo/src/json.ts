/** Small readers for Plivo's JSON frames. */

export type JsonObject = Record<string, unknown>;

/** True for a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads one of Plivo's counters (`sequenceNumber`, `media.chunk`): a JSON number, or a
 * string holding a decimal integer. Anything else yields `undefined`.
 */
export function readCounter(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

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
