import { createHash, createHmac } from 'node:crypto';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { validateVonageWebhook, readVonageAuthorization, assertVonageWebhook } from '../src/index.js';

const SECRET = 'signature-secret-of-the-account';
const NOW_S = 1_760_000_000;
const now = () => NOW_S * 1000;
// An event webhook body as Vonage posts it (compact JSON).
const BODY = JSON.stringify({
  start_time: null,
  headers: {},
  rate: null,
  from: '447700900000',
  to: '447700900001',
  uuid: '63f61863-4a51-4f6b-86e1-46edebcf9356',
  conversation_uuid: 'CON-f972836a-550f-45fa-956c-12a2ab5b7d22',
  status: 'answered',
  direction: 'inbound',
  timestamp: '2025-09-26T16:25:04.794Z',
});

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A token signed the way Vonage signs webhooks: HS256 with the signature secret. */
function token(
  claims: Record<string, unknown>,
  options: { secret?: string; header?: Record<string, unknown> } = {},
): string {
  const input = `${b64url(options.header ?? { alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', options.secret ?? SECRET)
    .update(input)
    .digest('base64url')}`;
}

const claims = (extra: Record<string, unknown> = {}) => ({
  iat: NOW_S - 2,
  jti: 'b5a1b4a0-1111-4222-8333-944455556666',
  iss: 'Vonage',
  payload_hash: sha256(BODY),
  api_key: 'abcd1234',
  application_id: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab',
  ...extra,
});

const verify = (authorization: string | undefined, extra: Partial<Parameters<typeof assertVonageWebhook>[0]> = {}) =>
  assertVonageWebhook({ signatureSecret: SECRET, authorization, body: BODY, now, ...extra });

async function rejection(promise: Promise<unknown>): Promise<WebhookSignatureError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(WebhookSignatureError);
  return error as WebhookSignatureError;
}

