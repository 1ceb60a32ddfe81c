/**
 * The media handler in real workerd (the bare runtime: no nodejs_compat): bad carrier frames,
 * signatures on the upgrade, a model that refuses the upgrade, and a call in a Durable Object.
 * The realtime simulator on 127.0.0.1 is the model; the Twilio peer simulator is the caller.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { concatBytes, type CallEvent } from '@switchboard/core';
import { RealtimeSimulator } from '@switchboard/conformance';
import { computeTwilioSignature } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import {
  bundleWorker,
  createConformanceAdapter,
  reviveObservation,
  startWorkerd,
  type WorkerdProcess,
} from '../src/testing.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const AUTH_TOKEN = 'test-auth-token';

let worker: WorkerdProcess;
let simulator: RealtimeSimulator;
let refusing: Server;
let refusingUrl: string;

beforeAll(async () => {
  const script = await bundleWorker({ entry: here('./fixtures/worker.ts'), tsconfig: here('../tsconfig.json') });
  worker = await startWorkerd({
    script,
    bindings: { TWILIO_AUTH_TOKEN: AUTH_TOKEN, DEBUG: process.env.DEBUG ?? '' },
    durableObjects: { CALLS: 'CallObject' },
  });
  simulator = new RealtimeSimulator();
  await simulator.start();
  // A model endpoint that refuses every upgrade with 401 and an OpenAI-style error body.
  refusing = createServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
      }),
    );
  });
  refusing.on('upgrade', (_req, socket) => {
    const body = JSON.stringify({ error: { code: 'invalid_api_key', message: 'Incorrect API key provided.' } });
    socket.end(
      `HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  refusingUrl = `ws://127.0.0.1:${(refusing.address() as { port: number }).port}/v1/realtime?model=gpt-realtime`;
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
  await simulator?.stop();
  await new Promise<void>((resolve) => (refusing ? refusing.close(() => resolve()) : resolve()));
});

function wsUrl(path: string, query: Record<string, string>): string {
  const url = new URL(`${path}?${new URLSearchParams(query)}`, worker.url);
  url.protocol = 'ws:';
  return url.href;
}

/** Opens the carrier socket; resolves with it once open, or rejects with the HTTP status of a refusal. */
function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    socket.once('error', reject);
  });
}

function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** μ-law frames of a quiet tone: 20 ms each. */
function frames(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => new Uint8Array(160).map((_, j) => 0x70 + ((i + j) % 8)));
}

const startEvent: CallEvent = {
  type: 'call_start',
  callId: 'CA00000000000000000000000000000001',
  streamId: 'MZ00000000000000000000000000000001',
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  customParameters: { caller: 'test' },
  raw: undefined,
};

function send(socket: WebSocket, peer: TwilioPeerSimulator, event: CallEvent): void {
  for (const frame of peer.encodeInbound(event)) socket.send(frame);
}

