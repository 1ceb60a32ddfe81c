/**
 * Pre-warm end to end: a `PrewarmPool` opens the model session (the realtime simulator) at the
 * voice webhook, and the Twilio stream (its peer simulator, on an in-memory socket or a real one
 * on loopback) claims it; a stream for no warmed call is cold; a stream that lands on another
 * instance is forwarded to the one that warmed it.
 */
import type { AddressInfo } from 'node:net';
import { RealtimeSimulator, type SimulatedSession } from '@switchboard/conformance';
import { FakeCarrier, until } from '@switchboard/conformance/testing';
import { TwilioMediaStreamProtocol, TwilioRealtimeTransport } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import {
  MemoryPrewarmRegistry,
  PendingMediaConnection,
  PrewarmPool,
  ProtocolDetectionError,
  type MediaFrame,
  type PrewarmPoolOptions,
} from '../src/index.js';

const FORMAT = { encoding: 'pcmu', sampleRate: 8000, channels: 1 } as const;

type Call = { transport: TwilioRealtimeTransport; ends: string[] };

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startModel(): Promise<RealtimeSimulator> {
  const model = new RealtimeSimulator({ speed: 20 });
  await model.start();
  cleanups.push(() => model.stop());
  return model;
}

/**
 * A pool whose calls are Twilio transports on `model`; each connects once `gate` resolves (at once
 * without one) and, with `greet`, asks for the agent's first words as soon as it is connected.
 */
function startPool(
  model: RealtimeSimulator,
  options: Partial<PrewarmPoolOptions<Call>> & { greet?: boolean; gate?: Promise<void>; idleMs?: number } = {},
): { pool: PrewarmPool<Call>; created: Call[] } {
  const { greet, gate, idleMs, ...poolOptions } = options;
  const created: Call[] = [];
  const pool = new PrewarmPool<Call>({
    ...poolOptions,
    create: ({ connection }) => {
      const transport = new TwilioRealtimeTransport({
        twilioWebSocket: connection,
        url: model.url,
        inputAudioInactivityTimeoutMs: null,
        ...(idleMs === undefined ? {} : { carrierIdleTimeoutMs: idleMs }),
      });
      const ends: string[] = [];
      transport.on('call_end', (event) => ends.push(event.reason ?? ''));
      const connect = () =>
        transport.connect({ apiKey: 'sk-test' }).then(
          () => {
            if (greet) transport.sendEvent({ type: 'response.create' });
          },
          () => undefined,
        );
      if (gate) void gate.then(connect);
      else void connect();
      const call = { transport, ends };
      created.push(call);
      return call;
    },
  });
  cleanups.push(() => pool.close('test_over'));
  return { pool, created };
}

/** The frames Twilio opens a stream for `callSid` with (`connected`, `start`). */
function openingFrames(peer: TwilioPeerSimulator, callSid: string): MediaFrame[] {
  return peer.encodeInbound({
    type: 'call_start',
    callId: callSid,
    streamId: '',
    format: FORMAT,
    customParameters: {},
    raw: null,
  });
}

/** A Twilio stream for `callSid` reaches `pool`'s media route: what `accept()` made of it. */
async function streamArrives(pool: PrewarmPool<Call>, callSid: string) {
  const socket = new FakeCarrier();
  const peer = new TwilioPeerSimulator();
  const accepted = pool.accept(socket, new TwilioMediaStreamProtocol());
  for (const frame of openingFrames(peer, callSid)) socket.deliver(frame);
  return { socket, peer, result: await accepted };
}

/** `count` different 20 ms frames of caller audio. */
function callerAudio(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, n) => new Uint8Array(160).map((_, i) => (n * 31 + i * 7 + 1) & 0x7f));
}

/** Bytes of agent audio the bridge sent the carrier, as Twilio reads them. */
function agentAudioBytes(frames: readonly MediaFrame[], peer: TwilioPeerSimulator): number {
  let bytes = 0;
  for (const frame of frames)
    for (const command of peer.decodeOutbound(frame)) if (command.type === 'audio') bytes += command.payload.byteLength;
  return bytes;
}

