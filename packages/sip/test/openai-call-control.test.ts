import OpenAI from 'openai';
import { RealtimeAgent, tool } from '@openai/agents-realtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CallControlError, ConfigError } from '@switchboard/core';
import { OpenAISipCallControl, OpenAISipCallControlError, buildOpenAISipAcceptConfig } from '../src/openai/index.js';
import { API_KEY, FakeOpenAICallsApi } from './openai-fakes.js';

const api = new FakeOpenAICallsApi();
let calls: OpenAISipCallControl;

beforeAll(async () => {
  await api.start();
});
afterAll(async () => {
  await api.stop();
});
beforeEach(() => {
  api.requests.length = 0;
  api.failures.length = 0;
  calls = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: api.baseURL, maxRetries: 0 });
});

const agent = new RealtimeAgent({
  name: 'Receptionist',
  instructions: 'Greet the caller and book appointments.',
  tools: [
    tool({
      name: 'book',
      description: 'Book a slot',
      parameters: z.object({ day: z.string() }),
      execute: async ({ day }) => `booked ${day}`,
    }),
  ],
});

describe('OpenAISipCallControl', () => {
  it('accepts with the payload given, adding type realtime, over Bearer auth', async () => {
    api.ring('rtc_a1');
    const result = await calls.accept('rtc_a1', { model: 'gpt-realtime', instructions: 'Hi', audio: { output: { voice: 'marin' } } });
    expect(result).toEqual({ alreadyEnded: false });
    const [request] = api.requestsFor('accept');
    expect(request).toMatchObject({
      method: 'POST',
      path: '/v1/realtime/calls/rtc_a1/accept',
      authorization: `Bearer ${API_KEY}`,
      body: { type: 'realtime', model: 'gpt-realtime', instructions: 'Hi', audio: { output: { voice: 'marin' } } },
    });
    expect(request!.contentType).toContain('application/json');
  });

  it('acceptAgent sends what OpenAIRealtimeSIP.buildInitialConfig builds from the agent', async () => {
    api.ring('rtc_a2');
    const sessionOptions = {
      model: 'gpt-realtime',
      config: { audio: { input: { turnDetection: { type: 'semantic_vad' as const, interruptResponse: true } }, output: { voice: 'verse' } } },
    };
    const result = await calls.acceptAgent('rtc_a2', agent, sessionOptions);
    expect(result.alreadyEnded).toBe(false);
    const body = api.requestsFor('accept')[0]!.body as Record<string, any>;
    expect(body).toEqual(result.config);
    expect(body).toMatchObject({
      type: 'realtime',
      model: 'gpt-realtime',
      instructions: 'Greet the caller and book appointments.',
      audio: { input: { turn_detection: { type: 'semantic_vad', interrupt_response: true } }, output: { voice: 'verse' } },
    });
    expect(body.tools).toEqual([expect.objectContaining({ type: 'function', name: 'book' })]);
    expect(await buildOpenAISipAcceptConfig(agent, sessionOptions)).toEqual(body);
  });

  it('refuses turn-detection fields the Calls API rejects for SIP, before sending anything', async () => {
    api.ring('rtc_a3');
    await expect(
      calls.acceptAgent('rtc_a3', agent, { config: { audio: { input: { turnDetection: { type: 'server_vad', threshold: 0.7 } } } } }),
    ).rejects.toThrow(/threshold/);
    expect(api.requests).toHaveLength(0);
  });

  it('rejects with a SIP status code, or with none (OpenAI defaults to 603)', async () => {
    api.ring('rtc_r1');
    api.ring('rtc_r2');
    await expect(calls.reject('rtc_r1', { statusCode: 486 })).resolves.toEqual({ alreadyEnded: false });
    await expect(calls.reject('rtc_r2')).resolves.toEqual({ alreadyEnded: false });
    const [busy, plain] = api.requestsFor('reject');
    expect(busy).toMatchObject({ path: '/v1/realtime/calls/rtc_r1/reject', body: { status_code: 486 } });
    expect(plain!.body).toEqual({});
    expect(() => calls.reject('rtc_r1', { statusCode: 200 })).toThrow(ConfigError);
    expect(() => calls.reject('rtc_r1', { statusCode: 486.5 })).toThrow(ConfigError);
  });

  it('refers to tel: and sip: URIs, turning a bare number into tel:', async () => {
    for (const [id, target, expected] of [
      ['rtc_f1', 'tel:+14155550123', 'tel:+14155550123'],
      ['rtc_f2', 'sip:agent@example.com', 'sip:agent@example.com'],
      ['rtc_f3', '+1 (415) 555-0124', 'tel:+14155550124'],
    ] as const) {
      api.ring(id);
      await calls.accept(id, {});
      await expect(calls.refer(id, target)).resolves.toEqual({ alreadyEnded: false });
      expect(api.requestsFor('refer').at(-1)).toMatchObject({ path: `/v1/realtime/calls/${id}/refer`, body: { target_uri: expected } });
    }
    expect(() => calls.refer('rtc_f1', 'mailto:x@example.com')).toThrow(ConfigError);
    expect(() => calls.refer('rtc_f1', '')).toThrow(ConfigError);
  });

  it('hangs up with an empty body, and a second hang-up resolves as already ended', async () => {
    api.ring('rtc_h1');
    await calls.accept('rtc_h1', {});
    await expect(calls.hangup('rtc_h1')).resolves.toEqual({ alreadyEnded: false });
    expect(api.requestsFor('hangup')[0]).toMatchObject({ path: '/v1/realtime/calls/rtc_h1/hangup', rawBody: '' });
    await expect(calls.hangup('rtc_h1')).resolves.toEqual({ alreadyEnded: true });
  });

  it('treats 404 as "the call is gone" for every operation', async () => {
    await expect(calls.accept('rtc_gone', {})).resolves.toEqual({ alreadyEnded: true });
    await expect(calls.reject('rtc_gone')).resolves.toEqual({ alreadyEnded: true });
    await expect(calls.refer('rtc_gone', 'tel:+1555')).resolves.toEqual({ alreadyEnded: true });
    await expect(calls.hangup('rtc_gone')).resolves.toEqual({ alreadyEnded: true });
    expect(api.requests.map((r) => r.operation)).toEqual(['accept', 'reject', 'refer', 'hangup']);
  });

  it('throws a CallControlError with status and code otherwise, never quoting the key', async () => {
    api.ring('rtc_e1');
    await calls.accept('rtc_e1', {});
    const accepted = await calls.accept('rtc_e1', {}).catch((e: unknown) => e);
    expect(accepted).toBeInstanceOf(CallControlError);
    expect(accepted).toMatchObject({ status: 400, providerCode: 'call_already_accepted', code: 'call_control_error' });
    expect((accepted as Error).message).toContain('accept of call rtc_e1');

    const badKey = new OpenAISipCallControl({ apiKey: 'sk-wrong-key-123456', baseURL: api.baseURL, maxRetries: 0 });
    const unauthorized = (await badKey.hangup('rtc_e1').catch((e: unknown) => e)) as CallControlError;
    expect(unauthorized).toBeInstanceOf(CallControlError);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.message).not.toMatch(/sk-(tes|wrong)/);

    api.failures.push(500);
    const server = (await calls.hangup('rtc_e1').catch((e: unknown) => e)) as CallControlError;
    expect(server).toBeInstanceOf(CallControlError);
    expect(server.status).toBe(500);
  });

  it('the error is an OpenAISipCallControlError: operation, call id, OpenAI\'s error object and request id', async () => {
    api.ring('rtc_t1');
    await calls.accept('rtc_t1', {});
    const error = await calls.accept('rtc_t1', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAISipCallControlError);
    expect(error).toBeInstanceOf(CallControlError);
    expect(error).toMatchObject({
      name: 'OpenAISipCallControlError',
      code: 'call_control_error',
      operation: 'accept',
      callId: 'rtc_t1',
      status: 400,
      providerCode: 'call_already_accepted',
      requestId: `req_fake_${api.requests.length}`,
      timedOut: false,
      openaiError: { message: 'accept: the call was already answered', type: 'invalid_request_error', param: null, code: 'call_already_accepted' },
    });

    const badKey = new OpenAISipCallControl({ apiKey: 'sk-wrong-key-123456', baseURL: api.baseURL, maxRetries: 0 });
    const unauthorized = (await badKey.hangup('rtc_t1').catch((e: unknown) => e)) as OpenAISipCallControlError;
    expect(unauthorized.openaiError).toMatchObject({ code: 'invalid_api_key' });
    expect(unauthorized.openaiError!.message).not.toMatch(/sk-tes/);
  });

  it('reports a request that never completes as a CallControlError without status', async () => {
    const unreachable = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 });
    const error = (await unreachable.hangup('rtc_x').catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(/did not complete|timed out/);

    api.ring('rtc_slow');
    api.delayMs = 300;
    try {
      const slow = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: api.baseURL, maxRetries: 0, timeoutMs: 50 });
      const timeout = (await slow.hangup('rtc_slow').catch((e: unknown) => e)) as CallControlError;
      expect(timeout).toBeInstanceOf(CallControlError);
      expect(timeout.message).toMatch(/timed out/);
      expect(timeout).toMatchObject({ timedOut: true, operation: 'hangup', callId: 'rtc_slow' });
      expect((timeout as OpenAISipCallControlError).openaiError).toBeUndefined();
    } finally {
      api.delayMs = 0;
    }
  });

  it('uses an injected client, and validates its options and arguments', async () => {
    api.ring('rtc_c1');
    const client = new OpenAI({ apiKey: API_KEY, baseURL: api.baseURL, maxRetries: 0 });
    const injected = new OpenAISipCallControl({ client });
    expect(injected.client).toBe(client);
    await expect(injected.accept('rtc_c1', {})).resolves.toEqual({ alreadyEnded: false });
    expect(() => new OpenAISipCallControl({ client: {} as never })).toThrow(ConfigError);
    expect(() => new OpenAISipCallControl({ client, timeoutMs: 0 })).toThrow(ConfigError);
    expect(() => new OpenAISipCallControl({ apiKey: API_KEY, maxRetries: -1 })).toThrow(ConfigError);
    expect(() => injected.hangup('')).toThrow(ConfigError);
    expect(() => injected.accept('rtc_c1', null as never)).toThrow(ConfigError);
  });

  it('encodes the call id into the path', async () => {
    api.ring('rtc/../weird id');
    await expect(calls.hangup('rtc/../weird id')).resolves.toEqual({ alreadyEnded: false });
    expect(api.requests[0]!.path).toBe('/v1/realtime/calls/rtc%2F..%2Fweird%20id/hangup');
  });
});
