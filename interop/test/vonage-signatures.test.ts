/**
 * Vonage tokens, both directions, against `@vonage/jwt` (the verifier and generator of
 * `@vonage/server-sdk`, which uses `jsonwebtoken` underneath):
 *
 * - application JWTs (RS256, signed with the application's private key): ours verify with the
 *   SDK's `verifySignature`, carry the same claims as the SDK's `tokenGenerate`, and a tampered
 *   or expired one fails there; the key forms the SDK takes (PEM text, the key file's bytes) make
 *   tokens with ours too;
 * - signed webhooks (HS256 with the signature secret, `payload_hash` = SHA-256 of the payload):
 *   Vonage signs them and nothing in either SDK does, so the token is made here by hand with
 *   node:crypto and both verifiers judge the same tokens. Where they differ the test says why.
 */
import { createHash, createHmac, createPublicKey, generateKeyPairSync, verify as rsaVerify } from 'node:crypto';
import { tokenGenerate, verifySignature } from '@vonage/jwt';
import { createVonageJwt, validateVonageWebhook, type assertVonageWebhook } from '@switchboard/vonage';
import { describe, expect, it } from 'vitest';

const APPLICATION_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab';
const SECRET = 'the-account-signature-secret-0123456789';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }) as string;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const decode = (segment: string) =>
  JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;

