import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallControlError, ConfigError } from '@switchboard/core';
import { startFakeRest, type FakeRest } from '@switchboard/conformance/testing';
import { BandwidthCallControl, type BandwidthCallControlOptions } from '../src/index.js';

const ACCOUNT = '5555555';
const CALL = 'c-2a913f94-6a486f3a-3cae-4034-bcc3-f0c9fa77ca2f';

let api: FakeRest;

beforeEach(async () => {
  api = await startFakeRest();
});

afterEach(async () => {
  await api.stop();
});

const basic = (options: Partial<BandwidthCallControlOptions> = {}) =>
  new BandwidthCallControl({
    accountId: ACCOUNT,
    username: 'api-user',
    password: 'api-pass',
    baseUrl: api.url,
    ...options,
  });

describe('BandwidthCallControl', () => {
  it('hangs up with POST /accounts/{accountId}/calls/{callId}, state completed and Basic credentials', async () => {
    await expect(basic().hangup(CALL)).resolves.toEqual({ alreadyEnded: false });
    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe(`/accounts/${ACCOUNT}/calls/${CALL}`);
    expect(request!.headers['authorization']).toBe(`Basic ${Buffer.from('api-user:api-pass').toString('base64')}`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({ state: 'completed' });
  });

  it('redirects with state active, the URL, its method, credentials, fallback and tag', async () => {
    await basic().redirect(CALL, {
      url: 'https://agent.example.com/bandwidth/transfer?to=%2B15550001111',
      method: 'POST',
      username: 'hook',
      password: 'secret',
      fallbackUrl: 'https://backup.example.com/transfer',
      tag: 'transfer',
    });
    expect(JSON.parse(api.requests[0]!.body)).toEqual({
      state: 'active',
      redirectUrl: 'https://agent.example.com/bandwidth/transfer?to=%2B15550001111',
      redirectMethod: 'POST',
      username: 'hook',
      password: 'secret',
      redirectFallbackUrl: 'https://backup.example.com/transfer',
      tag: 'transfer',
    });
  });

  it('resolves alreadyEnded for a call Bandwidth no longer knows (404), and for a hang-up of an ended call (409)', async () => {
    api.reply = () => ({ status: 404, body: { type: 'validation', description: 'call not found' } });
    await expect(basic().hangup(CALL)).resolves.toEqual({ alreadyEnded: true });
    await expect(basic().redirect(CALL, { url: 'https://a.example.com/x' })).resolves.toEqual({ alreadyEnded: true });
    api.reply = () => ({ status: 409, body: { type: 'conflict', description: 'call is completed' } });
    await expect(basic().hangup(CALL)).resolves.toEqual({ alreadyEnded: true });
  });

  it('rejects any other refusal with a CallControlError carrying the status and Bandwidth’s type and description', async () => {
    api.reply = () => ({ status: 409, body: { type: 'validation', description: 'redirect not allowed now' } });
    const error = await basic()
      .redirect(CALL, { url: 'https://a.example.com/x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallControlError);
    expect((error as CallControlError).status).toBe(409);
    expect((error as CallControlError).providerCode).toBe('validation');
    expect((error as Error).message).toMatch(
      /Bandwidth rejected redirect \(HTTP 409, code validation\): redirect not allowed now/,
    );
    expect((error as Error).message).not.toContain('api-pass');
  });

  it('exchanges OAuth client credentials for a Bearer token once, and renews it a minute before it expires', async () => {
    let tokens = 0;
    api.reply = (request) => {
      if (request.path === '/oauth2/token') {
        tokens += 1;
        return { status: 200, body: { access_token: `tok-${tokens}`, token_type: 'Bearer', expires_in: 3600 } };
      }
      return { status: 200, body: {} };
    };
    let now = 1_000_000;
    const calls = new BandwidthCallControl({
      accountId: ACCOUNT,
      clientId: 'client-1',
      clientSecret: 'shh',
      baseUrl: api.url,
      tokenUrl: `${api.url}/oauth2/token`,
      now: () => now,
    });
    await Promise.all([calls.hangup(CALL), calls.hangup('c-other')]);
    now += 3_500_000;
    await calls.hangup(CALL);
    const tokenRequests = api.requests.filter((r) => r.path === '/oauth2/token');
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.headers['authorization']).toBe(`Basic ${Buffer.from('client-1:shh').toString('base64')}`);
    expect(tokenRequests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(tokenRequests[0]!.body).toBe('grant_type=client_credentials');
    const updates = api.requests.filter((r) => r.path !== '/oauth2/token');
    expect(updates.map((r) => r.headers['authorization'])).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-1']);
    now += 100_000;
    await calls.hangup(CALL);
    expect(api.requests.at(-1)!.headers['authorization']).toBe('Bearer tok-2');
  });

  it('rejects with a CallControlError when the token endpoint refuses the credentials, and asks again next time', async () => {
    let refuse = true;
    api.reply = (request) =>
      request.path === '/token'
        ? refuse
          ? { status: 401, body: { error: 'invalid_client', error_description: 'bad secret' } }
          : { status: 200, body: { access_token: 'ok', expires_in: 600 } }
        : { status: 200, body: {} };
    const calls = new BandwidthCallControl({
      accountId: ACCOUNT,
      clientId: 'c',
      clientSecret: 's',
      baseUrl: api.url,
      tokenUrl: `${api.url}/token`,
    });
    await expect(calls.hangup(CALL)).rejects.toThrow(
      /refused the client credentials \(HTTP 401, code invalid_client\): bad secret/,
    );
    refuse = false;
    await expect(calls.hangup(CALL)).resolves.toEqual({ alreadyEnded: false });
  });

  it('rejects a token answer without access_token', async () => {
    api.reply = (request) => (request.path === '/token' ? { status: 200, body: {} } : { status: 200, body: {} });
    const calls = new BandwidthCallControl({
      accountId: ACCOUNT,
      clientId: 'c',
      clientSecret: 's',
      baseUrl: api.url,
      tokenUrl: `${api.url}/token`,
    });
    await expect(calls.hangup(CALL)).rejects.toThrow(CallControlError);
  });

  it('percent-encodes the account and call ids in the path', async () => {
    await basic({ accountId: 'a/b' }).hangup('c ?x');
    expect(api.requests[0]!.path).toBe('/accounts/a%2Fb/calls/c%20%3Fx');
  });

  it.each<[string, () => unknown]>([
    ['no account id', () => new BandwidthCallControl({ username: 'u', password: 'p' } as BandwidthCallControlOptions)],
    ['no credentials', () => new BandwidthCallControl({ accountId: ACCOUNT })],
    [
      'both kinds of credentials',
      () =>
        new BandwidthCallControl({
          accountId: ACCOUNT,
          username: 'u',
          password: 'p',
          clientId: 'c',
          clientSecret: 's',
        }),
    ],
    ['a client id without its secret', () => new BandwidthCallControl({ accountId: ACCOUNT, clientId: 'c' })],
    ['a base URL that is not http(s)', () => basic({ baseUrl: 'ftp://voice.example.com' })],
    [
      'a token URL that is not a URL',
      () => new BandwidthCallControl({ accountId: ACCOUNT, clientId: 'c', clientSecret: 's', tokenUrl: 'nope' }),
    ],
  ])('refuses %s with a ConfigError', (_title, make) => {
    expect(make).toThrow(ConfigError);
  });

  it.each<[string, (c: BandwidthCallControl) => Promise<unknown>]>([
    ['an empty call id', (c) => c.hangup('')],
    ['a redirect URL that is not http(s)', (c) => c.redirect(CALL, { url: 'wss://a.example.com' })],
    [
      'a redirect method other than POST or GET',
      (c) => c.redirect(CALL, { url: 'https://a.example.com', method: 'PUT' as 'POST' }),
    ],
    ['a redirect user without a password', (c) => c.redirect(CALL, { url: 'https://a.example.com', username: 'u' })],
    ['a tag over 4096 characters', (c) => c.redirect(CALL, { url: 'https://a.example.com', tag: 'x'.repeat(4097) })],
  ])('refuses %s before sending anything', async (_title, run) => {
    await expect(run(basic())).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(0);
  });
});