describe('assertVonageWebhook', () => {
  it('accepts a signed webhook and returns its claims', async () => {
    const result = await verify(`Bearer ${token(claims())}`, {
      applicationId: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab',
      apiKey: 'abcd1234',
    });
    expect(result).toMatchObject({ iat: NOW_S - 2, api_key: 'abcd1234', payload_hash: sha256(BODY) });
    expect(
      await assertVonageWebhook({
        signatureSecret: SECRET,
        headers: new Headers({ Authorization: `Bearer ${token(claims())}` }),
        body: new TextEncoder().encode(BODY),
        now,
      }),
    ).toBeTruthy();
    expect(
      await validateVonageWebhook({
        signatureSecret: SECRET,
        headers: { authorization: `Bearer ${token(claims())}` },
        body: BODY,
        now,
      }),
    ).toBe(true);
  });

  it('hashes a GET query in the order received, integer-like keys included', async () => {
    const query = new URLSearchParams([
      ['uuid', 'u-1'],
      ['10', 'ten'],
      ['dtmf', '5'],
    ]);
    // Key order as received; JSON.stringify of an object would put "10" first.
    const getToken = token(claims({ payload_hash: sha256('{"uuid":"u-1","10":"ten","dtmf":"5"}') }));
    await expect(
      assertVonageWebhook({ signatureSecret: SECRET, authorization: `Bearer ${getToken}`, query, now }),
    ).resolves.toBeTruthy();
  });

  it('checks the payload: a tampered body fails; re-serialised JSON or a GET query verify', async () => {
    const tampered = BODY.replace('answered', 'completed');
    expect((await rejection(verify(`Bearer ${token(claims())}`, { body: tampered }))).message).toMatch(/payload_hash/);
    // The same JSON pretty-printed by a proxy still hashes as Vonage's compact form.
    await expect(
      verify(`Bearer ${token(claims())}`, { body: JSON.stringify(JSON.parse(BODY), null, 2) }),
    ).resolves.toBeTruthy();
    const query = new URLSearchParams({
      to: '447700900001',
      from: '447700900000',
      uuid: 'u-1',
      conversation_uuid: 'CON-1',
    });
    const getToken = token(claims({ payload_hash: sha256(JSON.stringify(Object.fromEntries(query))) }));
    await expect(
      assertVonageWebhook({ signatureSecret: SECRET, authorization: `Bearer ${getToken}`, query, now }),
    ).resolves.toBeTruthy();
    await expect(
      assertVonageWebhook({ signatureSecret: SECRET, authorization: `Bearer ${getToken}`, now }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('a token over the query alone does not vouch for a POST body that has content', async () => {
    // A signed GET's token replayed on a POST to the same URL with a body of the sender's choosing.
    const query = new URLSearchParams({ uuid: 'u-1' });
    const getToken = token(claims({ payload_hash: sha256('{"uuid":"u-1"}') }));
    const forged = JSON.stringify({ uuid: 'u-1', status: 'completed' });
    expect((await rejection(verify(`Bearer ${getToken}`, { body: forged, query }))).message).toMatch(/payload_hash/);
    // An empty body (a GET handler that passes both) still verifies by its query.
    await expect(verify(`Bearer ${getToken}`, { body: '', query })).resolves.toBeTruthy();
    await expect(verify(`Bearer ${getToken}`, { body: new Uint8Array(0), query })).resolves.toBeTruthy();
  });

  it('mergeQueryIntoBody: a hash of the query and the body merged verifies only when asked for', async () => {
    const query = new URLSearchParams({ tenant: 'acme', 2: 'two' });
    // What a JavaScript server computes with Object.assign(query, body): integer-like keys first.
    const merged = JSON.stringify(Object.assign(Object.fromEntries(query), JSON.parse(BODY) as object));
    expect(merged.startsWith('{"2":"two","tenant":"acme","start_time":null')).toBe(true);
    const mergedToken = `Bearer ${token(claims({ payload_hash: sha256(merged) }))}`;
    await rejection(verify(mergedToken, { query }));
    await expect(verify(mergedToken, { query, mergeQueryIntoBody: true })).resolves.toBeTruthy();
    await expect(
      verify(mergedToken, { query: Object.fromEntries(query), mergeQueryIntoBody: true }),
    ).resolves.toBeTruthy();
    // The body-only hash still verifies with the option on; a tampered body fails either way.
    await expect(verify(`Bearer ${token(claims())}`, { query, mergeQueryIntoBody: true })).resolves.toBeTruthy();
    await rejection(
      verify(mergedToken, { query, mergeQueryIntoBody: true, body: BODY.replace('answered', 'completed') }),
    );
  });

  it('rejects a token signed with another secret, or tampered claims', async () => {
    expect((await rejection(verify(`Bearer ${token(claims(), { secret: 'other' })}`))).message).toMatch(/signature/);
    const [h, , s] = token(claims()).split('.');
    const forged = `${h}.${b64url(claims({ api_key: 'evil' }))}.${s}`;
    await rejection(verify(`Bearer ${forged}`));
  });

  it('rejects a stale, future, expired or not-yet-valid token', async () => {
    expect((await rejection(verify(`Bearer ${token(claims({ iat: NOW_S - 301 }))}`))).message).toMatch(/stale/);
    await expect(
      verify(`Bearer ${token(claims({ iat: NOW_S - 3000 }))}`, { maxAgeSeconds: 3600 }),
    ).resolves.toBeTruthy();
    expect((await rejection(verify(`Bearer ${token(claims({ iat: NOW_S + 120 }))}`))).message).toMatch(/future/);
    await rejection(verify(`Bearer ${token(claims({ exp: NOW_S - 120 }))}`));
    await rejection(verify(`Bearer ${token(claims({ nbf: NOW_S + 120 }))}`));
    await rejection(verify(`Bearer ${token(claims({ iat: undefined }))}`));
  });

  it('rejects unsigned, malformed, alg=none, wrong-application and hash-less tokens', async () => {
    expect((await rejection(verify(undefined))).message).toMatch(/missing Authorization/);
    await rejection(verify('Basic abc'));
    await rejection(verify('Bearer not.a.jwt!'));
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}.`;
    await rejection(verify(`Bearer ${none}x`));
    await rejection(verify(`Bearer ${token(claims(), { header: { alg: 'HS512', typ: 'JWT' } })}`));
    await rejection(verify(`Bearer ${token(claims())}`, { applicationId: 'another-app' }));
    await rejection(verify(`Bearer ${token(claims())}`, { apiKey: 'another-key' }));
    const { payload_hash: _omitted, ...noHash } = claims();
    await rejection(verify(`Bearer ${token(noHash)}`));
    await expect(verify(`Bearer ${token(noHash)}`, { requirePayloadHash: false })).resolves.toBeTruthy();
    expect(
      await validateVonageWebhook({ signatureSecret: SECRET, authorization: 'Bearer x.y.z', body: BODY, now }),
    ).toBe(false);
  });

  it('never quotes the secret or the token, and needs a secret', async () => {
    const t = token(claims(), { secret: 'other' });
    const error = await rejection(verify(`Bearer ${t}`));
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(t.split('.')[2]!);
    await expect(assertVonageWebhook({ signatureSecret: '', authorization: `Bearer ${t}` })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });

  it('reads the Authorization header case-insensitively', () => {
    expect(readVonageAuthorization({ AUTHORIZATION: 'Bearer a' })).toBe('Bearer a');
    expect(readVonageAuthorization({ authorization: ['Bearer b', 'Bearer c'] })).toBe('Bearer b');
    expect(readVonageAuthorization({})).toBeUndefined();
  });
});
