/**
 * The fault matrix: one call per fault, every socket real (loopback), every side played by what
 * plays it in production or as close as a test gets: the Twilio transport on a `ws` server, a
 * `ws` client writing Twilio's frames through the Twilio peer simulator, and the realtime
 * simulator (or, where a fault needs a model it will not play, a hand-written model server).
 *
 * Each fault asserts the same things: the process lives (no uncaught exception, no unhandled
 * rejection), `call_end` comes with the fault's reason, the model session is closed (the model's
 * server saw its socket close), nothing is left behind (no timer, socket, server or child process
 * once the test closed its own servers), and what was lost is counted in the call's metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { base64Encode, encodeMuLaw, silence, SwitchboardError } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RealtimeSimulator, longReplyScript } from '../../src/simulator/index.js';
import {
  activeResources,
  Bridge,
  CarrierClient,
  ModelServer,
  PCMU,
  ProcessGuard,
  ResourceTracker,
  SilentTcpServer,
  expectNothingLeft,
  until,
  type BridgeCall,
} from './rig.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
let guard: ProcessGuard;
let tracker: ResourceTracker | undefined;

beforeEach(() => {
  guard = new ProcessGuard();
});

afterEach(async () => {
  // A failed test still closes everything it opened.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  tracker?.stop();
  tracker = undefined;
  guard.dispose();
});

/** The start of every fault: what is active before anything of the call exists, and tracking from here on. */
function begin(): Map<string, number> {
  const before = activeResources();
  tracker = new ResourceTracker().start();
  return before;
}

/** Closes what the test opened (its servers, its carrier), last opened first. */
async function closeAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/** The end of every fault: the test's servers closed, nothing of the call left, nothing thrown out of the process. */
async function expectCleanProcess(before: Map<string, number>): Promise<void> {
  await closeAll();
  await expectNothingLeft(before, tracker);
  expect(guard.uncaught).toEqual([]);
  expect(guard.unhandled).toEqual([]);
}

/** A carrier connects to the bridge and starts its stream: `start`, then silence every 20 ms. */
async function placeCall(bridge: Bridge): Promise<{ call: BridgeCall; carrier: CarrierClient }> {
  const pending = bridge.nextCall();
  const carrier = await CarrierClient.open(bridge.url);
  cleanups.push(() => carrier.terminate());
  const call = await pending;
  carrier.start();
  await until(() => call.transport.streamId !== undefined, 'the stream to start');
  return { call, carrier };
}

/**
 * Every byte the caller said that the bridge took in went to the model socket or is counted as
 * dropped (μ-law passes through, so carrier and model bytes are the same).
 */
function expectCallerAudioAccounted(call: BridgeCall): void {
  const metrics = call.transport.metrics;
  expect(metrics.modelAudioBytesSent + metrics.earlyMediaDroppedBytes).toBe(metrics.audioBytesIn);
}

/** What a normal close of the carrier's socket by the bridge looks like from the carrier. */
const NORMAL_CLOSE = { code: 1000, reason: 'call ended' };

