import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import {
  assertPlivoSignatureV3,
  computePlivoSignatureV3,
  plivoSignatureV3Base,
  readPlivoSignatureHeaders,
  validatePlivoSignatureV3,
} from '../src/signature.js';

const TOKEN = 'ZWI3ZGU0ZjM2NTljZTk1ZWE5NGE0OGE0MDBiNDE3';
const NONCE = '05429567804466091622';
const URL_ = 'https://voice.example.com/plivo/answer?tenant=acme&b=2';
const PARAMS = {
  CallUUID: '97ceeb52-58b6-11e1-86da-77300b68f8bb',
  From: '+14155551234',
  To: '+14155556789',
  Direction: 'inbound',
  CallStatus: 'in-progress',
};

/** The text Plivo signs for the POST above, written out by hand from the algorithm. */
const POST_BASE =
  'https://voice.example.com/plivo/answer?b=2&tenant=acme.' +
  'CallStatusin-progress' +
  'CallUUID97ceeb52-58b6-11e1-86da-77300b68f8bb' +
  'Directioninbound' +
  'From+14155551234' +
  'To+14155556789';

/** Independent implementation with node:crypto: HMAC-SHA256 of `${base}.${nonce}`, base64. */
const expected = (base: string, nonce = NONCE, token = TOKEN) =>
  createHmac('sha256', token).update(`${base}.${nonce}`, 'utf8').digest('base64');

