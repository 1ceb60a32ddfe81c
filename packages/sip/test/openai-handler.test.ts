import Fastify from 'fastify';
import OpenAI from 'openai';
import { RealtimeAgent } from '@openai/agents-realtime';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  OpenAISipCallControl,
  OpenAISipMemoryDedupStore,
  OpenAISipWebhookHandler,
  type OpenAISipAttachedCall,
  type OpenAISipCall,
  type OpenAISipCallStartEvent,
  type OpenAISipWebhookHandlerOptions,
} from '../src/index.js';
import { API_KEY, WEBHOOK_SECRET, incomingCallEvent, signedDelivery, waitFor, useOpenAIFakes } from './openai-fakes.js';

const { simulator, api } = useOpenAIFakes({ beforeAll, afterAll });
const agent = new RealtimeAgent({ name: 'Receptionist', instructions: 'Answer the phone for the clinic.' });
const sessionOptions = {
  model: 'gpt-realtime',
  config: { audio: { input: { turnDetection: { type: 'semantic_vad' as const, interruptResponse: true } } } },
};
const attachedSessions: OpenAISipAttachedCall[] = [];
let errors: unknown[] = [];

beforeEach(() => {
  api.requests.length = 0;
  api.failures.length = 0;
  errors = [];
});
afterEach(() => {
  for (const attached of attachedSessions.splice(0)) attached.session.close();
});

function handler(overrides: Partial<OpenAISipWebhookHandlerOptions> = {}): OpenAISipWebhookHandler {
  return new OpenAISipWebhookHandler({
    apiKey: API_KEY,
    baseURL: api.baseURL,
    webhookSecret: WEBHOOK_SECRET,
    maxRetries: 0,
    realtimeUrl: simulator.url,
    agent,
    sessionOptions,
    onSession: (attached) => {
      attachedSessions.push(attached);
    },
    onError: (error) => errors.push(error),
    ...overrides,
  });
}

function sessionsFor(callId: string) {
  return simulator.sessions.filter((s) => s.connection.callId === callId);
}

