import type { RealtimeTransportLayer } from '@openai/agents-realtime';
import type { Clock } from './clock.js';
import type { MediaConnection, WebSocketLike } from './connection.js';
import type { AudioFormat, MediaStreamProtocol, ProtocolCapabilities, PeerSimulator } from './types.js';

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

/** What a bridge running outside the harness's process saw of one call, for the checks. */
export type BridgeObservation = {
  /** Every event the transport emitted, in order; `at` is wall-clock time (`Date.now()`). */
  emitted: Array<{ at: number; name: string; args: unknown[] }>;
  /** When the transport emitted `call_end` (wall-clock ms). */
  callEndedAt?: number;
  /** The transport's `status` after the call. */
  transportStatus: string;
  /** Listeners the transport left on the carrier socket after the call. */
  carrierListenersLeft: number;
  metrics?: Record<string, unknown>;
  /** Errors the bridge itself ran into (not the transport's `error` events). */
  failures: string[];
};

/** One call on a bridge that runs outside the harness's process (a Worker in workerd, a server). */
export interface RemoteBridgeCall {
  /** Where the carrier side (the harness's caller) opens its media WebSocket. */
  readonly mediaUrl: string;
  /** What the bridge observed; resolves once the call ended there, or with what it has after `timeoutMs`. */
  observe(timeoutMs: number): Promise<BridgeObservation>;
}

/**
 * What a telephony adapter exports so the conformance harness can test it: a factory for its
 * transport and the carrier side of its protocol. `@switchboard/twilio` exports one as
 * `conformance`; a third-party adapter does the same. An adapter whose bridge cannot run inside
 * the harness's Node process (a Cloudflare Worker) gives `startRemoteCall` instead of
 * `createTransport`: the harness then drives the call over the network and reads back what the
 * bridge observed.
 */
export interface ConformanceAdapter {
  readonly name: string;
  readonly capabilities: ProtocolCapabilities;
  /** True when the carrier speaks Twilio Media Streams JSON: traces are then replayed frame for frame. */
  readonly twilioFrames?: boolean;
  /**
   * The wire dialect whose recorded frames this adapter's bridge reads verbatim (a trace header's
   * `carrier`): `'twilio'` for an adapter with `twilioFrames`, `'telnyx'` for Telnyx, and so on. A
   * trace of another carrier than Twilio replays only through an adapter with the same
   * `traceCarrier`; through any other, each of its checks is n/a.
   */
  readonly traceCarrier?: string;
  /**
   * A decoder of this carrier's frames (a fresh protocol instance), so that the harness can read
   * the facts of a trace recorded in this carrier's format (`traceCarrier`).
   */
  createProtocol?(): MediaStreamProtocol;
  /**
   * The audio format on the carrier's wire in a conformance run, when it is not the traces' own
   * (μ-law 8 kHz). The peer simulator then converts the traces' audio into it, and the harness
   * reads the bridge's audio in it.
   */
  readonly carrierFormat?: AudioFormat;
  /**
   * Whether the carrier's wire carries a stream id of its own (Twilio's `streamSid`). Default
   * true. When false (Vonage, jambonz), `call_start.streamId` need only be present.
   */
  readonly carriesStreamId?: boolean;
  /**
   * Whether the carrier's media frames carry timestamps (Twilio's `media.timestamp`). Default
   * true. A carrier without them streams audio in real time, silence included, so where a trace's
   * timestamps jump the harness sends silence in real time instead of nothing.
   */
  readonly mediaTimestamps?: boolean;
  /**
   * Whether the carrier's media frames carry a sequence number (Twilio's `media.chunk`, RTP's
   * sequence). Default true. A carrier without one sends over a single ordered connection and
   * cannot deliver media out of order, so the harness sends a trace's out-of-order media in order.
   */
  readonly mediaSequence?: boolean;
  createTransport?(options: AdapterTransportOptions): RealtimeTransportLayer;
  /**
   * Starts one call on an out-of-process bridge whose model endpoint is `modelUrl` (the realtime
   * simulator's), replaying at `speed` (its clock should run that much faster). `turnDetection`
   * is the turn detection the bridge's session should run (default `server_vad`): `server_vad`
   * with `interruptResponse: false` (the bridge cancels the reply at a barge-in),
   * `server_vad_interrupt` (`server_vad`, the server cancels it) or `semantic_vad` (the server
   * cancels it).
   */
  startRemoteCall?(options: {
    modelUrl: string;
    speed: number;
    turnDetection?: 'server_vad' | 'server_vad_interrupt' | 'semantic_vad';
  }): Promise<RemoteBridgeCall>;
  /** Releases what the adapter started for remote calls (a workerd process). */
  dispose?(): Promise<void>;
  /**
   * The carrier side for a conformance run: `encodeInbound` takes the traces' audio (μ-law 8 kHz)
   * and sends it in {@link carrierFormat}; `decodeOutbound` returns audio in `carrierFormat`.
   */
  createPeerSimulator(): PeerSimulator;
}
