import type { RealtimeTransportLayer } from '@openai/agents-realtime';
import type { Clock } from './clock.js';
import type { MediaConnection, WebSocketLike } from './connection.js';
import type { AudioFormat, ProtocolCapabilities, PeerSimulator } from './types.js';

/** What a conformance run hands an adapter to build the transport of one call. */
export type AdapterTransportOptions = {
  /** The bridge's end of the carrier socket. */
  connection: MediaConnection | WebSocketLike;
  /** Realtime API URL (the realtime simulator's, in a conformance run). */
  url: string;
  /** Clock for playback accounting; a replay faster than real time passes a scaled clock. */
  now?: () => number;
  /** Clock for timers too (pacing, padding); a replay faster than real time passes a scaled one. */
  clock?: Clock;
};

/**
 * What a telephony adapter exports so the conformance harness can test it: a factory for its
 * transport and the carrier side of its protocol. `@switchboard/twilio` exports one as
 * `conformance`; a third-party adapter does the same.
 */
export interface ConformanceAdapter {
  readonly name: string;
  readonly capabilities: ProtocolCapabilities;
  /** True when the carrier speaks Twilio Media Streams JSON: traces are then replayed frame for frame. */
  readonly twilioFrames?: boolean;
  /**
   * The audio format on the carrier's wire in a conformance run, when it is not the traces' own
   * (μ-law 8 kHz). The peer simulator then converts the traces' audio into it, and the harness
   * reads the bridge's audio in it.
   */
  readonly carrierFormat?: AudioFormat;
  createTransport(options: AdapterTransportOptions): RealtimeTransportLayer;
  /**
   * The carrier side for a conformance run: `encodeInbound` takes the traces' audio (μ-law 8 kHz)
   * and sends it in {@link carrierFormat}; `decodeOutbound` returns audio in `carrierFormat`.
   */
  createPeerSimulator(): PeerSimulator;
}