describe('OpenAISipWebhookHandler: the flow', () => {
  it('valid webhook → accept (payload from the agent) → session attached to the simulator with call_id', async () => {
    api.ring('rtc_flow1');
    let startSeenInOnSession: OpenAISipCallStartEvent | undefined;
    const webhook = handler({
      onSession: (attached) => {
        attachedSessions.push(attached);
        startSeenInOnSession = attached.transport.callStart;
      },
    });
    const delivery = signedDelivery(incomingCallEvent('rtc_flow1'));
    const result = await webhook.handle(delivery.body, delivery.headers);
    expect(result).toMatchObject({ status: 200, outcome: 'accepted', call: { callId: 'rtc_flow1' } });
    expect(JSON.parse(result.body)).toEqual({ ok: true, outcome: 'accepted' });

    // Accepted through the REST API with the agent's session.
    const [accept] = api.requestsFor('accept');
    expect(accept).toMatchObject({
      callId: 'rtc_flow1',
      authorization: `Bearer ${API_KEY}`,
      body: {
        type: 'realtime',
        model: 'gpt-realtime',
        instructions: 'Answer the phone for the clinic.',
        audio: { input: { turn_detection: { type: 'semantic_vad', interrupt_response: true } } },
      },
    });

    // Then attached over the Realtime WebSocket with ?call_id=.
    const attached = await result.session!;
    expect(attached).toBeDefined();
    expect(attached!.call.callId).toBe('rtc_flow1');
    expect(attached!.transport.status).toBe('connected');
    expect(attached!.transport.callStart).toMatchObject({
      callId: 'rtc_flow1',
      from: 'sip:+15551230001@pstn.example.net',
      customParameters: { 'Customer-Id': 'cust-42, ignored-second' },
    });
    const [simulated] = sessionsFor('rtc_flow1');
    expect(simulated).toBeDefined();
    expect(simulated!.connection.url).toBe('/v1/realtime?call_id=rtc_flow1');
    await waitFor(() =>
      simulated!.sessionUpdates.some(
        (s) => (s as { instructions?: string }).instructions === 'Answer the phone for the clinic.',
      ),
    );
    expect(attachedSessions.map((a) => a.call.callId)).toContain('rtc_flow1');
    expect(startSeenInOnSession).toBe(attached!.transport.callStart);
    expect(errors).toEqual([]);
  });

  it('duplicate deliveries (same webhook-id, or same call id) accept and attach once', async () => {
    api.ring('rtc_dup');
    const webhook = handler();
    const event = incomingCallEvent('rtc_dup');
    const first = signedDelivery(event, { id: 'msg_dup_1' });
    const retry = signedDelivery(event, { id: 'msg_dup_1' }); // a retry: same id, fresh signature
    const redelivered = signedDelivery(incomingCallEvent('rtc_dup'), { id: 'msg_dup_2' }); // another event for the call

    // Concurrent deliveries, as a retry racing the first attempt.
    const results = await Promise.all([
      webhook.handle(first.body, first.headers),
      webhook.handle(retry.body, retry.headers),
      webhook.handle(redelivered.body, redelivered.headers),
    ]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    expect(results.every((r) => r.status === 200)).toBe(true);
    await Promise.all(results.map((r) => r.session));
    // Later ones too.
    const late = await webhook.handle(first.body, first.headers);
    expect(late.outcome).toBe('duplicate');
    expect(late.session).toBeUndefined();

    expect(api.requestsFor('accept')).toHaveLength(1);
    expect(sessionsFor('rtc_dup')).toHaveLength(1);
    expect(attachedSessions.filter((a) => a.call.callId === 'rtc_dup')).toHaveLength(1);
  });

  it('tampered and stale webhooks get 401, missing headers 400, and nothing is accepted', async () => {
    api.ring('rtc_bad');
    const webhook = handler();
    const good = signedDelivery(incomingCallEvent('rtc_bad'), { id: 'msg_bad' });

    const tampered = await webhook.handle(good.body.replace('"rtc_bad"', '"rtc_bad" '), good.headers);
    expect(tampered).toMatchObject({ status: 401, outcome: 'invalid_signature' });
    expect(tampered.error).toBeInstanceOf(WebhookSignatureError);
    expect(JSON.parse(tampered.body)).toMatchObject({ ok: false, outcome: 'invalid_signature' });

    const stale = signedDelivery(incomingCallEvent('rtc_bad'), {
      id: 'msg_bad',
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    expect(await webhook.handle(stale.body, stale.headers)).toMatchObject({
      status: 401,
      outcome: 'invalid_signature',
    });

    const wrongSecret = signedDelivery(incomingCallEvent('rtc_bad'), {
      id: 'msg_bad',
      secret: `whsec_${Buffer.from('not the right secret at all').toString('base64')}`,
    });
    expect(await webhook.handle(wrongSecret.body, wrongSecret.headers)).toMatchObject({ status: 401 });

    const unsigned = { 'content-type': 'application/json' };
    expect(await webhook.handle(good.body, unsigned)).toMatchObject({ status: 400, outcome: 'invalid_signature' });

    expect(api.requests).toHaveLength(0);
    expect(sessionsFor('rtc_bad')).toHaveLength(0);
    expect(errors.every((e) => e instanceof WebhookSignatureError)).toBe(true);

    // A forged delivery did not poison the de-duplication: the genuine one still goes through.
    const genuine = await webhook.handle(good.body, good.headers);
    expect(genuine.outcome).toBe('accepted');
    await genuine.session;
    expect(api.requestsFor('accept')).toHaveLength(1);
  });

  it('a call that is gone by the time it is accepted (404) is answered 200 with no session', async () => {
    const webhook = handler();
    const delivery = signedDelivery(incomingCallEvent('rtc_never_rang'));
    const result = await webhook.handle(delivery.body, delivery.headers);
    expect(result).toMatchObject({ status: 200, outcome: 'call_gone' });
    expect(result.session).toBeUndefined();
    expect(sessionsFor('rtc_never_rang')).toHaveLength(0);
  });

  it('a failed accept answers 500 and lets OpenAI retry the same delivery', async () => {
    api.ring('rtc_retry');
    const webhook = handler();
    const delivery = signedDelivery(incomingCallEvent('rtc_retry'), { id: 'msg_retry' });
    api.failures.push(503);
    const failed = await webhook.handle(delivery.body, delivery.headers);
    expect(failed).toMatchObject({ status: 500, outcome: 'failed' });
    expect(JSON.parse(failed.body)).toEqual({ ok: false, outcome: 'failed' });
    expect(errors).toHaveLength(1);
    const retried = await webhook.handle(delivery.body, delivery.headers);
    expect(retried.outcome).toBe('accepted');
    await retried.session;
    expect(api.requestsFor('accept')).toHaveLength(2);
    expect(sessionsFor('rtc_retry')).toHaveLength(1);
  });

  it('a retry racing a delivery that then fails is not answered 200: both fail, and the next retry accepts', async () => {
    api.ring('rtc_race');
    const webhook = handler();
    const event = incomingCallEvent('rtc_race');
    const first = signedDelivery(event, { id: 'msg_race' });
    const retry = signedDelivery(event, { id: 'msg_race' });
    const other = signedDelivery(incomingCallEvent('rtc_race'), { id: 'msg_race_2' });
    api.failures.push(503);
    // The failing accept stays in flight long enough for the other two deliveries to arrive
    // while it is, however slowly a loaded machine verifies them.
    api.delayMs = 500;
    const results = await Promise.all([
      webhook.handle(first.body, first.headers),
      webhook.handle(retry.body, retry.headers),
      webhook.handle(other.body, other.headers),
    ]);
    api.delayMs = 0;
    // Answering a duplicate 200 while the delivery it duplicates was failing would end OpenAI's retries.
    expect(results.map((r) => [r.status, r.outcome])).toEqual([
      [500, 'failed'],
      [500, 'failed'],
      [500, 'failed'],
    ]);
    expect(api.requestsFor('accept')).toHaveLength(1);
    const retried = await webhook.handle(retry.body, retry.headers);
    expect(retried.outcome).toBe('accepted');
    await retried.session;
    expect((await webhook.handle(other.body, other.headers)).outcome).toBe('duplicate');
    expect(api.requestsFor('accept')).toHaveLength(2);
    expect(sessionsFor('rtc_race')).toHaveLength(1);
  });

  it('an attach failure after accepting goes to onError; the session promise resolves undefined', async () => {
    api.ring('rtc_attach_fail');
    const webhook = handler({ realtimeUrl: 'ws://127.0.0.1:9/v1/realtime' });
    const delivery = signedDelivery(incomingCallEvent('rtc_attach_fail'));
    const result = await webhook.handle(delivery.body, delivery.headers);
    expect(result.outcome).toBe('accepted');
    await expect(result.session).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'sip_attach_failed' });
  });
});

describe('OpenAISipWebhookHandler: decisions', () => {
  it('onIncomingCall can screen calls: reject with a SIP code, accept with a raw config, or handle it itself', async () => {
    const seen: OpenAISipCall[] = [];
    const webhook = handler({
      agent: undefined,
      onIncomingCall: (call) => {
        seen.push(call);
        if (call.customHeaders['X-Customer-Id'] === 'blocked') return { action: 'reject', statusCode: 486 };
        if (call.callId === 'rtc_raw')
          return { action: 'accept', config: { instructions: 'raw', model: 'gpt-realtime' } };
        if (call.callId === 'rtc_self') return undefined;
        return { action: 'accept', agent, sessionOptions };
      },
    });

    api.ring('rtc_blocked');
    const blocked = signedDelivery(
      incomingCallEvent('rtc_blocked', [
        { name: 'From', value: '<sip:+15550000000@example.com>' },
        { name: 'X-Customer-Id', value: 'blocked' },
      ]),
    );
    expect(await webhook.handle(blocked.body, blocked.headers)).toMatchObject({ status: 200, outcome: 'rejected' });
    expect(api.requestsFor('reject')[0]).toMatchObject({ callId: 'rtc_blocked', body: { status_code: 486 } });

    api.ring('rtc_raw');
    const raw = signedDelivery(incomingCallEvent('rtc_raw'));
    const rawResult = await webhook.handle(raw.body, raw.headers);
    expect(rawResult).toMatchObject({ outcome: 'accepted' });
    expect(rawResult.session).toBeUndefined(); // no agent: accept only
    expect(api.requestsFor('accept')[0]!.body).toEqual({
      instructions: 'raw',
      model: 'gpt-realtime',
      type: 'realtime',
    });

    api.ring('rtc_self');
    const self = signedDelivery(incomingCallEvent('rtc_self'));
    expect(await webhook.handle(self.body, self.headers)).toMatchObject({ status: 200, outcome: 'handled' });
    expect(api.requests).toHaveLength(2);
    expect(seen.map((c) => c.callId)).toEqual(['rtc_blocked', 'rtc_raw', 'rtc_self']);
  });

  it("{ action: 'accept' } without an agent uses the handler's agent and session options", async () => {
    api.ring('rtc_default');
    const webhook = handler({ onIncomingCall: () => ({ action: 'accept' }) });
    const delivery = signedDelivery(incomingCallEvent('rtc_default'));
    const result = await webhook.handle(delivery.body, delivery.headers);
    expect(result.outcome).toBe('accepted');
    expect(api.requestsFor('accept')[0]!.body).toMatchObject({
      model: 'gpt-realtime',
      instructions: 'Answer the phone for the clinic.',
      audio: { input: { turn_detection: { type: 'semantic_vad' } } },
    });
    const attached = await result.session;
    expect(attached?.transport.status).toBe('connected');
    expect(sessionsFor('rtc_default')).toHaveLength(1);
  });

  it('a throwing onIncomingCall answers 500 and is retried', async () => {
    let calls = 0;
    const webhook = handler({
      onIncomingCall: () => {
        calls++;
        if (calls === 1) throw new Error('database down');
        return { action: 'handled' };
      },
    });
    const delivery = signedDelivery(incomingCallEvent('rtc_throw'));
    expect(await webhook.handle(delivery.body, delivery.headers)).toMatchObject({ status: 500, outcome: 'failed' });
    expect(await webhook.handle(delivery.body, delivery.headers)).toMatchObject({ status: 200, outcome: 'handled' });
  });

  it('other verified events go to onEvent and are answered 200; malformed call events 400', async () => {
    const events: string[] = [];
    const webhook = handler({ onEvent: ({ event }) => void events.push(event.type) });
    const other = signedDelivery({
      object: 'event',
      id: 'evt_b',
      type: 'batch.completed',
      created_at: 1,
      data: { id: 'b' },
    });
    expect(await webhook.handle(other.body, other.headers)).toMatchObject({ status: 200, outcome: 'ignored' });
    expect(events).toEqual(['batch.completed']);
    const malformed = signedDelivery({
      object: 'event',
      id: 'evt_m',
      type: 'realtime.call.incoming',
      created_at: 1,
      data: {},
    });
    expect(await webhook.handle(malformed.body, malformed.headers)).toMatchObject({
      status: 400,
      outcome: 'bad_request',
    });
    const notJson = signedDelivery(undefined, { body: '{"truncated":' });
    expect(await webhook.handle(notJson.body, notJson.headers)).toMatchObject({ status: 400, outcome: 'bad_request' });
    expect(api.requests).toHaveLength(0);
  });

  it('dedup can be injected or turned off', async () => {
    const store = new OpenAISipMemoryDedupStore({ maxEntries: 4 });
    const webhook = handler({ dedup: store, onIncomingCall: () => ({ action: 'handled' }) });
    const delivery = signedDelivery(incomingCallEvent('rtc_store'), { id: 'msg_store' });
    await webhook.handle(delivery.body, delivery.headers);
    expect(store.has('webhook:msg_store')).toBe(true);
    expect(store.has('call:rtc_store')).toBe(true);
    expect((await webhook.handle(delivery.body, delivery.headers)).outcome).toBe('duplicate');

    const noDedup = handler({ dedup: false, onIncomingCall: () => ({ action: 'handled' }) });
    expect((await noDedup.handle(delivery.body, delivery.headers)).outcome).toBe('handled');
    expect((await noDedup.handle(delivery.body, delivery.headers)).outcome).toBe('handled');
  });

  it('validates its options', () => {
    expect(() => handler({ agent: undefined })).toThrow(ConfigError);
    expect(() =>
      handler({ webhookSecret: undefined, client: new OpenAI({ apiKey: API_KEY, webhookSecret: null }) }),
    ).toThrow(ConfigError);
    expect(() => handler({ toleranceSeconds: -1 })).toThrow(ConfigError);
    expect(() => handler({ onIncomingCall: 'x' as never })).toThrow(ConfigError);
  });

  it('uses an injected client for verification and call control', async () => {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: api.baseURL, webhookSecret: WEBHOOK_SECRET, maxRetries: 0 });
    const webhook = new OpenAISipWebhookHandler({
      client,
      agent,
      realtimeUrl: simulator.url,
      onError: (e) => errors.push(e),
    });
    expect(webhook.callControl).toBeInstanceOf(OpenAISipCallControl);
    expect(webhook.callControl.client).toBe(client);
    api.ring('rtc_client');
    const delivery = signedDelivery(incomingCallEvent('rtc_client'));
    const result = await webhook.handle(delivery.body, delivery.headers);
    expect(result.outcome).toBe('accepted');
    const attached = await result.session;
    expect(attached?.transport.status).toBe('connected');
    attached?.session.close();
    expect(errors).toEqual([]);
  });
});

