import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { SwitchboardError, TelephonyRealtimeTransport, type TelephonyRealtimeTransportOptions } from '../src/index.js';
import {
  type FakeCarrier,
  type FakeRealtimeServer,
  TestProtocol,
  tick,
  useTransportRig,
  wire,
} from '@switchboard/conformance/testing';

// Generous deadlines: these tests wait for conditions, and must hold on a loaded machine.
const until = async (cond: () => boolean, timeoutMs = 20_000) => {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await tick(5);
  }
};
const mulaw = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const SILENCE = 0xff;

let server: FakeRealtimeServer;
let url: string;
let carrier: FakeCarrier;
let clock: number;
let transport: TelephonyRealtimeTransport | undefined;
const cleanups: Array<() => unknown> = [];

const rig = useTransportRig<TelephonyRealtimeTransport, Partial<TelephonyRealtimeTransportOptions>>(
  { beforeEach, afterEach },
  (connection, modelUrl, options) =>
    new TelephonyRealtimeTransport({
      connection,
      protocol: new TestProtocol(),
      url: modelUrl,
      now: () => clock,
      inputAudioInactivityTimeoutMs: null,
      ...options,
    }),
);

beforeEach(() => {
  server = rig.model;
  url = rig.modelUrl;
  carrier = rig.carrier;
  clock = 1_000_000;
});

afterEach(async () => {
  transport?.close();
  transport = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const makeTransport = (options: Partial<TelephonyRealtimeTransportOptions> = {}) => rig.make(options);

async function connected(options: Partial<TelephonyRealtimeTransportOptions> = {}) {
  const t = makeTransport(options);
  carrier.deliver(wire.start());
  await t.connect({ apiKey: 'sk-test' });
  return t;
}

function record(t: TelephonyRealtimeTransport) {
  const ends: string[] = [];
  const errors: string[] = [];
  t.on('call_end', (e) => ends.push(e.reason));
  t.on('error', (e) => errors.push((e.error as SwitchboardError)?.code ?? String(e.error)));
  return { ends, errors };
}

/** A TCP server that accepts connections and never answers: a model that never completes the handshake. */
async function silentTcpServer(): Promise<{ url: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const tcp: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => ((socket as Socket & { gone?: boolean }).gone = true));
    socket.resume();
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => tcp.close(resolve));
  });
  return { url: `ws://127.0.0.1:${(tcp.address() as { port: number }).port}/v1/realtime`, sockets };
}

