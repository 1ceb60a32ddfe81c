/**
 * The signature forms beyond a form-encoded webhook at its exact URL: JSON bodies signed through
 * `bodySHA256`, URLs signed in an escaped form, SharedKey signatures with HMAC-SHA256. The
 * expected values are computed here with node:crypto and node:querystring, independently of the
 * code under test.
 */
import { createHash, createHmac } from 'node:crypto';
import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, ReplayGuard, WebhookSignatureError } from '@switchboard/core';
import {
  assertSignalWireSignature,
  assertTwilioSignature,
  computeTwilioBodySHA256,
  computeTwilioSignature,
  parseTwilioSignatureSettings,
  readTwilioSignatureSettingsHeader,
  twilioSignatureUrlCandidates,
  validateSignalWireSignature,
  validateTwilioSignature,
} from '../src/index.js';
import { reencodeQueryLegacy } from '../src/signature-url.js';
import { FUZZ_RUNS, anyBody, anySignature, anyUrl, anyValue, expectInvalid } from '@switchboard/test-kit/webhook-fuzz';

const TOKEN = '9f3c2b1a0e8d7c6b5a4f3e2d1c0b9a88';
const SHARED_SECRET = 'sk-secret-0123456789abcdef';

const hmac = (hash: 'sha1' | 'sha256', key: string, text: string) =>
  createHmac(hash, key).update(text, 'utf8').digest('base64');
const sha256Hex = (body: string) => createHash('sha256').update(body, 'utf8').digest('hex');

describe('JSON webhooks signed with bodySHA256', () => {
  const body = JSON.stringify({
    CallSid: 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701',
    CallStatus: 'in-progress',
    Digits: '42',
  });
  const url = `https://voice.example.com/events?tenant=acme&bodySHA256=${sha256Hex(body)}`;
  const signature = hmac('sha1', TOKEN, url);

  it('computes the hash Twilio puts in the URL', async () => {
    expect(await computeTwilioBodySHA256(body)).toBe(sha256Hex(body));
    expect(await computeTwilioBodySHA256(new TextEncoder().encode(body))).toBe(sha256Hex(body));
  });

  it('accepts the body that hashes to bodySHA256 (text or bytes)', async () => {
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, body })).toBe(true);
    expect(
      await validateTwilioSignature({ authToken: TOKEN, signature, url, body: new TextEncoder().encode(body) }),
    ).toBe(true);
    await expect(assertTwilioSignature({ authToken: TOKEN, signature, url, body })).resolves.toBeUndefined();
  });

  it('rejects a tampered body even though the URL signature is good', async () => {
    const tampered = body.replace('"42"', '"43"');
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, body: tampered })).toBe(false);
    await expect(assertTwilioSignature({ authToken: TOKEN, signature, url, body: tampered })).rejects.toBeInstanceOf(
      WebhookSignatureError,
    );
  });

  it('refuses such a URL when no body is given: false, and a WebhookSignatureError that says so', async () => {
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url })).toBe(false);
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, params: {} })).toBe(false);
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, body: null })).toBe(false);
    const error = await assertTwilioSignature({ authToken: TOKEN, signature, url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookSignatureError);
    expect((error as Error).message).toMatch(/bodySHA256.*body/);
  });

  it('ignores form parameters (Twilio signs the URL alone) and rejects a body that is not text or bytes', async () => {
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, body, params: { Injected: 'x' } })).toBe(
      true,
    );
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, body: JSON.parse(body) as never })).toBe(
      false,
    );
  });

  it('takes the hash in either case and rejects a changed hash', async () => {
    const upper = url.replace(sha256Hex(body), sha256Hex(body).toUpperCase());
    expect(
      await validateTwilioSignature({ authToken: TOKEN, signature: hmac('sha1', TOKEN, upper), url: upper, body }),
    ).toBe(true);
    const other = url.replace(sha256Hex(body), sha256Hex('{}'));
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url: other, body: '{}' })).toBe(false);
  });

  it('the same for SignalWire', async () => {
    expect(await validateSignalWireSignature({ signingKey: TOKEN, signature, url, body })).toBe(true);
    expect(await validateSignalWireSignature({ signingKey: TOKEN, signature, url, body: `${body} ` })).toBe(false);
    expect(await validateSignalWireSignature({ signingKey: TOKEN, signature, url })).toBe(false);
    await expect(assertSignalWireSignature({ signingKey: TOKEN, signature, url })).rejects.toThrow(/bodySHA256/);
  });

  it('a replay guard remembers the verified delivery', async () => {
    const replayGuard = new ReplayGuard();
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, body, replayGuard })).toBe(true);
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, body, replayGuard })).toBe(false);
  });
});

