/**
 * X-Twilio-Signature, both ways, against the official `twilio` helper library: what it signs we
 * verify, what we sign it verifies, and what it refuses (tampered body, URL or parameter) we refuse
 * too. Its validators are the judge of which URL forms a signature may be computed over; a property
 * test holds our verifier to the same answers over generated URLs and queries.
 */
import fc from 'fast-check';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { ReplayGuard, WebhookSignatureError } from '@switchboard/core';
import {
  assertTwilioSignature,
  computeTwilioBodySHA256,
  computeTwilioSignature,
  readTwilioSignatureHeader,
  readTwilioSignatureSettingsHeader,
  validateTwilioSignature,
  validateTwilioWebSocketUpgrade,
} from '@switchboard/twilio';
import { legacyQuery, receivedUrls, signedUrl, urlForms } from './support/url-forms.js';

const AUTH_TOKEN = '0d9b2a7c6e5f4a3b2c1d0e9f8a7b6c5d';
const SHARED_KEY_SECRET = 'whsec_3c8e1f0a9b7d6c5e4f3a2b1c0d9e8f7a';
const URL_ = 'https://voice.example.com/twilio/voice?tenant=acme';
const PARAMS: Record<string, string> = {
  AccountSid: 'AC25e16e9a716a4a1786a7c83f58e30482',
  CallSid: 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701',
  CallStatus: 'ringing',
  From: '+15551230001',
  To: '+15551230002',
};

/** The helper library's view of a request: validateRequest, or validateRequestWithBody for JSON. */
function sdkAccepts(
  secret: string,
  signature: string,
  url: string,
  params: Record<string, string | string[]>,
  algorithm?: string,
): boolean {
  return twilio.validateRequest(secret, signature, url, params, algorithm);
}

describe('twilio SDK signs, we verify', () => {
  it('a form-encoded voice webhook', async () => {
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, URL_, PARAMS);
    expect(await validateTwilioSignature({ authToken: AUTH_TOKEN, signature, url: URL_, params: PARAMS })).toBe(true);
    // As a framework hands it over: the header read from the request, the body as URLSearchParams.
    const headers = { 'x-twilio-signature': signature };
    const form = new URLSearchParams(PARAMS);
    await expect(
      assertTwilioSignature({
        authToken: AUTH_TOKEN,
        signature: readTwilioSignatureHeader(headers),
        url: URL_,
        params: form,
      }),
    ).resolves.toBeUndefined();
  });

  it('repeated parameters and non-ASCII values', async () => {
    const params = { Event: ['initiated', 'answered', 'initiated'], Body: 'héllo ✓ 你好', Empty: '' };
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, URL_, params);
    expect(await validateTwilioSignature({ authToken: AUTH_TOKEN, signature, url: URL_, params })).toBe(true);
  });

  it('the media WebSocket upgrade (the wss:// URL, no parameters)', async () => {
    const url = 'wss://voice.example.com/media-stream';
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, {});
    expect(
      await validateTwilioWebSocketUpgrade({
        authToken: AUTH_TOKEN,
        url,
        headers: { 'X-Twilio-Signature': signature },
      }),
    ).toBe(true);
    expect(
      await validateTwilioWebSocketUpgrade({
        authToken: AUTH_TOKEN,
        url: `${url}2`,
        headers: { 'X-Twilio-Signature': signature },
      }),
    ).toBe(false);
  });

  it('a JSON webhook: the URL carries bodySHA256 and is signed alone; the body must hash to it', async () => {
    const body = JSON.stringify({ CallSid: PARAMS.CallSid, CallStatus: 'in-progress', Digits: '1#' });
    const url = `https://voice.example.com/events?bodySHA256=${twilio.getExpectedBodyHash(body)}`;
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, {});
    expect(twilio.validateRequestWithBody(AUTH_TOKEN, signature, url, body)).toBe(true);
    expect(await validateTwilioSignature({ authToken: AUTH_TOKEN, signature, url, body })).toBe(true);

    const tampered = body.replace('1#', '9#');
    expect(twilio.validateRequestWithBody(AUTH_TOKEN, signature, url, tampered)).toBe(false);
    expect(await validateTwilioSignature({ authToken: AUTH_TOKEN, signature, url, body: tampered })).toBe(false);
    // Without the body there is nothing to check the hash against: refused, with a reason.
    await expect(assertTwilioSignature({ authToken: AUTH_TOKEN, signature, url })).rejects.toThrow(/bodySHA256/);
  });

  it('a SharedKey signature with HMAC-SHA256, announced by X-Twilio-Webhooks-Signature-Settings', async () => {
    const headers = { [twilio.SIGNATURE_SETTINGS_HEADER]: 'key=webhooks_sharedkey_01,algorithm=HMAC_SHA256' };
    const settings = readTwilioSignatureSettingsHeader(headers);
    const algorithm = twilio.getSignatureAlgorithm(settings);
    expect(algorithm).toBe(twilio.HMAC_SHA256);
    const signature = twilio.getExpectedTwilioSignature(SHARED_KEY_SECRET, URL_, PARAMS, algorithm);
    expect(sdkAccepts(SHARED_KEY_SECRET, signature, URL_, PARAMS, algorithm)).toBe(true);
    expect(
      await validateTwilioSignature({
        authToken: SHARED_KEY_SECRET,
        signature,
        url: URL_,
        params: PARAMS,
        signatureSettings: settings,
      }),
    ).toBe(true);
    // One call for both kinds of delivery: the header picks the SharedKey, its absence the auth token.
    const both = { authToken: AUTH_TOKEN, sharedKeySecret: SHARED_KEY_SECRET, url: URL_, params: PARAMS };
    expect(await validateTwilioSignature({ ...both, signature, signatureSettings: settings })).toBe(true);
    const legacy = twilio.getExpectedTwilioSignature(AUTH_TOKEN, URL_, PARAMS);
    expect(await validateTwilioSignature({ ...both, signature: legacy })).toBe(true);
  });

  it('a SharedKey signature of a JSON webhook', async () => {
    const body = '{"event":"call.completed"}';
    const url = `https://voice.example.com/events?bodySHA256=${twilio.getExpectedBodyHash(body)}`;
    const signature = twilio.getExpectedTwilioSignature(SHARED_KEY_SECRET, url, {}, twilio.HMAC_SHA256);
    expect(twilio.validateRequestWithBody(SHARED_KEY_SECRET, signature, url, body, twilio.HMAC_SHA256)).toBe(true);
    expect(
      await validateTwilioSignature({ authToken: SHARED_KEY_SECRET, signature, url, body, algorithm: 'HMAC_SHA256' }),
    ).toBe(true);
  });

  it('an algorithm neither side supports is refused by both', async () => {
    const settings = 'key=k,algorithm=HMAC_SHA512';
    const algorithm = twilio.getSignatureAlgorithm(settings);
    const signature = twilio.getExpectedTwilioSignature(SHARED_KEY_SECRET, URL_, PARAMS, twilio.HMAC_SHA256);
    const warn = console.warn;
    console.warn = () => undefined; // the library warns about the algorithm; the answer is what counts
    try {
      expect(sdkAccepts(SHARED_KEY_SECRET, signature, URL_, PARAMS, algorithm)).toBe(false);
    } finally {
      console.warn = warn;
    }
    expect(
      await validateTwilioSignature({
        authToken: SHARED_KEY_SECRET,
        signature,
        url: URL_,
        params: PARAMS,
        signatureSettings: settings,
      }),
    ).toBe(false);
  });
});

