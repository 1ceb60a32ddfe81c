import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeTwilioSignature } from '@switchboard/twilio';
import { handleMediaUpgrade, mediaStreamUrl, type MediaUpgradeVerification } from '../src/index.js';
import { FUZZ_RUNS, hugeString } from '@switchboard/test-kit/webhook-fuzz';

const TOKEN = '9f3c2b1a0e8d7c6b5a4f3e2d1c0b9a88';
const agent = { name: 'a' } as never;
const NO_SOCKETS = /WebSocketPair is not available/;

/** Header values a `Headers` accepts: visible ASCII and spaces, sometimes long. */
const headerValue = fc.oneof(
  fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,60}$/),
  hugeString.map((s) => s.replace(/[^\x21-\x7e]/g, 'A')),
  fc.base64String({ maxLength: 60 }),
);
const headerName = fc.oneof(
  fc.constantFrom(
    'x-twilio-signature',
    'X-Twilio-Signature',
    'upgrade',
    'Upgrade',
    'sec-websocket-protocol',
    'authorization',
  ),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
);

/** An upgrade request as a Worker could receive it: any URL, method, and headers (usually with Upgrade: websocket). */
const anyUpgradeRequest = fc
  .record({
    url: fc.oneof(
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      hugeString.map((s) => `https://example.com/${s.replace(/[^A-Za-z0-9]/g, 'a')}`),
    ),
    method: fc.constantFrom('GET', 'POST', 'get', 'PUT', 'OPTIONS', 'PATCH'),
    headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
    upgrade: fc.constantFrom('websocket', 'WebSocket', 'h2c', undefined),
  })
  .map(({ url, method, headers, upgrade }) => {
    const h = new Headers();
    for (const [name, value] of headers) h.append(name, value);
    if (upgrade !== undefined) h.set('upgrade', upgrade);
    return new Request(url, { method, headers: h });
  });

/** Checks of the developer's own: a URL override, a custom check that answers, rejects or throws. */
const anyVerification: fc.Arbitrary<MediaUpgradeVerification> = fc.record(
  {
    twilio: fc.record(
      {
        authToken: fc.constant(TOKEN),
        url: fc.option(
          fc.constantFrom('wss://example.com/media', (r: Request) => mediaStreamUrl(r)),
          { nil: undefined },
        ),
      },
      { requiredKeys: ['authToken'] },
    ),
    validate: fc.constantFrom(
      () => true,
      () => false,
      async () => true,
      () => {
        throw new TypeError('a check that breaks');
      },
      () => Promise.reject(new Error('a check that rejects')),
    ),
  },
  { requiredKeys: ['twilio'] },
);

describe('fuzz: the media upgrade check answers 403 or 426, never a throw', () => {
  it('any request, any verification', async () => {
    await fc.assert(
      fc.asyncProperty(anyUpgradeRequest, anyVerification, async (request, verification) => {
        const response = await handleMediaUpgrade(request, { apiKey: 'sk', agent, verification });
        const isUpgrade = (request.headers.get('upgrade') ?? '').toLowerCase() === 'websocket';
        expect(response.status).toBe(isUpgrade ? 403 : 426);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: a signed upgrade still passes the check', () => {
  it('any URL signed by Twilio reaches the socket (which needs workerd), whatever other headers came', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.webUrl({ withQueryParameters: true }),
        fc.array(fc.tuple(fc.stringMatching(/^x-[a-z]{1,10}$/), headerValue), { maxLength: 4 }),
        async (url, others) => {
          const headers = new Headers(others);
          headers.set('Upgrade', 'websocket');
          // Signed as the Worker sees it (a bare origin gains its "/"), with https read as wss.
          headers.set(
            'X-Twilio-Signature',
            await computeTwilioSignature(TOKEN, new Request(url).url.replace(/^http(s?):/i, 'ws$1:')),
          );
          const request = new Request(url, { headers });
          await expect(
            handleMediaUpgrade(request, { apiKey: 'sk', agent, verification: { twilio: { authToken: TOKEN } } }),
          ).rejects.toThrow(NO_SOCKETS);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
