import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assertAzureCallAutomationToken,
  readAzureStreamHeaders,
  validateAzureCallAutomationToken,
  type AzureKeySet,
} from '../src/index.js';
import { FUZZ_RUNS, anyHeaders, anySignature, expectInvalid } from '@switchboard/test-kit/webhook-fuzz';

const AUDIENCE = '3d20e1de-0f28-41c5-a9f5-8d0b3bd2f3c9';
let keys: AzureKeySet;

beforeAll(async () => {
  const pair = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  keys = { keys: [{ ...(await crypto.subtle.exportKey('jwk', pair.publicKey)), kid: 'k1' } as never] };
});

/** Any value as text (a null-prototype object, which `String()` refuses, as its JSON). */
function text(value: unknown): string {
  try {
    return String(value);
  } catch {
    return JSON.stringify(value) ?? '';
  }
}

/** Bearer tokens of JWT shape whose parts are anything, and other Authorization values. */
const anyAuthorization = fc.oneof(
  fc
    .tuple(fc.base64String({ maxLength: 200 }), fc.base64String({ maxLength: 200 }), anySignature)
    .map(([h, p, s]) => `Bearer ${h.replace(/=+$/, '')}.${p.replace(/=+$/, '')}.${text(s)}`),
  fc
    .jsonValue({ maxDepth: 2 })
    .map((v) => `Bearer ${btoa(JSON.stringify({ alg: 'RS256', kid: 'k1' }))}.${btoa(JSON.stringify(v) ?? '')}.AA`),
  fc.string(),
);

describe('fuzz: Call Automation token checks answer invalid, never anything else', () => {
  it('validateAzureCallAutomationToken / assertAzureCallAutomationToken with any headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          anyHeaders(['authorization']),
          anyAuthorization.map((authorization) => ({ authorization })),
        ),
        async (headers) => {
          const options = { headers: headers as Record<string, string>, audience: AUDIENCE, keys };
          await expectInvalid(() => validateAzureCallAutomationToken(options));
          await expectInvalid(() => assertAzureCallAutomationToken(options));
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('readAzureStreamHeaders reads strings or nothing from any headers', () => {
    fc.assert(
      fc.property(anyHeaders(['x-ms-call-connection-id', 'x-ms-call-correlation-id', 'authorization']), (headers) => {
        const read = readAzureStreamHeaders(headers as Record<string, string>);
        for (const value of Object.values(read)) expect(typeof value).toBe('string');
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
