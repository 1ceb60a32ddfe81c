import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import { assertBandwidthAuth, validateBandwidthAuth } from '../src/index.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const credentials = { username: 'bw-stream', password: 'correct horse battery' };

describe('validateBandwidthAuth / assertBandwidthAuth', () => {
  it('accepts the Basic credentials given to Bandwidth, from Node headers or a fetch Headers', () => {
    expect(
      validateBandwidthAuth({
        headers: { authorization: basic('bw-stream', 'correct horse battery') },
        ...credentials,
      }),
    ).toBe(true);
    const headers = new Headers({ Authorization: basic('bw-stream', 'correct horse battery') });
    expect(validateBandwidthAuth({ headers, ...credentials })).toBe(true);
    expect(() => assertBandwidthAuth({ headers, ...credentials })).not.toThrow();
    // The scheme is case-insensitive (RFC 7235).
    expect(
      validateBandwidthAuth({
        headers: { authorization: basic('bw-stream', 'correct horse battery').replace('Basic', 'basic') },
        ...credentials,
      }),
    ).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ['no Authorization header', {}],
    ['a wrong password', { authorization: basic('bw-stream', 'wrong') }],
    ['a wrong user', { authorization: basic('other', 'correct horse battery') }],
    ['a Bearer token', { authorization: 'Bearer abc' }],
    ['a Basic header without credentials', { authorization: 'Basic' }],
    ['an Authorization that is not a string', { authorization: 42 }],
    ['credentials that are not base64 of user:password', { authorization: 'Basic %%%' }],
  ])('refuses %s', (_title, headers) => {
    expect(validateBandwidthAuth({ headers: headers as Record<string, string>, ...credentials })).toBe(false);
    expect(() => assertBandwidthAuth({ headers: headers as Record<string, string>, ...credentials })).toThrow(
      WebhookSignatureError,
    );
  });

  it('says whether the credentials were missing or wrong', () => {
    expect(() => assertBandwidthAuth({ headers: {}, ...credentials })).toThrow(/missing Authorization header/);
    expect(() => assertBandwidthAuth({ headers: { authorization: basic('a', 'b') }, ...credentials })).toThrow(
      /does not carry/,
    );
  });

  it('refuses headers that are not a header map without throwing', () => {
    expect(validateBandwidthAuth({ headers: null as unknown as Record<string, string>, ...credentials })).toBe(false);
  });

  it.each([
    ['an empty user', { username: '', password: 'p' }],
    ['a user with a colon', { username: 'a:b', password: 'p' }],
    ['an empty password', { username: 'u', password: '' }],
  ])('refuses %s with a ConfigError', (_title, options) => {
    expect(() => validateBandwidthAuth({ headers: {}, ...options })).toThrow(ConfigError);
  });
});
