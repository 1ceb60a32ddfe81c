import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CallerSimulator,
  RealtimeSimulator,
  bundledTracesDir,
  loadAgentReplies,
  loadTrace,
  traceExpect,
  traceFormat,
  type SimulatedSession,
  type SimulatorTurn,
  type Trace,
} from '@switchboard/conformance';
import { decodeMuLaw } from '@switchboard/core';
import { computeTwilioSignature } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { buildServer, type CallHandle, type ServerOptions } from '../src/server.js';

const TOKEN = 'test-auth-token';
const SPEED = 5;
/** A realtime URL nothing listens on: the HTTP tests never open a call. */
const UNUSED_REALTIME_URL = 'ws://127.0.0.1:9/v1/realtime';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(options: ServerOptions): Promise<{ app: FastifyInstance; port: number; lines: string[] }> {
  const lines: string[] = [];
  const app = await buildServer({ log: (line) => lines.push(line), ...options });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { app, port: address.port, lines };
}

async function corpusTrace(name: string): Promise<Trace> {
  return loadTrace(join(bundledTracesDir(), `${name}.jsonl`));
}

const FORM = { CallSid: 'CA' + '1'.repeat(32), From: '+15551230000', To: '+15557654321', CallStatus: 'ringing' };

describe('HTTP routes', () => {
  it('answers the health check with a JSON message', async () => {
    const app = await buildServer({ realtimeUrl: UNUSED_REALTIME_URL, log: () => {} });
    cleanups.push(() => app.close());
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ message: 'Twilio Media Stream Server is running!' });
  });

  it('returns TwiML that says the greeting and connects a wss:// stream on the request host', async () => {
    const app = await buildServer({ realtimeUrl: UNUSED_REALTIME_URL, log: () => {} });
    cleanups.push(() => app.close());
    for (const method of ['GET', 'POST'] as const) {
      const response = await app.inject({ method, url: '/incoming-call', headers: { host: 'abc.ngrok.app' } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/xml/);
      expect(response.body).toBe(
        '<?xml version="1.0" encoding="UTF-8"?><Response><Say>O.K. you can start talking!</Say>' +
          '<Connect><Stream url="wss://abc.ngrok.app/media-stream"/></Connect></Response>',
      );
    }
  });

  it('uses ws:// for a local host and the public host when one is configured', async () => {
    const local = await buildServer({ realtimeUrl: UNUSED_REALTIME_URL, log: () => {} });
    cleanups.push(() => local.close());
    const direct = await local.inject({ method: 'POST', url: '/incoming-call', headers: { host: '127.0.0.1:5050' } });
    expect(direct.body).toContain('<Stream url="ws://127.0.0.1:5050/media-stream"/>');

    const proxied = await buildServer({
      realtimeUrl: UNUSED_REALTIME_URL,
      publicHost: 'https://calls.example.com/',
      log: () => {},
    });
    cleanups.push(() => proxied.close());
    const response = await proxied.inject({
      method: 'POST',
      url: '/incoming-call',
      headers: { host: '127.0.0.1:5050' },
    });
    expect(response.body).toContain('<Stream url="wss://calls.example.com/media-stream"/>');
  });

  it('accepts a webhook signed with the auth token and rejects a bad or missing signature with 403', async () => {
    const lines: string[] = [];
    const app = await buildServer({
      realtimeUrl: UNUSED_REALTIME_URL,
      twilioAuthToken: TOKEN,
      log: (line) => lines.push(line),
    });
    cleanups.push(() => app.close());
    const url = 'https://abc.ngrok.app/incoming-call';
    const post = (signature?: string) =>
      app.inject({
        method: 'POST',
        url: '/incoming-call',
        headers: {
          host: 'abc.ngrok.app',
          'content-type': 'application/x-www-form-urlencoded',
          ...(signature ? { 'x-twilio-signature': signature } : {}),
        },
        payload: new URLSearchParams(FORM).toString(),
      });

    const signed = await post(await computeTwilioSignature(TOKEN, url, FORM));
    expect(signed.statusCode).toBe(200);
    expect(signed.body).toContain('<Stream url="wss://abc.ngrok.app/media-stream"/>');

    const otherParams = await post(await computeTwilioSignature(TOKEN, url, { ...FORM, From: '+15550000000' }));
    expect(otherParams.statusCode).toBe(403);
    const otherToken = await post(await computeTwilioSignature('another-token', url, FORM));
    expect(otherToken.statusCode).toBe(403);
    const missing = await post();
    expect(missing.statusCode).toBe(403);
    expect(lines.filter((line) => line.includes('rejected POST /incoming-call'))).toHaveLength(3);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('validates the signature against the public host behind a proxy', async () => {
    const app = await buildServer({
      realtimeUrl: UNUSED_REALTIME_URL,
      twilioAuthToken: TOKEN,
      publicHost: 'calls.example.com',
      log: () => {},
    });
    cleanups.push(() => app.close());
    const response = await app.inject({
      method: 'POST',
      url: '/incoming-call',
      headers: {
        host: '127.0.0.1:5050',
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': await computeTwilioSignature(TOKEN, 'https://calls.example.com/incoming-call', FORM),
      },
      payload: new URLSearchParams(FORM).toString(),
    });
    expect(response.statusCode).toBe(200);
  });

  it('refuses to build without an API key or a realtime URL', async () => {
    await expect(buildServer({})).rejects.toThrow(/openaiApiKey/);
  });
});

describe('media stream upgrade', () => {
  /** Status of an upgrade attempt: 101 when it opened, else the HTTP status it got. */
  function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      socket.once('open', () => {
        socket.terminate();
        resolve(101);
      });
      socket.once('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.once('error', (error) => reject(error));
    });
  }

  it('rejects an upgrade without a valid signature with 403 and starts no call', async () => {
    let calls = 0;
    const { port, lines } = await listen({
      realtimeUrl: UNUSED_REALTIME_URL,
      twilioAuthToken: TOKEN,
      onCall: () => calls++,
    });
    const url = `ws://127.0.0.1:${port}/media-stream`;
    expect(await upgradeStatus(url, {})).toBe(403);
    expect(await upgradeStatus(url, { 'x-twilio-signature': await computeTwilioSignature('another-token', url) })).toBe(
      403,
    );
    expect(
      await upgradeStatus(url, {
        'x-twilio-signature': await computeTwilioSignature(TOKEN, `ws://127.0.0.1:${port}/other`),
      }),
    ).toBe(403);
    expect(calls).toBe(0);
    expect(lines.filter((line) => line.includes('rejected a /media-stream upgrade'))).toHaveLength(3);
  });
});

