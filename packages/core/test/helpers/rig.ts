import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { afterEach, beforeEach } from 'vitest';
import type { CallEvent, TelephonyRealtimeTransport } from '../../src/index.js';
import type { PeerSimulator } from '../../src/protocol.js';
import { FakeCarrier, FakeRealtimeServer } from './fakes.js';

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
 * The setup a carrier package's transport tests share: before each test a started
 * `FakeRealtimeServer` and a new `FakeCarrier`; after it, the transport closed and the model
 * stopped. `create` builds the carrier's transport on the socket, with the given options.
 */
export function useTransportRig<T extends TelephonyRealtimeTransport, O = object>(
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

  beforeEach(async () => {
    model = new FakeRealtimeServer();
    modelUrl = await model.start();
    carrier = new FakeCarrier();
  });

  afterEach(async () => {
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

/**
 * A `RealtimeSession` over `transport`, connected to the model, recording every
 * `transport_event` it sees. `rawEvents(type)` lists the `event` field of the carrier's raw
 * frames seen so far as events of that type (`plivo_message`, …).
 */
export async function connectSession(
  transport: TelephonyRealtimeTransport,
): Promise<{ session: RealtimeSession; seen: SeenEvent[]; rawEvents(type: string): unknown[] }> {
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