/** An HS256 token as Vonage signs webhooks, computed here without either library. */
function webhookToken(
  claims: Record<string, unknown>,
  secret = SECRET,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Replaces one character in the middle of a segment (a tampered token that is still base64url). */
function tamper(token: string, segment: 1 | 2): string {
  const parts = token.split('.');
  const part = parts[segment]!;
  const at = Math.floor(part.length / 2);
  parts[segment] = part.slice(0, at) + (part[at] === 'A' ? 'B' : 'A') + part.slice(at + 1);
  return parts.join('.');
}

describe('Vonage application JWT (RS256) against @vonage/jwt', () => {
  it('ours verifies with the SDK, carries the claims the SDK puts in its own, and the signature is over header.claims', async () => {
    const ours = await createVonageJwt({ applicationId: APPLICATION_ID, privateKey: PRIVATE_PEM });
    expect(verifySignature(ours, PUBLIC_PEM)).toBe(true);

    const theirs = tokenGenerate(APPLICATION_ID, PRIVATE_PEM);
    const [oursHeader, oursClaims] = ours.split('.').map((part, i) => (i < 2 ? decode(part) : part)) as [
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    const [theirHeader, theirClaims] = theirs.split('.').map((part, i) => (i < 2 ? decode(part) : part)) as [
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    expect(oursHeader).toEqual(theirHeader); // {"alg":"RS256","typ":"JWT"}
    expect(Object.keys(oursClaims).sort()).toEqual(Object.keys(theirClaims).sort()); // application_id, exp, iat, jti
    expect(oursClaims['application_id']).toBe(theirClaims['application_id']);
    expect(oursClaims['jti']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Different on purpose: the SDK's tokens live 900 s by default, ours 300 s (one request each).
    expect((theirClaims['exp'] as number) - (theirClaims['iat'] as number)).toBe(900);
    expect((oursClaims['exp'] as number) - (oursClaims['iat'] as number)).toBe(300);

    // Independent of both libraries: RSASSA-PKCS1-v1_5 with SHA-256 over "<header>.<claims>".
    const [h, c, s] = ours.split('.') as [string, string, string];
    expect(
      rsaVerify('sha256', Buffer.from(`${h}.${c}`), createPublicKey(PUBLIC_PEM), Buffer.from(s, 'base64url')),
    ).toBe(true);
  });

  it('extra claims (sub, acl) come out as the SDK writes them, and cannot replace the fixed ones', async () => {
    const acl = { paths: { '/*/users/**': {}, '/*/conversations/**': {} } };
    const ours = await createVonageJwt({
      applicationId: APPLICATION_ID,
      privateKey: PRIVATE_PEM,
      claims: { sub: 'alice', acl, application_id: 'other' },
    });
    const theirs = tokenGenerate(APPLICATION_ID, PRIVATE_PEM, { subject: 'alice', acl });
    const mine = decode(ours.split('.')[1]!);
    const sdk = decode(theirs.split('.')[1]!);
    expect(mine['sub']).toBe(sdk['sub']);
    expect(mine['acl']).toEqual(sdk['acl']);
    expect(mine['application_id']).toBe(APPLICATION_ID);
    expect(verifySignature(ours, PUBLIC_PEM)).toBe(true);
  });

  it('a tampered or expired token of ours fails the SDK verifier', async () => {
    const ours = await createVonageJwt({ applicationId: APPLICATION_ID, privateKey: PRIVATE_PEM });
    expect(verifySignature(tamper(ours, 1), PUBLIC_PEM)).toBe(false);
    expect(verifySignature(tamper(ours, 2), PUBLIC_PEM)).toBe(false);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string;
    expect(verifySignature(ours, other)).toBe(false);
    // Issued ten minutes ago with a five-minute lifetime: jsonwebtoken checks exp.
    const stale = await createVonageJwt({
      applicationId: APPLICATION_ID,
      privateKey: PRIVATE_PEM,
      now: () => Date.now() - 600_000,
    });
    expect(verifySignature(stale, PUBLIC_PEM)).toBe(false);
  });

  it('takes the private key in the forms the SDK takes: PEM text, PEM with literal \\n, and the key file as bytes', async () => {
    const escaped = PRIVATE_PEM.replace(/\n/g, '\\n');
    const bytes = Buffer.from(PRIVATE_PEM);
    // The SDK signs with each of these (jsonwebtoken reads a Buffer as the PEM text).
    expect(verifySignature(tokenGenerate(APPLICATION_ID, bytes), PUBLIC_PEM)).toBe(true);
    for (const key of [PRIVATE_PEM, escaped, bytes, new Uint8Array(bytes)]) {
      const token = await createVonageJwt({ applicationId: APPLICATION_ID, privateKey: key });
      expect(verifySignature(token, PUBLIC_PEM)).toBe(true);
    }
  });
});

describe('Vonage signed webhooks (HS256) judged by @vonage/jwt and by assertVonageWebhook', () => {
  const body = JSON.stringify({
    from: '447700900000',
    to: '447700900001',
    uuid: 'u-1',
    status: 'answered',
    timestamp: '2026-01-01T00:00:00.000Z',
  });
  const claims = (extra: Record<string, unknown> = {}) => ({
    iat: Math.floor(Date.now() / 1000) - 1,
    jti: '5a1b4a0b-1111-4222-8333-944455556666',
    iss: 'Vonage',
    payload_hash: sha256(body),
    api_key: 'abcd1234',
    application_id: APPLICATION_ID,
    ...extra,
  });
  const ours = (token: string, extra: Partial<Parameters<typeof assertVonageWebhook>[0]> = {}) =>
    validateVonageWebhook({ signatureSecret: SECRET, authorization: `Bearer ${token}`, body, ...extra });

  it('a token signed as documented passes both', async () => {
    const token = webhookToken(claims());
    expect(verifySignature(token, SECRET)).toBe(true);
    expect(await ours(token)).toBe(true);
  });

  it('another secret, a tampered signature or tampered claims fail both', async () => {
    for (const token of [
      webhookToken(claims(), 'another-secret'),
      tamper(webhookToken(claims()), 2),
      tamper(webhookToken(claims()), 1),
    ]) {
      expect(verifySignature(token, SECRET)).toBe(false);
      expect(await ours(token)).toBe(false);
    }
  });

  it('an expired token (exp in the past) fails both', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = webhookToken(claims({ iat: now - 120, exp: now - 100 }));
    expect(verifySignature(token, SECRET)).toBe(false);
    expect(await ours(token)).toBe(false);
  });

  it('different on purpose: a stale token without exp passes the SDK, which has no age limit; ours refuses it (replay)', async () => {
    // Vonage's webhook tokens carry iat and no exp; its signed-webhook guide says the check
    // "defends against interception and later replay", which needs an age limit on iat.
    const token = webhookToken(claims({ iat: Math.floor(Date.now() / 1000) - 3600 }));
    expect(verifySignature(token, SECRET)).toBe(true);
    expect(await ours(token)).toBe(false);
    expect(await ours(token, { maxAgeSeconds: 7200 })).toBe(true);
  });

  it('different on purpose: the SDK checks the signature only; ours also checks payload_hash against the body', async () => {
    const token = webhookToken(claims());
    const tampered = body.replace('answered', 'completed');
    expect(verifySignature(token, SECRET)).toBe(true);
    expect(await ours(token, { body: tampered })).toBe(false);
  });

  it('an application JWT (RS256, made by the SDK) is no webhook token for either, whatever key is tried', async () => {
    const appToken = tokenGenerate(APPLICATION_ID, PRIVATE_PEM);
    expect(verifySignature(appToken, SECRET)).toBe(false);
    expect(await ours(appToken)).toBe(false);
    // alg=none, and HS256 keyed with the public key (the classic confusion) fail both.
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}.`;
    expect(verifySignature(none, SECRET)).toBe(false);
    expect(await ours(none)).toBe(false);
    const confused = webhookToken(claims(), PUBLIC_PEM);
    expect(verifySignature(confused, PUBLIC_PEM)).toBe(false);
    expect(
      await validateVonageWebhook({ signatureSecret: PUBLIC_PEM, authorization: `Bearer ${confused}`, body }),
    ).toBe(true); // a secret is a secret: the caller picks it
  });

  it('payload_hash of a POST whose URL has a query: body alone by default; query and body merged (the Node snippet) with mergeQueryIntoBody', async () => {
    // Vonage's Node.js snippet for signed webhooks hashes JSON.stringify(Object.assign(req.query, req.body));
    // its support article hashes the body alone. Computed here the way that snippet does.
    const query = new URLSearchParams({ tenant: 'acme' });
    const merged = JSON.stringify(Object.assign(Object.fromEntries(query), JSON.parse(body) as object));
    const mergedToken = webhookToken(claims({ payload_hash: sha256(merged) }));
    expect(verifySignature(mergedToken, SECRET)).toBe(true);
    expect(await ours(mergedToken, { query })).toBe(false);
    expect(await ours(mergedToken, { query, mergeQueryIntoBody: true })).toBe(true);
    expect(await ours(webhookToken(claims()), { query, mergeQueryIntoBody: true })).toBe(true);
  });
});
