/**
 * SignalWire's Compatibility (cXML) webhook signatures against `@signalwire/compatibility-api`.
 *
 * What its sources show (3.2.0, lib/webhooks/webhooks.js): the helper library only verifies, it
 * exports no signer. The scheme is Twilio's older one: base64(HMAC-SHA1(key, url + for each name
 * in ascending order, name + value)), the header `X-SignalWire-Signature` (or `X-Twilio-Signature`),
 * the key the project's Signing Key. Differences from Twilio's own library: no HMAC-SHA256 or
 * SharedKey settings; the values of a repeated name are signed in the order given, each occurrence
 * kept (Twilio's sorts them and keeps each once); the URL is tried as received with its port
 * removed or the scheme's default added (url-parse), without the WHATWG or re-encoded-query forms.
 * `validateRequestWithBody` checks `bodySHA256` as Twilio's does.
 *
 * Deliveries are built here with node:crypto as that scheme describes, and the library is asked
 * first whether it accepts them: it is the judge, our verifier must agree.
 */
import { createHmac } from 'node:crypto';
// The package's exports map names no types, so TypeScript does not find its declarations.
// @ts-expect-error -- untyped under moduleResolution "bundler"; the shape used is declared below
import * as signalwireSdk from '@signalwire/compatibility-api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayGuard, WebhookSignatureError } from '@switchboard/core';
import {
  assertSignalWireSignature,
  computeTwilioBodySHA256,
  computeTwilioSignature,
  readSignalWireSignatureHeader,
  validateSignalWireSignature,
} from '@switchboard/twilio';
import { receivedUrls, signedUrl, urlForms } from './support/url-forms.js';

const SIGNING_KEY = 'PSK_7d3f0c2e9a8b1c4d5e6f7a8b9c0d1e2f';
const URL_ = 'https://example.signalwire.app/cxml/voice?tenant=acme';
const PARAMS: Record<string, string> = {
  AccountSid: 'b3877c40-da60-4998-90ad-b792e98472af',
  CallSid: '3f8e4a7b-8d3c-4f1e-9a2b-6c5d4e3f2a1b',
  CallStatus: 'ringing',
  From: '+15551230001',
  To: '+15551230002',
};

type Params = Record<string, string | string[]>;

/** The part of the library these tests call (see its compatibility-api.d.ts). */
type SignalWireCompatibility = {
  RestClient: {
    validateRequest(token: string, signature: string, url: string, params: Params): boolean;
    validateRequestWithBody(token: string, signature: string, url: string, body: string): boolean;
  };
};
const { RestClient } = signalwireSdk as unknown as SignalWireCompatibility;

/** The signature as SignalWire's scheme describes it: values of a repeated name in the order given. */
function swSign(key: string, url: string, params: Params): string {
  let text = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name]!;
    for (const v of Array.isArray(value) ? value : [value]) text += name + v;
  }
  return createHmac('sha1', key).update(text, 'utf8').digest('base64');
}

const sdkAccepts = (signature: string, url: string, params: Params) =>
  RestClient.validateRequest(SIGNING_KEY, signature, url, params);