type CallRun = {
  call: CallHandle;
  model: SimulatedSession;
  caller: CallerSimulator;
  starts: Array<{ callId?: string; streamId: string; customParameters: Record<string, string> }>;
  lines: string[];
  ended: { reason: string };
};

/** Plays a corpus trace as a signed Twilio call into the server, against the realtime simulator. */
async function simulatedCall(traceName: string, script?: SimulatorTurn[]): Promise<CallRun> {
  const trace = await corpusTrace(traceName);
  const simulator = new RealtimeSimulator({ speed: SPEED, ...(script ? { script } : {}) });
  await simulator.start();
  cleanups.push(() => simulator.stop());
  const modelSession = simulator.nextSession();

  const t0 = performance.now();
  const now = () => (performance.now() - t0) * SPEED;
  let call: CallHandle | undefined;
  const starts: CallRun['starts'] = [];
  const { port, lines } = await listen({
    realtimeUrl: `${simulator.url}?model=gpt-realtime`,
    openaiApiKey: 'sk-test-key',
    twilioAuthToken: TOKEN,
    now,
    onCall: (handle) => {
      call = handle;
      handle.transport.on('call_start', (event) => starts.push(event));
    },
  });

  let streamingItem: string | undefined;
  void modelSession.then((session) =>
    session.on('server_event', (event: { type?: string; item_id?: string }) => {
      if (event.type === 'response.output_audio.delta') streamingItem = event.item_id;
    }),
  );
  const caller = new CallerSimulator({
    peer: new TwilioPeerSimulator(),
    ackOnClear: 'echo-pending',
    twilioFrames: true,
    format: traceFormat(trace),
    speed: SPEED,
    now,
    currentItem: () => streamingItem,
  });
  cleanups.push(() => caller.dispose());
  const url = `ws://127.0.0.1:${port}/media-stream`;
  await caller.connect(url, { 'x-twilio-signature': await computeTwilioSignature(TOKEN, url) });
  await caller.play(trace);
  caller.hangUp(); // Twilio closes the socket after the stream stops; the no-stop trace relies on it.
  if (!call) throw new Error('the server took no call');
  const ended = await call.ended;
  const model = await modelSession;
  await model.closed;
  return { call, model, caller, starts, lines, ended };
}

