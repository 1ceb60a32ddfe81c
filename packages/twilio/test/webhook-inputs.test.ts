import { describe, expect, it } from 'vitest';
import { WebhookSignatureError } from '@switchboard/core';
import {
  assertSignalWireSignature,
  assertSignalWireStreamAuthorization,
  assertTwilioSignature,
  assertTwilioWebSocketUpgrade,
  computeTwilioSignature,
  validateSignalWireSignature,
  validateSignalWireStreamAuthorization,
  validateTwilioSignature,
  validateTwilioWebSocketUpgrade,
  type TwilioHeaders,
  type TwilioSignedParams,
} from '../src/index.js';

const TOKEN = '9f3c2b1a0e8d7c6b5a4f3e2d1c0b9a88';
const URL_ = 'https://voice.example.com/twilio/voice';
const WSS = 'wss://voice.example.com/media-stream';
const params = (value: unknown) => value as TwilioSignedParams;
const headers = (value: unknown) => value as TwilioHeaders;

describe('Twilio signature checks on what a request can carry', () => {
  it('answers false (assert: WebhookSignatureError) for form values that are not strings or string arrays', async () => {
    const signature = await computeTwilioSignature(TOKEN, URL_, { a: '1' });
    for (const value of [1, null, undefined, true, {}, { x: '1' }, [1], ['1', null], new Uint8Array([49])]) {
      const options = { authToken: TOKEN, signature, url: URL_, params: params({ a: value }) };
      expect(await validateTwilioSignature(options)).toBe(false);
      await expect(assertTwilioSignature(options)).rejects.toBeInstanceOf(WebhookSignatureError);
    }
  });

  it('answers false for a parameter set that is no object (a raw body, bytes, an array)', async () => {
    const signature = await computeTwilioSignature(TOKEN, URL_);
    for (const value of ['CallSid=CA1', new Uint8Array([1]), [['a', '1']], 42]) {
      expect(await validateTwilioSignature({ authToken: TOKEN, signature, url: URL_, params: params(value) })).toBe(
        false,
      );
    }
  });

  it('reads null parameters (a GET body as frameworks give it) as none', async () => {
    const signature = await computeTwilioSignature(TOKEN, URL_);
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url: URL_, params: params(null) })).toBe(true);
  });

  it('answers false for a URL that is not a string', async () => {
    for (const url of [undefined, null, 42, Object.create(null), ['https://a']]) {
      const options = { authToken: TOKEN, signature: 'abc', url: url as string };
      expect(await validateTwilioSignature(options)).toBe(false);
      await expect(assertTwilioSignature(options)).rejects.toBeInstanceOf(WebhookSignatureError);
    }
  });

  it('answers false for upgrade headers that are missing, not a map, or hold a signature that is not a string', async () => {
    const signature = await computeTwilioSignature(TOKEN, WSS);
    for (const value of [
      undefined,
      null,
      42,
      'x-twilio-signature',
      { 'x-twilio-signature': 42 },
      { 'x-twilio-signature': [null, signature] },
      { 'x-twilio-signature': { signature } },
    ]) {
      expect(await validateTwilioWebSocketUpgrade({ authToken: TOKEN, headers: headers(value), url: WSS })).toBe(false);
      await expect(
        assertTwilioWebSocketUpgrade({ authToken: TOKEN, headers: headers(value), url: WSS }),
      ).rejects.toBeInstanceOf(WebhookSignatureError);
    }
    expect(
      await validateTwilioWebSocketUpgrade({
        authToken: TOKEN,
        headers: { 'X-Twilio-Signature': [signature, 'other'] },
        url: WSS,
      }),
    ).toBe(true);
  });
});

describe('SignalWire checks on what a request can carry', () => {
  it('answers false for form values that are not strings', async () => {
    const options = { signingKey: TOKEN, signature: 'abc', url: URL_, params: params({ CallSid: 7 }) };
    expect(await validateSignalWireSignature(options)).toBe(false);
    await expect(assertSignalWireSignature(options)).rejects.toBeInstanceOf(WebhookSignatureError);
  });

  it('answers false for upgrade headers that are not a map or whose Authorization is not a string', () => {
    for (const value of [
      null,
      42,
      'Bearer tok',
      { authorization: ['Bearer tok'.length] },
      { authorization: Object.create(null) },
      { authorization: [Object.create(null)] },
    ]) {
      expect(validateSignalWireStreamAuthorization({ bearerToken: 'tok', headers: headers(value) })).toBe(false);
      expect(() => assertSignalWireStreamAuthorization({ bearerToken: 'tok', headers: headers(value) })).toThrow(
        WebhookSignatureError,
      );
    }
    expect(
      validateSignalWireStreamAuthorization({ bearerToken: 'tok', headers: { authorization: ['Bearer tok'] } }),
    ).toBe(true);
  });
});
