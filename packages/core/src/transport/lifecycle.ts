import { systemClock } from '../clock.js';
import type { MediaConnection, MediaFrame } from '../connection.js';
import { logger } from '../log.js';
import type { ResolvedOptions } from './options.js';

const log = logger('core');

/** What the lifecycle needs from the transport it belongs to. */
export interface LifecycleHost {
  readonly connection: MediaConnection;
  onFrame(frame: MediaFrame): void;
  onCarrierClose(code?: number, reason?: string): void;
  onCarrierError(error: unknown): void;
  /** The carrier sent nothing (no frame, no pong) for the idle timeout. */
  onCarrierIdle(quietMs: number): void;
  /** Whether the carrier has started the call (its `call_start`). */
  callStarted(): boolean;
  /** The carrier's socket was open for the start timeout and never started a call. */
  onNoCallStart(waitedMs: number): void;
  /**
   * True while the carrier socket has not arrived yet (a pre-warmed call waiting for its stream):
   * the idle timeout counts from the stream's arrival, not from the transport's creation.
   */
  awaitingStream?(): boolean;
  /** The model did not finish connecting (socket and `session.created`) in time: ends the call, returns why. */
  onModelConnectTimeout(timeoutMs: number): Error;
  /** The error a pending `connect()` fails with when the call ends first. */
  callEnded(): Error;
  emitError(error: unknown): void;
}

export type LifecycleOptions = Pick<
  ResolvedOptions,
  'modelConnectTimeoutMs' | 'carrierIdleTimeoutMs' | 'pingIntervalMs' | 'carrierStartTimeoutMs'
>;

/**
 * A call's life on its carrier socket: the listeners (the error listener stays until the socket
 * really closed, so an error while it closes is never an uncaught exception), the carrier idle
 * timeout with WebSocket pings where the socket can send them, and the model connection deadline.
 * Every timer here runs on the wall clock: they guard against real sockets going quiet.
 */
export class CallLifecycle {
  readonly #host: LifecycleHost;
  readonly #options: LifecycleOptions;
  #ended = false;
  #detachFrames: Array<() => void> = [];
  #detachRest: Array<() => void> = [];

