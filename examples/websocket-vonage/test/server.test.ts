import { join } from 'node:path';
import {
  CallerSimulator,
  RealtimeSimulator,
  bundledTracesDir,
  loadTrace,
  type SimulatedSession,
  traceExpect,
} from '@switchboard/conformance';
import { pcm16FromBytes, scaledClock, type AudioFormat } from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';
import { RawWebSocketPeerSimulator } from '@switchboard/websocket/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { buildServer, type App, type CallHandle, type ServerOptions } from '../src/server.js';

const SPEED = 5;
/** A realtime URL nothing listens on: the HTTP tests never open a call. */
const UNUSED_REALTIME_URL = 'ws://127.0.0.1:9/v1/realtime';
const L16_16K: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };
const PCMU: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const CALL = {
  uuid: '63f61863-4a51-4f6b-86e1-46edebcf9356',
  conversation_uuid: 'CON-f972836a-550f-45fa-956c-12a2ab5b7d22',
  from: '447700900000',
  to: '447700900001',
};

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(options: ServerOptions): Promise<{ app: App; base: string; lines: string[] }> {
  const lines: string[] = [];
  const app = buildServer({ log: (line) => lines.push(line), ...options });
  const port = await app.listen(0, '127.0.0.1');
  cleanups.push(() => app.close());
  return { app, base: `http://127.0.0.1:${port}`, lines };
}

describe('HTTP routes', () => {
  it('answers the health check', async () => {
    const { base } = await listen({ realtimeUrl: UNUSED_REALTIME_URL });
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: 'Vonage WebSocket server is running!' });
  });

  it('answers a GET answer webhook with an NCCO connecting the call to the socket, L16 16 kHz, with its ids as headers', async () => {
    const { base, lines } = await listen({ realtimeUrl: UNUSED_REALTIME_URL });
    const response = await fetch(`${base}/webhooks/answer?${new URLSearchParams(CALL)}`);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual([
      {
        action: 'connect',
        endpoint: [
          {
            type: 'websocket',
            uri: `${base.replace('http', 'ws')}/socket`,
            'content-type': 'audio/l16;rate=16000',
            headers: CALL,
          },
        ],
      },
    ]);
    expect(lines).toContain(`answering call ${CALL.uuid}: connecting it to ${base.replace('http', 'ws')}/socket`);
  });

  it('reads a POST answer webhook, uses wss:// on the public host and the configured sample rate', async () => {
    const { base } = await listen({
      realtimeUrl: UNUSED_REALTIME_URL,
      publicHost: 'https://calls.example.com/',
      sampleRate: 8000,
    });
    const response = await fetch(`${base}/webhooks/answer`, {
      method: 'POST',
      body: JSON.stringify({ ...CALL, region_url: 'https://api-us-3.vonage.com' }),
    });
    const [connect] = (await response.json()) as Array<{ endpoint: Array<Record<string, unknown>> }>;
    expect(connect!.endpoint[0]).toMatchObject({
      uri: 'wss://calls.example.com/socket',
      'content-type': 'audio/l16;rate=8000',
      headers: CALL,
    });
  });

  it('logs call events, answers 404 elsewhere and refuses upgrades on other paths', async () => {
    const { base, lines } = await listen({ realtimeUrl: UNUSED_REALTIME_URL });
    const event = await fetch(`${base}/webhooks/event`, {
      method: 'POST',
      body: JSON.stringify({ uuid: CALL.uuid, status: 'answered' }),
    });
    expect(event.status).toBe(204);
    expect(lines).toContain(`call ${CALL.uuid}: answered`);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = new WebSocket(`${base.replace('http', 'ws')}/other`);
      socket.once('open', () => resolve(false));
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('refuses to build without an API key or a realtime URL', () => {
    expect(() => buildServer({})).toThrow(/openaiApiKey/);
  });
});

