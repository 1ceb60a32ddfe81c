import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ExotelStreamUrlError,
  assertExotelStreamUrl,
  assertExotelUpgrade,
  signExotelStreamUrl,
  readExotelStreamUrlVerdict,
  validateExotelUpgrade,
  type ExotelHeaders,
} from '../src/index.js';
import { FUZZ_RUNS, anyHeaders, anyUrl, expectInvalid } from '@switchboard/test-kit/webhook-fuzz';

const KEY = 'api-key';
const TOKEN = 'api-token';
const SECRET = 'stream-url-secret-0123456789';
const T0 = 1_760_000_000_000;

/** Stream URLs with a `sig` parameter of the right shape (so the HMAC is really checked), or any URL. */
const anyStreamUrl = fc.oneof(
  fc
    .tuple(
      fc.webUrl({ withQueryParameters: true }),
      fc.integer({ min: 0, max: 2_000_000_000 }),
      fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    )
    .map(([url, expiry, mac]) => `${url.replace(/#.*$/, '')}${url.includes('?') ? '&' : '?'}sig=${expiry}.${mac}`),
  anyUrl,
);

describe('fuzz: Exotel upgrade checks answer invalid, never anything else', () => {
  it('validateExotelUpgrade / assertExotelUpgrade with any headers', async () => {
    await fc.assert(
      fc.asyncProperty(anyHeaders(['authorization']), async (headers) => {
        const options = { apiKey: KEY, apiToken: TOKEN, headers: headers as ExotelHeaders };
        await expectInvalid(() => validateExotelUpgrade(options));
        await expectInvalid(() => assertExotelUpgrade(options));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('readExotelStreamUrlVerdict / assertExotelStreamUrl with any URL', async () => {
    await fc.assert(
      fc.asyncProperty(anyStreamUrl, async (url) => {
        const check = await readExotelStreamUrlVerdict({ url: url as string, secret: SECRET, now: () => T0 });
        expect(check.valid).toBe(false);
        if (!check.valid) expect(check.error).toBeInstanceOf(ExotelStreamUrlError);
        await expectInvalid(
          () => assertExotelStreamUrl({ url: url as string, secret: SECRET, now: () => T0 }),
          ExotelStreamUrlError,
        );
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: genuine requests still pass', () => {
  it('a stream URL signed for any path and query verifies from the request path and as an absolute URL', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.webUrl({ withQueryParameters: true }),
        fc.integer({ min: 1, max: 3600 }),
        async (web, ttl) => {
          const url = web.replace(/^https?:/, 'wss:');
          const signed = await signExotelStreamUrl({ url, secret: SECRET, expiresInSeconds: ttl, now: () => T0 });
          const parsed = new URL(signed);
          for (const given of [signed, `${parsed.pathname}${parsed.search}`]) {
            const check = await readExotelStreamUrlVerdict({ url: given, secret: SECRET, now: () => T0 + 500 });
            expect(check).toEqual({ valid: true, expiresAt: (Math.floor(T0 / 1000) + ttl) * 1000 });
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('an upgrade carrying the Basic credentials among any other headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.stringMatching(/^[a-z][a-z-]{0,15}$/),
          fc.oneof(fc.string(), fc.integer(), fc.array(fc.string())),
        ),
        fc.constantFrom('Authorization', 'authorization', 'AUTHORIZATION'),
        fc.constantFrom('Basic', 'basic', 'BASIC'),
        (others, name, scheme) => {
          const { authorization: _authorization, ...rest } = others;
          const headers = { ...rest, [name]: `${scheme} ${btoa(`${KEY}:${TOKEN}`)}` } as ExotelHeaders;
          expect(validateExotelUpgrade({ apiKey: KEY, apiToken: TOKEN, headers })).toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
