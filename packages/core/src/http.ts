/**
 * Small pieces every carrier's webhook and upgrade checks share: header lookup across the shapes
 * frameworks hand headers in, and a comparison whose time does not depend on where strings differ.
 */

/** Request headers as Node gives them (a plain object, values possibly repeated) or a WHATWG `Headers`. */
export type RequestHeaders = Record<string, string | readonly string[] | undefined> | Headers;

/** The header `name`, looked up case-insensitively; the first value when it is repeated. */
export function readHeader(headers: RequestHeaders, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (key.toLowerCase() !== wanted) continue;
    const first = typeof value === 'string' ? value : value?.[0];
    if (first !== undefined) return first;
  }
  return undefined;
}

const encoder = new TextEncoder();

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = encoder.encode(a);
  const bb = encoder.encode(b);
  let diff = ab.length ^ bb.length;
  const n = Math.max(ab.length, bb.length);
  for (let i = 0; i < n; i++) diff |= (ab[i] ?? 0) ^ (bb[i] ?? 0);
  return diff === 0;
}
