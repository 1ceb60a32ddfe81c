/**
 * Pre-warm, when the stream comes before its call is built: `accept()` waits for `create` at most
 * `createTimeoutMs`, then lets the stream go cold with every frame kept; a call built late is
 * ended. And a stream that reaches another instance before the owner's registry write landed.
 * No model: the transports are built and never connected.
 */
import { FakeCarrier, until } from '@switchboard/conformance/testing';
import { TwilioMediaStreamProtocol, TwilioRealtimeTransport } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryPrewarmRegistry,
  PREWARM_CREATE_TIMEOUT_REASON,
  PrewarmPool,
  type MediaFrame,
  type PendingMediaConnection,
  type PrewarmErrorContext,
  type PrewarmOwner,
  type PrewarmPoolOptions,
} from '../src/index.js';

type Call = { transport: TwilioRealtimeTransport; ends: string[] };

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A call on `connection`, never connected to a model; its `call_end` reasons in `ends`. */
function buildCall(connection: PendingMediaConnection): Call {
  const transport = new TwilioRealtimeTransport({ twilioWebSocket: connection, inputAudioInactivityTimeoutMs: null });
  const ends: string[] = [];
  transport.on('call_end', (event) => ends.push(event.reason));
  cleanups.push(() => transport.close());
  return { transport, ends };
}

/**
 * A pool whose `create` returns a promise settled by `build(callId)`: the call is built on the
 * pending connection only then.
 */
function slowPool(options: Partial<PrewarmPoolOptions<Call>> = {}) {
  const waiting = new Map<string, { connection: PendingMediaConnection; resolve: (call: Call) => void }>();
  const errors: Array<{ code: unknown; context: PrewarmErrorContext }> = [];
  const pool = new PrewarmPool<Call>({
    ...options,
    create: ({ callId, connection }) => new Promise<Call>((resolve) => waiting.set(callId, { connection, resolve })),
    onError: (error, context) => errors.push({ code: (error as { code?: unknown }).code, context }),
  });
  cleanups.push(() => pool.close('test_over'));
  const build = (callId: string): Call => {
    const pending = waiting.get(callId)!;
    const call = buildCall(pending.connection);
    pending.resolve(call);
    return call;
  };
  return { pool, errors, build };
}

/** The frames Twilio opens a stream for `callSid` with, then `audioFrames` frames of caller audio. */
function streamFrames(peer: TwilioPeerSimulator, callSid: string, audioFrames: number): MediaFrame[] {
  const frames = peer.encodeInbound({
    type: 'call_start',
    callId: callSid,
    streamId: '',
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    customParameters: {},
    raw: null,
  });
  for (let n = 0; n < audioFrames; n++)
    frames.push(...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160).fill(n + 1) }));
  return frames;
}

describe('PrewarmPool.accept() and a call not built yet', () => {
  it('waits at most createTimeoutMs, then hands the stream over cold with every frame; the call built late ends, the socket stays open', async () => {
    const { pool, errors, build } = slowPool({ createTimeoutMs: 50 });
    pool.warm('CA-slow');
    const socket = new FakeCarrier();
    const accepted = pool.accept(socket, new TwilioMediaStreamProtocol());
    const frames = streamFrames(new TwilioPeerSimulator(), 'CA-slow', 5);
    for (const frame of frames) socket.deliver(frame);

    const result = await accepted;
    expect(result).toMatchObject({ kind: 'cold', callId: 'CA-slow' });
    if (result.kind !== 'cold') return;
    expect(pool.stats).toMatchObject({ warmed: 1, claimed: 1, cold: 1, createTimedOut: 1, failed: 0 });
    expect(errors).toEqual([{ code: PREWARM_CREATE_TIMEOUT_REASON, context: { callId: 'CA-slow', stage: 'create' } }]);
    // The transport created as usual gets the stream from its first frame, the early media included.
    const got: MediaFrame[] = [];
    result.connection.onMessage((frame) => got.push(frame));
    await until(() => got.length === frames.length);
    expect(got).toEqual(frames);

    const late = build('CA-slow');
    await until(() => late.ends.length === 1);
    expect(late.ends).toEqual([PREWARM_CREATE_TIMEOUT_REASON]);
    expect(socket.closed).toBe(false);
    expect(late.transport.callStart).toBeUndefined();
  });

  it('hands the stream to a call built within the bound, the frames sent meanwhile included', async () => {
    const { pool, errors, build } = slowPool({ createTimeoutMs: 600_000 });
    pool.warm('CA-built');
    const socket = new FakeCarrier();
    const accepted = pool.accept(socket, new TwilioMediaStreamProtocol());
    const peer = new TwilioPeerSimulator();
    for (const frame of streamFrames(peer, 'CA-built', 3)) socket.deliver(frame);
    await until(() => pool.stats.claimed === 1);
    for (let n = 0; n < 4; n++)
      for (const frame of peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160).fill(9) }))
        socket.deliver(frame);

    const call = build('CA-built');
    const result = await accepted;
    expect(result).toMatchObject({ kind: 'prewarmed', callId: 'CA-built' });
    if (result.kind !== 'prewarmed') return;
    expect(result.call).toBe(call);
    await until(() => call.transport.earlyMediaBufferedBytes === 7 * 160);
    expect(call.transport.callStart?.callId).toBe('CA-built');
    expect(pool.stats).toMatchObject({ claimed: 1, cold: 0, createTimedOut: 0 });
    expect(errors).toEqual([]);
  });

  it('ends the call as carrier_closed when the caller hung up while it was built', async () => {
    const { pool, build } = slowPool({ createTimeoutMs: 600_000 });
    pool.warm('CA-gone');
    const socket = new FakeCarrier();
    const accepted = pool.accept(socket, new TwilioMediaStreamProtocol());
    for (const frame of streamFrames(new TwilioPeerSimulator(), 'CA-gone', 2)) socket.deliver(frame);
    await until(() => pool.stats.claimed === 1);
    socket.close();

    const call = build('CA-gone');
    expect(await accepted).toMatchObject({ kind: 'prewarmed', callId: 'CA-gone' });
    await until(() => call.ends.length === 1);
    expect(call.ends).toEqual(['carrier_closed']);
    expect(call.transport.callStart?.callId).toBe('CA-gone');
  });
});

