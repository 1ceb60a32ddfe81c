import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import {
  assertExotelStreamUrl,
  assertExotelUpgrade,
  signExotelStreamUrl,
  readExotelStreamUrlVerdict,
  validateExotelStreamUrl,
  validateExotelUpgrade,
  type ExotelHeaders,
  type ValidateExotelUpgradeOptions,
} from '../src/index.js';

const KEY = 'api-key';
const TOKEN = 'api-token';
const BASIC = `Basic ${btoa(`${KEY}:${TOKEN}`)}`;
const SECRET = 'stream-url-secret-0123456789';

describe('Exotel checks on what a request can carry', () => {
  it('answers false (assert: WebhookSignatureError) for headers that are missing, not a map, or hold a non-string Authorization', () => {
    for (const headers of [
      undefined,
      null,
      42,
      BASIC,
      { authorization: 42 },
      { authorization: [null, BASIC] },
      { authorization: { BASIC } },
    ]) {
      const options = { apiKey: KEY, apiToken: TOKEN, headers: headers as ExotelHeaders };
      expect(validateExotelUpgrade(options)).toBe(false);
      expect(() => assertExotelUpgrade(options)).toThrow(WebhookSignatureError);
    }
    expect(validateExotelUpgrade({ apiKey: KEY, apiToken: TOKEN, headers: { Authorization: [BASIC] } })).toBe(true);
  });

  it('refuses missing credentials with a ConfigError from the assert function too, not a TypeError', () => {
    expect(() => assertExotelUpgrade(undefined as unknown as ValidateExotelUpgradeOptions)).toThrow(ConfigError);
    expect(() => assertExotelUpgrade({ apiKey: '', apiToken: TOKEN, headers: {} })).toThrow(ConfigError);
  });

  it('answers a refusal for stream URLs of any shape, and a ConfigError only for a clock that is not a function', async () => {
    for (const url of [
      undefined,
      null,
      42,
      '',
      '/media?sig=1.x',
      'http://[::1',
      `/media?sig=${'9'.repeat(13)}.${'A'.repeat(43)}`,
      '/m?__proto__=1&sig=1.' + 'A'.repeat(43),
    ]) {
      const check = await readExotelStreamUrlVerdict({ url: url as string, secret: SECRET });
      expect(check.valid).toBe(false);
      expect(await validateExotelStreamUrl({ url: url as string, secret: SECRET })).toBe(false);
      await expect(assertExotelStreamUrl({ url: url as string, secret: SECRET })).rejects.toBeInstanceOf(
        WebhookSignatureError,
      );
    }
    await expect(
      readExotelStreamUrlVerdict({ url: '/media', secret: SECRET, now: 5 as unknown as () => number }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('answers true from validateExotelStreamUrl for a URL it signed, and false once it has expired or with another secret', async () => {
    const now = () => 1_700_000_000_000;
    const url = await signExotelStreamUrl({
      url: 'wss://bot.example.com/media?lang=hi',
      secret: SECRET,
      expiresInSeconds: 60,
      now,
    });
    const path = new URL(url).pathname + new URL(url).search;
    expect(await validateExotelStreamUrl({ url: path, secret: SECRET, now })).toBe(true);
    expect(await validateExotelStreamUrl({ url: path, secret: `${SECRET}-other`, now })).toBe(false);
    expect(await validateExotelStreamUrl({ url: path, secret: SECRET, now: () => now() + 61_000 })).toBe(false);
    expect(await validateExotelStreamUrl({ url: path.replace('lang=hi', 'lang=en'), secret: SECRET, now })).toBe(false);
  });

  it('verifies a signed URL whose path starts with // from the request path (read as a path, not a host)', async () => {
    const signed = await signExotelStreamUrl({
      url: 'wss://bot.example.com//media?x=1',
      secret: SECRET,
      expiresInSeconds: 60,
      now: () => 1_760_000_000_000,
    });
    const parsed = new URL(signed);
    expect(parsed.pathname).toBe('//media');
    const check = await readExotelStreamUrlVerdict({
      url: `${parsed.pathname}${parsed.search}`,
      secret: SECRET,
      now: () => 1_760_000_001_000,
    });
    expect(check.valid).toBe(true);
  });
});
