import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  validateVonageWebhook,
  readVonageAuthorization,
  readVonageMachineDetection,
  assertVonageWebhook,
  type ValidateVonageWebhookOptions,
  type VonageWebhookHeaders,
} from '../src/index.js';
import {
  FUZZ_RUNS,
  anyBody,
  anyHeaders,
  anyParams,
  anyValue,
  expectInvalid,
  hugeString,
  jsonObject,
} from '@switchboard/test-kit/webhook-fuzz';

const SECRET = 'signature-secret-of-the-account';
const NOW_S = 1_760_000_000;
const now = () => NOW_S * 1000;
const b64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : (JSON.stringify(value) ?? '')).toString('base64url');
const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** An HS256 token over any header and claims, signed with the account's secret or another one. */
function token(header: unknown, claims: unknown, secret = SECRET): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/**
 * Authorization values: well-signed tokens with odd claims (so the claim and payload checks run), bad JWTs, anything.
 */
const anyAuthorization = fc.oneof(
  fc
    .tuple(
      fc.oneof(fc.constant({ alg: 'HS256', typ: 'JWT' }), fc.constant({ alg: 'none' }), anyValue),
      fc.oneof(
        jsonObject(
          anyValue,
          fc.constantFrom('iat', 'exp', 'nbf', 'payload_hash', 'application_id', 'api_key', '__proto__'),
        ),
        fc.record({
          iat: fc.oneof(fc.integer({ min: NOW_S - 400, max: NOW_S + 100 }), anyValue),
          payload_hash: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), anyValue),
        }),
        anyValue,
      ),
      fc.constantFrom(SECRET, 'another-secret'),
    )
    .map(([header, claims, secret]) => `Bearer ${token(header, claims, secret)}`),
  fc.constantFrom(
    'Bearer',
    'Bearer ',
    'Bearer a.b.c',
    'Bearer a.b',
    'Basic abc',
    'bearer e30.e30.',
    'Bearer ...',
    'Bearer !.!.!',
  ),
  fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((parts) => `Bearer ${parts.join('.')}`),
  hugeString.map((s) => `Bearer ${s}.${s}.${s}`),
  fc.string(),
  anyValue,
);

describe('fuzz: Vonage verifiers answer invalid, never anything else', () => {
  it('assertVonageWebhook / validateVonageWebhook with any Authorization, body and query', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyAuthorization,
        fc.oneof(anyBody, fc.constant(undefined)),
        fc.oneof(anyParams, fc.constant(undefined)),
        async (authorization, body, query) => {
          const options = {
            signatureSecret: SECRET,
            authorization: authorization as string,
            body: body as string,
            query: query as Record<string, string>,
            now,
          };
          // Neither a body nor a query is the developer's omission (a ConfigError): give a body then.
          if (body === undefined && query === undefined) options.body = '{}';
          await expectInvalid(() => assertVonageWebhook(options));
          await expectInvalid(() => validateVonageWebhook(options));
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('a correctly signed, fresh token over any body and query reaches the payload check and answers invalid', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(anyBody, fc.constant(undefined)),
        fc.oneof(anyParams, fc.constant(undefined)),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        async (body, query, payloadHash) => {
          const authorization = `Bearer ${token({ alg: 'HS256', typ: 'JWT' }, { iat: NOW_S, payload_hash: payloadHash })}`;
          const options = {
            signatureSecret: SECRET,
            authorization,
            body: body as string,
            query: query as Record<string, string>,
            now,
          };
          if (body === undefined && query === undefined) options.query = null as unknown as Record<string, string>;
          await expectInvalid(() => assertVonageWebhook(options));
          await expectInvalid(() => validateVonageWebhook(options));
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('with the Authorization read from any header map', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyHeaders(['authorization'], fc.oneof(anyAuthorization, anyValue)),
        anyBody,
        async (headers, body) => {
          const options: ValidateVonageWebhookOptions = {
            signatureSecret: SECRET,
            headers: headers as VonageWebhookHeaders,
            body: body as string,
            now,
          };
          await expectInvalid(() => assertVonageWebhook(options));
          const read = readVonageAuthorization(headers as VonageWebhookHeaders);
          expect(read === undefined || typeof read === 'string').toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: signed webhooks still verify', () => {
  it('a POST with any JSON body, as text or bytes, signed within the age window', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.integer({ min: -60, max: 300 }),
        fc.boolean(),
        async (value, age, asBytes) => {
          const body = JSON.stringify(value);
          const authorization = `Bearer ${token({ alg: 'HS256', typ: 'JWT' }, { iat: NOW_S - age, payload_hash: sha256(body), jti: 'x' })}`;
          const given = asBytes ? new TextEncoder().encode(body) : body;
          const claims = await assertVonageWebhook({
            signatureSecret: SECRET,
            headers: { Authorization: authorization },
            body: given,
            now,
          });
          expect(claims.iat).toBe(NOW_S - age);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('a GET with any query parameters, hashed in the order received', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.string(), fc.string()), { selector: ([key]) => key, maxLength: 6 }),
        async (entries) => {
          const query = new URLSearchParams(entries);
          const json = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
          const authorization = `Bearer ${token({ alg: 'HS256' }, { iat: NOW_S, payload_hash: sha256(json) })}`;
          expect(await validateVonageWebhook({ signatureSecret: SECRET, authorization, query, now })).toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('readVonageMachineDetection reads any payload as a result or nothing, never throwing', () => {
    const eventLike = jsonObject(
      fc.oneof(fc.constantFrom('human', 'machine', 'beep_start', 'beep_timeout', ''), fc.string(), anyValue),
      fc.constantFrom('status', 'sub_state', 'uuid', '__proto__', 'constructor'),
    );
    fc.assert(
      fc.property(fc.oneof(anyParams, anyBody, eventLike), (payload) => {
        const event = readVonageMachineDetection(payload as Record<string, unknown>);
        if (event === undefined) return;
        expect(typeof event.callId).toBe('string');
        expect(['machine', 'human']).toContain(event.answeredBy);
        expect(event.greetingEnded).toBe(['machine:beep_start', 'machine:beep_timeout'].includes(event.carrierResult));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