  #idleMs: number | null;
  #idleTimer: unknown;
  #lastActivity = systemClock.now();
  #pingTimer: unknown;
  #connectTimer: unknown;
  #startTimer: unknown;
  #modelWaiter: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(host: LifecycleHost, options: LifecycleOptions) {
    this.#host = host;
    this.#options = options;
    this.#idleMs = options.carrierIdleTimeoutMs;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Listens to the carrier socket and starts the idle timeout. */
  attach(): void {
    const { connection } = this.#host;
    this.#detachFrames.push(
      connection.onMessage((frame) => {
        this.#lastActivity = systemClock.now();
        this.#host.onFrame(frame);
      }),
    );
    this.#detachRest.push(
      connection.onClose((code, reason) => {
        this.#detachAll();
        try {
          this.#host.onCarrierClose(code, reason);
        } catch (error) {
          this.#host.emitError(error);
        }
      }),
      connection.onError((error) => {
        if (this.#ended) {
          // The call is over and the socket is going away: nothing to tell anyone.
          log('carrier socket error after the call ended: %s', (error as Error)?.message ?? error);
          return;
        }
        this.#host.onCarrierError(error);
      }),
    );
    if (connection.onPong) this.#detachRest.push(connection.onPong(() => (this.#lastActivity = systemClock.now())));
    this.#armIdle(this.#idleMs ?? 0);
    this.#armPing();
    this.#armStart(this.#options.carrierStartTimeoutMs);
  }

  /**
   * A socket that never starts a call (a scanner, a misrouted client that answers pings) would hold
   * its socket and the model session for ever: it has `carrierStartTimeoutMs` from its arrival.
   */
  #armStart(limit: number | null): void {
    if (limit === null || this.#ended) return;
    this.#startTimer = systemClock.setTimeout(() => {
      this.#startTimer = undefined;
      if (this.#ended || this.#host.callStarted()) return;
      // A pre-warmed call's deadline counts from its stream's arrival.
      if (this.#host.awaitingStream?.()) return this.#armStart(limit);
      // Timers run before the I/O that arrived while this process stalled: read that first.
      this.#startTimer = systemClock.setTimeout(() => {
        this.#startTimer = undefined;
        if (!this.#ended && !this.#host.callStarted()) this.#host.onNoCallStart(limit);
      }, 0);
    }, limit);
  }

  /**
   * Changes the carrier idle timeout for the rest of the call (`null`: none), counting from the
   * last frame: a SIP call on hold, whose peer may send no media for a while, is the use.
   */
  setIdleTimeout(timeoutMs: number | null): void {
    this.#idleMs = timeoutMs;
    this.#clearIdle();
    if (!this.#ended)
      this.#armIdle(timeoutMs === null ? 0 : Math.max(0, timeoutMs - (systemClock.now() - this.#lastActivity)));
  }

  /**
   * `connect()` started: the model has `modelConnectTimeoutMs` to open and send `session.created`.
   * The promise settles when it did (or at once without a deadline), and rejects when the deadline
   * passed or the call ended first.
   */
  startModelDeadline(): Promise<void> {
    const ms = this.#options.modelConnectTimeoutMs;
    this.#settleModel();
    if (ms === null || this.#ended) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#modelWaiter = { resolve, reject };
      this.#connectTimer = systemClock.setTimeout(() => {
        this.#connectTimer = undefined;
        if (this.#ended) return;
        // Ends the call, which settles the waiter with the call's end; the deadline's own error wins.
        const waiter = this.#modelWaiter;
        this.#modelWaiter = undefined;
        const error = this.#host.onModelConnectTimeout(ms);
        waiter?.reject(error);
      }, ms);
    });
  }

  /** The model session is set up (`session.created`). */
  modelReady(): void {
    this.#settleModel();
  }

  /** Whether `connect()` waits for the model's `session.created`. */
  get awaitingModel(): boolean {
    return this.#modelWaiter !== undefined;
  }

  #settleModel(error?: Error): void {
    this.#clearConnect();
    const waiter = this.#modelWaiter;
    this.#modelWaiter = undefined;
    if (!waiter) return;
    if (error) waiter.reject(error);
    else waiter.resolve();
  }

  /**
   * The call ended: stops every timer and the frame listener. Returns false when it had already
   * ended. The close and error listeners stay until the socket reports its close.
   */
  end(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    this.#clearIdle();
    this.#clearStart();
    if (this.#modelWaiter) this.#settleModel(this.#host.callEnded());
    this.#clearConnect();
    if (this.#pingTimer !== undefined) {
      systemClock.clearTimeout(this.#pingTimer);
      this.#pingTimer = undefined;
    }
    for (const detach of this.#detachFrames.splice(0)) safeDetach(detach);
    return true;
  }

  /** The socket closed (or will never report it): drop every listener. */
  #detachAll(): void {
    for (const detach of this.#detachFrames.splice(0)) safeDetach(detach);
    for (const detach of this.#detachRest.splice(0)) safeDetach(detach);
  }

  /** The socket is gone for good without a close event to wait for. */
  release(): void {
    if (this.#host.connection.closed && this.#ended) this.#detachAll();
  }

  #armIdle(delayMs: number): void {
    const limit = this.#idleMs;
    if (limit === null || this.#ended) return;
    this.#idleTimer = systemClock.setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#ended || this.#idleMs !== limit) return;
      if (this.#host.awaitingStream?.()) {
        this.#lastActivity = systemClock.now();
        this.#armIdle(limit);
        return;
      }
      const quiet = systemClock.now() - this.#lastActivity;
      if (quiet < limit) {
        this.#armIdle(limit - quiet);
        return;
      }
      // Timers run before the I/O that arrived while this process stalled: read that first.
      this.#idleTimer = systemClock.setTimeout(() => {
        this.#idleTimer = undefined;
        if (this.#ended || this.#idleMs !== limit) return;
        const quietNow = systemClock.now() - this.#lastActivity;
        if (quietNow < limit) this.#armIdle(limit - quietNow);
        else this.#host.onCarrierIdle(quietNow);
      }, 0);
    }, delayMs);
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) {
      systemClock.clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }

  #clearStart(): void {
    if (this.#startTimer !== undefined) {
      systemClock.clearTimeout(this.#startTimer);
      this.#startTimer = undefined;
    }
  }

  #clearConnect(): void {
    if (this.#connectTimer !== undefined) {
      systemClock.clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
    }
  }

  #armPing(): void {
    const interval = this.#options.pingIntervalMs;
    const connection = this.#host.connection;
    if (interval === null || !connection.ping || this.#ended) return;
    this.#pingTimer = systemClock.setTimeout(() => {
      this.#pingTimer = undefined;
      if (this.#ended) return;
      // Only while the line is quiet: frames already show the carrier is there.
      if (systemClock.now() - this.#lastActivity >= interval && !connection.closed) {
        try {
          connection.ping!();
        } catch (error) {
          log('ping failed: %s', (error as Error)?.message ?? error);
        }
      }
      this.#armPing();
    }, interval);
  }
}

function safeDetach(detach: () => void): void {
  try {
    detach();
  } catch {
    // A socket that cannot remove a listener is going away anyway.
  }
}