describe('PrewarmPool across instances, when the registry write is late', () => {
  it('a stream that reaches another instance first goes cold there; the owner ends its call unclaimed', async () => {
    const shared = new MemoryPrewarmRegistry();
    let landWrite: (() => void) | undefined;
    // The owner's write is slow to land; reads are not.
    const registry = {
      register: (callId: string, owner: PrewarmOwner, ttlMs: number) =>
        new Promise<void>((resolve) => {
          landWrite = () => resolve(shared.register(callId, owner, ttlMs));
        }),
      take: (callId: string) => shared.take(callId),
    };
    const instance = (id: string, claimTimeoutMs: number) => {
      const calls: Call[] = [];
      const pool = new PrewarmPool<Call>({
        create: ({ connection }) => {
          const call = buildCall(connection);
          calls.push(call);
          return call;
        },
        registry,
        instance: { id, url: `ws://127.0.0.1:1/${id}` },
        connectTo: () => {
          throw new Error('not reached: nothing to forward');
        },
        claimTimeoutMs,
      });
      cleanups.push(() => pool.close('test_over'));
      return { pool, calls };
    };
    const a = instance('a', 300);
    const b = instance('b', 600_000);
    a.pool.warm('CA-race');

    const socket = new FakeCarrier();
    const accepted = b.pool.accept(socket, new TwilioMediaStreamProtocol());
    for (const frame of streamFrames(new TwilioPeerSimulator(), 'CA-race', 1)) socket.deliver(frame);
    expect(await accepted).toMatchObject({ kind: 'cold', callId: 'CA-race' });
    expect(b.pool.stats).toMatchObject({ forwarded: 0, cold: 1 });

    landWrite!();
    await until(() => a.pool.stats.unclaimed === 1);
    expect(a.calls[0]!.ends).toEqual(['prewarm_unclaimed']);
    expect(a.pool.stats).toMatchObject({ warmed: 1, claimed: 0 });
  });
});

describe('PrewarmPool and a warmed call that ends on its own', () => {
  it('forgets a call that ended before its stream came (a drain): no longer pending, counted apart from unclaimed, its stream goes cold', async () => {
    const { pool, build } = slowPool({ claimTimeoutMs: 60_000 });
    pool.warm('CA-drained');
    const call = build('CA-drained');
    await until(() => pool.pending === 1);
    call.transport.end('shutdown');
    expect(call.ends).toEqual(['shutdown']);
    expect(pool.pending).toBe(0);
    expect(pool.stats).toMatchObject({ warmed: 1, endedWaiting: 1, unclaimed: 0, claimed: 0 });
    const socket = new FakeCarrier();
    const accepted = pool.accept(socket, new TwilioMediaStreamProtocol());
    for (const frame of streamFrames(new TwilioPeerSimulator(), 'CA-drained', 1)) socket.deliver(frame);
    expect((await accepted).kind).toBe('cold');
    expect(pool.stats).toMatchObject({ cold: 1, endedWaiting: 1, unclaimed: 0 });
  });
});
