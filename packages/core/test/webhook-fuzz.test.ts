import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayGuard } from '../src/index.js';
import { constantTimeEqual, readHeader, type RequestHeaders } from '../src/protocol.js';
import { FUZZ_RUNS, anyHeaders, anyValue } from '@switchboard/test-kit/webhook-fuzz';

describe('fuzz: the header and comparison helpers every verifier shares', () => {
  it('readHeader answers a string or undefined for any header map', () => {
    fc.assert(
      fc.property(
        anyHeaders(['authorization', 'x-twilio-signature']),
        fc.constantFrom('authorization', 'X-Twilio-Signature', 'missing'),
        (headers, name) => {
          const value = readHeader(headers as RequestHeaders, name);
          expect(value === undefined || typeof value === 'string').toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS * 2 },
    );
  });

  it('readHeader finds a string header whatever else the map holds', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), anyValue), fc.string(), (others, value) => {
        const headers = { ...others, 'X-Signature': value } as RequestHeaders;
        expect(readHeader(headers, 'x-signature')).toBe(value);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('constantTimeEqual is string equality for strings and false for anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), anyValue), fc.oneof(fc.string(), anyValue), (a, b) => {
        const equal = typeof a === 'string' && typeof b === 'string' && a === b;
        expect(constantTimeEqual(a as string, b as string)).toBe(equal);
        if (typeof a === 'string') expect(constantTimeEqual(a, a)).toBe(true);
      }),
      { numRuns: FUZZ_RUNS * 2 },
    );
  });

  it('ReplayGuard.check resolves a boolean for any key, true once per distinct string', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string(), anyValue), { maxLength: 8 }), async (keys) => {
        const guard = new ReplayGuard();
        const seen = new Set<string>();
        for (const key of keys) {
          const fresh = await guard.check(key as string);
          const expected = typeof key === 'string' && key.length > 0 && !seen.has(key);
          expect(fresh).toBe(expected);
          if (typeof key === 'string') seen.add(key);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
