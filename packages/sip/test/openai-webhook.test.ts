import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ConfigError, ProtocolError, WebhookSignatureError } from '@switchboard/core';
import {
  OpenAIWebhookSignatureError,
  getOpenAISipHeader,
  parseOpenAISipCall,
  assertOpenAIWebhook,
  type OpenAIWebhookEvent,
} from '../src/index.js';
import { parseSipAddress } from '../src/openai/sip-headers.js';
import { WEBHOOK_SECRET, incomingCallEvent, sign, signedDelivery } from './openai-fakes.js';

const client = new OpenAI({ apiKey: 'sk-unused', webhookSecret: WEBHOOK_SECRET });

async function rejection(promise: Promise<unknown>): Promise<OpenAIWebhookSignatureError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebhookSignatureError);
  expect(error).toBeInstanceOf(OpenAIWebhookSignatureError);
  return error as OpenAIWebhookSignatureError;
}

describe('assertOpenAIWebhook', () => {
  it('verifies a signed delivery with the client and returns the event and webhook id', async () => {
    const event = incomingCallEvent('rtc_abc');
    const delivery = signedDelivery(event, { id: 'msg_1' });
    const verified = await assertOpenAIWebhook(delivery.body, delivery.headers, { client });
    expect(verified.webhookId).toBe('msg_1');
    expect(verified.event).toEqual(event);
    expect(verified.timestamp).toBe(Number(delivery.headers['webhook-timestamp']));
  });

  it('accepts bytes, a Headers object, mixed-case header names and a secret without a client', async () => {
    const delivery = signedDelivery(incomingCallEvent('rtc_bytes'));
    const bytes = new TextEncoder().encode(delivery.body);
    const headers = new Headers(delivery.headers);
    await expect(assertOpenAIWebhook(bytes, headers, { secret: WEBHOOK_SECRET })).resolves.toMatchObject({
      event: { data: { call_id: 'rtc_bytes' } },
    });
    const upper = Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k.toUpperCase(), v]));
    await expect(assertOpenAIWebhook(delivery.body, upper, { client })).resolves.toBeDefined();
  });

  it('accepts any matching entry of a multi-signature header (secret rotation)', async () => {
    const delivery = signedDelivery(incomingCallEvent('rtc_rot'));
    const stale = sign(`whsec_${Buffer.from('old-secret-old-secret').toString('base64')}`, 'x', 1, 'y');
    delivery.headers['webhook-signature'] = `${stale} ${delivery.headers['webhook-signature']}`;
    await expect(assertOpenAIWebhook(delivery.body, delivery.headers, { client })).resolves.toBeDefined();
    // The same, as repeated header values (Node gives an array).
    const [first, second] = delivery.headers['webhook-signature']!.split(' ');
    await expect(
      assertOpenAIWebhook(delivery.body, { ...delivery.headers, 'webhook-signature': [first!, second!] }, { client }),
    ).resolves.toBeDefined();
  });

  it('rejects a tampered body with 401', async () => {
    const delivery = signedDelivery(incomingCallEvent('rtc_t'));
    const tampered = delivery.body.replace('rtc_t', 'rtc_x');
    const error = await rejection(assertOpenAIWebhook(tampered, delivery.headers, { client }));
    expect(error.status).toBe(401);
    expect(error.code).toBe('webhook_signature_invalid');
    expect(error.message).not.toContain(WEBHOOK_SECRET.slice(6, 20));
  });

  it('rejects a tampered webhook-id, a wrong secret and a forged signature with 401', async () => {
    const delivery = signedDelivery(incomingCallEvent('rtc_t2'));
    expect(
      (
        await rejection(
          assertOpenAIWebhook(delivery.body, { ...delivery.headers, 'webhook-id': 'msg_other' }, { client }),
        )
      ).status,
    ).toBe(401);
    const other = `whsec_${Buffer.from('another secret entirely!').toString('base64')}`;
    expect((await rejection(assertOpenAIWebhook(delivery.body, delivery.headers, { secret: other }))).status).toBe(401);
    const forged = { ...delivery.headers, 'webhook-signature': `v1,${Buffer.alloc(32, 7).toString('base64')}` };
    expect((await rejection(assertOpenAIWebhook(delivery.body, forged, { client }))).status).toBe(401);
  });

  it('rejects a stale or future timestamp (±300 s) even when correctly signed', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = signedDelivery(incomingCallEvent('rtc_old'), { timestamp: now - 301 });
    const oldError = await rejection(assertOpenAIWebhook(old.body, old.headers, { client }));
    expect(oldError.status).toBe(401);
    expect(oldError.message).toMatch(/too old/);
    const future = signedDelivery(incomingCallEvent('rtc_new'), { timestamp: now + 400 });
    expect((await rejection(assertOpenAIWebhook(future.body, future.headers, { client }))).status).toBe(401);
    // Within the tolerance, and a custom tolerance.
    const recent = signedDelivery(incomingCallEvent('rtc_ok'), { timestamp: now - 200 });
    await expect(assertOpenAIWebhook(recent.body, recent.headers, { client })).resolves.toBeDefined();
    await rejection(assertOpenAIWebhook(recent.body, recent.headers, { client, toleranceSeconds: 60 }));
  });

  it('rejects missing headers and a malformed timestamp with 400', async () => {
    const delivery = signedDelivery(incomingCallEvent('rtc_m'));
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers = { ...delivery.headers };
      delete headers[name];
      const error = await rejection(assertOpenAIWebhook(delivery.body, headers, { client }));
      expect(error.status).toBe(400);
      expect(error.message).toContain(name);
    }
    const bad = { ...delivery.headers, 'webhook-timestamp': '12abc' };
    expect((await rejection(assertOpenAIWebhook(delivery.body, bad, { client }))).status).toBe(400);
  });

  it('rejects bytes that are not UTF-8 and parsed JSON, and refuses a missing secret', async () => {
    const delivery = signedDelivery(incomingCallEvent('rtc_u'));
    const error = await rejection(
      assertOpenAIWebhook(new Uint8Array([0xff, 0xfe, 0x7b]), delivery.headers, { client }),
    );
    expect(error.status).toBe(400);
    // Which body a framework hands over can depend on the request's Content-Type: parsed JSON is a
    // request that cannot be verified (400), not a configuration error.
    expect((await rejection(assertOpenAIWebhook(JSON.parse(delivery.body), delivery.headers, { client }))).status).toBe(
      400,
    );
    const noSecret = new OpenAI({ apiKey: 'sk-unused', webhookSecret: null });
    await expect(assertOpenAIWebhook(delivery.body, delivery.headers, { client: noSecret })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });

  it('gives a ProtocolError for a correctly signed body that is not a JSON event', async () => {
    const delivery = signedDelivery(undefined, { body: 'not json' });
    await expect(assertOpenAIWebhook(delivery.body, delivery.headers, { client })).rejects.toBeInstanceOf(
      ProtocolError,
    );
    const array = signedDelivery([1, 2]);
    await expect(assertOpenAIWebhook(array.body, array.headers, { client })).rejects.toBeInstanceOf(ProtocolError);
  });
});