describe('we sign, the twilio SDK verifies', () => {
  it('form-encoded parameters, repeated and non-ASCII included', async () => {
    const params = { ...PARAMS, Event: ['b', 'a', 'b'], Body: 'héllo ✓' };
    const signature = await computeTwilioSignature(AUTH_TOKEN, URL_, params);
    expect(sdkAccepts(AUTH_TOKEN, signature, URL_, params)).toBe(true);
  });

  it('a JSON body through bodySHA256', async () => {
    const body = JSON.stringify({ hello: 'wörld' });
    const url = `https://voice.example.com/events?x=1&bodySHA256=${await computeTwilioBodySHA256(body)}`;
    const signature = await computeTwilioSignature(AUTH_TOKEN, url);
    expect(twilio.validateRequestWithBody(AUTH_TOKEN, signature, url, body)).toBe(true);
  });

  it('HMAC-SHA256 with a SharedKey secret', async () => {
    const signature = await computeTwilioSignature(SHARED_KEY_SECRET, URL_, PARAMS, { algorithm: 'HMAC_SHA256' });
    expect(sdkAccepts(SHARED_KEY_SECRET, signature, URL_, PARAMS, twilio.HMAC_SHA256)).toBe(true);
    expect(sdkAccepts(SHARED_KEY_SECRET, signature, URL_, PARAMS)).toBe(false);
  });
});

