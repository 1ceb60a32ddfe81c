/**
 * The setup a carrier's transport tests share: a fake realtime model and an in-memory carrier
 * socket per test, the transport under test built on them and closed after it, and a session that
 * records what it sees. The test framework's hooks are passed in, so the module imports none.
 */
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import type { CallEvent, TelephonyRealtimeTransport } from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';
import { FakeCarrier, FakeRealtimeServer } from './fakes.js';

/** The per-test hooks of a test framework: vitest's, `node:test`'s or jest's `beforeEach` and `afterEach`. */
export interface TestHooks {
  beforeEach(run: () => Promise<void> | void): unknown;
  afterEach(run: () => Promise<void> | void): unknown;
}

/** One test's carrier, model and transport, fresh for every test of the file. */
export interface TransportRig<T extends TelephonyRealtimeTransport, O> {
  /** The fake realtime model this test's transports connect to. */
  readonly model: FakeRealtimeServer;
  readonly modelUrl: string;
  /** The in-memory carrier socket the transport is given. */
  readonly carrier: FakeCarrier;
  /** A transport on this test's carrier and model; closed after the test. */
  make(options?: O): T;
  /** The carrier sends, in order, the frames `peer` encodes for each event. */
  send(peer: PeerSimulator, ...events: CallEvent[]): void;
}

/**
 * Registers, with `hooks`, a started `FakeRealtimeServer` and a new `FakeCarrier` before each
 * test, and after it the transport closed and the model stopped. `create` builds the carrier's
 * transport on the socket, with the given options.
 *
 * @example
 * ```ts
 * import { afterEach, beforeEach } from 'vitest';
 * const rig = useTransportRig({ beforeEach, afterEach }, (carrier, url) =>
 *   new TelnyxRealtimeTransport({ telnyxWebSocket: carrier, url }),
 * );
 * ```
 */
export function useTransportRig<T extends TelephonyRealtimeTransport, O = object>(
  hooks: TestHooks,
  create: (carrier: FakeCarrier, modelUrl: string, options: O | undefined) => T,
): TransportRig<T, O> {
  let model: FakeRealtimeServer | undefined;
  let modelUrl = '';
  let carrier: FakeCarrier | undefined;
  let transport: T | undefined;
  const current = <V>(value: V | undefined): V => {
    if (value === undefined) throw new Error('the transport rig is used outside a test');
    return value;
  };

  hooks.beforeEach(async () => {
    model = new FakeRealtimeServer();
    modelUrl = await model.start();
    carrier = new FakeCarrier();
  });

  hooks.afterEach(async () => {
    transport?.close();
    transport = undefined;
    await model?.stop();
  });

  return {
    get model() {
      return current(model);
    },
    get modelUrl() {
      return modelUrl;
    },
    get carrier() {
      return current(carrier);
    },
    make(options?: O): T {
      transport = create(current(carrier), modelUrl, options);
      return transport;
    },
    send(peer: PeerSimulator, ...events: CallEvent[]): void {
      const to = current(carrier);
      for (const event of events) for (const frame of peer.encodeInbound(event)) to.deliver(frame);
    },
  };
}

/** The errors a transport emits from now on (the `error` of each `error` event), in order. */
export function errorsOf(transport: TelephonyRealtimeTransport): unknown[] {
  const errors: unknown[] = [];
  transport.on('error', (event) => errors.push((event as { error: unknown }).error));
  return errors;
}

/** A `transport_event` a session saw. */
export type SeenEvent = { type: string; [key: string]: unknown };

/** What {@link connectSession} resolves with. */
export interface ConnectedSession {
  session: RealtimeSession;
  /** Every `transport_event` the session saw, in order. */
  seen: SeenEvent[];
  /** The `event` field of the carrier's raw frames seen so far as events of `type` (`plivo_message`, …). */
  rawEvents(type: string): unknown[];
}

/** A `RealtimeSession` over `transport`, connected to the model, recording every `transport_event` it sees. */
export async function connectSession(transport: TelephonyRealtimeTransport): Promise<ConnectedSession> {
  const session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), { transport });
  const seen: SeenEvent[] = [];
  session.on('transport_event', (event) => seen.push(event as SeenEvent));
  await session.connect({ apiKey: 'sk-test' });
  return {
    session,
    seen,
    rawEvents: (type) => seen.filter((e) => e.type === type).map((e) => (e.message as { event?: unknown }).event),
  };
}