describe('OpenAISipWebhookHandler: adapters', () => {
  it('fetch: Request in, Response out', async () => {
    api.ring('rtc_fetch');
    const webhook = handler();
    const delivery = signedDelivery(incomingCallEvent('rtc_fetch'));
    const response = await webhook.fetch(
      new Request('http://127.0.0.1/openai/webhook', {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
      }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, outcome: 'accepted' });
    await waitFor(() => sessionsFor('rtc_fetch').length === 1);

    const tampered = await webhook.fetch(
      new Request('http://127.0.0.1/openai/webhook', {
        method: 'POST',
        headers: delivery.headers,
        body: `${delivery.body} `,
      }),
    );
    expect(tampered.status).toBe(401);
    const get = await webhook.fetch(new Request('http://127.0.0.1/openai/webhook'));
    expect(get.status).toBe(405);
    expect(api.requestsFor('accept')).toHaveLength(1);
  });

  it('fetch: refuses an oversized body with 413 without holding all of it', async () => {
    const webhook = handler();
    const delivery = signedDelivery(incomingCallEvent('rtc_big'));
    const big = `${delivery.body}${' '.repeat(2 * 1024 * 1024)}`;
    const declared = await webhook.fetch(
      new Request('http://127.0.0.1/openai/webhook', { method: 'POST', headers: delivery.headers, body: big }),
    );
    expect(declared.status).toBe(413);
    // Streamed without a Content-Length: cut off once past the limit.
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 64 * 1024;
        if (pulled > 64 * 1024 * 1024) controller.close();
        else controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    const streamed = await webhook.fetch(
      new Request('http://127.0.0.1/openai/webhook', {
        method: 'POST',
        headers: delivery.headers,
        body: stream,
        duplex: 'half',
      } as RequestInit),
    );
    expect(streamed.status).toBe(413);
    expect(pulled).toBeLessThan(4 * 1024 * 1024);
    expect(api.requestsFor('accept')).toHaveLength(0);
  });

  it('Fastify plugin: keeps the raw body for its route only, verifies, accepts and attaches', async () => {
    api.ring('rtc_fastify');
    const webhook = handler();
    const app = Fastify();
    await app.register(webhook.fastifyPlugin({ path: '/openai/webhook' }));
    // Routes outside the plugin still get Fastify's JSON parsing.
    app.post('/other', async (request) => ({ parsed: typeof request.body }));
    try {
      const delivery = signedDelivery(incomingCallEvent('rtc_fastify'));
      const response = await app.inject({
        method: 'POST',
        url: '/openai/webhook',
        headers: delivery.headers,
        payload: delivery.body,
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ ok: true, outcome: 'accepted' });
      await waitFor(() => sessionsFor('rtc_fastify').length === 1);

      const duplicate = await app.inject({
        method: 'POST',
        url: '/openai/webhook',
        headers: delivery.headers,
        payload: delivery.body,
      });
      expect(duplicate.json()).toEqual({ ok: true, outcome: 'duplicate' });

      // Whitespace Fastify's JSON parser would have ignored still breaks the signature.
      const tampered = await app.inject({
        method: 'POST',
        url: '/openai/webhook',
        headers: delivery.headers,
        payload: delivery.body.replace('{', '{ '),
      });
      expect(tampered.statusCode).toBe(401);

      const other = await app.inject({
        method: 'POST',
        url: '/other',
        headers: { 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(other.json()).toEqual({ parsed: 'object' });
      expect(api.requestsFor('accept')).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('Fastify route handler with a raw body from elsewhere (fastify-raw-body style), and without one', async () => {
    api.ring('rtc_fastify_raw');
    const webhook = handler();
    const app = Fastify();
    app.addHook('preParsing', async (request, _reply, payload) => {
      const chunks: Buffer[] = [];
      for await (const chunk of payload) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks);
      (request as unknown as { rawBody: Buffer }).rawBody = raw;
      const { Readable } = await import('node:stream');
      return Readable.from([raw]);
    });
    app.post('/raw', webhook.fastifyHandler);
    const parsedOnly = Fastify();
    parsedOnly.post('/parsed', webhook.fastifyHandler);
    try {
      const delivery = signedDelivery(incomingCallEvent('rtc_fastify_raw'));
      const response = await app.inject({
        method: 'POST',
        url: '/raw',
        headers: delivery.headers,
        payload: delivery.body,
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ ok: true, outcome: 'accepted' });
      await waitFor(() => sessionsFor('rtc_fastify_raw').length === 1);

      const misconfigured = await parsedOnly.inject({
        method: 'POST',
        url: '/parsed',
        headers: delivery.headers,
        payload: delivery.body,
      });
      expect(misconfigured.statusCode).toBe(500);
      expect(misconfigured.json().error).toMatch(/raw request body/);
    } finally {
      await app.close();
      await parsedOnly.close();
    }
  });
});

describe('OpenAISipMemoryDedupStore', () => {
  it('claims once, forgets on release, after the ttl, and beyond maxEntries (oldest first)', () => {
    let now = 0;
    const store = new OpenAISipMemoryDedupStore({ maxEntries: 3, ttlMs: 1000, now: () => now });
    expect(store.claim('a')).toBe(true);
    expect(store.claim('a')).toBe(false);
    store.release('a');
    expect(store.claim('a')).toBe(true);
    now = 999;
    expect(store.claim('a')).toBe(false);
    now = 1000;
    expect(store.claim('a')).toBe(true); // expired, claimed afresh
    expect(store.claim('b')).toBe(true);
    expect(store.claim('c')).toBe(true);
    expect(store.claim('d')).toBe(true);
    expect(store.size).toBe(3);
    expect(store.has('a')).toBe(false);
    expect(store.has('d')).toBe(true);
    now = 5000;
    expect(store.claim('e')).toBe(true);
    expect(store.size).toBe(1);
    expect(() => new OpenAISipMemoryDedupStore({ maxEntries: 0 })).toThrow(ConfigError);
    expect(() => new OpenAISipMemoryDedupStore({ ttlMs: 0 })).toThrow(ConfigError);
  });
});