describe('URLs signed in an escaped form', () => {
  /** A query holding the characters the WHATWG parser or the legacy query rules write differently. */
  const received =
    "https://Voice.Example.com/hook?name=O'Brien&at=2024-05-01T10:00:00Z&mail=a@b.example&path=/x/y&say=hello world";
  const whatwg = new URL(received).href;
  const legacy = `${whatwg.slice(0, whatwg.indexOf('?'))}?${stringifyQuery(parseQuery(whatwg.slice(whatwg.indexOf('?') + 1)))}`;
  const params = { CallSid: 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701', From: '+15551230001' };
  const text = (url: string) => `${url}CallSid${params.CallSid}From${params.From}`;

  it('the forms differ from the URL as received', () => {
    expect(whatwg).toBe(
      'https://voice.example.com/hook?name=O%27Brien&at=2024-05-01T10:00:00Z&mail=a@b.example&path=/x/y&say=hello%20world',
    );
    expect(legacy).toBe(
      "https://voice.example.com/hook?name=O'Brien&at=2024-05-01T10%3A00%3A00Z&mail=a%40b.example&path=%2Fx%2Fy&say=hello%20world",
    );
  });

  it('accepts a signature over the URL as the WHATWG parser writes it, and over its re-encoded query', async () => {
    for (const signed of [
      received,
      whatwg,
      legacy,
      whatwg.replace('.com/', '.com:443/'),
      legacy.replace('.com/', '.com:443/'),
    ]) {
      expect(
        await validateTwilioSignature({
          authToken: TOKEN,
          signature: hmac('sha1', TOKEN, text(signed)),
          url: received,
          params,
        }),
        signed,
      ).toBe(true);
    }
  });

  it('still rejects a signature over another URL or other parameters', async () => {
    const signature = hmac('sha1', TOKEN, text(legacy));
    expect(
      await validateTwilioSignature({
        authToken: TOKEN,
        signature,
        url: received.replace("O'Brien", 'OBrien'),
        params,
      }),
    ).toBe(false);
    expect(
      await validateTwilioSignature({
        authToken: TOKEN,
        signature,
        url: received,
        params: { ...params, From: '+15550000000' },
      }),
    ).toBe(false);
    const otherPath = hmac('sha1', TOKEN, text(legacy.replace('/hook?', '/hook2?')));
    expect(await validateTwilioSignature({ authToken: TOKEN, signature: otherPath, url: received, params })).toBe(
      false,
    );
  });

  it('re-encodes a query as node:querystring parses and writes it', () => {
    const cases = [
      'https://h.example/p?a=1&b=2',
      'https://h.example/p?a=1&b=x&a=2&2=z&1=y',
      'https://h.example/p?flag&=v&&empty=&plus=a+b&pct=%41%zz%4',
      'https://h.example/p?bad=%E2%82&ok=%E2%82%AC&__proto__=1',
      "https://h.example/p?x=!'()*~-_.&y=%21%27",
      'https://h.example/p?frag=1#part',
      'https://h.example/p?',
      'https://h.example/p',
    ];
    for (const url of cases) {
      const q = url.indexOf('?');
      const expected =
        q === -1 || q === url.length - 1 ? url : `${url.slice(0, q)}?${stringifyQuery(parseQuery(url.slice(q + 1)))}`;
      expect(reencodeQueryLegacy(url), url).toBe(expected);
    }
  });

  it('lists the candidates without duplicates, the URL as given first', () => {
    expect(twilioSignatureUrlCandidates('https://h.example/p?q=1')).toEqual([
      'https://h.example/p?q=1',
      'https://h.example:443/p?q=1',
    ]);
    const candidates = twilioSignatureUrlCandidates("https://h.example/p?n=O'B:c");
    expect(candidates[0]).toBe("https://h.example/p?n=O'B:c");
    expect(candidates).toContain('https://h.example/p?n=O%27B:c');
    expect(candidates).toContain("https://h.example/p?n=O'B%3Ac");
    expect(new Set(candidates).size).toBe(candidates.length);
    expect(twilioSignatureUrlCandidates('not a url')).toEqual(['not a url']);
  });

  it('the same for SignalWire', async () => {
    const signature = hmac('sha1', TOKEN, text(legacy));
    expect(await validateSignalWireSignature({ signingKey: TOKEN, signature, url: received, params })).toBe(true);
  });
});

describe('SharedKey signatures (X-Twilio-Webhooks-Signature-Settings)', () => {
  const url = 'https://voice.example.com/voice';
  const params = { CallSid: 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701', To: '+15551230002' };
  const text = `${url}CallSid${params.CallSid}To${params.To}`;
  const sha256Signature = hmac('sha256', SHARED_SECRET, text);
  const settings = 'key=webhooks_sharedkey_0123,algorithm=HMAC_SHA256';

  it('parses the settings header', () => {
    expect(parseTwilioSignatureSettings(settings)).toEqual({
      key: 'webhooks_sharedkey_0123',
      algorithm: 'HMAC_SHA256',
    });
    expect(parseTwilioSignatureSettings(' algorithm = hmac_sha256 , key = k ')).toEqual({
      key: 'k',
      algorithm: 'HMAC_SHA256',
    });
    expect(parseTwilioSignatureSettings('key=k')).toEqual({ key: 'k', algorithm: 'HMAC_SHA1' });
    expect(parseTwilioSignatureSettings(undefined)).toEqual({ key: undefined, algorithm: 'HMAC_SHA1' });
    expect(readTwilioSignatureSettingsHeader({ 'X-Twilio-Webhooks-Signature-Settings': settings })).toBe(settings);
  });

  it('accepts an HMAC-SHA256 signature announced by the settings header', async () => {
    expect(
      await validateTwilioSignature({
        authToken: SHARED_SECRET,
        signature: sha256Signature,
        url,
        params,
        signatureSettings: settings,
      }),
    ).toBe(true);
  });

  it('accepts an HMAC-SHA256 signature with the algorithm given explicitly', async () => {
    expect(
      await validateTwilioSignature({
        authToken: SHARED_SECRET,
        signature: sha256Signature,
        url,
        params,
        algorithm: 'HMAC_SHA256',
      }),
    ).toBe(true);
  });

  it('signs with HMAC-SHA256', async () => {
    expect(await computeTwilioSignature(SHARED_SECRET, url, params, { algorithm: 'HMAC_SHA256' })).toBe(
      sha256Signature,
    );
    await expect(
      computeTwilioSignature(SHARED_SECRET, url, params, { algorithm: 'MD5' as never }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('picks sharedKeySecret for requests with the header and authToken for the others', async () => {
    const both = { authToken: TOKEN, sharedKeySecret: SHARED_SECRET, url, params };
    expect(await validateTwilioSignature({ ...both, signature: sha256Signature, signatureSettings: settings })).toBe(
      true,
    );
    expect(await validateTwilioSignature({ ...both, signature: hmac('sha1', TOKEN, text) })).toBe(true);
    // Removing the header from a SharedKey delivery, or adding one to an auth-token delivery, fails.
    expect(await validateTwilioSignature({ ...both, signature: sha256Signature })).toBe(false);
    expect(
      await validateTwilioSignature({ ...both, signature: hmac('sha1', TOKEN, text), signatureSettings: settings }),
    ).toBe(false);
  });

  it('a header without algorithm means HMAC-SHA1 with the SharedKey', async () => {
    const signature = hmac('sha1', SHARED_SECRET, text);
    expect(
      await validateTwilioSignature({ authToken: SHARED_SECRET, signature, url, params, signatureSettings: 'key=k' }),
    ).toBe(true);
  });

  it('rejects an unsupported algorithm, and one other than the algorithm expected', async () => {
    const unsupported = {
      authToken: SHARED_SECRET,
      signature: sha256Signature,
      url,
      params,
      signatureSettings: 'key=k,algorithm=HMAC_SHA512',
    };
    expect(await validateTwilioSignature(unsupported)).toBe(false);
    await expect(assertTwilioSignature(unsupported)).rejects.toThrow(/algorithm/);
    const downgraded = {
      authToken: SHARED_SECRET,
      signature: hmac('sha1', SHARED_SECRET, text),
      url,
      params,
      signatureSettings: 'algorithm=HMAC_SHA1',
    };
    expect(await validateTwilioSignature({ ...downgraded, algorithm: 'HMAC_SHA256' })).toBe(false);
    // A SHA-256 signature is not taken for a SHA-1 one.
    expect(await validateTwilioSignature({ authToken: SHARED_SECRET, signature: sha256Signature, url, params })).toBe(
      false,
    );
  });

  it('refuses a bad algorithm or sharedKeySecret option as a configuration error', async () => {
    await expect(
      validateTwilioSignature({ authToken: TOKEN, signature: 'x', url, algorithm: 'SHA1' as never }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(
      validateTwilioSignature({ authToken: TOKEN, signature: 'x', url, sharedKeySecret: '' }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('works with a JSON body', async () => {
    const body = '{"a":1}';
    const jsonUrl = `${url}?bodySHA256=${sha256Hex(body)}`;
    const signature = hmac('sha256', SHARED_SECRET, jsonUrl);
    expect(
      await validateTwilioSignature({
        authToken: SHARED_SECRET,
        signature,
        url: jsonUrl,
        body,
        signatureSettings: settings,
      }),
    ).toBe(true);
    expect(
      await validateTwilioSignature({
        authToken: SHARED_SECRET,
        signature,
        url: jsonUrl,
        body: '{"a":2}',
        signatureSettings: settings,
      }),
    ).toBe(false);
  });
});

describe('SignalWire: repeated parameters', () => {
  it('accepts the values of a repeated name in the order given, as SignalWire’s helper library signs them', async () => {
    const url = 'https://voice.example.com/status';
    const params = { Event: ['initiated', 'answered', 'answered'], Callback: 'x' };
    const signature = hmac('sha1', TOKEN, `${url}CallbackxEventinitiatedEventansweredEventanswered`);
    expect(await validateSignalWireSignature({ signingKey: TOKEN, signature, url, params })).toBe(true);
    // Twilio's helper library sorts and de-duplicates the values; so does its verifier here.
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, params })).toBe(false);
    const sorted = hmac('sha1', TOKEN, `${url}CallbackxEventansweredEventinitiated`);
    expect(await validateSignalWireSignature({ signingKey: TOKEN, signature: sorted, url, params })).toBe(true);
    expect(
      await validateSignalWireSignature({
        signingKey: TOKEN,
        signature,
        url,
        params: { ...params, Event: ['answered', 'initiated'] },
      }),
    ).toBe(false);
  });
});

describe('fuzz: bodies, settings headers and escaped URLs', () => {
  it('any body, settings header and URL (with bodySHA256 or not) answer invalid, never anything else', async () => {
    const url = fc.oneof(
      anyUrl,
      fc.string().map((h) => `https://h.example/p?bodySHA256=${encodeURIComponent(h)}`),
    );
    const settings = fc.oneof(
      fc.string(),
      fc.constantFrom('algorithm=HMAC_SHA256', 'algorithm=', 'key=,algorithm=x'),
      anyValue,
    );
    await fc.assert(
      fc.asyncProperty(anySignature, url, anyBody, settings, async (signature, u, body, signatureSettings) => {
        const options = {
          authToken: TOKEN,
          signature: signature as string,
          url: u as string,
          body: body as string,
          signatureSettings: signatureSettings as string,
        };
        await expectInvalid(() => validateTwilioSignature(options));
        await expectInvalid(() => assertTwilioSignature(options));
        const sw = { signingKey: TOKEN, signature: signature as string, url: u as string, body: body as string };
        await expectInvalid(() => validateSignalWireSignature(sw));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('a JSON webhook signed for any URL and body verifies, with either algorithm', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.webUrl({ withQueryParameters: true }),
        fc.oneof(fc.string(), fc.uint8Array({ maxLength: 64 })),
        fc.boolean(),
        async (base, body, sha256) => {
          const url = `${base}${base.includes('?') ? '&' : '?'}bodySHA256=${await computeTwilioBodySHA256(body)}`;
          const algorithm = sha256 ? 'HMAC_SHA256' : 'HMAC_SHA1';
          const signature = await computeTwilioSignature(TOKEN, url, undefined, { algorithm });
          expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, body, algorithm })).toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
