import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ReplayGuard, WebhookSignatureError } from '@switchboard/core';
import { startFakeRest } from '@switchboard/conformance/testing';
import {
  AZURE_CALL_AUTOMATION_ISSUER,
  assertAzureCallAutomationToken,
  createAzureKeySet,
  readAzureCallAutomationTokenVerdict,
  readAzureStreamHeaders,
  validateAzureCallAutomationToken,
  type AzureKeySet,
} from '../src/index.js';

const AUDIENCE = '3d20e1de-0f28-41c5-a9f5-8d0b3bd2f3c9';
const NOW = 1_760_000_000_000;
const b64url = (value: string | Uint8Array) =>
  Buffer.from(typeof value === 'string' ? value : value).toString('base64url');

let keys: AzureKeySet;
let signer: CryptoKey;
let otherSigner: CryptoKey;

async function rsaPair(kid: string): Promise<{ jwk: JsonWebKey & { kid: string }; privateKey: CryptoKey }> {
  const pair = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return { jwk: { ...jwk, kid }, privateKey: pair.privateKey };
}

/** A token as Call Automation issues one, with `claims` and `header` changed where given. */
async function token(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  key: CryptoKey = signer,
): Promise<string> {
  const now = Math.floor(NOW / 1000);
  const head = b64url(JSON.stringify({ alg: 'RS256', kid: 'k1', typ: 'JWT', ...header }));
  const body = b64url(
    JSON.stringify({ iss: AZURE_CALL_AUTOMATION_ISSUER, aud: AUDIENCE, nbf: now - 5, exp: now + 300, ...claims }),
  );
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, new TextEncoder().encode(`${head}.${body}`));
  return `${head}.${body}.${b64url(new Uint8Array(signature))}`;
}

const check = (t: string, extra: Record<string, unknown> = {}) =>
  readAzureCallAutomationTokenVerdict({ token: t, audience: AUDIENCE, keys, now: () => NOW, ...extra });

beforeAll(async () => {
  const [one, two] = await Promise.all([rsaPair('k1'), rsaPair('k2')]);
  keys = { keys: [one.jwk as never] };
  signer = one.privateKey;
  otherSigner = two.privateKey;
});