describe('model connection deadline', () => {
  it('fails connect() with model_connect_timeout when the model never answers the handshake, and ends the call', async () => {
    const silent = await silentTcpServer();
    const t = makeTransport({ url: silent.url, modelConnectTimeoutMs: 300 });
    const { ends, errors } = record(t);
    carrier.deliver(wire.start());
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    const failure = await t.connect({ apiKey: 'sk-test' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(SwitchboardError);
    expect((failure as SwitchboardError).code).toBe('model_connect_timeout');
    expect(ends).toEqual(['model_connect_timeout']);
    expect(errors).toContain('model_connect_timeout');
    expect(carrier.closed).toBe(true);
    expect(t.status).toBe('disconnected');
    // The caller's early audio never reached a model: it is counted, not lost silently.
    expect(t.metrics.earlyMediaDroppedBytes).toBe(160);
    expect(t.earlyMediaBufferedBytes).toBe(0);
    // The half-made socket is gone from the model's side too.
    await until(
      () => silent.sockets.length > 0 && silent.sockets.every((s) => (s as Socket & { gone?: boolean }).gone === true),
    );
  });

  it('fails connect() when the socket opens but the service never sets the session up', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    cleanups.push(() => new Promise((resolve) => wss.close(resolve)));
    let closedByBridge = false;
    wss.on('connection', (ws) => ws.on('close', () => (closedByBridge = true))); // never sends session.created
    const t = makeTransport({
      url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`,
      modelConnectTimeoutMs: 300,
    });
    const { ends } = record(t);
    carrier.deliver(wire.start());
    await expect(t.connect({ apiKey: 'sk-test' })).rejects.toMatchObject({ code: 'model_connect_timeout' });
    expect(ends).toEqual(['model_connect_timeout']);
    await until(() => closedByBridge);
  });

  it('fails connect() with model_connect_failed when the model refuses, and ends the call', async () => {
    const silent = await silentTcpServer();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const refusedUrl = silent.url;
    // Close the listener: the port now refuses.
    await cleanups.pop()!();
    const t = makeTransport({ url: refusedUrl });
    const { ends } = record(t);
    carrier.deliver(wire.start());
    await expect(t.connect({ apiKey: 'sk-test' })).rejects.toMatchObject({ code: 'model_connect_failed' });
    expect(ends).toEqual(['model_connect_failed']);
    expect(carrier.closed).toBe(true);
  });

  it('resolves connect() once the session is set up, and no deadline is left behind', async () => {
    const t = await connected({ modelConnectTimeoutMs: 300 });
    await tick(400);
    expect(t.endReason).toBeUndefined();
    expect(t.status).toBe('connected');
  });
});

describe('carrier idle timeout', () => {
  it('ends the call with carrier_idle when the carrier sends nothing, and closes the model', async () => {
    const t = await connected({ carrierIdleTimeoutMs: 200 });
    const { ends, errors } = record(t);
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    await until(() => ends.length > 0);
    expect(ends).toEqual(['carrier_idle']);
    expect(errors).toContain('carrier_idle');
    expect(carrier.closed).toBe(true);
    await until(() => server.closedSockets === 1);
  });

  it('keeps a call whose carrier keeps sending', async () => {
    // Frames every ~50 ms against a 3 s timeout: generous for a stalled machine.
    const t = await connected({ carrierIdleTimeoutMs: 3000 });
    const started = Date.now();
    for (let i = 0; Date.now() - started < 4000; i++) {
      carrier.deliver(wire.audio(mulaw(160, 1), i, i * 20));
      await tick(50);
    }
    expect(t.endReason).toBeUndefined();
  });

  it('can be changed for the rest of the call (a SIP call on hold)', async () => {
    const t = await connected({ carrierIdleTimeoutMs: 150 });
    t.setCarrierIdleTimeout(null);
    await tick(400);
    expect(t.endReason).toBeUndefined();
    t.setCarrierIdleTimeout(100);
    await until(() => t.endReason !== undefined);
    expect(t.endReason).toBe('carrier_idle');
  });

  describe('over a real WebSocket', () => {
    let wss: WebSocketServer;
    let port: number;
    beforeEach(async () => {
      wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
      port = (wss.address() as { port: number }).port;
    });
    afterEach(async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((resolve) => wss.close(resolve));
    });

    const bridge = (options: Partial<TelephonyRealtimeTransportOptions>) =>
      new Promise<TelephonyRealtimeTransport>((resolve) => {
        wss.once('connection', (ws) => {
          transport = new TelephonyRealtimeTransport({
            connection: ws,
            protocol: new TestProtocol(),
            url,
            inputAudioInactivityTimeoutMs: null,
            ...options,
          });
          resolve(transport);
        });
      });

    it('keeps a quiet carrier that answers pings, and drops a half-open one', async () => {
      const pending = bridge({ carrierIdleTimeoutMs: 1500, pingIntervalMs: 100 });
      const client = new WebSocket(`ws://127.0.0.1:${port}`);
      client.on('error', () => undefined);
      await new Promise((resolve) => client.once('open', resolve));
      const t = await pending;
      const { ends } = record(t);
      client.send(wire.start());
      await t.connect({ apiKey: 'sk-test' });
      // Quiet but alive: ws answers every ping with a pong, well past the idle timeout.
      const pongs = { n: 0 };
      [...wss.clients][0]!.on('pong', () => pongs.n++);
      await until(() => pongs.n >= 30);
      expect(ends).toEqual([]);
      // Half-open: the peer stops reading and answering.
      (client as unknown as { _socket: Socket })._socket.pause();
      await until(() => ends.length > 0);
      expect(ends).toEqual(['carrier_idle']);
      await until(() => server.closedSockets === 1);
      client.terminate();
    });

    it('turns a socket error after the call ended into nothing, not an uncaught exception', async () => {
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      cleanups.push(() => process.off('uncaughtException', onUncaught));
      const pending = bridge({});
      const client = new WebSocket(`ws://127.0.0.1:${port}`);
      client.on('error', () => undefined);
      await new Promise((resolve) => client.once('open', resolve));
      const t = await pending;
      const { ends } = record(t);
      client.send(wire.start());
      await t.connect({ apiKey: 'sk-test' });
      const serverSocket = [...wss.clients][0]!;
      const serverClosed = new Promise((resolve) => serverSocket.once('close', resolve));
      // The peer hangs up and, in the same breath, sends a frame ws must reject (RSV1 set, no
      // extension negotiated): ws reports it after the call ended, while the socket closes.
      client.send(wire.stop());
      (client as unknown as { _socket: Socket })._socket.write(Buffer.from([0xc1, 0x80, 0, 0, 0, 0]));
      await until(() => ends.length > 0);
      await serverClosed;
      await tick(20);
      expect(ends).toEqual(['stop']);
      expect(uncaught).toEqual([]);
      client.terminate();
    });
  });
});

describe('output backpressure', () => {
  it('holds audio while the socket is over its high-water mark and sends it, in order, once it drains', async () => {
    const t = await connected({ outputHighWaterBytes: 1000, outputMaxBufferedBytes: 1_000_000 });
    carrier.bufferedAmount = 5000;
    server.respond('resp_1', 'item_1', [mulaw(800, 1), mulaw(800, 2)], { done: false });
    await until(() => t.outputQueuedBytes === 1600);
    expect(carrier.commands().filter((c) => c.type === 'audio')).toHaveLength(0);
    expect(t.metrics.backpressureHolds).toBe(1);
    carrier.bufferedAmount = 0;
    const sentBytes = () =>
      (carrier.commands().filter((c) => c.type === 'audio') as Array<{ payload: Uint8Array }>).reduce(
        (n, a) => n + a.payload.byteLength,
        0,
      );
    await until(() => sentBytes() === 1600);
    const audio = (carrier.commands().filter((c) => c.type === 'audio') as Array<{ payload: Uint8Array }>).flatMap(
      (a) => [...a.payload],
    );
    expect(audio.slice(0, 800).every((b) => b === 1) && audio.slice(800).every((b) => b === 2)).toBe(true);
    expect(carrier.commands().filter((c) => c.type === 'mark').length).toBeGreaterThan(0);
    expect(t.outputQueuedBytes).toBe(0);
    expect(t.endReason).toBeUndefined();
  });

  it('ends the call with carrier_backpressure, counting what never left, when the carrier stops reading', async () => {
    const t = await connected({ outputHighWaterBytes: 1000, outputMaxBufferedBytes: 4000 });
    const { ends, errors } = record(t);
    carrier.bufferedAmount = 3000;
    server.respond('resp_1', 'item_1', [mulaw(800, 1), mulaw(800, 2)], { done: false });
    await until(() => ends.length > 0);
    expect(ends).toEqual(['carrier_backpressure']);
    expect(errors).toContain('carrier_backpressure');
    expect(t.metrics.outputUnsentBytes).toBeGreaterThanOrEqual(800);
    expect(t.outputQueuedBytes).toBe(0);
    await until(() => server.closedSockets === 1);
  });
});

describe('input timeline', () => {
  it('resynchronises on one frame whose timestamp jumps far ahead, instead of padding seconds of silence', async () => {
    const t = await connected();
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    clock += 20;
    carrier.deliver(wire.audio(mulaw(160, 2), 2, 10_020)); // a bad timestamp, 10 s ahead of real time
    clock += 20;
    carrier.deliver(wire.audio(mulaw(160, 3), 3, 40));
    clock += 20;
    carrier.deliver(wire.audio(mulaw(160, 4), 4, 60));
    await until(() => server.inputAudio().byteLength >= 640);
    await tick(50);
    const audio = server.inputAudio();
    expect(audio.byteLength).toBe(640);
    expect([audio[0], audio[160], audio[320], audio[480]]).toEqual([1, 2, 3, 4]);
    expect(t.metrics.gapsPaddedMs).toBe(0);
    expect(t.metrics.timestampResyncs).toBe(2);
  });

  it('resynchronises on a timestamp that jumps backwards (a counter wrap) and keeps following the new base', async () => {
    const t = await connected();
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 3_600_000));
    clock += 20;
    carrier.deliver(wire.audio(mulaw(160, 2), 2, 0));
    clock += 20;
    carrier.deliver(wire.audio(mulaw(160, 3), 3, 20));
    clock += 520;
    carrier.deliver(wire.audio(mulaw(160, 4), 4, 540)); // then a real 500 ms hole
    await until(() => server.inputAudio().byteLength >= 640 + 4000);
    const audio = server.inputAudio();
    expect(audio.byteLength).toBe(640 + 4000);
    expect(audio.subarray(480, 480 + 4000).every((b) => b === SILENCE)).toBe(true);
    expect(t.metrics.timestampResyncs).toBe(1);
    expect(t.metrics.gapsPaddedMs).toBe(500);
  });

  it('sends a late frame without moving the stream position (no phantom gap after it)', async () => {
    const t = await connected({ reorderWindow: 0 });
    carrier.deliver(wire.audio(mulaw(160, 1), undefined, 0));
    clock += 40;
    carrier.deliver(wire.audio(mulaw(160, 3), undefined, 40)); // 20 ms hole: padded
    carrier.deliver(wire.audio(mulaw(160, 2), undefined, 20)); // the hole's frame, late
    clock += 20;
    carrier.deliver(wire.audio(mulaw(160, 4), undefined, 60));
    await until(() => server.inputAudio().byteLength >= 160 * 5);
    await tick(50);
    expect(server.inputAudio().byteLength).toBe(160 * 5);
    expect(t.metrics.gapsPaddedMs).toBe(20);
    expect(t.metrics.timestampResyncs).toBe(0);
  });

  it('keeps the model timeline equal to the caller timeline over a 15 s gap during speech (inactivity padding counted once)', async () => {
    const t = await connected({ inputAudioInactivityTimeoutMs: 20 });
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    const started = new Promise((resolve) => t.once('input_audio_buffer.speech_started', resolve));
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await started;
    await until(() => t.metrics.inactivityPaddedMs === 1000);
    // The model's turn detection ends the turn on that silence.
    server.send({ type: 'input_audio_buffer.speech_stopped', item_id: 'u1', audio_end_ms: 0 });
    await tick(20);
    clock += 15_000;
    carrier.deliver(wire.audio(mulaw(160, 2), 2, 15_020));
    const caller = 15_040 * 8; // the caller's timeline in μ-law bytes: two frames and the hole
    await until(() => server.inputAudio().byteLength >= caller);
    await tick(50);
    const got = server.inputAudio().byteLength;
    expect(Math.abs(got - caller)).toBeLessThanOrEqual(160); // within one frame
    expect(t.metrics.gapsPaddedMs + t.metrics.inactivityPaddedMs).toBe(15_000);
    expect(t.metrics.gapsUnpaddedMs).toBe(0);
  });

  it('counts inactivity silence that the timestamps later show was no hole against the next real gap', async () => {
    const t = await connected({ inputAudioInactivityTimeoutMs: 20 });
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    const started = new Promise((resolve) => t.once('input_audio_buffer.speech_started', resolve));
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await started;
    await until(() => t.metrics.inactivityPaddedMs === 1000);
    server.send({ type: 'input_audio_buffer.speech_stopped', item_id: 'u1', audio_end_ms: 0 });
    await tick(20);
    // The frames were only late (contiguous timestamps): the model is 1 s ahead of the caller...
    clock += 1000;
    carrier.deliver(wire.audio(mulaw(160, 2), 2, 20));
    // ...until the caller's next real hole, which that second fills.
    clock += 1500;
    carrier.deliver(wire.audio(mulaw(160, 3), 3, 1540));
    const caller = 1560 * 8;
    await until(() => server.inputAudio().byteLength >= caller);
    await tick(50);
    expect(server.inputAudio().byteLength).toBe(caller);
    expect(t.metrics.gapsPaddedMs).toBe(500);
  });

  it('moves the stream position past a frame that wobbles a little backwards (no phantom silence)', async () => {
    const t = await connected({ reorderWindow: 0 });
    const stamps = [0, 21, 40, 60, 80];
    for (const [i, ts] of stamps.entries()) {
      carrier.deliver(wire.audio(mulaw(160, i + 1), undefined, ts));
      clock += 20;
    }
    await until(() => server.inputAudio().byteLength >= 800);
    await tick(50);
    expect(t.metrics.gapsPaddedMs).toBeLessThanOrEqual(1);
    expect(server.inputAudio().byteLength).toBeLessThanOrEqual(800 + 8);
  });

  it('pads lost chunks (no timestamps) no further than real time allows: a counter jump is not a minute of audio', async () => {
    const t = await connected({ reorderWindow: 0 });
    carrier.deliver(wire.audio(mulaw(160, 1), 1));
    clock += 20;
    carrier.deliver(wire.audio(mulaw(160, 2), 100_002)); // the counter jumps; 20 ms passed
    await until(() => server.inputAudio().byteLength >= 320);
    await tick(50);
    expect(t.metrics.framesMissing).toBe(100_000);
    expect(t.metrics.gapsPaddedMs).toBeLessThanOrEqual(1020);
    expect(t.metrics.gapsPaddedMs + t.metrics.gapsUnpaddedMs).toBe(2_000_000);
    expect(server.inputAudio().byteLength).toBeLessThanOrEqual(320 + 1020 * 8);
  });

  it('pads chunks that really went missing in full', async () => {
    const t = await connected({ reorderWindow: 0 });
    carrier.deliver(wire.audio(mulaw(160, 1), 1));
    clock += 120;
    carrier.deliver(wire.audio(mulaw(160, 2), 7)); // five frames lost over 100 ms
    await until(() => server.inputAudio().byteLength >= 320 + 800);
    expect(t.metrics.gapsPaddedMs).toBe(100);
    expect(t.metrics.gapsUnpaddedMs).toBe(0);
  });
});

describe('connect() called twice', () => {
  it('refuses the second connect without touching the live call', async () => {
    const t = await connected();
    const { ends } = record(t);
    await expect(t.connect({ apiKey: 'sk-test' })).rejects.toThrow();
    await tick(50);
    expect(ends).toEqual([]);
    expect(t.status).toBe('connected');
    expect(carrier.closed).toBe(false);
  });
});

describe('a paced carrier and a long reply', () => {
  it('holds a reply longer than the output bound without ending the call while the socket drains', async () => {
    const protocol = new TestProtocol({ pacing: { leadMs: 200 } });
    const t = await connected({ protocol, outputHighWaterBytes: 1000, outputMaxBufferedBytes: 4000 });
    // 2 s of μ-law (16 000 bytes), far above the 4 000-byte bound, held on purpose by pacing.
    server.respond(
      'resp_1',
      'item_1',
      Array.from({ length: 20 }, (_, i) => mulaw(800, i + 1)),
      { done: false },
    );
    await until(() => t.outputQueuedBytes > 4000);
    await tick(50);
    expect(t.endReason).toBeUndefined();
  });
});