async function observe(call: string): Promise<{ emitted: Array<{ name: string; args: unknown[] }>; ended: boolean }> {
  const response = await fetch(new URL(`/__observe/${call}?timeout=5000`, worker.url));
  expect(response.status).toBe(200);
  return reviveObservation(await response.text()) as unknown as {
    emitted: Array<{ name: string; args: unknown[] }>;
    ended: boolean;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

describe('handleMediaUpgrade in workerd', () => {
  it('answers a request that is no upgrade with 426', async () => {
    const response = await fetch(new URL('/media', worker.url));
    expect(response.status).toBe(426);
    expect(await response.text()).toBe('Expected a WebSocket upgrade');
  });

  it('turns a malformed carrier frame into an error event, and the call goes on', async () => {
    const modelSession = simulator.nextSession();
    const socket = await connect(wsUrl('/media', { call: 'malformed', model: `${simulator.url}?model=gpt-realtime` }));
    const model = await modelSession;
    expect(model.connection).toMatchObject({ auth: 'bearer', protocol: 'realtime', model: 'gpt-realtime' });
    const peer = new TwilioPeerSimulator();
    const audio = frames(30);
    send(socket, peer, startEvent);
    for (const frame of audio.slice(0, 10)) send(socket, peer, { type: 'audio', payload: frame });
    socket.send('{"event":"media","media":'); // truncated JSON
    socket.send(JSON.stringify({ event: 'media', streamSid: startEvent.streamId, media: { payload: 42 } }));
    for (const frame of audio.slice(10)) send(socket, peer, { type: 'audio', payload: frame });
    await waitFor(() => concatBytes(model.inputAudio).byteLength >= 30 * 160);
    send(socket, peer, { type: 'call_end' });
    const seen = await observe('malformed');
    socket.close();

    expect(concatBytes(model.inputAudio)).toEqual(concatBytes(audio));
    const errors = seen.emitted
      .filter((e) => e.name === 'error')
      .map((e) => (e.args[0] as { error: Error & { code?: string } }).error);
    expect(errors).toHaveLength(2);
    for (const error of errors) {
      expect(error.name).toBe('ProtocolError');
      expect(error.code).toBe('protocol_error');
    }
    expect(seen.emitted.filter((e) => e.name === 'call_start')).toHaveLength(1);
    expect(seen.ended).toBe(true);
    await model.closed;
  });

  it('completes the close handshake when the caller hangs up without a stop', async () => {
    const modelSession = simulator.nextSession();
    const socket = await connect(wsUrl('/media', { call: 'hangup', model: simulator.url }));
    const model = await modelSession;
    const peer = new TwilioPeerSimulator();
    send(socket, peer, startEvent);
    for (const frame of frames(5)) send(socket, peer, { type: 'audio', payload: frame });
    await waitFor(() => concatBytes(model.inputAudio).byteLength >= 5 * 160);
    const done = closed(socket);
    socket.close(1000, 'caller hung up');
    // Without the Worker's close frame, `ws` would give up after 30 s and report 1006; the answer
    // echoes the caller's own code and reason.
    expect(await done).toEqual({ code: 1000, reason: 'caller hung up' });
    const seen = await observe('hangup');
    expect(seen.emitted.find((e) => e.name === 'call_end')?.args[0]).toMatchObject({ reason: 'carrier_closed' });
    await model.closed;
  });

  it('answers 403 to a media upgrade with a bad or missing Twilio signature', async () => {
    const url = wsUrl('/signed', { call: 'unsigned', model: simulator.url });
    await expect(connect(url)).rejects.toMatchObject({ status: 403 });
    await expect(connect(url, { 'X-Twilio-Signature': 'bm90IGEgc2lnbmF0dXJl' })).rejects.toMatchObject({ status: 403 });
    // Signed for another URL.
    const other = await computeTwilioSignature(AUTH_TOKEN, url.replace('/signed', '/elsewhere'));
    await expect(connect(url, { 'X-Twilio-Signature': other })).rejects.toMatchObject({ status: 403 });
  });

  it('accepts a media upgrade signed for its wss URL', async () => {
    const url = wsUrl('/signed', { call: 'signed', model: simulator.url });
    const modelSession = simulator.nextSession();
    const socket = await connect(url, { 'X-Twilio-Signature': await computeTwilioSignature(AUTH_TOKEN, url) });
    const model = await modelSession;
    const peer = new TwilioPeerSimulator();
    send(socket, peer, startEvent);
    send(socket, peer, { type: 'call_end' });
    const seen = await observe('signed');
    expect(seen.emitted.some((e) => e.name === 'call_start')).toBe(true);
    socket.close();
    await model.closed;
  });

  it('reports a refused model upgrade as an error event and closes the carrier socket with a reason', async () => {
    const socket = await connect(wsUrl('/media', { call: 'refused', model: refusingUrl }));
    const { code, reason } = await closed(socket);
    expect(code).toBe(1011);
    expect(reason).toBe('model connection refused (401)');
    const seen = await observe('refused');
    const errors = seen.emitted
      .filter((e) => e.name === 'error')
      .map((e) => (e.args[0] as { error: Error & Record<string, unknown> }).error);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ name: 'ModelUpgradeError', code: 'model_upgrade_refused', status: 401 });
    expect(String(errors[0]!['body'])).toContain('invalid_api_key');
    expect(seen.emitted.filter((e) => e.name === 'call_end')).toHaveLength(1);
  });

  /**
   * A model endpoint that accepts the upgrade and closes the socket at once; resolves with the code
   * and reason of the close frame the Worker answered with (1006 if the connection dropped without one).
   * With `hangUp`, the caller hangs up as soon as its socket is open, while the model socket opens.
   */
  async function modelThatCloses(call: string, hangUp = false): Promise<{ code: number; reason: string }> {
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (protocols) => [...protocols][0] ?? false,
    });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const modelClosed = new Promise<{ code: number; reason: string }>((resolve) => {
      server.once('connection', (model) => {
        model.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        model.close(1000, 'session over');
      });
    });
    const port = (server.address() as { port: number }).port;
    try {
      const socket = await connect(wsUrl('/media', { call, model: `ws://127.0.0.1:${port}/v1/realtime` }));
      const carrierClosed = closed(socket);
      if (hangUp) socket.close(1000, 'caller hung up');
      const answer = await modelClosed;
      const seen = await observe(call);
      if (hangUp) {
        // The caller's close, or the Worker's own (1011) when the model's close came first: a frame either way.
        expect([1000, 1011]).toContain((await carrierClosed).code);
        expect(seen.ended).toBe(true);
      } else {
        // The call cannot go on without its model: the Worker hangs up on the caller too.
        expect(await carrierClosed).toMatchObject({ code: 1011 });
        expect(seen.emitted.find((e) => e.name === 'call_end')?.args[0]).toMatchObject({
          reason: 'model_connect_failed',
        });
      }
      return answer;
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  it('answers the close handshake of a model endpoint that closes the socket', async () => {
    // Without the Worker's close frame, `ws` would give up after 30 s (or at once, if the Worker
    // dropped the connection) and report 1006; the answer echoes the endpoint's code and reason.
    expect(await modelThatCloses('model-closes')).toEqual({ code: 1000, reason: 'session over' });
  });

  it('answers that close call after call', async () => {
    // The endpoint's close arrives while the Worker sends its session.update. An answer queued from
    // inside the close event was cut off by the runtime along with that send now and then (about
    // one call in 60 on a loaded machine): ten calls give the race more chances to show.
    const answers: Array<{ code: number; reason: string }> = [];
    for (let i = 0; i < 10; i++) answers.push(await modelThatCloses(`model-closes-${i}`));
    expect(answers).toEqual(Array.from({ length: 10 }, () => ({ code: 1000, reason: 'session over' })));
  });

  it('closes the model socket properly when the caller hangs up while the model endpoint closes it', async () => {
    // The caller's hang-up ends the request while the model upgrade is still in flight: the Worker
    // stays (waitUntil) until the model socket is accepted, and both closes cross as frames. The
    // endpoint gets 1000 either way: its own code echoed, or the Worker's close of the call.
    for (let i = 0; i < 5; i++) {
      expect(await modelThatCloses(`model-closes-hangup-${i}`, true)).toMatchObject({ code: 1000 });
    }
  });

  it('closes the carrier socket with a reason when the session cannot be created', async () => {
    const socket = await connect(wsUrl('/broken', { call: 'broken', model: simulator.url }));
    expect(await closed(socket)).toEqual({ code: 1011, reason: 'call setup failed' });
    const seen = await observe('broken');
    expect(seen.emitted.find((e) => e.name === 'error')?.args[0]).toMatchObject({
      error: { code: 'call_setup_failed', message: 'The call could not be set up: no agent for this number' },
    });
  });

  it('reports a model endpoint at the wrong path (404) the same way', async () => {
    const socket = await connect(
      wsUrl('/media', { call: 'not-found', model: simulator.url.replace('/v1/realtime', '/nowhere') }),
    );
    const { code, reason } = await closed(socket);
    expect(code).toBe(1011);
    expect(reason).toBe('model connection refused (404)');
    const seen = await observe('not-found');
    expect(seen.emitted.find((e) => e.name === 'error')?.args[0]).toMatchObject({
      error: { code: 'model_upgrade_refused', status: 404 },
    });
  });

  it('reports an unreachable model endpoint with its own code', async () => {
    // Nothing listens on port 1.
    const socket = await connect(wsUrl('/media', { call: 'unreachable', model: 'ws://127.0.0.1:1/v1/realtime' }));
    expect(await closed(socket)).toEqual({ code: 1011, reason: 'model connection failed (model_unreachable)' });
    const seen = await observe('unreachable');
    expect(seen.emitted.find((e) => e.name === 'error')?.args[0]).toMatchObject({
      error: { name: 'ModelUnreachableError', code: 'model_unreachable' },
    });
  });
});