describe('Call Automation token checks', () => {
  it('accepts a token signed with a published key, read from the upgrade’s Authorization header', async () => {
    const t = await token();
    const headers = { authorization: `Bearer ${t}`, 'x-ms-call-connection-id': 'cc-1' };
    const verdict = await readAzureCallAutomationTokenVerdict({ headers, audience: AUDIENCE, keys, now: () => NOW });
    expect(verdict).toMatchObject({ valid: true, claims: { aud: AUDIENCE, iss: AZURE_CALL_AUTOMATION_ISSUER } });
    expect(await validateAzureCallAutomationToken({ headers, audience: AUDIENCE, keys, now: () => NOW })).toBe(true);
    await expect(
      assertAzureCallAutomationToken({ headers: new Headers(headers), audience: AUDIENCE, keys, now: () => NOW }),
    ).resolves.toMatchObject({ aud: AUDIENCE });
    // An audience list holding ours is ours.
    expect((await check(await token({ aud: ['other', AUDIENCE] }))).valid).toBe(true);
  });

  it.each([
    ['another audience', { aud: 'someone-else' }, {}, /another audience/],
    ['another issuer', { iss: 'https://evil.example' }, {}, /someone else/],
    ['an expired token', { exp: Math.floor(NOW / 1000) - 61 }, {}, /expired/],
    ['a token not valid yet', { nbf: Math.floor(NOW / 1000) + 120 }, {}, /not valid yet/],
    ['a token without exp', { exp: undefined }, {}, /without an expiry/],
    ['HS256', {}, { alg: 'HS256' }, /not RS256/],
    ['alg none', {}, { alg: 'none' }, /not RS256/],
    ['a key the set lacks', {}, { kid: 'k9' }, /does not hold/],
  ])('refuses %s', async (_name, claims, header, message) => {
    const verdict = await check(await token(claims, header));
    expect(verdict.valid).toBe(false);
    if (!verdict.valid) {
      expect(verdict.error).toBeInstanceOf(WebhookSignatureError);
      expect(verdict.error.message).toMatch(message);
    }
  });

  it('refuses a token signed with another key, a tampered payload, and malformed tokens', async () => {
    expect((await check(await token({}, {}, otherSigner))).valid).toBe(false);
    const [head, , sig] = (await token()).split('.');
    const forged = b64url(JSON.stringify({ iss: AZURE_CALL_AUTOMATION_ISSUER, aud: AUDIENCE, exp: 9e9 }));
    expect(await check(`${head}.${forged}.${sig}`)).toMatchObject({ valid: false });
    for (const bad of ['', 'a.b', 'a.b.c.d', '%%.%%.%%', `${b64url('[]')}.${b64url('{}')}.AA`, 'x'.repeat(20_000)])
      expect((await check(bad)).valid).toBe(false);
    expect(await validateAzureCallAutomationToken({ headers: {}, audience: AUDIENCE, keys })).toBe(false);
    expect(
      await validateAzureCallAutomationToken({ headers: { authorization: 'Basic abc' }, audience: AUDIENCE, keys }),
    ).toBe(false);
    await expect(assertAzureCallAutomationToken({ headers: {}, audience: AUDIENCE, keys })).rejects.toThrow(/missing/);
  });

  it('refuses a token used twice when given a replay guard', async () => {
    const replayGuard = new ReplayGuard();
    const t = await token({ jti: 'once' });
    expect((await check(t, { replayGuard })).valid).toBe(true);
    const again = await check(t, { replayGuard });
    expect(again.valid).toBe(false);
    if (!again.valid) expect(again.error.message).toMatch(/already used/);
  });

  it('asks a key source for a fresh set when a token names a key it lacks', async () => {
    const [rotated, current] = await Promise.all([rsaPair('k3'), Promise.resolve(keys)]);
    const asked: boolean[] = [];
    const source = async ({ refresh }: { refresh: boolean }) => {
      asked.push(refresh);
      return refresh ? { keys: [...current.keys, rotated.jwk as never] } : current;
    };
    const t = await token({}, { kid: 'k3' }, rotated.privateKey);
    expect((await check(t, { keys: source })).valid).toBe(true);
    expect(asked).toEqual([false, true]);
  });

  it('refuses options that cannot check anything with a ConfigError', async () => {
    const t = await token();
    await expect(readAzureCallAutomationTokenVerdict({ token: t, audience: '', keys })).rejects.toThrow(ConfigError);
    await expect(
      readAzureCallAutomationTokenVerdict({ token: t, audience: AUDIENCE, keys: {} as never }),
    ).rejects.toThrow(ConfigError);
    await expect(
      readAzureCallAutomationTokenVerdict({ token: t, audience: AUDIENCE, keys, replayGuard: {} as never }),
    ).rejects.toThrow(ConfigError);
    await expect(readAzureCallAutomationTokenVerdict(undefined as never)).rejects.toThrow(ConfigError);
  });
});

describe('createAzureKeySet', () => {
  it('fetches the published keys, keeps them, and fetches again for an unknown key at most once a minute', async () => {
    const api = await startFakeRest(() => ({ status: 200, body: keys }));
    try {
      let clock = NOW;
      const source = createAzureKeySet({ url: `${api.url}/calling/keys`, now: () => clock });
      const t = await token();
      expect((await check(t, { keys: source })).valid).toBe(true);
      expect((await check(t, { keys: source })).valid).toBe(true);
      expect(api.requests).toHaveLength(1);
      expect(api.requests[0]).toMatchObject({ method: 'GET', path: '/calling/keys' });
      const unknown = await token({}, { kid: 'nope' });
      expect((await check(unknown, { keys: source })).valid).toBe(false);
      expect(api.requests).toHaveLength(1);
      clock += 61_000;
      expect((await check(unknown, { keys: source })).valid).toBe(false);
      expect(api.requests).toHaveLength(2);
      api.reply = () => ({ status: 500 });
      clock += 2 * 60 * 60 * 1000;
      const verdict = await check(t, { keys: source });
      expect(verdict.valid).toBe(false);
    } finally {
      await api.stop();
    }
  });
});

describe('readAzureStreamHeaders', () => {
  it('reads the call connection id, the correlation id and the Bearer token, and nothing from junk', () => {
    expect(
      readAzureStreamHeaders({
        'X-MS-Call-Connection-Id': ' cc-1 ',
        'x-ms-call-correlation-id': 'corr-1',
        authorization: 'Bearer abc.def.ghi',
      }),
    ).toEqual({ callConnectionId: 'cc-1', correlationId: 'corr-1', token: 'abc.def.ghi' });
    for (const junk of [undefined, null, 5, 'x', { 'x-ms-call-connection-id': 5 }, { authorization: ['Bearer'] }])
      expect(readAzureStreamHeaders(junk as never)).toEqual({});
  });
});
