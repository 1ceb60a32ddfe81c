import { createPublicKey, createVerify } from 'node:crypto';
import { ConfigError } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { createVonageJwt, importVonagePrivateKey } from '../src/index.js';
import { rsaKeyPair } from './helpers.js';

const keys = rsaKeyPair();
const APP = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';

function decode(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

/** Verifies an RS256 JWT with the public key, independently of the code under test. */
function verifiesWith(token: string, publicKeyPem: string): boolean {
  const [header, payload, signature] = token.split('.');
  return createVerify('RSA-SHA256')
    .update(`${header}.${payload}`)
    .verify(createPublicKey(publicKeyPem), Buffer.from(signature!, 'base64url'));
}

describe('createVonageJwt', () => {
  it('signs an RS256 application JWT that the application’s public key verifies', async () => {
    const now = 1_760_000_000_000;
    const token = await createVonageJwt({ applicationId: APP, privateKey: keys.privateKey, now: () => now });
    const [header, payload, signature] = token.split('.');
    expect(signature).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decode(header!)).toEqual({ alg: 'RS256', typ: 'JWT' });
    const claims = decode(payload!);
    expect(claims).toEqual({
      application_id: APP,
      iat: 1_760_000_000,
      exp: 1_760_000_300,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(verifiesWith(token, keys.publicKey)).toBe(true);
    expect(verifiesWith(token, rsaKeyPair().publicKey)).toBe(false);
  });

  it('gives every token its own jti, takes a lifetime and extra claims, never overriding the required ones', async () => {
    const a = decode((await createVonageJwt({ applicationId: APP, privateKey: keys.privateKey })).split('.')[1]!);
    const b = decode(
      (
        await createVonageJwt({
          applicationId: APP,
          privateKey: keys.privateKey,
          ttlSeconds: 3600,
          claims: { sub: 'alice', application_id: 'evil', jti: 'fixed' },
        })
      ).split('.')[1]!,
    );
    expect(a['jti']).not.toBe(b['jti']);
    expect(b['jti']).not.toBe('fixed');
    expect(b['application_id']).toBe(APP);
    expect(b['sub']).toBe('alice');
    expect((b['exp'] as number) - (b['iat'] as number)).toBe(3600);
    await expect(
      createVonageJwt({ applicationId: APP, privateKey: keys.privateKey, ttlSeconds: 86_401 }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(createVonageJwt({ applicationId: '', privateKey: keys.privateKey })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });

  it('imports PKCS#1 keys and keys with escaped line breaks, as environment variables carry them', async () => {
    const fromPkcs1 = await createVonageJwt({ applicationId: APP, privateKey: keys.pkcs1PrivateKey });
    expect(verifiesWith(fromPkcs1, keys.publicKey)).toBe(true);
    const escaped = keys.privateKey.replace(/\n/g, '\\n');
    const key = await importVonagePrivateKey(escaped);
    expect(verifiesWith(await createVonageJwt({ applicationId: APP, privateKey: key }), keys.publicKey)).toBe(true);
  });

  it('takes the key file as bytes (a Buffer from readFile, as the Vonage SDK takes it), and refuses other objects with a ConfigError', async () => {
    const bytes = new TextEncoder().encode(keys.privateKey);
    expect(verifiesWith(await createVonageJwt({ applicationId: APP, privateKey: bytes }), keys.publicKey)).toBe(true);
    expect(
      verifiesWith(
        await createVonageJwt({ applicationId: APP, privateKey: Buffer.from(keys.pkcs1PrivateKey) }),
        keys.publicKey,
      ),
    ).toBe(true);
    await expect(
      createVonageJwt({ applicationId: APP, privateKey: { pem: keys.privateKey } as unknown as string }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(importVonagePrivateKey(Uint8Array.from([0xff, 0xfe, 0x00]))).rejects.toBeInstanceOf(ConfigError);
  });

  it('refuses what is not a usable private key, without quoting it', async () => {
    await expect(importVonagePrivateKey('')).rejects.toBeInstanceOf(ConfigError);
    await expect(importVonagePrivateKey('not a key')).rejects.toThrow(/PEM/);
    await expect(importVonagePrivateKey(keys.publicKey)).rejects.toThrow(/PUBLIC KEY/);
    const garbage = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----';
    const error = await importVonagePrivateKey(garbage).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain('AAAA');
  });
});
