import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import {
  assertPlivoSignatureV3,
  computePlivoSignatureV3,
  plivoSignatureV3Base,
  readPlivoSignatureHeaders,
  validatePlivoSignatureV3,
  type PlivoHeaders,
  type PlivoSignedParams,
} from '../src/index.js';

const TOKEN = 'ZWI3ZGU0ZjM2NTljZTk1ZWE5NGE0OGE0MDBiNDE3';
const NONCE = '05429567804466091622';
const URL_ = 'https://voice.example.com/plivo/answer?tenant=acme';

async function signed(method = 'POST', params: PlivoSignedParams = { CallUUID: 'abc' }) {
  return {
    authToken: TOKEN,
    method,
    url: URL_,
    params,
    nonce: NONCE,
    signature: await computePlivoSignatureV3({ authToken: TOKEN, method, url: URL_, params, nonce: NONCE }),
  };
}

describe('Plivo V3 checks on what a request can carry', () => {
  it('answers false (assert: WebhookSignatureError) for a method other than GET or POST, or one that is not a string', async () => {
    const base = await signed();
    for (const method of ['PUT', 'HEAD', '', 'PO ST', undefined, null, 42, ['POST'], { toUpperCase: 'x' }]) {
      const options = { ...base, method: method as string };
      expect(await validatePlivoSignatureV3(options)).toBe(false);
      await expect(assertPlivoSignatureV3(options)).rejects.toBeInstanceOf(WebhookSignatureError);
    }
    // The method is read in any letter case, as before.
    expect(await validatePlivoSignatureV3({ ...base, method: 'post' })).toBe(true);
  });

  it('answers false for a relative, unparsable or non-string URL', async () => {
    const base = await signed();
    for (const url of [
      '/plivo/answer?tenant=acme',
      'voice.example.com/plivo/answer',
      'not a url',
      '',
      undefined,
      42,
      Object.create(null),
    ]) {
      const options = { ...base, url: url as string };
      expect(await validatePlivoSignatureV3(options)).toBe(false);
      await expect(assertPlivoSignatureV3(options)).rejects.toBeInstanceOf(WebhookSignatureError);
    }
  });

  it('answers false for parameters that are not strings or string arrays, or not an object', async () => {
    const base = await signed();
    for (const params of [
      { CallUUID: 5 },
      { CallUUID: null },
      { CallUUID: { a: 'b' } },
      { CallUUID: ['abc', 1] },
      'CallUUID=abc',
      42,
      [['CallUUID', 'abc']],
      new Uint8Array([1]),
    ]) {
      const options = { ...base, params: params as PlivoSignedParams };
      expect(await validatePlivoSignatureV3(options)).toBe(false);
      await expect(assertPlivoSignatureV3(options)).rejects.toBeInstanceOf(WebhookSignatureError);
    }
  });

  it('reads null parameters as none', async () => {
    const none = await signed('POST', {});
    expect(await validatePlivoSignatureV3({ ...none, params: null as unknown as PlivoSignedParams })).toBe(true);
  });

  it('reads header maps that are not objects, or values that are not strings, as missing headers', () => {
    for (const headers of [
      undefined,
      null,
      42,
      'x',
      { 'x-plivo-signature-v3': 42, 'x-plivo-signature-v3-nonce': [7] },
    ]) {
      expect(readPlivoSignatureHeaders(headers as unknown as PlivoHeaders)).toEqual({
        signature: undefined,
        mainAccountSignature: undefined,
        nonce: undefined,
      });
    }
  });

  it('keeps ConfigError for the developer’s own calls: a missing token, and the signing helpers given a bad request', async () => {
    const base = await signed();
    await expect(validatePlivoSignatureV3({ ...base, authToken: '' })).rejects.toBeInstanceOf(ConfigError);
    expect(() => plivoSignatureV3Base('PUT', URL_)).toThrow(ConfigError);
    expect(() => plivoSignatureV3Base(undefined as unknown as string, URL_)).toThrow(ConfigError);
    expect(() => plivoSignatureV3Base('POST', '/relative')).toThrow(ConfigError);
    expect(() => plivoSignatureV3Base('POST', URL_, { a: 1 } as unknown as PlivoSignedParams)).toThrow(ConfigError);
  });
});
