/**
 * Arbitraries for fuzzing webhook and upgrade verifiers with what a request can carry: header maps
 * whose values are of any JSON type (or arrays, or huge strings), odd methods, relative, invalid
 * and huge URLs, bodies of the wrong type, `__proto__` keys. Shared by every carrier package's
 * `webhook-fuzz.test.ts`.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { WebhookSignatureError } from '@switchboard/core';

/** Runs per property: enough to reach every shape, few enough for a loaded two-core machine. */
export const FUZZ_RUNS = 120;

/** A few hundred kilobytes of one character: a header, URL or body far larger than any real one. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('A', '=', '.', ' ', ',', '%', 'v1,', 'Bearer ', ':'),
    fc.integer({ min: 10_000, max: 300_000 }),
  )
  .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)));

/** Keys that an object literal or a naive parser treats specially. */
export const trickyKey: fc.Arbitrary<string> = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'length',
  '0',
  '',
);

/** A JSON object whose keys may be `__proto__` and friends, as `JSON.parse` makes them (own properties). */
export function jsonObject<T>(
  value: fc.Arbitrary<T>,
  keys: fc.Arbitrary<string> = fc.oneof(fc.string(), trickyKey),
): fc.Arbitrary<Record<string, T>> {
  return fc.array(fc.tuple(keys, value), { maxLength: 6 }).map((entries) => {
    const object: Record<string, T> = {};
    for (const [key, v] of entries)
      Object.defineProperty(object, key, { value: v, enumerable: true, writable: true, configurable: true });
    return object;
  });
}

/** Anything a request field could turn into: any JSON value, undefined, arrays of odd things, bytes, huge strings. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constant(undefined),
  fc.array(fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 }), fc.constant(undefined)), { maxLength: 3 }),
  fc.uint8Array({ maxLength: 16 }),
  hugeString,
  jsonObject(fc.jsonValue({ maxDepth: 1 })),
);

/**
 * A header map as a framework could hand it over, with the given names among random ones (in any
 * letter case), values of any type. Sometimes a `Headers`, sometimes not a map at all.
 */
export function anyHeaders(names: readonly string[], value: fc.Arbitrary<unknown> = anyValue): fc.Arbitrary<unknown> {
  const name = fc.oneof(
    fc.constantFrom(...names),
    fc.constantFrom(...names).map((n) => n.toUpperCase()),
    fc.string(),
    trickyKey,
  );
  const map = jsonObject(fc.oneof(value, fc.string()), name);
  const token = fc.stringMatching(/^[\x21-\x7e]{0,40}$/);
  const headers = fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...names), fc.stringMatching(/^[a-z-]{1,12}$/)), token), { maxLength: 5 })
    .map((entries) => {
      const h = new Headers();
      for (const [n, v] of entries) h.append(n, v);
      return h;
    });
  return fc.oneof({ weight: 4, arbitrary: map }, { weight: 1, arbitrary: headers }, { weight: 1, arbitrary: anyValue });
}

/** Request methods: known ones in any case, unknown ones, empty, anything. */
export const anyMethod: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('GET', 'POST', 'get', 'post', 'Post', 'PUT', 'HEAD', 'OPTIONS', 'DELETE', '', ' POST', 'POST '),
  fc.string(),
  anyValue,
);

/**
 * URLs: absolute ones with queries (and `__proto__` parameters), relative paths, unparsable text, huge ones,
 * non-strings.
 */
export const anyUrl: fc.Arbitrary<unknown> = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.webUrl().map((u) => u.replace(/^https?:/, 'wss:')),
  fc.constantFrom(
    '/relative?a=1',
    '/media?__proto__=1&constructor=2&sig=1.abc',
    '?only=query',
    'not a url',
    '',
    'http://',
    'http://[::1',
    'https://example.com:99999/',
    'https://example.com/%E0%A4%A',
    'https://example.com/?a=%zz&__proto__[x]=1',
    'javascript:alert(1)',
    '//example.com/path',
  ),
  fc.string(),
  hugeString.map((s) => `https://example.com/${s}`),
  anyValue,
);

/** Bodies: text, bytes, parsed JSON, form objects with odd values, huge ones, nothing. */
export const anyBody: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.uint8Array({ maxLength: 64 }),
  fc.jsonValue({ maxDepth: 2 }),
  anyValue,
);

/** Form parameters: objects with values of any type and `__proto__` keys, `URLSearchParams`, or anything. */
export const anyParams: fc.Arbitrary<unknown> = fc.oneof(
  jsonObject(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }))),
  jsonObject(anyValue),
  fc
    .array(fc.tuple(fc.oneof(fc.string(), trickyKey), fc.string()), { maxLength: 5 })
    .map((entries) => new URLSearchParams(entries)),
  anyValue,
);

/** Base64-ish and hex-ish signatures that are not the right one. */
export const anySignature: fc.Arbitrary<unknown> = fc.oneof(
  fc.base64String({ maxLength: 120 }),
  fc.stringMatching(/^[0-9a-fA-F]{0,130}$/),
  fc.string(),
  hugeString,
  anyValue,
);

/** Fails unless `result` is exactly `false`. */
export function expectFalse(result: unknown): void {
  expect(result).toBe(false);
}

/**
 * Runs `check` and fails unless it settles as invalid: resolved `false`, or rejected/thrown with
 * a `WebhookSignatureError` (or the `errorType` given, for verifiers with their own typed error).
 */
export async function expectInvalid(
  check: () => unknown,
  errorType: abstract new (...args: never[]) => Error = WebhookSignatureError,
): Promise<void> {
  let outcome: unknown;
  try {
    outcome = await check();
  } catch (error) {
    if (!(error instanceof errorType)) {
      throw new Error(
        `expected a ${errorType.name} or false, got ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`,
        { cause: error },
      );
    }
    return;
  }
  expect(outcome).toBe(false);
}