/** `promise`, or a failure naming `what` after `timeoutMs` (a hung step fails the test instead of stalling it). */
async function within<T>(promise: Promise<T>, what: string, timeoutMs = 30_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** μ-law audio of a 440 Hz tone, `ms` long. */
function toneMuLaw(ms: number): Uint8Array {
  const samples = new Int16Array(8 * ms);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return encodeMuLaw(samples);
}

describe('fault matrix (loopback sockets, one call per fault)', () => {
  it('1. the model socket drops mid-reply: call_end model_disconnected, a normal close to the carrier, every byte received accounted for', async () => {
    const before = begin();
    const simulator = new RealtimeSimulator({ script: longReplyScript() });
    await simulator.start();
    cleanups.push(() => simulator.stop());
    const bridge = await Bridge.start(() => ({ url: simulator.url }));
    cleanups.push(() => bridge.close());

    const { call, carrier } = await placeCall(bridge);
    await call.transport.connect({ apiKey: 'sk-test' });
    const model = simulator.sessions[0]!;
    call.transport.sendEvent({ type: 'response.create' });
    // The reply is flowing: a second of it reached the carrier, many more seconds are to come.
    await until(() => carrier.mediaBytes >= 8000, 'the reply to reach the carrier');
    expect(model.activeResponse?.status).toBe('in_progress');
    await model.terminate();

    await until(() => call.ended, 'call_end');
    expect(call.ends).toEqual(['model_disconnected']);
    expect(call.errors).toContain('model_disconnected');
    expect(await within(carrier.closed, 'the carrier socket to close')).toEqual(NORMAL_CLOSE);
    await within(call.socketClosed, 'the bridge side of the media socket to close');
    expect(call.socketListeners()).toBe(0);
    expect(simulator.openSessions).toEqual([]);
    // Every byte of the reply that reached the bridge went to the carrier or is counted as lost,
    // and the carrier got everything the bridge counts as sent.
    expect(call.deltaBytes).toBeGreaterThan(0);
    expect(call.accountedBytes()).toBe(call.deltaBytes);
    expect(carrier.mediaBytes).toBe(call.transport.metrics.audioBytesOut);
    expect(carrier.refused).toEqual([]);
    expect(call.transport.outputQueuedBytes).toBe(0);
    expectCallerAudioAccounted(call);

    await expectCleanProcess(before);
  });

  describe('2. the model never finishes the handshake', () => {
    it('a TCP server that accepts and stays silent: connect() rejects with model_connect_timeout, the caller’s early audio is counted', async () => {
      const before = begin();
      const silent = await SilentTcpServer.start();
      cleanups.push(() => silent.close());
      const bridge = await Bridge.start(() => ({ url: silent.url, modelConnectTimeoutMs: 500 }));
      cleanups.push(() => bridge.close());

      const { call, carrier } = await placeCall(bridge);
      await until(() => call.transport.metrics.audioBytesIn >= 800, 'some of the caller’s audio');
      const failure = await call.transport.connect({ apiKey: 'sk-test' }).then(
        () => undefined,
        (error: unknown) => error,
      );

      expect(failure).toBeInstanceOf(SwitchboardError);
      expect((failure as SwitchboardError).code).toBe('model_connect_timeout');
      expect(call.ends).toEqual(['model_connect_timeout']);
      expect(call.errors).toContain('model_connect_timeout');
      // The bridge closes the carrier's socket with a closing handshake (a close frame, not a drop).
      expect((await within(carrier.closed, 'the carrier socket to close')).code).not.toBe(1006);
      // The half-made model socket is closed on the model's side too.
      await until(() => silent.sockets.length === 1 && silent.sockets[0]!.closed, 'the model socket to close');
      // All the caller said went nowhere, and is counted: kept while waiting, dropped at the end.
      const metrics = call.transport.metrics;
      expect(metrics.modelAudioBytesSent).toBe(0);
      expect(metrics.earlyMediaBytes).toBe(metrics.audioBytesIn);
      expect(metrics.earlyMediaDroppedBytes).toBe(metrics.audioBytesIn);
      expect(call.transport.earlyMediaBufferedBytes).toBe(0);
      await within(call.socketClosed, 'the bridge side of the media socket to close');
      expect(call.socketListeners()).toBe(0);

      await expectCleanProcess(before);
    });

    it('a WebSocket that opens but never sends session.created: the same, and the model socket is closed', async () => {
      const before = begin();
      const server = await ModelServer.start({ sessionCreated: false });
      cleanups.push(() => server.close());
      // Long enough for the upgrade to be answered on a loaded machine: the socket does open.
      const bridge = await Bridge.start(() => ({ url: server.url, modelConnectTimeoutMs: 1500 }));
      cleanups.push(() => bridge.close());

      const { call, carrier } = await placeCall(bridge);
      await until(() => call.transport.metrics.audioBytesIn >= 800, 'some of the caller’s audio');
      await expect(call.transport.connect({ apiKey: 'sk-test' })).rejects.toMatchObject({
        code: 'model_connect_timeout',
      });

      expect(call.ends).toEqual(['model_connect_timeout']);
      expect((await within(carrier.closed, 'the carrier socket to close')).code).not.toBe(1006);
      expect(server.connections).toHaveLength(1);
      await within(server.connections[0]!.closed, 'the model socket to close');
      // The socket was open, so the caller's audio went to it (after the session.update the SDK
      // sends on open); whatever came after the end is counted as dropped. Nothing in between.
      expectCallerAudioAccounted(call);
      expect(server.connections[0]!.appendedBytes).toBe(call.transport.metrics.modelAudioBytesSent);
      expect(call.transport.earlyMediaBufferedBytes).toBe(0);
      await within(call.socketClosed, 'the bridge side of the media socket to close');
      expect(call.socketListeners()).toBe(0);

      await expectCleanProcess(before);
    });

    it('a WebSocket that the service closes before session.created (an error event, then a close): connect() rejects with model_connect_failed, call_end model_connect_failed', async () => {
      const before = begin();
      const server = await ModelServer.start({ sessionCreated: false });
      cleanups.push(() => server.close());
      // What the service does with a session it will not set up: says why, then closes.
      void server.nextConnection().then((model) => {
        model.send({
          type: 'error',
          error: { type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist.' },
        });
        model.ws.close(1008, 'invalid_request_error');
      });
      const bridge = await Bridge.start(() => ({ url: server.url, modelConnectTimeoutMs: 60_000 }));
      cleanups.push(() => bridge.close());

      const { call, carrier } = await placeCall(bridge);
      const failure = await call.transport.connect({ apiKey: 'sk-test' }).then(
        () => undefined,
        (error: unknown) => error,
      );

      // The model connection failed during its handshake: a failed connection (which connectOrEnd
      // reports to the application), not a call whose model went away mid-call.
      expect(failure).toBeInstanceOf(SwitchboardError);
      expect((failure as SwitchboardError).code).toBe('model_connect_failed');
      expect(call.ends).toEqual(['model_connect_failed']);
      expect(call.errors).toContain('model_connect_failed');
      expect((await within(carrier.closed, 'the carrier socket to close')).code).not.toBe(1006);
      await within(server.connections[0]!.closed, 'the model socket to close');
      expectCallerAudioAccounted(call);
      await within(call.socketClosed, 'the bridge side of the media socket to close');
      expect(call.socketListeners()).toBe(0);

      await expectCleanProcess(before);
    });
  });

  it('3. the carrier drops mid-reply: call_end carrier_closed, the model session closed, every byte received accounted for', async () => {
    const before = begin();
    const simulator = new RealtimeSimulator({ script: longReplyScript() });
    await simulator.start();
    cleanups.push(() => simulator.stop());
    const bridge = await Bridge.start(() => ({ url: simulator.url }));
    cleanups.push(() => bridge.close());

    const { call, carrier } = await placeCall(bridge);
    await call.transport.connect({ apiKey: 'sk-test' });
    call.transport.sendEvent({ type: 'response.create' });
    await until(() => carrier.mediaBytes >= 8000, 'the reply to reach the carrier');
    expect(simulator.sessions[0]!.activeResponse?.status).toBe('in_progress');
    carrier.terminate();

    await until(() => call.ended, 'call_end');
    expect(call.ends).toEqual(['carrier_closed']);
    await until(
      () => simulator.sessions.length === 1 && simulator.openSessions.length === 0,
      'the model session to close',
    );
    await within(call.socketClosed, 'the bridge side of the media socket to close');
    expect(call.socketListeners()).toBe(0);
    expect(call.accountedBytes()).toBe(call.deltaBytes);
    expect(call.transport.outputQueuedBytes).toBe(0);
    expectCallerAudioAccounted(call);

    await expectCleanProcess(before);
  });

  it('3b. the carrier drops while the model session is being set up: connect() rejects with call_ended naming carrier_closed, the model socket closed', async () => {
    const before = begin();
    // The socket opens; the session is never set up while the call lasts.
    const server = await ModelServer.start({ sessionCreated: false });
    cleanups.push(() => server.close());
    const bridge = await Bridge.start(() => ({ url: server.url, modelConnectTimeoutMs: 60_000 }));
    cleanups.push(() => bridge.close());

    const { call, carrier } = await placeCall(bridge);
    const connecting = call.transport.connect({ apiKey: 'sk-test' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await until(() => server.connections.length === 1, 'the model socket to open');
    carrier.terminate();

    const failure = await within(connecting, 'connect() to settle');
    expect(call.ends).toEqual(['carrier_closed']);
    expect(failure).toBeInstanceOf(SwitchboardError);
    expect((failure as SwitchboardError).code).toBe('call_ended');
    // Why the call ended, for whoever reads the failure.
    expect((failure as SwitchboardError).message).toContain('carrier_closed');
    await within(server.connections[0]!.closed, 'the model socket to close');
    // The caller's audio never reached a session that was set up: sent to the open socket, or counted as dropped.
    expectCallerAudioAccounted(call);
    await within(call.socketClosed, 'the bridge side of the media socket to close');
    expect(call.socketListeners()).toBe(0);

    await expectCleanProcess(before);
  });

  it('4. a half-open carrier (no reads, no pongs): call_end carrier_idle, the socket dropped, the model session closed', async () => {
    const before = begin();
    const simulator = new RealtimeSimulator();
    await simulator.start();
    cleanups.push(() => simulator.stop());
    const idleMs = 1500;
    const bridge = await Bridge.start(() => ({
      url: simulator.url,
      carrierIdleTimeoutMs: idleMs,
      pingIntervalMs: 100,
    }));
    cleanups.push(() => bridge.close());

    const { call, carrier } = await placeCall(bridge);
    await call.transport.connect({ apiKey: 'sk-test' });
    await until(() => call.transport.metrics.modelAudioBytesSent > 0, 'the caller’s audio to reach the model');
    // A quiet line whose peer answers pings stays up for longer than the idle timeout.
    carrier.stopStreaming();
    await until(() => carrier.pings >= 20, 'pings on the quiet line');
    expect(call.ended).toBe(false);

    // The peer's host goes away without a word: nothing read, nothing answered.
    carrier.pauseReading();
    await until(() => call.ended, 'call_end');
    expect(call.ends).toEqual(['carrier_idle']);
    expect(call.errors).toContain('carrier_idle');
    // Dropped, not closed: a peer that answers nothing would not answer a closing handshake.
    await within(call.socketClosed, 'the bridge to drop the media socket');
    expect(call.socketListeners()).toBe(0);
    await until(
      () => simulator.sessions.length === 1 && simulator.openSessions.length === 0,
      'the model session to close',
    );
    carrier.resumeReading();
    expect((await within(carrier.closed, 'the carrier to see the socket go')).code).toBe(1006);
    expectCallerAudioAccounted(call);

    await expectCleanProcess(before);
  });

  it('5. a carrier that stops reading while a long reply streams: call_end carrier_backpressure within the bound, what never left counted', async () => {
    const before = begin();
    const server = await ModelServer.start();
    cleanups.push(() => server.close());
    const maxBuffered = 512 * 1024;
    const bridge = await Bridge.start(() => ({
      url: server.url,
      outputHighWaterBytes: 64 * 1024,
      outputMaxBufferedBytes: maxBuffered,
    }));
    cleanups.push(() => bridge.close());

    const { call, carrier } = await placeCall(bridge);
    const connected = server.nextConnection();
    await call.transport.connect({ apiKey: 'sk-test' });
    const model = await connected;
    // The carrier keeps sending (so it is not idle) but reads nothing more.
    carrier.pauseReading();
    // The model streams as fast as the sockets go: far more than the kernel buffers and the bound.
    const streamed = model.stream('resp_1', 'item_1', base64Encode(toneMuLaw(1000)), 256 * 1024 * 1024);

    await until(() => call.ended, 'call_end', 60_000);
    expect(call.ends).toEqual(['carrier_backpressure']);
    expect(call.errors).toContain('carrier_backpressure');
    const metrics = call.transport.metrics;
    expect(metrics.backpressureHolds).toBeGreaterThanOrEqual(1);
    // What the dropped socket still held is counted too, not only what the transport held.
    expect(metrics.carrierBufferDroppedBytes).toBeGreaterThan(0);
    expect(metrics.outputUnsentBytes).toBeGreaterThan(0);
    // Held audio is what the bound limits: it never went much past it.
    expect(metrics.outputUnsentBytes).toBeLessThanOrEqual(maxBuffered + 8000);
    expect(call.transport.outputQueuedBytes).toBe(0);
    expect(call.accountedBytes()).toBe(call.deltaBytes);
    // The model stops streaming: its socket was closed.
    await within(streamed, 'the model to stop streaming');
    await within(model.closed, 'the model socket to close');
    await within(call.socketClosed, 'the bridge to drop the media socket');
    expect(call.socketListeners()).toBe(0);
    // The carrier sees its socket dropped. (What it can still read is at most what the bridge
    // counts as sent: the rest sat in the kernel's buffers and the socket's own, and went with it.)
    carrier.resumeReading();
    expect((await within(carrier.closed, 'the carrier to see the socket go')).code).toBe(1006);
    expect(carrier.mediaBytes).toBeLessThanOrEqual(metrics.audioBytesOut);
    expect(carrier.refused).toEqual([]);

    await expectCleanProcess(before);
  });

  it('6. 1,000 barge-ins in a row: each truncated and counted, nothing left queued, no listener or memory growth', async () => {
    const before = begin();
    const server = await ModelServer.start();
    cleanups.push(() => server.close());
    const bridge = await Bridge.start(() => ({ url: server.url }));
    cleanups.push(() => bridge.close());

    const { call, carrier } = await placeCall(bridge);
    const connected = server.nextConnection();
    await call.transport.connect({ apiKey: 'sk-test' });
    const model = await connected;
    const modelSocket = call.transport.connectionState.websocket as unknown as { listenerCount(event: string): number };
    const socketListeners = () =>
      ['message', 'close', 'error', 'open'].map((event) => modelSocket.listenerCount(event)).join() +
      '|' +
      call.socketListeners();
    const processListeners = () =>
      ['uncaughtException', 'unhandledRejection', 'SIGTERM', 'SIGINT'].map((e) => process.listenerCount(e)).join();

    const reply = base64Encode(toneMuLaw(500));
    const late = base64Encode(toneMuLaw(50));
    const rounds = 1000;
    const warmUp = 200;
    let heapAtWarmUp = 0;
    let listenersAtWarmUp = '';
    let processListenersAtWarmUp = '';
    for (let i = 1; i <= rounds; i++) {
      const truncated = model.next(
        (event) => event.type === 'conversation.item.truncate' && event.item_id === `item_${i}`,
      );
      // The model starts a reply; the caller talks over it.
      model.responseCreated(`resp_${i}`);
      model.delta(`resp_${i}`, `item_${i}`, reply);
      model.send({ type: 'input_audio_buffer.speech_started', item_id: `user_${i}`, audio_start_ms: i * 500 });
      await within(truncated, `the truncation of reply ${i}`);
      // Audio of the cancelled reply still in flight, then the reply's end.
      model.delta(`resp_${i}`, `item_${i}`, late);
      model.responseDone(`resp_${i}`, 'cancelled');
      if (i === warmUp) {
        heapAtWarmUp = heapAfterCollection();
        listenersAtWarmUp = socketListeners();
        processListenersAtWarmUp = processListeners();
      }
    }
    // The last reply's end has been read.
    await until(() => call.transport.metrics.lateAudioDroppedBytes === rounds * 400, 'the late audio of every reply');

    const metrics = call.transport.metrics;
    expect(call.ended).toBe(false);
    expect(metrics.bargeIns).toBe(rounds);
    expect(metrics.truncations).toHaveLength(rounds);
    expect(metrics.truncations.every((t, i) => t.itemId === `item_${i + 1}` && t.audioEndMs <= t.sentMs)).toBe(true);
    expect(model.count('conversation.item.truncate')).toBe(rounds);
    expect(metrics.lateAudioDroppedBytes).toBe(rounds * 400);
    // Nothing is left waiting to play or to be sent.
    expect(call.transport.outputQueuedBytes).toBe(0);
    expect(call.accountedBytes()).toBe(call.deltaBytes);
    await until(() => carrier.clears === rounds, 'a clear per barge-in at the carrier');
    expect(carrier.mediaBytes).toBe(metrics.audioBytesOut);
    expect(carrier.refused).toEqual([]);
    expectCallerAudioAccounted(call);
    // Nothing grows with the number of barge-ins.
    expect(socketListeners()).toBe(listenersAtWarmUp);
    expect(processListeners()).toBe(processListenersAtWarmUp);
    const growth = heapAfterCollection() - heapAtWarmUp;
    // The 800 replies since the warm-up, held anywhere, would be 3.2 MB (with their frames, marks
    // and base64 far more); what the test itself keeps (a truncation record per barge-in) is small.
    expect(growth).toBeLessThan(1024 * 1024);

    call.transport.end('closed');
    expect(call.ends).toEqual(['closed']);
    expect(await within(carrier.closed, 'the carrier socket to close')).toEqual(NORMAL_CLOSE);
    await within(model.closed, 'the model socket to close');
    await within(call.socketClosed, 'the bridge side of the media socket to close');
    expect(call.socketListeners()).toBe(0);

    await expectCleanProcess(before);
  });

  it('7. SIGTERM with two live calls (and one still connecting): all end with shutdown and a normal close, the model sockets close, the server exits 0 by itself', async () => {
    const before = begin();
    // The third call's model never sets its session up: that call is still connecting at SIGTERM.
    const server = await ModelServer.start({ sessionCreated: (n) => n <= 2 });
    cleanups.push(() => server.close());
    const child = new ChildServer({
      MODEL_URL: server.url,
      DRAIN_DEADLINE_MS: '500',
      MODEL_CONNECT_TIMEOUT_MS: '120000',
    });
    cleanups.push(() => child.dispose());
    const url = `ws://127.0.0.1:${await child.port()}/media-stream`;

    const carriers: CarrierClient[] = [];
    for (const n of [1, 2, 3]) {
      const carrier = await CarrierClient.open(url);
      cleanups.push(() => carrier.terminate());
      carrier.start();
      carriers.push(carrier);
      if (n <= 2) await until(() => child.said({ call: n, connected: true }), `call ${n} to connect`, 60_000);
    }
    await until(() => server.connections.length === 3, 'the third call’s model socket to open', 60_000);

    child.signal('SIGTERM');
    expect(await within(child.exited, `the server to exit by itself:\n${child.output()}`, 60_000)).toEqual({
      code: 0,
      signal: null,
    });
    for (const carrier of carriers)
      expect(await within(carrier.closed, 'the carrier socket to close')).toEqual(NORMAL_CLOSE);
    expect(child.said({ signal: 'SIGTERM', live: 3 })).toBe(true);
    const ends = child.events.filter((event) => 'call_end' in event).sort((a, b) => Number(a.call) - Number(b.call));
    expect(ends.map(({ call, call_end }) => ({ call, call_end }))).toEqual([
      { call: 1, call_end: 'shutdown' },
      { call: 2, call_end: 'shutdown' },
      { call: 3, call_end: 'shutdown' },
    ]);
    // Each call's audio went to its model socket or is counted as dropped (the third's never had a session).
    for (const end of ends)
      expect(Number(end.modelAudioBytesSent) + Number(end.earlyMediaDroppedBytes)).toBe(end.audioBytesIn);
    expect(child.said({ call: 3, connected: true })).toBe(false);
    expect(child.said({ drained: { endedNaturally: 0, endedByShutdown: 3, refused: 0 } })).toBe(true);
    // Each model socket got a closing handshake (a close frame, not a dropped connection).
    for (const model of server.connections) {
      await within(model.closed, 'the model socket to close');
      expect(model.closeCode).not.toBe(1006);
    }

    await expectCleanProcess(before);
  });

  describe('8. frames after the call ended (stop, then more while the socket closes)', () => {
    // Client frames are masked; a zero mask leaves the payload as it is.
    const badFrames: Array<[string, Uint8Array]> = [
      ['an invalid UTF-8 text frame', Uint8Array.of(0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe)],
      ['a frame with RSV1 set (no extension negotiated)', Uint8Array.of(0xc1, 0x80, 0, 0, 0, 0)],
    ];
    it.each(badFrames)(
      'a media frame and %s: ignored, nothing thrown, call_end stop, a normal close',
      async (_name, bad) => {
        const before = begin();
        const server = await ModelServer.start();
        cleanups.push(() => server.close());
        const bridge = await Bridge.start(() => ({ url: server.url }));
        cleanups.push(() => bridge.close());

        const { call, carrier } = await placeCall(bridge);
        const connected = server.nextConnection();
        await call.transport.connect({ apiKey: 'sk-test' });
        const model = await connected;
        carrier.stopStreaming();
        // Twilio's stop, a media frame behind it, then a frame the bridge's WebSocket must reject:
        // all on the wire before the bridge has read the stop.
        carrier.send({ type: 'call_end' });
        carrier.send({ type: 'audio', payload: silence(PCMU, 20) });
        carrier.writeRaw(bad);

        await until(() => call.ended, 'call_end');
        expect(call.ends).toEqual(['stop']);
        await within(call.socketClosed, 'the bridge side of the media socket to close');
        // The frames after the stop were not handled, and the socket's error went nowhere.
        // The bridge's socket did read both after the end: the media frame, then the bad frame (its error).
        expect(call.socketEventsAfterEnd).toContain('message');
        expect(call.socketEventsAfterEnd).toContain('error');
        expect(call.transport.metrics.framesIn).toBe(call.framesInAtEnd);
        expect(call.transport.metrics.malformedFrames).toBe(0);
        expect(call.errors).toEqual([]);
        expect(call.socketListeners()).toBe(0);
        expect((await within(carrier.closed, 'the carrier socket to close')).code).toBe(1000);
        await within(model.closed, 'the model socket to close');
        expectCallerAudioAccounted(call);

        await expectCleanProcess(before);
      },
    );
  });
});

/**
 * The fixture server (`fixtures/drain-server.ts`) in a child process, running the workspace's TypeScript sources
 * through tsx.
 */
class ChildServer {
  readonly events: Array<Record<string, unknown>> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;
  readonly #stderr: string[] = [];

  constructor(env: Record<string, string>) {
    const harness = fileURLToPath(new URL('../../', import.meta.url));
    this.#child = spawn(
      process.execPath,
      ['--import', tsxLoader(), fileURLToPath(new URL('./fixtures/drain-server.ts', import.meta.url))],
      {
        cwd: harness,
        // The test-harness tsconfig maps @switchboard/* to the sources, as the tests' own resolution does.
        env: { ...process.env, DEBUG: '', TSX_TSCONFIG_PATH: join(harness, 'tsconfig.json'), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let pending = '';
    this.#child.stdout!.setEncoding('utf8');
    this.#child.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        try {
          this.events.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.#stderr.push(line);
        }
      }
    });
    this.#child.stderr!.setEncoding('utf8');
    this.#child.stderr!.on('data', (chunk: string) => this.#stderr.push(chunk));
    this.exited = new Promise((resolve) => this.#child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** True once the server printed an event equal to `event`. */
  said(event: Record<string, unknown>): boolean {
    const text = JSON.stringify(event);
    return this.events.some((e) => JSON.stringify(e) === text);
  }

  async port(): Promise<number> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    await until(
      () => {
        if (exited) throw new Error(`the server exited before listening:\n${this.output()}`);
        return this.events.some((e) => typeof e.listening === 'number');
      },
      'the server to listen',
      60_000,
    );
    return this.events.find((e) => typeof e.listening === 'number')!.listening as number;
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  output(): string {
    return [...this.events.map((e) => JSON.stringify(e)), ...this.#stderr].join('\n');
  }

  /** Kills the process if the test left it running. */
  async dispose(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.exited;
  }
}

/** tsx's ESM loader, found through a workspace package that depends on it. */
function tsxLoader(): string {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  for (const dir of ['bench', 'examples/twilio-fastify', 'examples/websocket-vonage']) {
    const manifest = join(root, dir, 'package.json');
    if (!existsSync(manifest)) continue;
    try {
      return pathToFileURL(join(dirname(createRequire(manifest).resolve('tsx/package.json')), 'dist', 'loader.mjs'))
        .href;
    } catch {
      // Not installed there: try the next.
    }
  }
  throw new Error('tsx is not installed in the workspace (run pnpm install)');
}

/** Heap in use after a full collection. */
function heapAfterCollection(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
