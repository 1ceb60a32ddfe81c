import fc from 'fast-check';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '@switchboard/core';
import { OpenAIWebhookSignatureError, assertOpenAIWebhook, type OpenAIWebhookHeaders } from '../src/index.js';
import {
  FUZZ_RUNS,
  anyBody,
  anyHeaders,
  anySignature,
  anyValue,
  expectInvalid,
} from '@switchboard/test-kit/webhook-fuzz';
import { WEBHOOK_SECRET, sign } from './openai-fakes.js';

const client = new OpenAI({ apiKey: 'sk-unused', webhookSecret: WEBHOOK_SECRET });
const NAMES = ['webhook-id', 'webhook-timestamp', 'webhook-signature'];
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Standard Webhooks headers with values of any type: fresh timestamps and v1 signatures often enough to reach the SDK.
 */
const anyWebhookHeaders = fc.oneof(
  fc
    .record({
      'webhook-id': fc.oneof(fc.string({ minLength: 1 }), anyValue),
      'webhook-timestamp': fc.oneof(
        fc.integer({ min: -60, max: 60 }).map((d) => String(nowSeconds() + d)),
        fc.string(),
        anyValue,
      ),
      'webhook-signature': fc.oneof(
        fc.base64String({ minLength: 4, maxLength: 60 }).map((s) => `v1,${s}`),
        anySignature,
      ),
    })
    .map((headers) => ({ ...headers })),
  anyHeaders(NAMES),
);

describe('fuzz: assertOpenAIWebhook answers an OpenAIWebhookSignatureError, never anything else', () => {
  it('with any headers and body', async () => {
    await fc.assert(
      fc.asyncProperty(anyWebhookHeaders, anyBody, async (headers, body) => {
        let caught: unknown;
        await expectInvalid(async () => {
          try {
            return await assertOpenAIWebhook(body as string, headers as OpenAIWebhookHeaders, { client });
          } catch (error) {
            caught = error;
            throw error;
          }
        }, OpenAIWebhookSignatureError);
        expect([400, 401]).toContain((caught as OpenAIWebhookSignatureError).status);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: signed deliveries still verify', () => {
  it('any JSON event with any id, body as text or bytes, headers in any case among others', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ id: fc.string(), type: fc.string(), created_at: fc.integer(), data: fc.jsonValue() }),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        fc.integer({ min: -200, max: 200 }),
        fc.boolean(),
        fc.dictionary(fc.stringMatching(/^x-[a-z]{1,10}$/), fc.oneof(fc.string(), fc.integer())),
        async (event, id, skew, asBytes, others) => {
          const body = JSON.stringify(event);
          const timestamp = nowSeconds() + skew;
          const headers = {
            ...others,
            'Webhook-Id': id,
            'WEBHOOK-TIMESTAMP': String(timestamp),
            'webhook-signature': sign(WEBHOOK_SECRET, id, timestamp, body),
          };
          const verified = await assertOpenAIWebhook(
            asBytes ? new TextEncoder().encode(body) : body,
            headers as OpenAIWebhookHeaders,
            { client },
          );
          expect(verified).toEqual({ webhookId: id, timestamp, event: JSON.parse(body) });
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('a signed body that is not a JSON event is the documented ProtocolError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        async (body) => {
          const timestamp = nowSeconds();
          const headers = {
            'webhook-id': 'msg_1',
            'webhook-timestamp': String(timestamp),
            'webhook-signature': sign(WEBHOOK_SECRET, 'msg_1', timestamp, body),
          };
          try {
            const verified = await assertOpenAIWebhook(body, headers, { client });
            expect(typeof verified.event.type).toBe('string');
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError);
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
