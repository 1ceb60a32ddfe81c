import { createServer, type Server, type Socket } from 'node:net';
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CallRegistry,
  ConfigError,
  DEFAULT_DRAIN_DEADLINE_MS,
  TelephonyRealtimeTransport,
  connectOrEnd,
  drainOnSignals,
  type CallEndListener,
  type DrainableCall,
  type DrainResult,
} from '../src/index.js';
import {
  FakeCarrier,
  FakeRealtimeServer,
  ManualClock,
  TestProtocol,
  until,
  wire,
} from '@switchboard/conformance/testing';

/** A call the test ends by hand; records what the registry did to it. */
class FakeCall implements DrainableCall {
  readonly ends: string[] = [];
  readonly connection = { closed: false };
  readonly #listeners = new Set<CallEndListener>();
  #ended = false;
  throwOnEnd = false;
  on(_type: 'call_end', listener: CallEndListener): this {
    this.#listeners.add(listener);
    return this;
  }
  off(_type: 'call_end', listener: CallEndListener): this {
    this.#listeners.delete(listener);
    return this;
  }
  get listenerCount(): number {
    return this.#listeners.size;
  }
  /** Ends like a transport: call_end once, with the first reason. */
  end(reason = 'closed'): void {
    this.ends.push(reason);
    if (this.throwOnEnd) throw new Error('end failed');
    this.hangUp(reason);
  }
  /** The call ends on its own (the caller hung up). */
  hangUp(reason = 'stop'): void {
    if (this.#ended) return;
    this.#ended = true;
    this.connection.closed = true;
    for (const listener of [...this.#listeners]) listener({ reason });
  }
}

/** Settles the promise's callbacks queued so far. */
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function settled<T>(promise: Promise<T>): { value: T | undefined; done: boolean } {
  const state: { value: T | undefined; done: boolean } = { value: undefined, done: false };
  void promise.then((value) => {
    state.value = value;
    state.done = true;
  });
  return state;
}

describe('CallRegistry', () => {
  it('tracks calls until their call_end and leaves no listener behind', () => {
    const registry = new CallRegistry<FakeCall>();
    const [a, b] = [new FakeCall(), new FakeCall()];
    expect(registry.add(a)).toBe(true);
    expect(registry.add(b)).toBe(true);
    expect(registry.add(a)).toBe(true);
    expect(registry.size).toBe(2);
    expect(registry.calls()).toEqual([a, b]);
    a.hangUp();
    expect(registry.size).toBe(1);
    expect(a.listenerCount).toBe(0);
    expect(registry.draining).toBe(false);
  });

  it('drains at once when no call is live', async () => {
    const registry = new CallRegistry();
    await expect(registry.drain()).resolves.toEqual({ endedNaturally: 0, endedByShutdown: 0, refused: 0 });
    expect(registry.draining).toBe(true);
  });

  it('waits for calls to end on their own, then ends the rest with shutdown at the deadline', async () => {
    const clock = new ManualClock();
    const registry = new CallRegistry<FakeCall>({ clock });
    const calls = [new FakeCall(), new FakeCall(), new FakeCall()];
    for (const call of calls) registry.add(call);

    const drain = settled(registry.drain({ deadlineMs: 5000 }));
    expect(registry.draining).toBe(true);
    calls[0]!.hangUp('stop');
    clock.advance(4999);
    await flush();
    expect(drain.done).toBe(false);
    expect(calls.map((c) => c.ends)).toEqual([[], [], []]);

    clock.advance(1);
    await flush();
    expect(drain.value).toEqual({ endedNaturally: 1, endedByShutdown: 2, refused: 0 });
    expect(calls.map((c) => c.ends)).toEqual([[], ['shutdown'], ['shutdown']]);
    expect(registry.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('resolves before the deadline once the last call ended, and clears its timer', async () => {
    const clock = new ManualClock();
    const registry = new CallRegistry<FakeCall>({ clock, deadlineMs: 60_000 });
    const [a, b] = [new FakeCall(), new FakeCall()];
    registry.add(a);
    registry.add(b);
    const drain = settled(registry.drain());
    a.hangUp();
    b.hangUp();
    await flush();
    expect(drain.value).toEqual({ endedNaturally: 2, endedByShutdown: 0, refused: 0 });
    expect(clock.pending).toBe(0);
    expect([a.ends, b.ends]).toEqual([[], []]);
  });

  it('refuses a call added while draining: ended at once with shutdown, counted, not tracked', async () => {
    const clock = new ManualClock();
    const registry = new CallRegistry<FakeCall>({ clock });
    const live = new FakeCall();
    registry.add(live);
    const drain = registry.drain({ deadlineMs: 1000 });
    const late = new FakeCall();
    expect(registry.add(late)).toBe(false);
    expect(late.ends).toEqual(['shutdown']);
    expect(registry.size).toBe(1);
    live.hangUp();
    expect(await drain).toEqual({ endedNaturally: 1, endedByShutdown: 0, refused: 1 });
    // After the drain too.
    const later = new FakeCall();
    expect(registry.add(later)).toBe(false);
    expect(later.ends).toEqual(['shutdown']);
    expect(registry.refused).toBe(2);
  });

  it('returns the same drain when asked twice, whatever the second deadline', async () => {
    const clock = new ManualClock();
    const registry = new CallRegistry<FakeCall>({ clock });
    registry.add(new FakeCall());
    const first = registry.drain({ deadlineMs: 100 });
    expect(registry.drain({ deadlineMs: 0 })).toBe(first);
    clock.advance(100);
    expect(await first).toEqual({ endedNaturally: 0, endedByShutdown: 1, refused: 0 });
  });

  it('endAll() ends every live call now and finishes a drain in progress', async () => {
    const clock = new ManualClock();
    const registry = new CallRegistry<FakeCall>({ clock });
    const [a, b] = [new FakeCall(), new FakeCall()];
    registry.add(a);
    registry.add(b);
    const drain = registry.drain({ deadlineMs: Infinity });
    expect(clock.pending).toBe(0);
    expect(registry.endAll()).toBe(2);
    expect(await drain).toEqual({ endedNaturally: 0, endedByShutdown: 2, refused: 0 });
    expect([a.ends, b.ends]).toEqual([['shutdown'], ['shutdown']]);
  });

  it('waits with no deadline when it is Infinity', async () => {
    const clock = new ManualClock();
    const registry = new CallRegistry<FakeCall>({ clock });
    const call = new FakeCall();
    registry.add(call);
    const drain = settled(registry.drain({ deadlineMs: Infinity }));
    clock.advance(DEFAULT_DRAIN_DEADLINE_MS * 100);
    await flush();
    expect(drain.done).toBe(false);
    call.hangUp();
    await flush();
    expect(drain.value).toEqual({ endedNaturally: 1, endedByShutdown: 0, refused: 0 });
  });

  it('defaults to a 30 s deadline', async () => {
    const clock = new ManualClock();
    const registry = new CallRegistry<FakeCall>({ clock });
    const call = new FakeCall();
    registry.add(call);
    const drain = settled(registry.drain());
    clock.advance(29_999);
    await flush();
    expect(drain.done).toBe(false);
    clock.advance(1);
    await flush();
    expect(drain.value?.endedByShutdown).toBe(1);
    expect(DEFAULT_DRAIN_DEADLINE_MS).toBe(30_000);
  });

  it('goes on when ending a call throws', async () => {
    const clock = new ManualClock();
    const registry = new CallRegistry<FakeCall>({ clock });
    const [bad, good] = [new FakeCall(), new FakeCall()];
    bad.throwOnEnd = true;
    registry.add(bad);
    registry.add(good);
    const drain = registry.drain({ deadlineMs: 10 });
    clock.advance(10);
    expect(await drain).toEqual({ endedNaturally: 0, endedByShutdown: 2, refused: 0 });
    expect(good.ends).toEqual(['shutdown']);
  });

  it('forgets a call whose carrier had hung up (and emitted call_end) before it was added', async () => {
    const registry = new CallRegistry<FakeCall>();
    const call = new FakeCall();
    call.hangUp();
    registry.add(call);
    await flush();
    expect(registry.size).toBe(0);
    // And a drain started before that microtask does not wait for it either.
    const other = new FakeCall();
    other.hangUp();
    const registry2 = new CallRegistry<FakeCall>({ clock: new ManualClock() });
    registry2.add(other);
    expect(await registry2.drain()).toEqual({ endedNaturally: 1, endedByShutdown: 0, refused: 0 });
  });

  it('refuses a bad deadline with a ConfigError', () => {
    expect(() => new CallRegistry({ deadlineMs: -1 })).toThrow(ConfigError);
    expect(() => new CallRegistry({ deadlineMs: Number.NaN })).toThrow(ConfigError);
    expect(() => new CallRegistry().drain({ deadlineMs: -5 })).toThrow(ConfigError);
  });
});

describe('CallRegistry with real transports', () => {
  let server: FakeRealtimeServer;
  let url: string;
  const transports: TelephonyRealtimeTransport[] = [];
  beforeEach(async () => {
    server = new FakeRealtimeServer();
    url = await server.start();
  });
  afterEach(async () => {
    for (const t of transports.splice(0)) t.close();
    await server.stop();
  });

  function call() {
    const carrier = new FakeCarrier();
    const closes: Array<[number | undefined, string | undefined]> = [];
    const close = carrier.close.bind(carrier);
    carrier.close = (code?: number, reason?: string) => {
      closes.push([code, reason]);
      close();
    };
    const transport = new TelephonyRealtimeTransport({
      connection: carrier,
      protocol: new TestProtocol(),
      url,
      inputAudioInactivityTimeoutMs: null,
    });
    transports.push(transport);
    const ends: string[] = [];
    transport.on('call_end', (event) => ends.push(event.reason));
    carrier.deliver(wire.start());
    return { carrier, transport, closes, ends };
  }

  it('ends the calls live at the deadline with call_end shutdown, a 1000 close to the carrier and the model closed', async () => {
    const clock = new ManualClock();
    const registry = new CallRegistry<TelephonyRealtimeTransport>({ clock });
    const [a, b] = [call(), call()];
    for (const c of [a, b]) {
      registry.add(c.transport);
      const session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), { transport: c.transport });
      await session.connect({ apiKey: 'sk-test' });
    }
    expect(server.connections).toBe(2);

    const drain = registry.drain({ deadlineMs: 1000 });
    a.carrier.deliver(wire.stop());
    clock.advance(1000);
    expect(await drain).toEqual({ endedNaturally: 1, endedByShutdown: 1, refused: 0 });
    expect(a.ends).toEqual(['stop']);
    expect(b.ends).toEqual(['shutdown']);
    expect(b.closes).toEqual([[1000, 'call ended']]);
    await until(() => server.closedSockets === 2);

    // A call arriving now is hung up at once, before its model session is opened.
    const c = call();
    expect(registry.add(c.transport)).toBe(false);
    expect(c.ends).toEqual(['shutdown']);
    expect(c.closes).toEqual([[1000, 'call ended']]);
  });
});

describe('connectOrEnd', () => {
  let server: FakeRealtimeServer | undefined;
  let closer: Server | undefined;
  const held: Socket[] = [];
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  beforeEach(() => {
    rejections.length = 0;
    process.on('unhandledRejection', onRejection);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onRejection);
    await server?.stop();
    server = undefined;
    for (const socket of held.splice(0)) socket.destroy();
    await new Promise<void>((resolve) => (closer ? closer.close(() => resolve()) : resolve()));
    closer = undefined;
  });

  /** A loopback port nothing listens on. */
  async function refusedUrl(): Promise<string> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return `ws://127.0.0.1:${port}/v1/realtime`;
  }

  /** A server that accepts the TCP connection and closes it at once. */
  async function closingUrl(): Promise<string> {
    closer = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closer!.listen(0, '127.0.0.1', () => resolve()));
    const { port } = closer.address() as { port: number };
    return `ws://127.0.0.1:${port}/v1/realtime`;
  }

  function call(modelUrl: string) {
    const carrier = new FakeCarrier();
    const closes: Array<number | undefined> = [];
    const close = carrier.close.bind(carrier);
    carrier.close = (code?: number) => {
      closes.push(code);
      close();
    };
    const transport = new TelephonyRealtimeTransport({
      connection: carrier,
      protocol: new TestProtocol(),
      url: modelUrl,
      inputAudioInactivityTimeoutMs: null,
    });
    const ends: string[] = [];
    transport.on('call_end', (event) => ends.push(event.reason));
    const session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), { transport });
    carrier.deliver(wire.start());
    return { carrier, transport, session, closes, ends };
  }

