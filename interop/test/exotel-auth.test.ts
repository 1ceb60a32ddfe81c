/**
 * Exotel publishes no Node SDK, so the judges here are its documentation and code we did not write:
 *
 * - Basic credentials. The Voicebot applet page
 *   (https://developer.exotel.com/docs/agentstream/stream-voicebot-applet, "Authentication")
 *   documents `wss://<API_KEY>:<API_TOKEN>@host/path`, "transmitted as
 *   Authorization: Basic base64(API_KEY:API_TOKEN)". The header is computed here by hand from that
 *   sentence, and also made by Node's own HTTP client from a URL that carries the credentials (as
 *   a WebSocket client does on its upgrade request), and `validateExotelUpgrade` must accept both.
 * - Signed stream URLs are our own scheme (Exotel signs nothing): `sig=<expiry>.<base64url
 *   HMAC-SHA256>` over "<expiry>\n<path>\n<query without sig, sorted>", as the package README
 *   states it. The signature is recomputed here with node:crypto from that description alone.
 */
import { createHmac } from 'node:crypto';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signExotelStreamUrl, readExotelStreamUrlVerdict, validateExotelUpgrade } from '@switchboard/exotel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KEY = 'a1b2c3d4e5f6';
const TOKEN = 'p@ss:w0rd/with+odd=chars';

/** The documented header, by hand: "Basic " + base64("API_KEY:API_TOKEN"). */
const documented = (key: string, token: string) => `Basic ${Buffer.from(`${key}:${token}`, 'utf8').toString('base64')}`;

describe('Exotel Basic credentials on the upgrade (the documented scheme)', () => {
  let upgrades: IncomingMessage[] = [];
  let port = 0;
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: IncomingMessage, socket) => {
    upgrades.push(req);
    socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** An upgrade request made by Node's HTTP client from a URL that carries the credentials. */
  function upgradeFrom(url: URL): Promise<IncomingMessage> {
    upgrades = [];
    return new Promise((resolve, reject) => {
      const req = request(url, {
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      req.on('upgrade', (_res, socket) => socket.destroy());
      req.on('response', (res) => res.resume());
      req.on('error', () => undefined);
      req.on('close', () => (upgrades[0] ? resolve(upgrades[0]) : reject(new Error('no upgrade reached the server'))));
      req.end();
    });
  }

  it('accepts the header computed by hand from the documentation', () => {
    expect(
      validateExotelUpgrade({ headers: { authorization: documented(KEY, TOKEN) }, apiKey: KEY, apiToken: TOKEN }),
    ).toBe(true);
    expect(
      validateExotelUpgrade({
        headers: new Headers({ Authorization: documented(KEY, TOKEN) }),
        apiKey: KEY,
        apiToken: TOKEN,
      }),
    ).toBe(true);
  });

  it('accepts the header Node’s client writes from wss://KEY:TOKEN@host (credentials percent-encoded in the URL)', async () => {
    const url = new URL(`http://127.0.0.1:${port}/media?sample-rate=16000`);
    url.username = KEY;
    url.password = TOKEN; // the URL percent-encodes "@", ":" and "/"; the client decodes them again
    expect(url.href).toContain('p%40ss');
    const req = await upgradeFrom(url);
    expect(req.headers.authorization).toBe(documented(KEY, TOKEN));
    expect(validateExotelUpgrade({ headers: req.headers, apiKey: KEY, apiToken: TOKEN })).toBe(true);
    expect(validateExotelUpgrade({ headers: req.headers, apiKey: KEY, apiToken: 'another-token' })).toBe(false);
  });

  it('refuses other credentials, another scheme and no header', () => {
    expect(
      validateExotelUpgrade({ headers: { authorization: documented(KEY, 'wrong') }, apiKey: KEY, apiToken: TOKEN }),
    ).toBe(false);
    expect(
      validateExotelUpgrade({ headers: { authorization: documented('other', TOKEN) }, apiKey: KEY, apiToken: TOKEN }),
    ).toBe(false);
    expect(
      validateExotelUpgrade({
        headers: { authorization: `Bearer ${Buffer.from(`${KEY}:${TOKEN}`).toString('base64')}` },
        apiKey: KEY,
        apiToken: TOKEN,
      }),
    ).toBe(false);
    expect(validateExotelUpgrade({ headers: {}, apiKey: KEY, apiToken: TOKEN })).toBe(false);
  });
});

describe('signed stream URLs (our scheme) recomputed with node:crypto', () => {
  const SECRET = 'a-secret-of-at-least-16-chars';
  const NOW = 1_760_000_000_000;

  /** The signature as the README describes it, computed without the package. */
  function byHand(path: string, query: Array<[string, string]>, expiresAt: number): string {
    const sorted = [...query].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
    const input = `${expiresAt}\n${path}\n${new URLSearchParams(sorted).toString()}`;
    return `${expiresAt}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
  }

  it('what we sign is what the description gives', async () => {
    const signed = new URL(
      await signExotelStreamUrl({
        url: 'wss://agent.example.com/media?sample-rate=16000&lang=hi',
        secret: SECRET,
        expiresInSeconds: 60,
        now: () => NOW,
      }),
    );
    const expiresAt = NOW / 1000 + 60;
    expect(signed.searchParams.get('sig')).toBe(
      byHand(
        '/media',
        [
          ['sample-rate', '16000'],
          ['lang', 'hi'],
        ],
        expiresAt,
      ),
    );
  });

  it('a URL signed by hand verifies; a changed parameter, another secret or an old expiry does not', async () => {
    const expiresAt = NOW / 1000 + 30;
    const sig = byHand(
      '/media',
      [
        ['lang', 'hi'],
        ['tenant', 'acme'],
      ],
      expiresAt,
    );
    const path = `/media?tenant=acme&lang=hi&sig=${sig}`;
    expect(await readExotelStreamUrlVerdict({ url: path, secret: SECRET, now: () => NOW })).toEqual({
      valid: true,
      expiresAt: expiresAt * 1000,
    });
    expect(
      await readExotelStreamUrlVerdict({ url: path.replace('acme', 'evil'), secret: SECRET, now: () => NOW }),
    ).toMatchObject({ valid: false, reason: 'tampered' });
    expect(
      await readExotelStreamUrlVerdict({ url: path, secret: 'another-secret-of-16+', now: () => NOW }),
    ).toMatchObject({
      valid: false,
      reason: 'tampered',
    });
    expect(await readExotelStreamUrlVerdict({ url: path, secret: SECRET, now: () => NOW + 31_000 })).toMatchObject({
      valid: false,
      reason: 'expired',
    });
  });
});