describe('tampered and replayed deliveries', () => {
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, URL_, PARAMS);

  it('a changed parameter, an added one, a removed one, another URL: refused by both', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      [URL_, { ...PARAMS, To: '+15559999999' }],
      [URL_, { ...PARAMS, Extra: '1' }],
      [URL_, Object.fromEntries(Object.entries(PARAMS).filter(([name]) => name !== 'From'))],
      ['https://voice.example.com/twilio/voice?tenant=evil', PARAMS],
      ['https://evil.example.com/twilio/voice?tenant=acme', PARAMS],
      ['https://voice.example.com/twilio/voice', PARAMS],
    ];
    for (const [url, params] of cases) {
      expect(sdkAccepts(AUTH_TOKEN, signature, url, params), url).toBe(false);
      expect(await validateTwilioSignature({ authToken: AUTH_TOKEN, signature, url, params }), url).toBe(false);
      await expect(assertTwilioSignature({ authToken: AUTH_TOKEN, signature, url, params })).rejects.toBeInstanceOf(
        WebhookSignatureError,
      );
    }
  });

  it('another key or a truncated signature: refused by both', async () => {
    for (const bad of [twilio.getExpectedTwilioSignature('another-token', URL_, PARAMS), signature.slice(0, -4), '']) {
      expect(sdkAccepts(AUTH_TOKEN, bad, URL_, PARAMS)).toBe(false);
      expect(await validateTwilioSignature({ authToken: AUTH_TOKEN, signature: bad, url: URL_, params: PARAMS })).toBe(
        false,
      );
    }
  });

  it('a replayed delivery: the SDK cannot tell (the signature has no timestamp); a ReplayGuard refuses it', async () => {
    expect(sdkAccepts(AUTH_TOKEN, signature, URL_, PARAMS)).toBe(true);
    expect(sdkAccepts(AUTH_TOKEN, signature, URL_, PARAMS)).toBe(true);
    const replayGuard = new ReplayGuard();
    const options = { authToken: AUTH_TOKEN, signature, url: URL_, params: PARAMS, replayGuard };
    await expect(assertTwilioSignature(options)).resolves.toBeUndefined();
    await expect(assertTwilioSignature(options)).rejects.toThrow(/replayed/);
  });
});

describe('URL forms: the SDK decides which forms a signature may be computed over', () => {
  it("real deliveries whose query holds ', :, @, / or spaces", async () => {
    const received =
      "https://Voice.Example.com/hook?name=O'Brien&at=2024-05-01T10:00:00Z&mail=a@b.example&next=/x/y&say=hi there";
    const forms = [received, new URL(received).href, legacyQuery(new URL(received).href)];
    for (const signed of forms) {
      const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, signed, PARAMS);
      expect(sdkAccepts(AUTH_TOKEN, signature, received, PARAMS), signed).toBe(true);
      expect(
        await validateTwilioSignature({ authToken: AUTH_TOKEN, signature, url: received, params: PARAMS }),
        signed,
      ).toBe(true);
    }
  });

  it('property: for generated URLs and signed forms, we accept exactly what the SDK accepts', async () => {
    const received = receivedUrls({
      hosts: ['voice.example.com', 'Voice.EXAMPLE.com', 'h.example'],
      ports: ['', ':443'],
      paths: ['/', '/hook', '/a b/c', "/it's", '/%7Euser'],
      queryChars: [...'aZ09-_.~!*()\'":@/?,;$ +=&%#é€'.split(''), '%41', '%2F', '%3A', '%zz', '%E2%82%AC', '%C3'],
      maxQueryLength: 24,
    });
    const params = fc.dictionary(fc.constantFrom('A', 'B', 'Body', 'To'), fc.string({ maxLength: 6 }), { maxKeys: 3 });

    await fc.assert(
      fc.asyncProperty(received, received, params, urlForms, async (url, otherUrl, p, which) => {
        const signed = signedUrl(url, otherUrl, which);
        if (signed === undefined) return; // not a URL a request arrives at
        const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, signed, p);
        let theirs: boolean;
        try {
          theirs = sdkAccepts(AUTH_TOKEN, signature, url, p);
        } catch {
          theirs = false; // the library throws where it cannot parse or re-encode; we answer false
        }
        const ours = await validateTwilioSignature({ authToken: AUTH_TOKEN, signature, url, params: p });
        expect({ url, signed, ours }).toEqual({ url, signed, ours: theirs });
      }),
      { numRuns: 300 },
    );
  });

  it('where we differ on purpose: a non-default port, and wss:// default ports', async () => {
    // The library drops any port from the URL as received, so a signature for
    // https://host/x passes at https://host:8443/x. We keep a non-default port: it addresses
    // another listener, and Twilio signs the URL as configured, port included.
    const atPort = 'https://voice.example.com:8443/hook';
    const portless = twilio.getExpectedTwilioSignature(AUTH_TOKEN, 'https://voice.example.com/hook', PARAMS);
    expect(sdkAccepts(AUTH_TOKEN, portless, atPort, PARAMS)).toBe(true);
    expect(
      await validateTwilioSignature({ authToken: AUTH_TOKEN, signature: portless, url: atPort, params: PARAMS }),
    ).toBe(false);
    const withPort = twilio.getExpectedTwilioSignature(AUTH_TOKEN, atPort, PARAMS);
    expect(
      await validateTwilioSignature({ authToken: AUTH_TOKEN, signature: withPort, url: atPort, params: PARAMS }),
    ).toBe(true);

    // For wss:// the library writes :80 as the default port; wss's default is 443, which we use.
    const wss = 'wss://voice.example.com/media';
    const with443 = twilio.getExpectedTwilioSignature(AUTH_TOKEN, 'wss://voice.example.com:443/media', {});
    expect(await validateTwilioSignature({ authToken: AUTH_TOKEN, signature: with443, url: wss })).toBe(true);
  });
});
