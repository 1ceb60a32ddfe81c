/**
 * Small pieces every carrier's webhook and upgrade checks share: header lookup across the shapes
 * frameworks hand headers in, and a comparison whose time does not depend on where strings differ.
 *
 * Both take what a request carried and never throw on it: a header map that is not an object, a
 * value that is a number, an object or an array of those, answers "no such header"; anything but
 * two strings compares unequal.
 */

/** Request headers as Node gives them (a plain object, values possibly repeated) or a WHATWG `Headers`. */
export type RequestHeaders = Record<string, string | readonly string[] | undefined> | Headers;

/** Anything with a WHATWG `Headers`-like `get(name)`, such as a `Headers` from another realm or library. */
function hasGet(headers: object): headers is { get(name: string): unknown } {
  return typeof (headers as { get?: unknown }).get === 'function';
}

/**
 * The header `name`, looked up case-insensitively; the first value when it is repeated. Only a
 * string counts: a value of another type (a number, an object, an array whose first entry is not a
 * string) reads as missing, and so does every header of something that is not a header map.
 */
export function readHeader(headers: RequestHeaders, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  try {
    if (hasGet(headers)) {
      const value = headers.get(name);
      return typeof value === 'string' ? value : undefined;
    }
    const wanted = name.toLowerCase();
    for (const key of Object.keys(headers)) {
      if (key.length !== wanted.length || key.toLowerCase() !== wanted) continue;
      const value: unknown = (headers as Record<string, unknown>)[key];
      const first = Array.isArray(value) ? (value as unknown[])[0] : value;
      if (typeof first === 'string') return first;
    }
  } catch {
    // A header map whose reading throws (a getter, a revoked proxy) has no usable header.
  }
  return undefined;
}

const encoder = new TextEncoder();

/**
 * Compares two strings in time that depends only on their lengths. False unless both are strings:
 * a header value that is missing or of another type never equals anything.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const ab = encoder.encode(a);
  const bb = encoder.encode(b);
  let diff = ab.length ^ bb.length;
  const n = Math.max(ab.length, bb.length);
  for (let i = 0; i < n; i++) diff |= (ab[i] ?? 0) ^ (bb[i] ?? 0);
  return diff === 0;
}
