/** The pre-warm pool's options, results and counters. */
import type { MediaConnection, WebSocketLike } from '../connection.js';
import type { TelephonyRealtimeTransport } from '../transport.js';
import type { PendingMediaConnection } from './pending-connection.js';
import type { PrewarmOwner, PrewarmRegistry } from './registry.js';

/** What the application's `create` returns: at least the transport; usually the session too. */
export interface PrewarmedCall {
  readonly transport: TelephonyRealtimeTransport;
}

/** Where a pool failure happened, for `onError`. */
export type PrewarmErrorContext = { callId: string | undefined; stage: 'create' | 'registry' | 'forward' };

export type PrewarmPoolOptions<C extends PrewarmedCall> = {
  /**
   * Called by `warm()`: build the transport on `connection` and the session, and start
   * `session.connect()` (catch its rejection: the pool does not wait for it). May return a promise;
   * `accept()` waits for it (at most `createTimeoutMs`) when the stream comes first, so do not wait
   * for the model in it.
   */
  create: (request: { callId: string; connection: PendingMediaConnection; data: unknown }) => C | Promise<C>;
  /** A warmed call no stream claims within this many ms is ended (`prewarm_unclaimed`). Default 15 000. */
  claimTimeoutMs?: number;
  /**
   * How long `accept()` waits for the `create` of the call a stream claims, when it has not
   * settled yet. Beyond it the stream goes cold (its frames kept for the transport you create),
   * `stats.createTimedOut` counts it, `onError` is told (stage `create`), and the call is ended
   * when `create` returns it (`prewarm_create_timeout`). Default 5 000.
   */
  createTimeoutMs?: number;
  /** Most warmed calls waiting for their stream; beyond it `warm()` refuses (counted). Default 1 000. */
  maxPending?: number;
  /** Shared record of which instance warmed which call, when several instances run. Needs `instance`. */
  registry?: PrewarmRegistry;
  /** This instance: its id, and the WebSocket URL of its media route other instances forward streams to. */
  instance?: PrewarmOwner;
  /** Opens a WebSocket to another instance (Node: `(url) => new WebSocket(url)` from `ws`). */
  connectTo?: (url: string) => MediaConnection | WebSocketLike;
  /**
   * Told of every failure the pool absorbs: `create` throwing or rejecting, the registry failing,
   * a forward that could not be opened. Default: logged under `switchboard:prewarm`.
   */
  onError?: (error: unknown, context: PrewarmErrorContext) => void;
};

/** What `accept()` found for a stream. */
export type PrewarmAcceptResult<C> =
  | { kind: 'prewarmed'; callId: string; call: C }
  | { kind: 'forwarded'; callId: string; owner: PrewarmOwner }
  | { kind: 'cold'; callId: string | undefined; connection: MediaConnection };

/** Counters since the pool was created. */
export type PrewarmStats = {
  /** Calls `warm()` started. */
  warmed: number;
  /** Warmed calls whose stream arrived here. */
  claimed: number;
  /** Warmed calls ended because no stream came in time. */
  unclaimed: number;
  /** Warmed calls that ended on their own (a drain, a failed model connection) before their stream came. */
  endedWaiting: number;
  /** `warm()` calls refused (too many pending, a missing call id, the pool closed). */
  refused: number;
  /** Streams piped to the instance that warmed their call. */
  forwarded: number;
  /** Streams for no warmed call (or one that failed): the application creates the transport. */
  cold: number;
  /** `create` calls that threw or rejected. */
  failed: number;
  /** Streams that went cold because the `create` of the call they claimed took over `createTimeoutMs`. */
  createTimedOut: number;
};
