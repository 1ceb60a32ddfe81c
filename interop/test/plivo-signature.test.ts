/**
 * Plivo `X-Plivo-Signature-V3` against the `plivo` SDK's `validateV3Signature`.
 *
 * The SDK verifies but does not sign, so the two directions are: every signature our signer
 * (`computePlivoSignatureV3`) makes, the SDK accepts; every signature the SDK accepts for a request
 * (found by signing the text the SDK reads), ours accepts too. Changed parameters, another nonce,
 * another token and a replayed delivery are refused. Where the two differ on purpose, it is said.
 */
import fc from 'fast-check';
import plivo from 'plivo';
import { describe, expect, it } from 'vitest';
import { PlivoReplayGuard, computePlivoSignatureV3, validatePlivoSignatureV3 } from '@switchboard/plivo';

const TOKEN = 'ZWI3ZGU0ZjM2NTljZTk1ZWE5NGE0OGE0MDBiNDE3';
const NONCE = '05429567804466091622';

type Params = Record<string, string | string[]>;
type Request = { method: 'GET' | 'POST'; url: string; params: Params };

/** The SDK's verdict. It sorts array values in place, so it gets a copy. */
function sdkAccepts(request: Request, signature: string, nonce = NONCE, token = TOKEN): boolean {
  return (
    plivo.validateV3Signature(request.method, request.url, nonce, token, signature, structuredClone(request.params)) ===
    true
  );
}

function oursAccepts(request: Request, signature: string, nonce = NONCE, token = TOKEN): Promise<boolean> {
  return validatePlivoSignatureV3({
    authToken: token,
    method: request.method,
    url: request.url,
    params: request.params,
    nonce,
    signature,
  });
}

function sign(request: Request, nonce = NONCE, token = TOKEN): Promise<string> {
  return computePlivoSignatureV3({
    authToken: token,
    method: request.method,
    url: request.url,
    params: request.params,
    nonce,
  });
}

/** Requests as Plivo makes them: answer and status callbacks, with and without a query. */
const REQUESTS: Array<[string, Request]> = [
  [
    'POST answer callback',
    {
      method: 'POST',
      url: 'https://agent.example.com/plivo/answer',
      params: {
        CallUUID: '97ceeb52-58b6-11e1-86da-77300b68f8bb',
        From: '+14155551234',
        To: '+14155556789',
        Direction: 'inbound',
        CallStatus: 'ringing',
        Event: 'StartApp',
        CallerName: '+14155551234',
      },
    },
  ],
  [
    'POST with a query on the URL',
    {
      method: 'POST',
      url: 'https://agent.example.com/plivo/answer?tenant=acme&b=2',
      params: { CallUUID: 'c1', Event: 'Hangup' },
    },
  ],
  [
    'POST without parameters, query only',
    { method: 'POST', url: 'https://agent.example.com/plivo/status?x=1', params: {} },
  ],
  ['POST without parameters or query', { method: 'POST', url: 'https://agent.example.com/plivo/status', params: {} }],
  [
    'POST to a port and a trailing slash',
    { method: 'POST', url: 'https://agent.example.com:8443/plivo/answer/', params: { CallUUID: 'c1' } },
  ],
  [
    'POST with a repeated parameter',
    { method: 'POST', url: 'https://agent.example.com/plivo/answer', params: { Digits: ['9', '1'], CallUUID: 'c1' } },
  ],
  [
    'POST with a repeated query name',
    { method: 'POST', url: 'https://agent.example.com/plivo/answer?a=2&a=1', params: { CallUUID: 'c1' } },
  ],
  [
    'POST with escaped query and unicode values',
    {
      method: 'POST',
      url: 'https://agent.example.com/plivo/answer?q=a%20b+c&n=J%C3%A9',
      params: { CallerName: 'José Müller 😀' },
    },
  ],
  [
    'GET with a query',
    { method: 'GET', url: 'https://agent.example.com/plivo/answer?CallUUID=c1&From=%2B14155551234', params: {} },
  ],
  [
    'GET with extra parameters',
    { method: 'GET', url: 'https://agent.example.com/plivo/answer?b=2&a=1', params: { c: '3' } },
  ],
  ['GET without a query', { method: 'GET', url: 'http://agent.example.com/plivo/answer', params: {} }],
];

