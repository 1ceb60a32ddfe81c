import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import { assertExotelUpgrade, validateExotelUpgrade } from '../src/auth.js';

const KEY = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0';
const TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f11223344';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('validateExotelUpgrade', () => {
  it('accepts the Basic credentials written into the stream URL (any header case, Headers objects too)', () => {
    expect(validateExotelUpgrade({ headers: { authorization: basic(KEY, TOKEN) }, apiKey: KEY, apiToken: TOKEN })).toBe(
      true,
    );
    expect(
      validateExotelUpgrade({
        headers: { Authorization: [`basic  ${Buffer.from(`${KEY}:${TOKEN}`).toString('base64')}`] },
        apiKey: KEY,
        apiToken: TOKEN,
      }),
    ).toBe(true);
    expect(
      validateExotelUpgrade({
        headers: new Headers({ authorization: basic(KEY, TOKEN) }),
        apiKey: KEY,
        apiToken: TOKEN,
      }),
    ).toBe(true);
    expect(() =>
      assertExotelUpgrade({ headers: { authorization: basic(KEY, TOKEN) }, apiKey: KEY, apiToken: TOKEN }),
    ).not.toThrow();
  });

  it('rejects tampered or missing credentials', () => {
    expect(
      validateExotelUpgrade({ headers: { authorization: basic(KEY, `${TOKEN}x`) }, apiKey: KEY, apiToken: TOKEN }),
    ).toBe(false);
    expect(
      validateExotelUpgrade({ headers: { authorization: basic('other', TOKEN) }, apiKey: KEY, apiToken: TOKEN }),
    ).toBe(false);
    expect(validateExotelUpgrade({ headers: { authorization: `Bearer ${TOKEN}` }, apiKey: KEY, apiToken: TOKEN })).toBe(
      false,
    );
    expect(validateExotelUpgrade({ headers: {}, apiKey: KEY, apiToken: TOKEN })).toBe(false);
    expect(() => assertExotelUpgrade({ headers: {}, apiKey: KEY, apiToken: TOKEN })).toThrow(/missing Authorization/);
    expect(() =>
      assertExotelUpgrade({ headers: { authorization: basic(KEY, 'nope') }, apiKey: KEY, apiToken: TOKEN }),
    ).toThrow(WebhookSignatureError);
  });

  it('refuses to check without credentials (a ConfigError, not a silent pass)', () => {
    expect(() => validateExotelUpgrade({ headers: {}, apiKey: '', apiToken: TOKEN })).toThrow(ConfigError);
  });
});