describe('PrewarmPool on one instance', () => {
  it('opens the model session and makes the greeting at the webhook; the stream that claims the call hears it first', async () => {
    const model = await startModel();
    const { pool, created } = startPool(model, { greet: true });
    const order: string[] = [];
    let simulated: SimulatedSession | undefined;
    model.on('session', (session) => {
      simulated = session;
      order.push('model session opened');
    });

    pool.warm('CA0001');
    pool.warm('CA0001'); // the webhook retried: warmed once
    await until(() => simulated?.responses[0]?.status === 'completed', 15_000);
    order.push('greeting generated');
    expect(created).toHaveLength(1);
    expect(pool.stats.warmed).toBe(1);
    expect(pool.pending).toBe(1);

    order.push('stream started');
    const { socket, peer, result } = await streamArrives(pool, 'CA0001');
    expect(result.kind).toBe('prewarmed');
    if (result.kind !== 'prewarmed') return;
    expect(result.call).toBe(created[0]);
    const { transport } = result.call;

    await until(() => agentAudioBytes(socket.sent, peer) >= simulated!.responses[0]!.audioBytesSent, 15_000);
    order.push('greeting reached the carrier');
    expect(order).toEqual([
      'model session opened',
      'greeting generated',
      'stream started',
      'greeting reached the carrier',
    ]);
    expect(transport.callStart?.callId).toBe('CA0001');
    expect(transport.metrics.outputDroppedNoStreamBytes).toBe(0);
    expect(model.sessions).toHaveLength(1);
    expect(pool.stats).toMatchObject({ warmed: 1, claimed: 1, unclaimed: 0, cold: 0, failed: 0 });
    expect(pool.pending).toBe(0);

    // The caller's audio reaches the model session opened at the webhook.
    for (const payload of callerAudio(10))
      for (const frame of peer.encodeInbound({ type: 'audio', payload })) socket.deliver(frame);
    await until(() => simulated!.inputAudioMs >= 180, 10_000);
  });

  it('ends a warmed call whose stream never comes, closes its model socket and counts it; the late stream is cold', async () => {
    const model = await startModel();
    const { pool, created } = startPool(model, { claimTimeoutMs: 200 });
    const opened = model.nextSession();
    pool.warm('CA0002');
    const simulated = await opened;

    await until(() => pool.stats.unclaimed === 1, 10_000);
    await until(() => simulated.isClosed, 10_000);
    expect(created[0]!.ends).toEqual(['prewarm_unclaimed']);
    expect(created[0]!.transport.status).toBe('disconnected');
    expect(model.openSessions).toHaveLength(0);
    expect(pool.pending).toBe(0);

    const { result } = await streamArrives(pool, 'CA0002');
    expect(result.kind).toBe('cold');
    expect(pool.stats).toMatchObject({ warmed: 1, claimed: 0, unclaimed: 1, cold: 1 });
  });

  it('keeps a warmed call whose stream has not come from ending as an idle carrier', async () => {
    const model = await startModel();
    const { pool, created } = startPool(model, { claimTimeoutMs: 600, idleMs: 100 });
    pool.warm('CA0006');
    await until(() => pool.stats.unclaimed === 1, 10_000);
    // The 100 ms idle timeout would have ended it long before the claim timeout.
    expect(created[0]!.ends).toEqual(['prewarm_unclaimed']);
  });

  it('attaches a stream that comes before the model session is ready, and gives the model the early caller audio in order', async () => {
    const model = await startModel();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { pool } = startPool(model, { gate });
    pool.warm('CA0003');

    const { socket, peer, result } = await streamArrives(pool, 'CA0003');
    expect(result.kind).toBe('prewarmed');
    if (result.kind !== 'prewarmed') return;
    const audio = callerAudio(15);
    for (const payload of audio)
      for (const frame of peer.encodeInbound({ type: 'audio', payload })) socket.deliver(frame);
    await until(() => result.call.transport.earlyMediaBufferedBytes === 15 * 160);
    expect(model.sessions).toHaveLength(0);

    const opened = model.nextSession();
    release();
    const simulated = await opened;
    await until(() => simulated.inputAudioMs >= 15 * 20, 10_000);
    const heard = Buffer.concat(simulated.inputAudio);
    expect(new Uint8Array(heard.subarray(0, 15 * 160))).toEqual(new Uint8Array(Buffer.concat(audio)));
  });

  it('returns a stream for no warmed call as cold, on a connection that replays what was read', async () => {
    const model = await startModel();
    const { pool } = startPool(model);
    pool.warm('CA0004');
    const { result } = await streamArrives(pool, 'CA9999');
    expect(result).toMatchObject({ kind: 'cold', callId: 'CA9999' });
    if (result.kind !== 'cold') return;
    const transport = new TwilioRealtimeTransport({ twilioWebSocket: result.connection, url: model.url });
    cleanups.push(() => transport.close());
    await until(() => transport.callStart !== undefined);
    expect(transport.callStart?.callId).toBe('CA9999');
    expect(pool.stats).toMatchObject({ warmed: 1, claimed: 0, cold: 1 });
    expect(pool.pending).toBe(1);
  });

  it('rejects with a ProtocolDetectionError a stream that sends garbage or closes before its start, and leaves the socket open', async () => {
    const model = await startModel();
    const { pool } = startPool(model);
    const garbage = new FakeCarrier();
    const first = pool.accept(garbage, new TwilioMediaStreamProtocol());
    garbage.deliver('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    garbage.deliver('not json at all');
    await expect(first).rejects.toBeInstanceOf(ProtocolDetectionError);
    expect(garbage.closed).toBe(false);

    const gone = new FakeCarrier();
    const second = pool.accept(gone, new TwilioMediaStreamProtocol());
    gone.close();
    await expect(second).rejects.toMatchObject({ reason: 'closed' });
    expect(pool.stats).toMatchObject({ claimed: 0, cold: 0, forwarded: 0 });
  });

  it('counts and reports a create that throws or rejects, and never throws from warm()', async () => {
    const errors: Array<{ stage: string; callId: string | undefined }> = [];
    const pool = new PrewarmPool({
      create: ({ callId }): Call => {
        if (callId === 'CA-throws') throw new Error('no model key');
        return Promise.reject(new Error('no model')) as never;
      },
      onError: (_error, context) => errors.push(context),
    });
    cleanups.push(() => pool.close());
    expect(() => pool.warm('CA-throws')).not.toThrow();
    expect(() => pool.warm('CA-rejects')).not.toThrow();
    await until(() => pool.stats.failed === 2);
    expect(errors).toEqual([
      { stage: 'create', callId: 'CA-throws' },
      { stage: 'create', callId: 'CA-rejects' },
    ]);
    expect(pool.pending).toBe(0);
    pool.warm('');
    expect(pool.stats).toMatchObject({ warmed: 2, failed: 2, refused: 1 });
  });
});

describe('PendingMediaConnection', () => {
  it('holds what is sent before attach, bounded and counted, and sends it first, in order', () => {
    const pending = new PendingMediaConnection({ maxHeldFrames: 2 });
    pending.send('a');
    pending.send('b');
    pending.send('c');
    expect(pending.droppedFrames).toBe(1);
    const socket = new FakeCarrier();
    pending.attach(socket);
    pending.send('d');
    expect(socket.sent).toEqual(['a', 'b', 'd']);
    expect(() => pending.attach(new FakeCarrier())).toThrow(/already/);
  });

  it('closed before attach: close handlers run and a late attach is refused', () => {
    const pending = new PendingMediaConnection();
    const closes: Array<string | undefined> = [];
    pending.onClose((_code, reason) => closes.push(reason));
    pending.close(1000, 'prewarm_unclaimed');
    expect(pending.closed).toBe(true);
    expect(closes).toEqual(['prewarm_unclaimed']);
    expect(() => pending.attach(new FakeCarrier())).toThrow(/closed/);
  });
});

describe('PrewarmPool across instances', () => {
  /** An instance: a pool and its media route on a loopback WebSocket server. */
  async function startInstance(id: string, model: RealtimeSimulator, registry: MemoryPrewarmRegistry) {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/media`;
    const { pool, created } = startPool(model, {
      greet: true,
      registry,
      instance: { id, url },
      connectTo: (target) => new WebSocket(target),
    });
    const results: string[] = [];
    server.on('connection', (ws) => {
      pool.accept(ws, new TwilioMediaStreamProtocol()).then(
        (result) => results.push(result.kind),
        () => ws.close(),
      );
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const client of server.clients) client.terminate();
          server.close(() => resolve());
        }),
    );
    return { pool, created, url, results };
  }

  it('forwards a stream that reaches another instance to the one that warmed its call, both ways, and closes both ends together', async () => {
    const model = await startModel();
    const registry = new MemoryPrewarmRegistry();
    const owner = await startInstance('a', model, registry);
    const other = await startInstance('b', model, registry);
    const opened = model.nextSession();
    owner.pool.warm('CA0005');
    const simulated = await opened;
    await until(() => simulated.responses[0]?.status === 'completed', 15_000);

    // Twilio's stream lands on instance b.
    const carrier = new WebSocket(other.url);
    const received: MediaFrame[] = [];
    carrier.on('message', (data) => received.push(String(data)));
    await new Promise<void>((resolve, reject) => {
      carrier.once('open', () => resolve());
      carrier.once('error', reject);
    });
    const peer = new TwilioPeerSimulator();
    for (const frame of openingFrames(peer, 'CA0005')) carrier.send(frame);
    for (const payload of callerAudio(10))
      for (const frame of peer.encodeInbound({ type: 'audio', payload })) carrier.send(frame);

    await until(() => other.results.length === 1 && owner.results.length === 1, 10_000);
    expect(other.results).toEqual(['forwarded']);
    expect(owner.results).toEqual(['prewarmed']);
    // The owner's greeting reaches the carrier through b; the caller's audio reaches the owner's model.
    await until(() => agentAudioBytes(received, peer) >= simulated.responses[0]!.audioBytesSent, 15_000);
    await until(() => simulated.inputAudioMs >= 180, 10_000);
    expect(model.sessions).toHaveLength(1);
    expect(owner.pool.stats).toMatchObject({ warmed: 1, claimed: 1 });
    expect(other.pool.stats).toMatchObject({ warmed: 0, forwarded: 1, cold: 0 });
    expect(registry.size).toBe(0);

    // The carrier hangs up: the owner's call ends, and its model socket closes.
    carrier.close();
    await until(() => owner.created[0]!.ends.length === 1, 10_000);
    expect(owner.created[0]!.ends).toEqual(['carrier_closed']);
    await until(() => simulated.isClosed, 10_000);
  });

  it('closes the carrier socket of a forwarded stream when the owner ends the call', async () => {
    const model = await startModel();
    const registry = new MemoryPrewarmRegistry();
    const owner = await startInstance('a', model, registry);
    const other = await startInstance('b', model, registry);
    owner.pool.warm('CA0008');
    const carrier = new WebSocket(other.url);
    const closed = new Promise<number>((resolve) => carrier.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      carrier.once('open', () => resolve());
      carrier.once('error', reject);
    });
    for (const frame of openingFrames(new TwilioPeerSimulator(), 'CA0008')) carrier.send(frame);
    await until(() => owner.created[0]?.transport.callStart !== undefined, 10_000);
    expect(other.results).toEqual(['forwarded']);

    owner.created[0]!.transport.end('agent_hangup');
    expect(await closed).toBe(1000);
  });

  it('closes the carrier socket of a stream whose owner cannot be reached, and throws nothing', async () => {
    const registry = new MemoryPrewarmRegistry();
    // The owner's port: a server that is gone.
    const gone = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => gone.once('listening', () => resolve()));
    const deadUrl = `ws://127.0.0.1:${(gone.address() as AddressInfo).port}/media`;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    registry.register('CA0007', { id: 'a', url: deadUrl }, 60_000);
    const pool = new PrewarmPool<Call>({
      create: () => {
        throw new Error('not warmed here');
      },
      registry,
      instance: { id: 'b', url: 'ws://127.0.0.1:1/media' },
      connectTo: (target) => new WebSocket(target),
    });
    cleanups.push(() => pool.close());
    const { socket, result } = await streamArrives(pool, 'CA0007');
    expect(result).toMatchObject({ kind: 'forwarded', owner: { id: 'a', url: deadUrl } });
    await until(() => socket.closed, 10_000);
  });

  it('a call warmed and never streamed is gone from the registry for a stream after its timeout', async () => {
    const now = { t: 0 };
    const registry = new MemoryPrewarmRegistry({ now: () => now.t });
    registry.register('CA1', { id: 'a', url: 'ws://a' }, 100);
    now.t = 100;
    expect(registry.take('CA1')).toBeUndefined();
    registry.register('CA2', { id: 'a', url: 'ws://a' }, 100);
    expect(registry.take('CA2')).toEqual({ id: 'a', url: 'ws://a' });
    expect(registry.take('CA2')).toBeUndefined();
  });
});