  for (const [name, url] of [
    ['a port that refuses', refusedUrl],
    ['a server that closes at once', closingUrl],
  ] as const) {
    it(`ends only this call with model_connect_failed when the model is ${name}`, async () => {
      const c = call(await url());
      const errors: unknown[] = [];
      const connected = await connectOrEnd(
        c.session,
        c.transport,
        { apiKey: 'sk-test' },
        { onError: (error) => errors.push(error) },
      );
      expect(connected).toBe(false);
      expect(c.ends).toEqual(['model_connect_failed']);
      expect(c.closes).toEqual([1011]); // the bridge failed: a 1011 close naming why
      expect(errors).toHaveLength(1);
      await flush();
      expect(rejections).toEqual([]);
    });
  }

  it('survives an onError that throws', async () => {
    const c = call(await refusedUrl());
    const connected = await connectOrEnd(
      c.session,
      c.transport,
      { apiKey: 'sk-test' },
      {
        onError: () => {
          throw new Error('logging failed');
        },
      },
    );
    expect(connected).toBe(false);
    expect(c.ends).toEqual(['model_connect_failed']);
  });

  it('resolves true once connected, and leaves the call alone', async () => {
    server = new FakeRealtimeServer();
    const c = call(await server.start());
    expect(await connectOrEnd(c.session, c.transport, { apiKey: 'sk-test' })).toBe(true);
    expect(c.ends).toEqual([]);
    expect(c.closes).toEqual([]);
    c.session.close();
  });