describe('a simulated Vonage call', () => {
  it('bridges a two-turn call end to end: metadata from the NCCO headers, resampled audio both ways, notify acks', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'two-turn.jsonl'));
    const simulator = new RealtimeSimulator({ speed: SPEED });
    await simulator.start();
    cleanups.push(() => simulator.stop());
    const modelSession = simulator.nextSession();

    const clock = scaledClock(SPEED);
    let call: CallHandle | undefined;
    const starts: unknown[] = [];
    const { base, lines } = await listen({
      realtimeUrl: `${simulator.url}?model=gpt-realtime`,
      clock,
      onCall: (handle) => {
        call = handle;
        handle.transport.on('call_start', (event) => starts.push(event));
      },
    });

    // Vonage fetches the NCCO, then opens the socket it names and echoes its headers.
    const [connect] = (await (await fetch(`${base}/webhooks/answer?${new URLSearchParams(CALL)}`)).json()) as Array<{
      endpoint: Array<{ uri: string; headers: Record<string, string> }>;
    }>;
    const { uri, headers } = connect!.endpoint[0]!;
    const vonage = new RawWebSocketPeerSimulator({ preset: 'vonage', format: L16_16K, inputFormat: PCMU });
    const peer: PeerSimulator = {
      encodeInbound: (event) =>
        vonage.encodeInbound(
          event.type === 'call_start'
            ? {
                ...event,
                callId: headers['uuid'],
                from: headers['from'],
                to: headers['to'],
                customParameters: { conversation_uuid: headers['conversation_uuid']! },
              }
            : event,
        ),
      decodeOutbound: (frame) => vonage.decodeOutbound(frame),
    };
    const caller = new CallerSimulator({
      peer,
      ackOnClear: 'confirm',
      twilioFrames: false,
      format: L16_16K,
      speed: SPEED,
      now: () => clock.now(),
    });
    cleanups.push(() => caller.dispose());
    await caller.connect(uri);
    await caller.play(trace);
    caller.hangUp(); // Vonage ends the call by closing the socket.
    if (!call) throw new Error('the server took no call');
    const ended = await call.ended;
    const model: SimulatedSession = await modelSession;
    await model.closed;

    expect(starts).toEqual([
      expect.objectContaining({
        callId: CALL.uuid,
        from: CALL.from,
        to: CALL.to,
        format: L16_16K,
        customParameters: { conversation_uuid: CALL.conversation_uuid },
      }),
    ]);
    expect(
      lines.some((line) =>
        line.includes(`call ${CALL.uuid} started: from ${CALL.from} to ${CALL.to}, audio l16 16000 Hz`),
      ),
    ).toBe(true);

    // The model heard the whole call, as PCM16 24 kHz: 6 bytes for every μ-law byte of the trace.
    expect(model.inputFormat.type).toBe('audio/pcm');
    const heardByModel = model.inputAudio.reduce((n, chunk) => n + chunk.byteLength, 0);
    expect(Math.abs(heardByModel - traceExpect(trace).inboundMediaBytes * 6)).toBeLessThanOrEqual(2 * 960);
    expect(model.speechEvents.filter((e) => e.type === 'speech_started')).toHaveLength(2);
    expect(model.functionCallOutputs.map((o) => o.output)).toContain('The weather in Paris is sunny.');

    // The caller heard the agent, in 20 ms L16 16 kHz messages, and acknowledged its notify marks.
    expect(caller.log.rejected).toEqual([]);
    expect(caller.log.chunks.length).toBeGreaterThan(0);
    expect(caller.log.chunks.every((chunk) => chunk.bytes.byteLength === 640)).toBe(true);
    expect(caller.log.acksSent).toBeGreaterThan(0);
    // What reached the caller is speech. Counted whether it played or was cleared: on a starved
    // machine the reply can arrive as the caller's second turn starts and be cut before it plays.
    let peak = 0;
    for (const chunk of caller.log.chunks)
      for (const s of pcm16FromBytes(chunk.bytes)) peak = Math.max(peak, Math.abs(s));
    expect(peak, `peak of ${caller.log.chunks.length} chunks`).toBeGreaterThan(1000);

    expect(ended.reason).toBe('carrier_closed');
    expect(model.isClosed).toBe(true);
    expect(model.violations).toEqual([]);
  });
});
