import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import {
  EXOTEL_STREAM_URL_SIGNATURE_PARAM,
  ExotelStreamUrlError,
  assertExotelStreamUrl,
  signExotelStreamUrl,
  readExotelStreamUrlVerdict,
} from '../src/index.js';

const SECRET = 'stream-url-secret-0123456789';
const T0 = 1_760_000_000_000;
const at = (ms: number) => () => ms;

/** What a Node server sees of the upgrade: the path and the query. */
function requestPath(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

async function signed(url = 'wss://bot.example.com/media?sample-rate=16000&lang=hi', ttl = 60): Promise<string> {
  return signExotelStreamUrl({ url, secret: SECRET, expiresInSeconds: ttl, now: at(T0) });
}

async function reasonOf(url: string, now = T0 + 1000, secret = SECRET): Promise<string | undefined> {
  const check = await readExotelStreamUrlVerdict({ url, secret, now: at(now) });
  return check.valid ? undefined : check.reason;
}

describe('signExotelStreamUrl / readExotelStreamUrlVerdict', () => {
  it('signs with one query parameter that keeps the rest of the URL, and verifies from the request path', async () => {
    const url = await signed();
    const parsed = new URL(url);
    expect(parsed.origin).toBe('wss://bot.example.com');
    expect(parsed.pathname).toBe('/media');
    expect(parsed.searchParams.get('sample-rate')).toBe('16000');
    expect(parsed.searchParams.get('lang')).toBe('hi');
    expect(parsed.searchParams.getAll(EXOTEL_STREAM_URL_SIGNATURE_PARAM)).toHaveLength(1);
    // Fits Exotel's 256 characters of custom parameters with room to spare.
    expect(parsed.searchParams.get(EXOTEL_STREAM_URL_SIGNATURE_PARAM)!.length).toBeLessThan(60);

    const check = await readExotelStreamUrlVerdict({ url: requestPath(url), secret: SECRET, now: at(T0 + 59_000) });
    expect(check).toEqual({ valid: true, expiresAt: T0 + 60_000 });
    await expect(assertExotelStreamUrl({ url, secret: SECRET, now: at(T0) })).resolves.toEqual({
      expiresAt: T0 + 60_000,
    });
  });

  it('accepts the query parameters in another order, and a URL signed twice keeps one signature', async () => {
    const url = new URL(await signed());
    const reordered = `/media?lang=hi&${EXOTEL_STREAM_URL_SIGNATURE_PARAM}=${url.searchParams.get(EXOTEL_STREAM_URL_SIGNATURE_PARAM)}&sample-rate=16000`;
    expect(await reasonOf(reordered)).toBeUndefined();
    const twice = await signExotelStreamUrl({ url, secret: SECRET, expiresInSeconds: 30, now: at(T0) });
    expect(new URL(twice).searchParams.getAll(EXOTEL_STREAM_URL_SIGNATURE_PARAM)).toHaveLength(1);
    expect(await reasonOf(twice)).toBeUndefined();
  });

  it('refuses a tampered URL: changed query, path, expiry or signature, another secret, a doubled signature', async () => {
    const url = await signed();
    const sig = new URL(url).searchParams.get(EXOTEL_STREAM_URL_SIGNATURE_PARAM)!;
    const [expiry, mac] = sig.split('.') as [string, string];
    expect(await reasonOf(url.replace('lang=hi', 'lang=en'))).toBe('tampered');
    expect(await reasonOf(`${url}&extra=1`)).toBe('tampered');
    expect(await reasonOf(url.replace('/media', '/admin'))).toBe('tampered');
    expect(await reasonOf(url.replace(`${expiry}.`, `${Number(expiry) + 3600}.`))).toBe('tampered');
    const flipped = `${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    expect(await reasonOf(url.replace(mac, flipped))).toBe('tampered');
    expect(await reasonOf(url.replace(sig, 'garbage'))).toBe('tampered');
    expect(await reasonOf(`${url}&${EXOTEL_STREAM_URL_SIGNATURE_PARAM}=${sig}`)).toBe('tampered');
    expect(await reasonOf(url, T0, 'another-secret-0123456789')).toBe('tampered');
  });

  it('refuses a stale URL once its expiry has passed', async () => {
    const url = await signed(undefined, 60);
    expect(await reasonOf(url, T0 + 60_000)).toBe('expired');
    expect(await reasonOf(url, T0 + 3_600_000)).toBe('expired');
  });

  it('refuses a URL without a signature as missing, and throws a typed WebhookSignatureError from assert', async () => {
    expect(await reasonOf('/media?sample-rate=16000')).toBe('missing');
    expect(await reasonOf('wss://bot.example.com/media')).toBe('missing');
    const error = await assertExotelStreamUrl({ url: '/media', secret: SECRET }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExotelStreamUrlError);
    expect(error).toBeInstanceOf(WebhookSignatureError);
    expect(error).toMatchObject({ reason: 'missing', code: 'webhook_signature_invalid' });
    const stale = await assertExotelStreamUrl({ url: await signed(), secret: SECRET, now: at(T0 + 120_000) }).catch(
      (e: unknown) => e,
    );
    expect(stale).toMatchObject({ reason: 'expired' });
    expect((stale as Error).message).not.toContain(SECRET);
  });

  it('refuses bad options with a ConfigError', async () => {
    await expect(
      signExotelStreamUrl({ url: 'wss://x.example/m', secret: 'short', expiresInSeconds: 60 }),
    ).rejects.toThrow(ConfigError);
    await expect(
      signExotelStreamUrl({ url: 'https://x.example/m', secret: SECRET, expiresInSeconds: 60 }),
    ).rejects.toThrow(ConfigError);
    await expect(signExotelStreamUrl({ url: '/media', secret: SECRET, expiresInSeconds: 60 })).rejects.toThrow(
      ConfigError,
    );
    await expect(
      signExotelStreamUrl({ url: 'wss://x.example/m', secret: SECRET, expiresInSeconds: 0 }),
    ).rejects.toThrow(ConfigError);
    await expect(
      signExotelStreamUrl({ url: 'wss://x.example/m', secret: SECRET, expiresInSeconds: 1.5 }),
    ).rejects.toThrow(ConfigError);
    await expect(readExotelStreamUrlVerdict({ url: '/media', secret: '' })).rejects.toThrow(ConfigError);
  });
});