function inputBytes(model: SimulatedSession): number {
  return model.inputAudio.reduce((n, chunk) => n + chunk.byteLength, 0);
}

function peak(samples: Int16Array): number {
  let max = 0;
  for (const s of samples) max = Math.max(max, Math.abs(s));
  return max;
}

describe('a simulated call', () => {
  it('bridges a two-turn call end to end and closes the model session when Twilio stops the stream', async () => {
    const trace = await corpusTrace('two-turn');
    const { call, model, caller, starts, lines, ended } = await simulatedCall('two-turn');

    // call_start with Twilio's metadata.
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({
      callId: traceExpect(trace).callSid,
      streamId: traceExpect(trace).streamSids[0],
      customParameters: traceExpect(trace).customParameters,
    });
    expect(lines.some((line) => line.includes(`call ${traceExpect(trace).callSid} started`))).toBe(true);

    // The model heard every byte the caller sent (μ-law passes through), in μ-law.
    expect(model.inputFormat.type).toBe('audio/pcmu');
    expect(inputBytes(model)).toBe(traceExpect(trace).inboundMediaBytes);
    expect(model.speechEvents.filter((e) => e.type === 'speech_started')).toHaveLength(2);

    // The caller heard the agent.
    expect(caller.log.chunks.length).toBeGreaterThan(0);
    expect(caller.log.rejected).toEqual([]);
    // What reached the caller is speech. Counted whether it played or was cleared: on a starved
    // machine the reply can arrive as the caller's second turn starts and be cut before it plays.
    const received = caller.log.chunks.map((chunk) => peak(decodeMuLaw(chunk.bytes)));
    expect(Math.max(0, ...received), `peak of ${received.length} chunks`).toBeGreaterThan(1000);
    expect(call.transport.metrics.audioBytesOut).toBeGreaterThan(0);

    // The second turn calls the weather tool; its background result starts no new response.
    expect(model.functionCallOutputs.map((o) => o.output)).toEqual(['The weather in Paris is sunny.']);
    expect(model.responses.map((r) => r.kind)).toEqual(['audio', 'function_call']);
    expect(lines).toContain('[call 1] tool call: weather({"location":"Paris"})');

    // Offline, the session offers the function tools and not the hosted MCP server.
    const tools = model.session.tools as Array<{ type?: string; name?: string }>;
    expect(tools.map((t) => t.name).sort()).toEqual(['secret', 'weather']);
    expect(tools.every((t) => t.type === 'function')).toBe(true);

    // `stop` ended the call, and the server closed the model session.
    expect(ended.reason).toBe('stop');
    expect(model.isClosed).toBe(true);
    expect(call.transport.status).toBe('disconnected');
    expect(model.violations).toEqual([]);
  });

  it('approves the approval-gated secret tool and ends the call when the socket closes without a stop', async () => {
    const [reply] = loadAgentReplies();
    const script: SimulatorTurn[] = [
      { kind: 'function_call', name: 'secret', arguments: { question: 'What is the special number?' } },
      reply!,
    ];
    const { model, lines, ended } = await simulatedCall('no-stop', script);

    expect(lines).toContain('[call 1] approving tool call secret');
    expect(model.functionCallOutputs.map((o) => o.output)).toEqual([
      'The answer to What is the special number? is 42.',
    ]);
    // A plain result asks the model to answer: the scripted reply follows the tool call.
    expect(model.responses.map((r) => r.kind)).toEqual(['function_call', 'audio']);

    expect(ended.reason).toBe('carrier_closed');
    expect(model.isClosed).toBe(true);
    expect(inputBytes(model)).toBeGreaterThan(0);
  });
});