  it('reports no failure for a caller who hung up while the model was connecting', async () => {
    // The upgrade never completes: the connection is still pending when the carrier hangs up.
    closer = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => closer!.listen(0, '127.0.0.1', () => resolve()));
    const c = call(`ws://127.0.0.1:${(closer.address() as { port: number }).port}/v1/realtime`);
    c.transport.on('call_end', () => c.session.close());
    const errors: unknown[] = [];
    const pending = connectOrEnd(
      c.session,
      c.transport,
      { apiKey: 'sk-test' },
      { onError: (error) => errors.push(error) },
    );
    c.carrier.close();
    expect(await pending).toBe(false);
    expect(c.ends).toEqual(['carrier_closed']);
    expect(errors).toEqual([]);
  });

  it('without it, the same failure is a rejection the application must handle', async () => {
    const c = call(await refusedUrl());
    await expect(c.session.connect({ apiKey: 'sk-test' })).rejects.toBeDefined();
    c.session.close();
  });
});

/** A stand-in for Node's `process`: listeners by event, `exit` recorded. */
class FakeProcess {
  readonly listeners = new Map<string, Array<(...args: unknown[]) => void>>();
  readonly exits: number[] = [];
  exitCode: number | undefined;
  on(event: string, listener: (...args: unknown[]) => void): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  off(event: string, listener: (...args: unknown[]) => void): this {
    this.listeners.set(
      event,
      (this.listeners.get(event) ?? []).filter((l) => l !== listener),
    );
    return this;
  }
  exit(code?: number): void {
    this.exits.push(code ?? 0);
  }
  emit(event: string): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) listener(event);
  }
  count(event: string): number {
    return this.listeners.get(event)?.length ?? 0;
  }
}