describe('createCallDurableObject in workerd', () => {
  it('bridges a call inside a Durable Object, reports its status, and refuses a second call meanwhile', async () => {
    const modelSession = simulator.nextSession();
    const socket = await connect(wsUrl('/object/media', { name: 'CA-object-1', call: 'object', model: simulator.url }));
    const model = await modelSession;
    const peer = new TwilioPeerSimulator();
    send(socket, peer, startEvent);
    for (const frame of frames(10)) send(socket, peer, { type: 'audio', payload: frame });
    await waitFor(() => concatBytes(model.inputAudio).byteLength >= 10 * 160);

    await expect(
      connect(wsUrl('/object/media', { name: 'CA-object-1', call: 'object-2', model: simulator.url })),
    ).rejects.toMatchObject({
      status: 409,
    });
    const status = await (await fetch(new URL('/object/media?name=CA-object-1', worker.url))).json();
    expect(status).toMatchObject({
      active: true,
      callId: startEvent.callId,
      streamId: startEvent.streamId,
      metrics: { framesIn: 12 },
    });

    send(socket, peer, { type: 'call_end' });
    await model.closed;
    await waitFor(() => socket.readyState === WebSocket.CLOSED);
    const after = await (await fetch(new URL('/object/media?name=CA-object-1', worker.url))).json();
    expect(after).toMatchObject({ active: false });
  });

  it('takes the next call after one whose setup failed, and does not report the call before it', async () => {
    const name = 'CA-object-retry';
    const status = async () =>
      (await (await fetch(new URL(`/object/media?name=${name}`, worker.url))).json()) as Record<string, unknown>;
    const place = async (call: string) => {
      const modelSession = simulator.nextSession();
      const socket = await connect(wsUrl('/object/media', { name, call, model: simulator.url }));
      const model = await modelSession;
      const peer = new TwilioPeerSimulator();
      send(socket, peer, startEvent);
      send(socket, peer, { type: 'call_end' });
      await model.closed;
      await waitFor(() => socket.readyState === WebSocket.CLOSED);
    };

    await place('retry-1');
    expect(await status()).toMatchObject({ active: false, callId: startEvent.callId });

    const broken = await connect(
      wsUrl('/object/media', { name, call: 'retry-broken', model: simulator.url, broken: '1' }),
    );
    expect(await closed(broken)).toEqual({ code: 1011, reason: 'call setup failed' });
    // Free again, and without the status of the call before the failed one.
    let after: Record<string, unknown> = {};
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (after = await status()).active !== false) await sleep(20);
    expect(after).toEqual({ active: false });

    // Not 409: the object takes the next call.
    await place('retry-2');
    expect(await status()).toMatchObject({ active: false, callId: startEvent.callId });
  });
});

describe('the conformance adapter', () => {
  it('reports a call the Worker never answers for instead of waiting for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-hung-'));
    const entry = join(dir, 'hung.js');
    // A Worker whose observation never comes (a pending timer keeps workerd from cancelling it).
    writeFileSync(
      entry,
      'export default { fetch: () => new Promise((resolve) => setTimeout(() => resolve(new Response("late")), 600_000)) };\n',
    );
    const adapter = createConformanceAdapter({ entry, observeGraceMs: 300 });
    try {
      const call = await adapter.startRemoteCall!({ modelUrl: simulator.url, speed: 1 });
      // Reported after the grace, not after the Worker's 600 s (the test would time out first).
      const seen = await call.observe(100);
      expect(seen.failures).toHaveLength(1);
      expect(seen.failures[0]).toMatch(/^the Worker did not report the call within 400 ms/);
    } finally {
      await adapter.dispose?.();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
