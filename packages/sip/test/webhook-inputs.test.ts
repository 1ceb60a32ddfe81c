import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import {
  OpenAIWebhookSignatureError,
  assertOpenAIWebhook,
  validateOpenAIWebhook,
  type OpenAIWebhookHeaders,
  type ValidateOpenAIWebhookOptions,
} from '../src/index.js';
import { normalizeWebhookHeaders } from '../src/openai/webhook.js';
import { WEBHOOK_SECRET, incomingCallEvent, sign, signedDelivery } from './openai-fakes.js';

const client = new OpenAI({ apiKey: 'sk-unused', webhookSecret: WEBHOOK_SECRET });
const loose = (headers: unknown) => headers as OpenAIWebhookHeaders;

async function status(promise: Promise<unknown>): Promise<number> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAIWebhookSignatureError);
  return (error as OpenAIWebhookSignatureError).status;
}

describe('OpenAI webhook checks on what a request can carry', () => {
  it('validateOpenAIWebhook answers false, where assert throws, for missing, non-string or wrongly signed headers', async () => {
    const delivery = signedDelivery(incomingCallEvent('rtc_x'));
    const { ['webhook-signature']: _signature, ...unsigned } = delivery.headers as Record<string, string>;
    const cases: unknown[] = [
      undefined,
      42,
      {},
      unsigned,
      { ...delivery.headers, 'webhook-signature': 42 },
      { ...delivery.headers, 'webhook-signature': `v1,${'A'.repeat(44)}` },
    ];
    for (const headers of cases) {
      expect(await validateOpenAIWebhook(delivery.body, loose(headers), { client })).toBe(false);
      await expect(assertOpenAIWebhook(delivery.body, loose(headers), { client })).rejects.toBeInstanceOf(
        OpenAIWebhookSignatureError,
      );
    }
    expect(await validateOpenAIWebhook({ not: 'raw' } as unknown as string, delivery.headers, { client })).toBe(false);
    expect(await validateOpenAIWebhook(delivery.body, delivery.headers, { client })).toBe(true);
    await expect(validateOpenAIWebhook(delivery.body, delivery.headers, {})).rejects.toBeInstanceOf(ConfigError);
  });

  it('answers 400 for header maps that are missing or not objects', async () => {
    const { body } = signedDelivery(incomingCallEvent('rtc_x'));
    for (const headers of [undefined, null, 42, 'webhook-id: x', [['webhook-id', 'x']]]) {
      expect(await status(assertOpenAIWebhook(body, loose(headers), { client }))).toBe(400);
    }
  });

  it('answers 400 for Standard Webhooks headers whose values are not strings', async () => {
    const delivery = signedDelivery(incomingCallEvent('rtc_x'));
    for (const value of [42, true, { a: 1 }, [7], [null], Object.create(null), new Uint8Array([49])]) {
      for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
        const headers = loose({ ...delivery.headers, [name]: value });
        expect(await status(assertOpenAIWebhook(delivery.body, headers, { client }))).toBe(400);
      }
    }
  });

  it('keeps only string values and joins repeated signatures, whatever else the map holds', () => {
    const normalized = normalizeWebhookHeaders(
      loose({
        'Webhook-Signature': ['v1,a', 7, 'v1,b'],
        'webhook-id': [5, 'x'],
        'WEBHOOK-TIMESTAMP': '1',
        other: { x: 1 },
        __proto__: 'p',
      }),
    );
    expect({ ...normalized }).toEqual({ 'webhook-signature': 'v1,a v1,b', 'webhook-timestamp': '1' });
    expect(normalizeWebhookHeaders(loose(null))).toEqual({});
  });

  it('verifies a signed delivery whatever other headers came with it, valid HTTP header names or not', async () => {
    const delivery = signedDelivery(incomingCallEvent('rtc_ok'));
    const headers = loose({
      ...delivery.headers,
      'not a header name': 'x',
      'x-bad-value': 'line\nbreak',
      'x-number': 5,
    });
    const verified = await assertOpenAIWebhook(delivery.body, headers, { client });
    expect(verified.webhookId).toBe(delivery.headers['webhook-id']);
  });

  it('answers 400 for a body that is not the raw text or bytes; a missing options object is a ConfigError', async () => {
    const delivery = signedDelivery(incomingCallEvent('rtc_x'));
    for (const body of [JSON.parse(delivery.body), null, undefined, 42, new ArrayBuffer(3)]) {
      expect(await status(assertOpenAIWebhook(body as string, delivery.headers, { client }))).toBe(400);
    }
    await expect(
      assertOpenAIWebhook(delivery.body, delivery.headers, undefined as unknown as ValidateOpenAIWebhookOptions),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('strips HTTP whitespace around header values, so webhookId is the id that was signed', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify(incomingCallEvent('rtc_ws'));
    const headers = {
      'webhook-id': ' msg_ws\t',
      'webhook-timestamp': ` ${ts}`,
      'webhook-signature': [` ${sign(WEBHOOK_SECRET, 'msg_ws', ts, body)} `, ' '],
    };
    expect({ ...normalizeWebhookHeaders(headers) }).toEqual({
      'webhook-id': 'msg_ws',
      'webhook-timestamp': String(ts),
      'webhook-signature': sign(WEBHOOK_SECRET, 'msg_ws', ts, body),
    });
    expect((await assertOpenAIWebhook(body, headers, { client })).webhookId).toBe('msg_ws');
    // Only HTTP whitespace: a no-break space is part of the value.
    expect(normalizeWebhookHeaders({ 'webhook-id': '\u00a0msg' })['webhook-id']).toBe('\u00a0msg');
    // Linear in the value's length, whatever its whitespace.
    const long = `a${' '.repeat(200_000)}a`;
    expect(normalizeWebhookHeaders({ 'webhook-id': long })['webhook-id']).toBe(long);
  });

  it('splits a signature header that was repeated and joined with ", " into its entries', () => {
    expect(normalizeWebhookHeaders({ 'webhook-signature': 'v1,AAA=, v1,BBB=,\tv1,CCC=' })['webhook-signature']).toBe(
      'v1,AAA= v1,BBB= v1,CCC=',
    );
    expect(normalizeWebhookHeaders({ 'webhook-signature': ['v1,AAA=', 'v1,BBB=  v1,CCC='] })['webhook-signature']).toBe(
      'v1,AAA= v1,BBB= v1,CCC=',
    );
    const headers = new Headers({ 'webhook-signature': 'v1,AAA=' });
    headers.append('webhook-signature', 'v1,BBB=');
    expect(normalizeWebhookHeaders(headers)['webhook-signature']).toBe('v1,AAA= v1,BBB=');
  });

  it('keeps a leading byte-order mark of a body given as bytes: bytes and text get the same verdict', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const text = `\uFEFF${JSON.stringify(incomingCallEvent('rtc_bom'))}`;
    const headers = {
      'webhook-id': 'msg_bom',
      'webhook-timestamp': String(ts),
      'webhook-signature': sign(WEBHOOK_SECRET, 'msg_bom', ts, text),
    };
    // The signature covers the mark; the JSON with it in front does not parse: a ProtocolError either way.
    for (const body of [text, new TextEncoder().encode(text)]) {
      await expect(assertOpenAIWebhook(body, headers, { client })).rejects.toMatchObject({
        code: 'webhook_invalid_body',
      });
    }
  });
});