/** drainOnSignals against `fake` instead of the real process (swapped only while it installs). */
function withProcess<T>(fake: unknown, install: () => T): T {
  vi.stubGlobal('process', fake);
  try {
    return install();
  } finally {
    vi.unstubAllGlobals();
  }
}

describe('drainOnSignals', () => {
  it('on SIGTERM: onSignal, drain, onDrained with the counts, then exit 0', async () => {
    const proc = new FakeProcess();
    const clock = new ManualClock();
    const registry = new CallRegistry<FakeCall>({ clock });
    const [a, b] = [new FakeCall(), new FakeCall()];
    registry.add(a);
    registry.add(b);
    const order: string[] = [];
    let drainedWith: [DrainResult, string] | undefined;
    const handle = withProcess(proc, () =>
      drainOnSignals(registry, {
        deadlineMs: 2000,
        onSignal: (signal) => order.push(`signal ${signal} (${registry.draining ? 'draining' : 'not draining'})`),
        onDrained: async (result, signal) => {
          drainedWith = [result, signal];
          order.push('drained');
        },
      }),
    );
    expect(handle.installed).toBe(true);
    expect(proc.count('SIGTERM')).toBe(1);
    expect(proc.count('SIGINT')).toBe(1);

    proc.emit('SIGTERM');
    expect(registry.draining).toBe(true);
    a.hangUp();
    clock.advance(2000);
    await until(() => proc.exits.length > 0);
    expect(order).toEqual(['signal SIGTERM (not draining)', 'drained']);
    expect(drainedWith).toEqual([{ endedNaturally: 1, endedByShutdown: 1, refused: 0 }, 'SIGTERM']);
    expect(b.ends).toEqual(['shutdown']);
    expect(proc.exits).toEqual([0]);
    expect(await handle.drained).toEqual({ endedNaturally: 1, endedByShutdown: 1, refused: 0 });
    // Still listening: a late signal must not let another handler exit the process mid-way.
    expect(proc.count('SIGTERM')).toBe(1);
    handle.dispose();
    expect(proc.count('SIGTERM')).toBe(0);
    expect(proc.count('SIGINT')).toBe(0);
  });

  it('exits 130 after SIGINT, or with process.exitCode when it is set, and 1 when onDrained threw', async () => {
    const sigint = new FakeProcess();
    withProcess(sigint, () => drainOnSignals(new CallRegistry()));
    sigint.emit('SIGINT');
    await until(() => sigint.exits.length > 0);
    expect(sigint.exits).toEqual([130]);

    const preset = new FakeProcess();
    preset.exitCode = 3;
    withProcess(preset, () => drainOnSignals(new CallRegistry()));
    preset.emit('SIGTERM');
    await until(() => preset.exits.length > 0);
    expect(preset.exits).toEqual([3]);

    const failing = new FakeProcess();
    withProcess(failing, () =>
      drainOnSignals(new CallRegistry(), {
        onDrained: () => {
          throw new Error('server close failed');
        },
      }),
    );
    failing.emit('SIGTERM');
    await until(() => failing.exits.length > 0);
    expect(failing.exits).toEqual([1]);
  });

  it('a second signal while draining ends every live call at once', async () => {
    const proc = new FakeProcess();
    const clock = new ManualClock();
    const registry = new CallRegistry<FakeCall>({ clock });
    const call = new FakeCall();
    registry.add(call);
    let result: DrainResult | undefined;
    withProcess(proc, () => drainOnSignals(registry, { deadlineMs: 60_000, onDrained: (r) => void (result = r) }));
    proc.emit('SIGTERM');
    await flush();
    expect(call.ends).toEqual([]);
    proc.emit('SIGINT');
    await until(() => proc.exits.length > 0);
    expect(call.ends).toEqual(['shutdown']);
    expect(result).toEqual({ endedNaturally: 0, endedByShutdown: 1, refused: 0 });
    // The code follows the first signal.
    expect(proc.exits).toEqual([0]);
    expect(clock.pending).toBe(0);
  });

  it('a second signal while onDrained is still running exits at once', async () => {
    const proc = new FakeProcess();
    let release!: () => void;
    withProcess(proc, () =>
      drainOnSignals(new CallRegistry(), { onDrained: () => new Promise<void>((resolve) => (release = resolve)) }),
    );
    proc.emit('SIGTERM');
    await until(() => release !== undefined);
    expect(proc.exits).toEqual([]);
    proc.emit('SIGTERM');
    expect(proc.exits).toEqual([0]);
    release();
  });

  it('with exit: false, leaves the process alone', async () => {
    const proc = new FakeProcess();
    let drained = false;
    withProcess(proc, () =>
      drainOnSignals(new CallRegistry(), { exit: false, signals: ['SIGHUP'], onDrained: () => void (drained = true) }),
    );
    expect(proc.count('SIGTERM')).toBe(0);
    proc.emit('SIGHUP');
    await until(() => drained);
    await flush();
    expect(proc.exits).toEqual([]);
  });

  it('installs nothing where there is no process (workerd)', () => {
    const handle = withProcess(undefined, () => drainOnSignals(new CallRegistry()));
    expect(handle.installed).toBe(false);
    expect(handle.drained).toBeUndefined();
    handle.dispose();
  });
});
