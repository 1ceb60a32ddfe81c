import type { RealtimeTransportLayer } from '@openai/agents-realtime';
import type { MediaConnection, WebSocketLike } from './connection.js';
import type { ProtocolCapabilities, PeerSimulator } from './types.js';

/** What a conformance run hands an adapter to build the transport of one call. */
export type AdapterTransportOptions = {
  /** The bridge's end of the carrier socket. */
  connection: MediaConnection | WebSocketLike;
  /** Realtime API URL (the realtime simulator's, in a conformance run). */
  url: string;
  /** Clock for playback accounting; a replay faster than real time passes a scaled clock. */
  now?: () => number;
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
  createTransport(options: AdapterTransportOptions): RealtimeTransportLayer;
  createPeerSimulator(): PeerSimulator;
}
