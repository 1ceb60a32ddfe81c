import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { RealtimeAgent, tool } from '@openai/agents-realtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CallControlError, ConfigError } from '@switchboard/core';
import { OpenAISipCallControl, OpenAISipCallControlError, buildOpenAISipAcceptConfig } from '../src/index.js';
import { wasUnprocessed } from '../src/openai/retry.js';
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
    const result = await calls.accept('rtc_a1', {
      model: 'gpt-realtime',
      instructions: 'Hi',
      audio: { output: { voice: 'marin' } },
    });
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
      config: {
        audio: {
          input: { turnDetection: { type: 'semantic_vad' as const, interruptResponse: true } },
          output: { voice: 'verse' },
        },
      },
    };
    const result = await calls.acceptAgent('rtc_a2', agent, sessionOptions);
    expect(result.alreadyEnded).toBe(false);
    const body = api.requestsFor('accept')[0]!.body as Record<string, any>;
    expect(body).toEqual(result.config);
    expect(body).toMatchObject({
      type: 'realtime',
      model: 'gpt-realtime',
      instructions: 'Greet the caller and book appointments.',
      audio: {
        input: { turn_detection: { type: 'semantic_vad', interrupt_response: true } },
        output: { voice: 'verse' },
      },
    });
    expect(body.tools).toEqual([expect.objectContaining({ type: 'function', name: 'book' })]);
    expect(await buildOpenAISipAcceptConfig(agent, sessionOptions)).toEqual(body);
  });

  it('refuses turn-detection fields the Calls API rejects for SIP, before sending anything', async () => {
    api.ring('rtc_a3');
    await expect(
      calls.acceptAgent('rtc_a3', agent, {
        config: { audio: { input: { turnDetection: { type: 'server_vad', threshold: 0.7 } } } },
      }),
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
      expect(api.requestsFor('refer').at(-1)).toMatchObject({
        path: `/v1/realtime/calls/${id}/refer`,
        body: { target_uri: expected },
      });
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

  it("the error is an OpenAISipCallControlError: operation, call id, OpenAI's error object and request id", async () => {
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
      openaiError: {
        message: 'accept: the call was already answered',
        type: 'invalid_request_error',
        param: null,
        code: 'call_already_accepted',
      },
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

/**
 * A capture server for the retry tests: it records each request and answers as the test's script
 * says, or holds it without answering (the request reached OpenAI, the answer was lost).
 */
type Scripted = 'hold' | { status: number; body?: unknown; headers?: Record<string, string> };

class CaptureServer {
  readonly seen: Array<{ operation: string; retryCount: string | undefined }> = [];
  script: (operation: string, index: number) => Scripted = () => ({ status: 200, body: '' });
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const operation = /\/(accept|reject|refer|hangup)$/.exec(req.url ?? '')?.[1] ?? '';
        const index = this.seen.filter((r) => r.operation === operation).length;
        this.seen.push({ operation, retryCount: req.headers['x-stainless-retry-count'] as string | undefined });
        const answer = this.script(operation, index);
        if (answer === 'hold') return;
        const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  count(operation: string): number {
    return this.seen.filter((r) => r.operation === operation).length;
  }
}

const alreadyAccepted = {
  status: 400,
  body: {
    error: {
      message: 'The call was already accepted.',
      type: 'invalid_request_error',
      param: null,
      code: 'call_already_accepted',
    },
  },
};

describe('OpenAISipCallControl retries', () => {
  const capture = new CaptureServer();
  // Long enough for a prompt answer on a loaded machine; only held requests wait it out.
  const timeoutMs = 1500;
  beforeAll(async () => {
    await capture.start();
  });
  afterAll(async () => {
    await capture.stop();
  });
  beforeEach(() => {
    capture.seen.length = 0;
  });

  it('an accept that timed out is not sent again by default: it may have answered the call', async () => {
    // The first accept reaches OpenAI, which answers the call, but its answer never arrives; a
    // second accept would be refused as already accepted.
    capture.script = (operation, index) => (operation === 'accept' && index === 0 ? 'hold' : alreadyAccepted);
    const calls = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: capture.url, timeoutMs });
    const error = (await calls.accept('rtc_held', {}).catch((e: unknown) => e)) as OpenAISipCallControlError;
    expect(error).toBeInstanceOf(OpenAISipCallControlError);
    expect(error).toMatchObject({ operation: 'accept', callId: 'rtc_held', timedOut: true });
    expect(error.status).toBeUndefined();
    expect(capture.count('accept')).toBe(1);
  });

  it("retryPolicy { accept: 'sdk' } retries as the SDK does, and the retry finds the call already accepted", async () => {
    capture.script = (operation, index) => (operation === 'accept' && index === 0 ? 'hold' : alreadyAccepted);
    const calls = new OpenAISipCallControl({
      apiKey: API_KEY,
      baseURL: capture.url,
      timeoutMs,
      retryPolicy: { accept: 'sdk' },
    });
    const error = (await calls.accept('rtc_held', {}).catch((e: unknown) => e)) as OpenAISipCallControlError;
    expect(error).toMatchObject({ status: 400, providerCode: 'call_already_accepted', timedOut: false });
    expect(capture.seen.map((r) => r.retryCount)).toEqual(['0', '1']);
  });

  it('an accept OpenAI did not act on (429) is sent again; one answered with a 5xx is not', async () => {
    capture.script = (operation, index) =>
      index === 0
        ? {
            status: 429,
            body: { error: { message: 'slow down', type: 'rate_limit', param: null, code: null } },
            headers: { 'retry-after-ms': '1' },
          }
        : { status: 200, body: '' };
    const calls = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: capture.url, timeoutMs });
    await expect(calls.accept('rtc_busy', {})).resolves.toEqual({ alreadyEnded: false });
    expect(capture.count('accept')).toBe(2);

    capture.seen.length = 0;
    capture.script = (_operation, index) =>
      index === 0
        ? { status: 503, body: { error: { message: 'busy', type: 'server_error', param: null, code: null } } }
        : { status: 200, body: '' };
    const failed = (await calls.accept('rtc_503', {}).catch((e: unknown) => e)) as OpenAISipCallControlError;
    expect(failed).toMatchObject({ operation: 'accept', status: 503 });
    expect(capture.count('accept')).toBe(1);
  });

  it('a hang-up that timed out is sent again (a repeated hang-up is harmless)', async () => {
    capture.script = (operation, index) => (operation === 'hangup' && index === 0 ? 'hold' : { status: 200, body: '' });
    const calls = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: capture.url, timeoutMs });
    await expect(calls.hangup('rtc_h')).resolves.toEqual({ alreadyEnded: false });
    expect(capture.seen.map((r) => r.retryCount)).toEqual(['0', '1']);
  });

  it("reads the SDK's own errors: a refused connection was not processed, a timeout may have been", async () => {
    // A port that was just free: nothing listens on it.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await new OpenAI({
      apiKey: API_KEY,
      baseURL: `http://127.0.0.1:${port}/v1`,
      maxRetries: 0,
    }).realtime.calls
      .hangup('rtc_x')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(wasUnprocessed(refused)).toBe(true);
    capture.script = () => 'hold';
    const timedOut = await new OpenAI({
      apiKey: API_KEY,
      baseURL: capture.url,
      maxRetries: 0,
      timeout: 200,
    }).realtime.calls
      .hangup('rtc_x')
      .catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(wasUnprocessed(timedOut)).toBe(false);
  });

  it('validates retryPolicy', () => {
    expect(() => new OpenAISipCallControl({ apiKey: API_KEY, retryPolicy: { accept: 'always' as never } })).toThrow(
      ConfigError,
    );
    expect(() => new OpenAISipCallControl({ apiKey: API_KEY, retryPolicy: { answer: 'never' } as never })).toThrow(
      ConfigError,
    );
  });
});