describe('Plivo V3 signatures against plivo (SDK) validateV3Signature', () => {
  it.each(REQUESTS)(
    '%s: our signature passes the SDK and our validator; tampering fails both',
    async (_name, request) => {
      const signature = await sign(request);
      expect(sdkAccepts(request, signature)).toBe(true);
      expect(await oursAccepts(request, signature)).toBe(true);

      const tampered: Array<[string, Request, string, string]> = [
        ['another nonce', request, '05429567804466091623', TOKEN],
        ['another token', request, NONCE, `${TOKEN}x`],
        ['an added parameter', { ...request, params: { ...request.params, Injected: '1' } }, NONCE, TOKEN],
        ['another path', { ...request, url: request.url.replace('/plivo/', '/plivo2/') }, NONCE, TOKEN],
      ];
      for (const [what, changed, nonce, token] of tampered) {
        expect([what, sdkAccepts(changed, signature, nonce, token)]).toEqual([what, false]);
        expect([what, await oursAccepts(changed, signature, nonce, token)]).toEqual([what, false]);
      }
    },
  );

  it('random requests: what we sign the SDK accepts, and a changed value fails both', async () => {
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,11}$/);
    const segment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,10}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'GET' | 'POST'>('GET', 'POST'),
        fc.array(segment, { maxLength: 3 }),
        fc.array(fc.tuple(name, text), { maxLength: 4 }),
        fc.dictionary(name, text, { maxKeys: 6 }),
        async (method, path, query, params) => {
          const search = query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
          const request: Request = {
            method,
            url: `https://agent.example.com/${path.join('/')}${search ? `?${search}` : ''}`,
            params: { ...params },
          };
          const signature = await sign(request);
          expect(sdkAccepts(request, signature)).toBe(true);
          expect(await oursAccepts(request, signature)).toBe(true);
          const keys = Object.keys(params);
          if (keys.length > 0) {
            const changed: Request = { ...request, params: { ...params, [keys[0]!]: `${params[keys[0]!]}!` } };
            expect(sdkAccepts(changed, signature)).toBe(false);
            expect(await oursAccepts(changed, signature)).toBe(false);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('what the SDK accepts, ours accepts: URLs the two SDKs read differently from the text we sign', async () => {
    // plivo-node drops credentials from the URL (`https://user:pass@host/…`; plivo-python keeps
    // them, as we sign), and both SDKs sign a URL's non-ASCII characters as their UTF-8 bytes
    // encoded once more. The signature the SDK accepts is made by signing the text it reads; the
    // SDK confirms it, and ours must accept it as well as its own.
    const cases: Array<[string, Request, string]> = [
      [
        'a URL with credentials',
        { method: 'POST', url: 'https://plivo:s3cret@agent.example.com/plivo/answer?b=2', params: { CallUUID: 'c1' } },
        'https://agent.example.com/plivo/answer?b=2',
      ],
      [
        'a URL with a non-ASCII path',
        { method: 'POST', url: 'https://agent.example.com/plivo/réponse', params: { CallUUID: 'c1' } },
        'https://agent.example.com/plivo/r\u00c3\u00a9ponse',
      ],
      [
        'a GET URL with a non-ASCII query',
        { method: 'GET', url: 'https://agent.example.com/plivo/answer?city=Zürich', params: {} },
        'https://agent.example.com/plivo/answer?city=Z\u00c3\u00bcrich',
      ],
    ];
    for (const [what, request, sdkReading] of cases) {
      const sdkSignature = await sign({ ...request, url: sdkReading });
      expect([what, sdkAccepts(request, sdkSignature)]).toEqual([what, true]);
      expect([what, await oursAccepts(request, sdkSignature)]).toEqual([what, true]);
      // Our own reading (plivo-python's for credentials) stays accepted by us.
      expect([what, await oursAccepts(request, await sign(request))]).toEqual([what, true]);
    }
  });

  it('where the two differ, on purpose: method case and spaces between rotated signatures', async () => {
    const [, request] = REQUESTS[0]!;
    const signature = await sign(request);
    // Plivo calls back with GET or POST; a framework may hand over the method in lower case. The
    // SDK throws for anything but upper case; we read the method in any case.
    expect(() =>
      plivo.validateV3Signature('post', request.url, NONCE, TOKEN, signature, structuredClone(request.params)),
    ).toThrow();
    expect(
      await validatePlivoSignatureV3({
        authToken: TOKEN,
        method: 'post',
        url: request.url,
        params: request.params,
        nonce: NONCE,
        signature,
      }),
    ).toBe(true);
    // During a token rotation the header carries several signatures separated by commas; a space
    // after the comma makes the SDK miss the second one, we trim it.
    const old = await sign(request, NONCE, 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNk');
    expect(sdkAccepts(request, `${old},${signature}`)).toBe(true);
    expect(await oursAccepts(request, `${old},${signature}`)).toBe(true);
    expect(sdkAccepts(request, `${old}, ${signature}`)).toBe(false);
    expect(await oursAccepts(request, `${old}, ${signature}`)).toBe(true);
  });

  it('a replayed delivery: the SDK has no replay check (V3 signs no time); our guard refuses the second one', async () => {
    const [, request] = REQUESTS[1]!;
    const signature = await sign(request);
    const replayGuard = new PlivoReplayGuard();
    const check = () =>
      validatePlivoSignatureV3({
        authToken: TOKEN,
        method: request.method,
        url: request.url,
        params: request.params,
        nonce: NONCE,
        signature,
        replayGuard,
      });
    expect(sdkAccepts(request, signature)).toBe(true);
    expect(sdkAccepts(request, signature)).toBe(true);
    expect(await check()).toBe(true);
    expect(await check()).toBe(false);
  });
});
