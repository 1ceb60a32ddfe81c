/**
 * The core transport's test rig: a fake carrier speaking the test protocol, a fake realtime
 * model, and a clock moved by hand; each test gets fresh ones, and its transport is closed after it.
 */
import { FakeCarrier, FakeRealtimeServer, ManualClock, TestProtocol, wire } from '@switchboard/conformance/testing';
import {
  TelephonyRealtimeTransport,
  type ProtocolCapabilities,
  type TelephonyRealtimeTransportOptions,
} from '../../src/index.js';

export type CoreTransportRig = {
  /** The fake model (started before each test). */
  readonly server: FakeRealtimeServer;
  /** Where the fake model listens. */
  readonly url: string;
  readonly carrier: FakeCarrier;
  readonly clock: ManualClock;
  /** Puts a fresh carrier in place of the test's (for a second call in one test). */
  newCarrier(): FakeCarrier;
  /** The transport `make` made last (closed after the test). */
  readonly transport: TelephonyRealtimeTransport | undefined;
  /** Closes `transport` after the test (one the test made itself). */
  adopt(transport: TelephonyRealtimeTransport): TelephonyRealtimeTransport;
  /** A transport on the rig's carrier, model and clock, with the rig's defaults under `options`. */
  make(
    capabilities?: Partial<ProtocolCapabilities>,
    options?: Partial<TelephonyRealtimeTransportOptions>,
  ): TelephonyRealtimeTransport;
  /** The carrier's start, then the model connected. */
  start(transport: TelephonyRealtimeTransport): Promise<TelephonyRealtimeTransport>;
  /** `make`, then `start`. */
  connected(
    capabilities?: Partial<ProtocolCapabilities>,
    options?: Partial<TelephonyRealtimeTransportOptions>,
  ): Promise<TelephonyRealtimeTransport>;
};

/**
 * Registers the rig with the test file's hooks. `defaults` are the options every transport gets
 * (the rig always turns off the caller's inactivity timeout); by default the carrier's idle
 * timeout is off too.
 */
export function useCoreTransport(
  hooks: { beforeEach(fn: () => Promise<void>): void; afterEach(fn: () => Promise<void>): void },
  defaults: Partial<TelephonyRealtimeTransportOptions> = { carrierIdleTimeoutMs: null },
): CoreTransportRig {
  let server: FakeRealtimeServer | undefined;
  let url = '';
  let carrier: FakeCarrier | undefined;
  let clock: ManualClock | undefined;
  let transport: TelephonyRealtimeTransport | undefined;
  hooks.beforeEach(async () => {
    server = new FakeRealtimeServer();
    url = await server.start();
    carrier = new FakeCarrier();
    clock = new ManualClock();
  });
  hooks.afterEach(async () => {
    transport?.close();
    transport = undefined;
    await server?.stop();
  });
  const inTest = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the core transport rig is only set up inside a test');
    return value;
  };
  const rig: CoreTransportRig = {
    get server() {
      return inTest(server);
    },
    get url() {
      return url;
    },
    get carrier() {
      return inTest(carrier);
    },
    get clock() {
      return inTest(clock);
    },
    newCarrier() {
      carrier = new FakeCarrier();
      return carrier;
    },
    get transport() {
      return transport;
    },
    adopt(t) {
      transport = t;
      return t;
    },
    make(capabilities = {}, options = {}) {
      transport = new TelephonyRealtimeTransport({
        connection: rig.carrier,
        protocol: new TestProtocol(capabilities),
        url,
        clock: rig.clock,
        inputAudioInactivityTimeoutMs: null,
        ...defaults,
        ...options,
      });
      return transport;
    },
    async start(t) {
      rig.carrier.deliver(wire.start());
      await t.connect({ apiKey: 'sk-test' });
      return t;
    },
    connected(capabilities, options) {
      return rig.start(rig.make(capabilities, options));
    },
  };
  return rig;
}
