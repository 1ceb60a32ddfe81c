import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import {
  WavixStreamUrlError,
  assertWavixStreamUrl,
  readWavixStreamUrlParameters,
  readWavixStreamUrlVerdict,
  signWavixStreamUrl,
  validateWavixStreamUrl,
} from '../src/index.js';

const SECRET = 'a-secret-of-thirty-two-characters';
const CALL = '5dccb6b0-f35c-488c-867b-86fb012c4415';
const T0 = Date.UTC(2026, 0, 1);
const at = (ms: number) => () => ms;

/** The path and query an upgrade request carries for a signed URL (`req.url`). */
function requestUrl(signed: string): string {
  const url = new URL(signed);
  return `${url.pathname}${url.search}`;
}

describe('signed Wavix stream URLs', () => {
  it('verifies a signed URL on the upgrade and gives back the call it was signed for', async () => {
    const signed = await signWavixStreamUrl({
      url: 'wss://agent.example.com/wavix/media?lang=de',
      secret: SECRET,
      callId: CALL,
      expiresInSeconds: 60,
      now: at(T0),
    });
    expect(signed).toMatch(
      /^wss:\/\/agent\.example\.com\/wavix\/media\?lang=de&wavix_call=.+&wavix_sig=\d+\.[\w-]{43}$/,
    );
    const verdict = await readWavixStreamUrlVerdict({ url: requestUrl(signed), secret: SECRET, now: at(T0 + 59_000) });
    expect(verdict).toEqual({ valid: true, expiresAt: T0 + 60_000, callId: CALL });
    await expect(assertWavixStreamUrl({ url: signed, secret: SECRET, now: at(T0) })).resolves.toEqual({
      expiresAt: T0 + 60_000,
      callId: CALL,
    });
    // Parameters in another order, behind a proxy that changed the host: still valid.
    const url = new URL(signed);
    const reordered = `/wavix/media?wavix_sig=${url.searchParams.get('wavix_sig')}&wavix_call=${CALL}&lang=de`;
    await expect(validateWavixStreamUrl({ url: reordered, secret: SECRET, now: at(T0) })).resolves.toBe(true);
    expect(readWavixStreamUrlParameters(reordered)).toEqual({ wavix_call: CALL, lang: 'de' });
  });

  it('refuses an unsigned, changed, foreign or expired URL, saying why', async () => {
    const signed = requestUrl(
      await signWavixStreamUrl({
        url: 'wss://a.example.com/m',
        secret: SECRET,
        callId: CALL,
        expiresInSeconds: 60,
        now: at(T0),
      }),
    );
    const cases: Array<[string, string, number, string]> = [
      ['/m', SECRET, T0, 'missing'],
      [signed.replace(CALL, '00000000-0000-0000-0000-000000000000'), SECRET, T0, 'tampered'],
      [signed.replace('/m?', '/n?'), SECRET, T0, 'tampered'],
      [`${signed}&lang=fr`, SECRET, T0, 'tampered'],
      [`${signed}&wavix_sig=1.abc`, SECRET, T0, 'tampered'],
      [signed.replace(/wavix_sig=\d+/, 'wavix_sig=99999999999'), SECRET, T0, 'tampered'],
      [signed.replace(/wavix_sig=.*/, 'wavix_sig=garbage'), SECRET, T0, 'tampered'],
      [signed, 'another-secret-of-32-characters!', T0, 'tampered'],
      [signed, SECRET, T0 + 60_000, 'expired'],
    ];
    for (const [url, secret, now, reason] of cases) {
      const verdict = await readWavixStreamUrlVerdict({ url, secret, now: at(now) });
      expect(verdict, url).toMatchObject({ valid: false, reason });
      const error = await assertWavixStreamUrl({ url, secret, now: at(now) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WavixStreamUrlError);
      expect(error).toBeInstanceOf(WebhookSignatureError);
      expect((error as Error).message).not.toContain(SECRET);
    }
    await expect(validateWavixStreamUrl({ url: 42 as unknown as string, secret: SECRET })).resolves.toBe(false);
  });

  it('refuses bad options with a ConfigError', async () => {
    await expect(
      signWavixStreamUrl({ url: 'wss://a.example.com', secret: 'short', expiresInSeconds: 60 }),
    ).rejects.toThrow(ConfigError);
    await expect(
      signWavixStreamUrl({ url: 'https://a.example.com', secret: SECRET, expiresInSeconds: 60 }),
    ).rejects.toThrow(/ws:\/\/ or wss:\/\//);
    await expect(
      signWavixStreamUrl({ url: 'wss://a.example.com', secret: SECRET, expiresInSeconds: 0 }),
    ).rejects.toThrow(ConfigError);
    await expect(
      signWavixStreamUrl({ url: 'wss://a.example.com', secret: SECRET, expiresInSeconds: 60, callId: '' }),
    ).rejects.toThrow(ConfigError);
    await expect(readWavixStreamUrlVerdict({ url: '/m', secret: '' })).rejects.toThrow(ConfigError);
  });

  it('reads a URL’s parameters without the signature, and nothing from an unreadable URL', () => {
    expect(readWavixStreamUrlParameters('/m?a=1&a=2&b=&wavix_sig=1.x&__proto__=p')).toEqual(
      JSON.parse('{"a":"1","b":"","__proto__":"p"}'),
    );
    expect(readWavixStreamUrlParameters('http://[bad')).toEqual({});
  });
});