describe('SignalWire deliveries the SDK accepts, we accept', () => {
  it('a form-encoded cXML webhook, the header read as X-SignalWire-Signature or X-Twilio-Signature', async () => {
    const signature = swSign(SIGNING_KEY, URL_, PARAMS);
    expect(sdkAccepts(signature, URL_, PARAMS)).toBe(true);
    for (const headers of [{ 'X-SignalWire-Signature': signature }, { 'x-twilio-signature': signature }]) {
      const header = readSignalWireSignatureHeader(headers);
      await expect(
        assertSignalWireSignature({ signingKey: SIGNING_KEY, signature: header, url: URL_, params: PARAMS }),
      ).resolves.toBeUndefined();
    }
  });

  it('repeated parameters, signed in the order given', async () => {
    const params = { ...PARAMS, Event: ['ringing', 'answered', 'ringing'] };
    const signature = swSign(SIGNING_KEY, URL_, params);
    expect(sdkAccepts(signature, URL_, params)).toBe(true);
    expect(await validateSignalWireSignature({ signingKey: SIGNING_KEY, signature, url: URL_, params })).toBe(true);
  });

  it('the default port written out or left out', async () => {
    const withPort = 'https://example.signalwire.app:443/cxml/voice?tenant=acme';
    for (const [signed, received] of [
      [withPort, URL_],
      [URL_, withPort],
    ] as const) {
      const signature = swSign(SIGNING_KEY, signed, PARAMS);
      expect(sdkAccepts(signature, received, PARAMS)).toBe(true);
      expect(
        await validateSignalWireSignature({ signingKey: SIGNING_KEY, signature, url: received, params: PARAMS }),
      ).toBe(true);
    }
  });

  it('a host in capitals: the SDK lower-cases it and keeps the rest as received (a trailing space too)', async () => {
    const received = "https://Example.SignalWire.app/it's? ";
    const signed = "https://example.signalwire.app/it's? ";
    const signature = swSign(SIGNING_KEY, signed, PARAMS);
    expect(sdkAccepts(signature, received, PARAMS)).toBe(true);
    expect(
      await validateSignalWireSignature({ signingKey: SIGNING_KEY, signature, url: received, params: PARAMS }),
    ).toBe(true);
  });

  it('a JSON body through bodySHA256', async () => {
    const body = JSON.stringify({ call_id: PARAMS.CallSid, event: 'answered' });
    const url = `https://example.signalwire.app/events?bodySHA256=${await computeTwilioBodySHA256(body)}`;
    const signature = swSign(SIGNING_KEY, url, {});
    expect(RestClient.validateRequestWithBody(SIGNING_KEY, signature, url, body)).toBe(true);
    expect(await validateSignalWireSignature({ signingKey: SIGNING_KEY, signature, url, body })).toBe(true);
    expect(RestClient.validateRequestWithBody(SIGNING_KEY, signature, url, `${body} `)).toBe(false);
    expect(await validateSignalWireSignature({ signingKey: SIGNING_KEY, signature, url, body: `${body} ` })).toBe(
      false,
    );
    await expect(assertSignalWireSignature({ signingKey: SIGNING_KEY, signature, url })).rejects.toThrow(/bodySHA256/);
  });

  it('property: whatever the SDK accepts for generated URLs and parameters, we accept; other URLs neither', async () => {
    const received = receivedUrls({
      hosts: ['example.signalwire.app', 'Example.SignalWire.app'],
      ports: ['', ':443'],
      paths: ['/', '/cxml', "/it's"],
      queryChars: [...'aZ09-_.~!*()\'":@/,;$ +=&%é'.split(''), '%41', '%2F', '%zz'],
      maxQueryLength: 20,
    });
    const params = fc.dictionary(
      fc.constantFrom('A', 'B', 'Digits', 'To'),
      fc.oneof(fc.string({ maxLength: 5 }), fc.array(fc.string({ maxLength: 3 }), { minLength: 1, maxLength: 3 })),
      { maxKeys: 3 },
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(received, received, params, urlForms, async (url, otherUrl, p, which) => {
        const signed = signedUrl(url, otherUrl, which);
        if (signed === undefined) return;
        const signature = swSign(SIGNING_KEY, signed, p);
        const theirs = sdkAccepts(signature, url, p);
        const ours = await validateSignalWireSignature({ signingKey: SIGNING_KEY, signature, url, params: p });
        if (theirs) {
          accepted++;
          expect({ url, signed, ours }).toEqual({ url, signed, ours: true });
        }
        if (which === 'other' && new URL(signed).href !== new URL(url).href) {
          expect({ url, signed, ours }).toEqual({ url, signed, ours: false });
        }
      }),
      { numRuns: 300 },
    );
    expect(accepted).toBeGreaterThan(50);
  });
});

describe('we sign, the SignalWire SDK verifies', () => {
  it('form parameters and a JSON body', async () => {
    const signature = await computeTwilioSignature(SIGNING_KEY, URL_, PARAMS);
    expect(sdkAccepts(signature, URL_, PARAMS)).toBe(true);
    const body = '{"a":"ü"}';
    const url = `https://example.signalwire.app/events?bodySHA256=${await computeTwilioBodySHA256(body)}`;
    expect(
      RestClient.validateRequestWithBody(SIGNING_KEY, await computeTwilioSignature(SIGNING_KEY, url), url, body),
    ).toBe(true);
  });

  it('where we differ: our signer follows Twilio for repeated values (sorted, once each); SignalWire’s library wants them as given', async () => {
    const sortedUnique = { Event: ['answered', 'ringing'] };
    expect(sdkAccepts(await computeTwilioSignature(SIGNING_KEY, URL_, sortedUnique), URL_, sortedUnique)).toBe(true);
    const unsorted = { Event: ['ringing', 'answered'] };
    expect(sdkAccepts(await computeTwilioSignature(SIGNING_KEY, URL_, unsorted), URL_, unsorted)).toBe(false);
  });
});

describe('tampered and replayed SignalWire deliveries', () => {
  const signature = swSign(SIGNING_KEY, URL_, PARAMS);

  it('a changed parameter or URL, or another key: refused by both', async () => {
    const cases: Array<[string, string, Params]> = [
      [signature, URL_, { ...PARAMS, To: '+15559999999' }],
      [signature, URL_, { ...PARAMS, Extra: '' }],
      [signature, 'https://example.signalwire.app/cxml/voice?tenant=other', PARAMS],
      [swSign('another-key', URL_, PARAMS), URL_, PARAMS],
    ];
    for (const [sig, url, params] of cases) {
      expect(sdkAccepts(sig, url, params)).toBe(false);
      expect(await validateSignalWireSignature({ signingKey: SIGNING_KEY, signature: sig, url, params })).toBe(false);
      await expect(
        assertSignalWireSignature({ signingKey: SIGNING_KEY, signature: sig, url, params }),
      ).rejects.toBeInstanceOf(WebhookSignatureError);
    }
  });

  it('a replay: the SDK accepts it again (no timestamp is signed); a ReplayGuard refuses it', async () => {
    expect(sdkAccepts(signature, URL_, PARAMS)).toBe(true);
    expect(sdkAccepts(signature, URL_, PARAMS)).toBe(true);
    const replayGuard = new ReplayGuard();
    const options = { signingKey: SIGNING_KEY, signature, url: URL_, params: PARAMS, replayGuard };
    expect(await validateSignalWireSignature(options)).toBe(true);
    await expect(assertSignalWireSignature(options)).rejects.toThrow(/replayed/);
  });
});