describe('Plivo V3 signature', () => {
  it('builds the signed text as Plivo’s SDKs do for POST and GET', () => {
    expect(plivoSignatureV3Base('POST', URL_, PARAMS)).toBe(POST_BASE);
    // No body parameters: the URL with its sorted query only.
    expect(plivoSignatureV3Base('POST', URL_, {})).toBe('https://voice.example.com/plivo/answer?b=2&tenant=acme');
    // Body parameters but no query: a bare `?` and no `.`.
    expect(plivoSignatureV3Base('POST', 'https://h.example/a', { b: '2', a: '1' })).toBe('https://h.example/a?a1b2');
    // GET: the query (and any given parameters) sorted as name=value pairs; repeated names sorted by value.
    expect(plivoSignatureV3Base('GET', 'https://h.example/a?z=1&a=2&a=1', { m: 'x y' })).toBe(
      'https://h.example/a?a=1&a=2&m=x y&z=1',
    );
    expect(plivoSignatureV3Base('get', 'https://h.example:8443/a')).toBe('https://h.example:8443/a');
    expect(() => plivoSignatureV3Base('PUT', URL_)).toThrow(ConfigError);
  });

  it('accepts a valid signature, also among several comma-separated ones', async () => {
    const signature = expected(POST_BASE);
    expect(
      await computePlivoSignatureV3({ authToken: TOKEN, method: 'POST', url: URL_, params: PARAMS, nonce: NONCE }),
    ).toBe(signature);
    const options = { authToken: TOKEN, method: 'POST', url: URL_, params: PARAMS, nonce: NONCE, signature };
    expect(await validatePlivoSignatureV3(options)).toBe(true);
    expect(await validatePlivoSignatureV3({ ...options, params: new URLSearchParams(PARAMS) })).toBe(true);
    expect(
      await validatePlivoSignatureV3({
        ...options,
        signature: `${expected(POST_BASE, NONCE, 'old-token')},${signature}`,
      }),
    ).toBe(true);
    await expect(assertPlivoSignatureV3(options)).resolves.toBeUndefined();
  });

  it('rejects tampered parameters, URL, nonce or token', async () => {
    const signature = expected(POST_BASE);
    const options = { authToken: TOKEN, method: 'POST', url: URL_, params: PARAMS, nonce: NONCE, signature };
    expect(await validatePlivoSignatureV3({ ...options, params: { ...PARAMS, To: '+14155550000' } })).toBe(false);
    expect(await validatePlivoSignatureV3({ ...options, params: { ...PARAMS, Extra: '1' } })).toBe(false);
    expect(await validatePlivoSignatureV3({ ...options, url: URL_.replace('acme', 'evil') })).toBe(false);
    expect(await validatePlivoSignatureV3({ ...options, method: 'GET' })).toBe(false);
    expect(await validatePlivoSignatureV3({ ...options, authToken: 'another-token' })).toBe(false);
    expect(await validatePlivoSignatureV3({ ...options, signature: signature.slice(1) })).toBe(false);
    await expect(assertPlivoSignatureV3({ ...options, params: {} })).rejects.toThrow(WebhookSignatureError);
  });

  it('rejects a captured signature replayed with another nonce (V3 signs no timestamp: the nonce is what binds it)', async () => {
    const signature = expected(POST_BASE);
    const options = { authToken: TOKEN, method: 'POST', url: URL_, params: PARAMS, signature };
    expect(await validatePlivoSignatureV3({ ...options, nonce: NONCE })).toBe(true);
    expect(await validatePlivoSignatureV3({ ...options, nonce: '05429567804466091623' })).toBe(false);
  });

  it('reports missing headers and refuses a missing token with a ConfigError', async () => {
    const options = {
      authToken: TOKEN,
      method: 'POST',
      url: URL_,
      params: PARAMS,
      nonce: NONCE,
      signature: expected(POST_BASE),
    };
    expect(await validatePlivoSignatureV3({ ...options, signature: undefined })).toBe(false);
    expect(await validatePlivoSignatureV3({ ...options, nonce: '' })).toBe(false);
    await expect(assertPlivoSignatureV3({ ...options, nonce: null })).rejects.toThrow(/missing X-Plivo-Signature-V3/);
    await expect(validatePlivoSignatureV3({ ...options, authToken: '' })).rejects.toThrow(ConfigError);
  });

  it('accepts a URL with credentials signed with them (plivo-python) or without them (plivo-node)', async () => {
    const withCredentials = 'https://plivo:s3cret@voice.example.com/plivo/answer?tenant=acme&b=2';
    const asPython = expected(plivoSignatureV3Base('POST', withCredentials, PARAMS));
    const asNode = expected(POST_BASE); // the same request, the host alone
    expect(asPython).not.toBe(asNode);
    for (const signature of [asPython, asNode]) {
      expect(
        await validatePlivoSignatureV3({
          authToken: TOKEN,
          method: 'POST',
          url: withCredentials,
          params: PARAMS,
          nonce: NONCE,
          signature,
        }),
      ).toBe(true);
    }
    // Without credentials in the URL, the credentialed reading is never tried.
    expect(
      await validatePlivoSignatureV3({
        authToken: TOKEN,
        method: 'POST',
        url: URL_,
        params: PARAMS,
        nonce: NONCE,
        signature: asPython,
      }),
    ).toBe(false);
  });

  it('accepts a URL holding characters outside ASCII signed as UTF-8 or, as both Plivo SDKs do, encoded twice', async () => {
    const url = 'https://voice.example.com/plivo/réponse?b=2';
    const once = expected(plivoSignatureV3Base('POST', url, PARAMS));
    // The SDKs read the URL's UTF-8 bytes as characters and encode them again: é → Ã©.
    const twice = expected(
      plivoSignatureV3Base('POST', 'https://voice.example.com/plivo/r\u00c3\u00a9ponse?b=2', PARAMS),
    );
    for (const signature of [once, twice]) {
      expect(
        await validatePlivoSignatureV3({
          authToken: TOKEN,
          method: 'POST',
          url,
          params: PARAMS,
          nonce: NONCE,
          signature,
        }),
      ).toBe(true);
    }
    // Parameters are not read twice: a changed value still fails.
    expect(
      await validatePlivoSignatureV3({
        authToken: TOKEN,
        method: 'POST',
        url,
        params: { ...PARAMS, To: '+1' },
        nonce: NONCE,
        signature: twice,
      }),
    ).toBe(false);
  });

  it('reads the headers case-insensitively', () => {
    expect(
      readPlivoSignatureHeaders({
        'X-Plivo-Signature-V3': 's',
        'x-plivo-signature-ma-v3': 'm',
        'X-Plivo-Signature-V3-Nonce': ['n'],
      }),
    ).toEqual({
      signature: 's',
      mainAccountSignature: 'm',
      nonce: 'n',
    });
    expect(readPlivoSignatureHeaders(new Headers({ 'x-plivo-signature-v3-nonce': 'n' }))).toEqual({
      signature: undefined,
      mainAccountSignature: undefined,
      nonce: 'n',
    });
  });
});