describe('parseOpenAISipCall', () => {
  it('reads the call id, From/To, Call-ID, X- headers and media security', () => {
    const event = incomingCallEvent('rtc_123', undefined, { sip_media_security: 'srtp' }) as OpenAIWebhookEvent;
    const call = parseOpenAISipCall(event, 'msg_9');
    expect(call.callId).toBe('rtc_123');
    expect(call.webhookId).toBe('msg_9');
    expect(call.eventId).toBe(event.id);
    expect(call.createdAt).toBe(event.created_at);
    expect(call.from).toEqual({
      raw: '"Alice Caller" <sip:+15551230001@pstn.example.net>;tag=a1b2',
      uri: 'sip:+15551230001@pstn.example.net',
      user: '+15551230001',
      host: 'pstn.example.net',
      displayName: 'Alice Caller',
      tag: 'a1b2',
    });
    expect(call.to).toMatchObject({ uri: 'sip:+15559870002@sip.api.openai.com', user: '+15559870002' });
    expect(call.sipCallId).toBe('dlg-4f2a9c@10.0.0.7');
    expect(call.customHeaders).toEqual({ 'X-Customer-Id': 'cust-42', 'x-campaign': 'spring' });
    expect(call.sipHeaders).toHaveLength(7);
    expect(call.mediaSecurity).toBe('srtp');
    expect(call.event).toBe(event);
    expect(getOpenAISipHeader(call, 'user-agent')).toBe('TestTrunk/1.0');
    expect(getOpenAISipHeader(call, 'x-customer-id')).toBe('cust-42');
    expect(getOpenAISipHeader(call, 'Diversion')).toBeUndefined();
  });

  it('understands compact header names and addr-spec / tel: forms', () => {
    const event = incomingCallEvent('rtc_c', [
      { name: 'f', value: 'sip:bob%40home@example.com;tag=77' },
      { name: 't', value: 'Support <tel:+442071234567;phone-context=+44>' },
      { name: 'i', value: 'compact-id' },
    ]) as OpenAIWebhookEvent;
    const call = parseOpenAISipCall(event, 'msg_c');
    expect(call.from).toMatchObject({
      uri: 'sip:bob%40home@example.com',
      user: 'bob@home',
      host: 'example.com',
      tag: '77',
    });
    expect(call.from?.displayName).toBeUndefined();
    expect(call.to).toMatchObject({
      uri: 'tel:+442071234567;phone-context=+44',
      user: '+442071234567',
      displayName: 'Support',
    });
    expect(call.sipCallId).toBe('compact-id');
    expect(call.customHeaders).toEqual({});
  });

  it('tolerates missing headers and skips malformed entries', () => {
    const noHeaders = { ...incomingCallEvent('rtc_n'), data: { call_id: 'rtc_n' } } as OpenAIWebhookEvent;
    const call = parseOpenAISipCall(noHeaders, 'm');
    expect(call.sipHeaders).toEqual([]);
    expect(call.from).toBeUndefined();
    const messy = incomingCallEvent('rtc_m', [
      { name: 'From' },
      null,
      { name: 'X-A', value: 'b' },
    ] as never) as OpenAIWebhookEvent;
    expect(parseOpenAISipCall(messy, 'm').sipHeaders).toEqual([{ name: 'X-A', value: 'b' }]);
  });

  it('throws a ProtocolError for other events or a missing call id', () => {
    expect(() => parseOpenAISipCall({ id: 'e', type: 'batch.completed', created_at: 1, data: {} }, 'm')).toThrow(
      ProtocolError,
    );
    expect(() => parseOpenAISipCall({ id: 'e', type: 'realtime.call.incoming', created_at: 1, data: {} }, 'm')).toThrow(
      ProtocolError,
    );
    expect(() =>
      parseOpenAISipCall(
        { id: 'e', type: 'realtime.call.incoming', created_at: 1, data: { call_id: 'x', sip_headers: 'no' } },
        'm',
      ),
    ).toThrow(ProtocolError);
  });
});

describe('parseSipAddress', () => {
  it('keeps the raw value and never throws on odd input', () => {
    expect(parseSipAddress('')).toEqual({ raw: '' });
    expect(parseSipAddress('<>')).toEqual({ raw: '<>' });
    expect(parseSipAddress('"Quoted \\"Name\\"" <sips:alice:secret@example.com:5061;transport=tls>')).toEqual({
      raw: '"Quoted \\"Name\\"" <sips:alice:secret@example.com:5061;transport=tls>',
      uri: 'sips:alice:secret@example.com:5061;transport=tls',
      user: 'alice',
      host: 'example.com:5061',
      displayName: 'Quoted "Name"',
    });
    expect(parseSipAddress('anonymous')).toEqual({ raw: 'anonymous', uri: 'anonymous' });
    expect(parseSipAddress('sip:example.com')).toMatchObject({ host: 'example.com' });
    expect(parseSipAddress('sip:%E0%A4%A@x')).toMatchObject({ user: '%E0%A4%A' });
  });
});
