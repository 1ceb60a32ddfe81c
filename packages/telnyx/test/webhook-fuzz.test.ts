import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { base64Encode } from '@switchboard/core';
import {
  TelnyxCallControl,
  TelnyxWarmTransfer,
  assertTelnyxWebhook,
  readTelnyxMachineDetection,
  readTelnyxWebhookVerdict,
  readTelnyxSignatureHeaders,
  validateTelnyxWebhook,
  type TelnyxHeaders,
} from '../src/index.js';
import {
  FUZZ_RUNS,
  anyBody,
  anyHeaders,
  anySignature,
  anyValue,
  expectInvalid,
  jsonObject,
} from '@switchboard/test-kit/webhook-fuzz';

const encoder = new TextEncoder();
const NOW_MS = 1_787_000_000_000;
const NOW_S = NOW_MS / 1000;
let keys: CryptoKeyPair;
let publicKey: string;

beforeAll(async () => {
  keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  publicKey = base64Encode(new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey)));
});

/** Timestamps: fresh ones (so the signature is really checked), stale, malformed, any value. */
const anyTimestamp = fc.oneof(
  fc.integer({ min: NOW_S - 200, max: NOW_S + 200 }).map(String),
  fc.integer({ min: NOW_S - 200, max: NOW_S + 200 }).map((t) => ` ${t}\t`),
  fc.constantFrom('', '0', '-1', '1e9', '9'.repeat(20), 'NaN'),
  fc.string(),
  anyValue,
);

/** Signatures: 64 random bytes in base64 (well formed, so the body and key are reached), or anything. */
const anyEd25519Signature = fc.oneof(fc.uint8Array({ minLength: 64, maxLength: 64 }).map(base64Encode), anySignature);

describe('fuzz: Telnyx verifiers answer invalid, never anything else', () => {
  it('readTelnyxWebhookVerdict / validateTelnyxWebhook / assertTelnyxWebhook with any body, signature and timestamp', async () => {
    await fc.assert(
      fc.asyncProperty(anyBody, anyEd25519Signature, anyTimestamp, async (body, signature, timestamp) => {
        const options = {
          publicKey,
          body: body as string,
          signature: signature as string,
          timestamp: timestamp as string,
          now: () => NOW_MS,
        };
        const verdict = await readTelnyxWebhookVerdict(options);
        expect(verdict.valid).toBe(false);
        expect(['missing', 'malformed', 'stale', 'mismatch']).toContain((verdict as { reason: string }).reason);
        await expectInvalid(() => validateTelnyxWebhook(options));
        await expectInvalid(() => assertTelnyxWebhook(options));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('with the signature headers read from any header map', async () => {
    await fc.assert(
      fc.asyncProperty(anyHeaders(['telnyx-signature-ed25519', 'telnyx-timestamp']), anyBody, async (headers, body) => {
        const read = readTelnyxSignatureHeaders(headers as TelnyxHeaders);
        await expectInvalid(() => assertTelnyxWebhook({ publicKey, body: body as string, ...read, now: () => NOW_MS }));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: signed webhooks still verify', () => {
  it('any body, as text or bytes, signed at any time within the window', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary' }),
        fc.integer({ min: -300, max: 300 }),
        fc.boolean(),
        async (body, skew, asBytes) => {
          const timestamp = String(NOW_S + skew);
          const signature = base64Encode(
            new Uint8Array(
              await crypto.subtle.sign('Ed25519', keys.privateKey, encoder.encode(`${timestamp}|${body}`)),
            ),
          );
          const headers = new Headers({ 'Telnyx-Signature-Ed25519': signature, 'Telnyx-Timestamp': timestamp });
          const options = {
            publicKey,
            body: asBytes ? encoder.encode(body) : body,
            ...readTelnyxSignatureHeaders(headers),
            now: () => NOW_MS,
          };
          expect(await validateTelnyxWebhook(options)).toBe(true);
          expect(await validateTelnyxWebhook({ ...options, publicKey: keys.publicKey })).toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

/** Webhook bodies shaped like Telnyx's, with any event type, payload and result. */
const anyCallWebhook = fc.oneof(
  anyValue,
  anyBody,
  fc
    .record({
      event_type: fc.oneof(
        fc.constantFrom(
          'call.machine.detection.ended',
          'call.machine.greeting.ended',
          'call.machine.premium.detection.ended',
          'call.machine.premium.greeting.ended',
          'call.answered',
          'call.speak.ended',
          'call.hangup',
        ),
        anyValue,
      ),
      payload: fc.oneof(
        anyValue,
        fc.record({ call_control_id: anyValue, result: anyValue, client_state: anyValue }),
        jsonObject(anyValue),
      ),
    })
    .chain((data) => fc.constantFrom<unknown>({ data }, data, JSON.stringify({ data }))),
);

describe('fuzz: Telnyx call webhooks are read or ignored, never thrown', () => {
  it('readTelnyxMachineDetection gives a well-formed event or undefined; TelnyxWarmTransfer.handleWebhook false', () => {
    const warm = new TelnyxWarmTransfer({
      callControl: new TelnyxCallControl({ apiKey: 'KEY_fuzz', baseUrl: 'http://127.0.0.1:9' }),
      connectionId: 'c',
      from: '+1',
    });
    fc.assert(
      fc.property(anyCallWebhook, (webhook) => {
        const event = readTelnyxMachineDetection(webhook);
        if (event !== undefined) {
          expect(event.type).toBe('machine_detection');
          expect(typeof event.callId === 'string' && event.callId.length > 0).toBe(true);
          expect(['human', 'machine', 'fax', 'unknown']).toContain(event.answeredBy);
          expect(typeof event.greetingEnded).toBe('boolean');
          expect(typeof event.carrierResult).toBe('string');
        }
        // No transfer is in progress: nothing belongs to one.
        expect(warm.handleWebhook(webhook)).toBe(false);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
