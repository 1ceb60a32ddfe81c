/**
 * Pre-warm: open and configure the model session for a call when the carrier's voice webhook
 * arrives, and hand it the media stream when the stream connects. The model handshake (hundreds
 * of ms) then happens while the carrier still sets up the call, not after the caller is on.
 *
 * ```ts
 * const pool = new PrewarmPool({
 *   create: ({ connection }) => {
 *     const transport = new TwilioRealtimeTransport({ connection });
 *     const session = new RealtimeSession(agent, { transport });
 *     session.connect({ apiKey }).catch(() => undefined);
 *     return { transport, session };
 *   },
 * });
 * // voice webhook: pool.warm(CallSid)
 * // media route:   const result = await pool.accept(socket, new TwilioProtocol())
 * ```
 */
import type { MediaConnection, WebSocketLike } from '../connection.js';
import { ConfigError, SwitchboardError } from '../errors.js';
import { systemClock } from '../clock.js';
import { logger } from '../log.js';
import type { MediaStreamProtocol } from '../types.js';
import { pipeStream } from './forward.js';
import { PendingMediaConnection } from './pending-connection.js';
import { readStart } from './read-start.js';
import type { PrewarmOwner } from './registry.js';
import type {
  PrewarmAcceptResult,
  PrewarmedCall,
  PrewarmErrorContext,
  PrewarmPoolOptions,
  PrewarmStats,
} from './types.js';

const log = logger('prewarm');

/** Why a warmed call that no stream claimed in time ended. */
export const PREWARM_UNCLAIMED_REASON = 'prewarm_unclaimed';
/** Why a warmed call ended whose `create` settled only after its stream had gone cold. */
export const PREWARM_CREATE_TIMEOUT_REASON = 'prewarm_create_timeout';
/** Defaults: `claimTimeoutMs`, `maxPending`, `createTimeoutMs`, and `accept()`'s `timeoutMs`. */
export const PREWARM_DEFAULTS = {
  claimTimeoutMs: 15_000,
  maxPending: 1_000,
  createTimeoutMs: 5_000,
  acceptTimeoutMs: 10_000,
} as const;
/** Claimed call ids remembered, so a webhook retried after its stream arrived does not warm again. */
const RECENT_CLAIMS = 1_000;
const MAX_TIMER_MS = 2_147_483_647;

type Entry<C> = {
  readonly callId: string;
  readonly connection: PendingMediaConnection;
  readonly ready: Promise<C | undefined>;
  call: C | undefined;
  timer: unknown;
  state: 'waiting' | 'claimed' | 'ended';
  endReason?: string;
};

/** Pre-warmed calls of one instance, waiting for their media streams. */
export class PrewarmPool<C extends PrewarmedCall> {
  readonly #options: PrewarmPoolOptions<C>;
  readonly #claimTimeoutMs: number;
  readonly #createTimeoutMs: number;
  readonly #maxPending: number;
  readonly #entries = new Map<string, Entry<C>>();
  readonly #recentClaims = new Set<string>();
  readonly #stats: PrewarmStats = {
    warmed: 0,
    claimed: 0,
    unclaimed: 0,
    endedWaiting: 0,
    refused: 0,
    forwarded: 0,
    cold: 0,
    failed: 0,
    createTimedOut: 0,
  };
  #closed = false;

  constructor(options: PrewarmPoolOptions<C>) {
    if (!options || typeof options.create !== 'function')
      throw new ConfigError('PrewarmPool needs a `create` function.');
    const claim = options.claimTimeoutMs ?? PREWARM_DEFAULTS.claimTimeoutMs;
    if (!(Number.isFinite(claim) && claim > 0 && claim <= MAX_TIMER_MS))
      throw new ConfigError(`\`claimTimeoutMs\` must be a positive number of ms, got ${String(claim)}.`);
    const create = options.createTimeoutMs ?? PREWARM_DEFAULTS.createTimeoutMs;
    if (!(Number.isFinite(create) && create > 0 && create <= MAX_TIMER_MS))
      throw new ConfigError(`\`createTimeoutMs\` must be a positive number of ms, got ${String(create)}.`);
    const maxPending = options.maxPending ?? PREWARM_DEFAULTS.maxPending;
    if (!(Number.isSafeInteger(maxPending) && maxPending > 0))
      throw new ConfigError(`\`maxPending\` must be a positive integer, got ${String(maxPending)}.`);
    if (options.registry && !options.instance)
      throw new ConfigError('A PrewarmPool with a `registry` needs its `instance` ({ id, url }).');
    if (options.instance && !(nonEmpty(options.instance.id) && nonEmpty(options.instance.url)))
      throw new ConfigError('`instance` needs a non-empty `id` and `url`.');
    if (options.connectTo !== undefined && typeof options.connectTo !== 'function')
      throw new ConfigError('`connectTo` must be a function.');
    this.#options = options;
    this.#claimTimeoutMs = claim;
    this.#createTimeoutMs = create;
    this.#maxPending = maxPending;
  }

  /** A snapshot of the counters. */
  get stats(): PrewarmStats {
    return { ...this.#stats };
  }

  /** Warmed calls waiting for their stream. */
  get pending(): number {
    return this.#entries.size;
  }

  /**
   * At the voice webhook: builds the call (through `create`) on a {@link PendingMediaConnection},
   * and registers this instance as its owner when a registry is set. A call id already warm (a
   * retried webhook) is left as it is. Never throws: failures are counted and go to `onError`.
   */
  warm(callId: string, data?: unknown): void {
    if (this.#closed || !nonEmpty(callId) || this.#entries.size >= this.#maxPending) {
      this.#stats.refused++;
      log('warm refused (%s)', this.#closed ? 'pool closed' : !nonEmpty(callId) ? 'no call id' : 'too many pending');
      return;
    }
    if (this.#entries.has(callId) || this.#recentClaims.has(callId)) return;
    this.#stats.warmed++;
    const connection = new PendingMediaConnection();
    let created: C | Promise<C>;
    try {
      created = this.#options.create({ callId, connection, data });
    } catch (error) {
      created = Promise.reject(error);
    }
    const entry: Entry<C> = {
      callId,
      connection,
      call: undefined,
      timer: undefined,
      state: 'waiting',
      ready: Promise.resolve(created).then(
        (call) => this.#created(entry, call),
        (error) => this.#createFailed(entry, error),
      ),
    };
    this.#entries.set(callId, entry);
    entry.timer = systemClock.setTimeout(() => this.#unclaimed(entry), this.#claimTimeoutMs);
    const { registry, instance } = this.#options;
    if (registry && instance) {
      this.#run(() => registry.register(callId, { id: instance.id, url: instance.url }, this.#claimTimeoutMs), {
        callId,
        stage: 'registry',
      });
    }
  }

  /**
   * At the media route: reads the stream's frames with `protocol` (a fresh instance, used only to
   * find the start) until the call's start, then hands the stream to the call warmed here
   * (`prewarmed`), pipes it to the instance that warmed it (`forwarded`), or returns it for a
   * transport created as usual (`cold`, with a connection that replays the frames read). A call
   * whose `create` has not settled is waited for at most `createTimeoutMs`; then the stream goes
   * cold, and the call is ended when it is built (`prewarm_create_timeout`). Rejects
   * with a {@link ProtocolDetectionError} when the socket closes, sends a frame `protocol` cannot
   * read, or no start arrives within `timeoutMs` (default 10 000); the socket is then yours to close.
   */
  async accept(
    socket: MediaConnection | WebSocketLike,
    protocol: MediaStreamProtocol,
    options: { timeoutMs?: number } = {},
  ): Promise<PrewarmAcceptResult<C>> {
    const { callId, connection } = await readStart(
      socket,
      protocol,
      options.timeoutMs ?? PREWARM_DEFAULTS.acceptTimeoutMs,
    );
    const entry = callId === undefined ? undefined : this.#entries.get(callId);
    if (callId !== undefined && entry && entry.state === 'waiting' && !entry.connection.closed) {
      this.#claim(entry);
      // Until the call is built, the stream's frames wait in `connection` (early media kept).
      const call = await this.#built(entry);
      // Built, and not ended meanwhile (its model failed, say): the stream is the call's.
      if (call && !entry.connection.closed) {
        entry.connection.attach(connection);
        return { kind: 'prewarmed', callId, call };
      }
      this.#stats.cold++;
      return { kind: 'cold', callId, connection };
    }
    if (callId !== undefined && entry) this.#drop(entry);
    const { registry, instance, connectTo } = this.#options;
    if (callId !== undefined && registry && instance && !entry) {
      let owner: PrewarmOwner | undefined;
      try {
        owner = await registry.take(callId);
      } catch (error) {
        this.#report(error, { callId, stage: 'registry' });
      }
      if (owner && owner.id !== instance.id) {
        if (!connectTo) {
          log('call %s was warmed on %s, but no `connectTo` to forward it', callId, owner.id);
        } else {
          try {
            pipeStream(connection, connectTo(owner.url));
            this.#stats.forwarded++;
            return { kind: 'forwarded', callId, owner };
          } catch (error) {
            this.#report(error, { callId, stage: 'forward' });
          }
        }
      }
    }
    this.#stats.cold++;
    return { kind: 'cold', callId, connection };
  }

  /**
   * Ends every warmed call not yet claimed (`reason`, default `shutdown`; a call `create` is still
   * building is ended when it is built); later `warm()` calls are refused.
   */
  close(reason = 'shutdown'): Promise<void> {
    this.#closed = true;
    for (const entry of [...this.#entries.values()]) this.#end(entry, reason);
    return Promise.resolve();
  }

  #claim(entry: Entry<C>): void {
    entry.state = 'claimed';
    this.#clearTimer(entry);
    this.#entries.delete(entry.callId);
    this.#recentClaims.add(entry.callId);
    if (this.#recentClaims.size > RECENT_CLAIMS)
      this.#recentClaims.delete(this.#recentClaims.values().next().value as string);
    this.#stats.claimed++;
    // The shared record is no longer needed; it would expire anyway.
    const registry = this.#options.registry;
    if (registry) this.#run(() => registry.take(entry.callId), { callId: entry.callId, stage: 'registry' });
  }

  /**
   * The claimed call of `entry` once `create` settled (undefined: it failed), waiting at most
   * `createTimeoutMs`; a call built later is ended as it is built.
   */
  #built(entry: Entry<C>): Promise<C | undefined> {
    if (entry.call) return Promise.resolve(entry.call);
    return new Promise<C | undefined>((resolve) => {
      const timer = systemClock.setTimeout(() => {
        if (entry.state !== 'claimed') return;
        entry.state = 'ended';
        entry.endReason = PREWARM_CREATE_TIMEOUT_REASON;
        this.#stats.createTimedOut++;
        this.#report(
          new SwitchboardError(
            PREWARM_CREATE_TIMEOUT_REASON,
            `The warmed call was not built within ${this.#createTimeoutMs} ms of its stream's start; the stream goes cold.`,
          ),
          { callId: entry.callId, stage: 'create' },
        );
        resolve(undefined);
      }, this.#createTimeoutMs);
      void entry.ready.then((call) => {
        systemClock.clearTimeout(timer);
        resolve(entry.state === 'claimed' ? call : undefined);
      });
    });
  }

  #created(entry: Entry<C>, call: C): C | undefined {
    if (!call || typeof call !== 'object' || !call.transport || typeof call.transport.end !== 'function') {
      return this.#createFailed(entry, new ConfigError('PrewarmPool `create` must return an object with `transport`.'));
    }
    entry.call = call;
    if (entry.state === 'ended') endCall(call, entry.endReason ?? PREWARM_UNCLAIMED_REASON);
    // A call that ends on its own while it waits (a drain, a failed model connection) no longer
    // waits: it leaves the pending calls at once, counted apart from the ones no stream claimed.
    else if (entry.state === 'waiting')
      call.transport.on('call_end', () => {
        if (entry.state !== 'waiting') return;
        this.#stats.endedWaiting++;
        log('call %s ended before its stream came', entry.callId);
        this.#drop(entry);
      });
    return call;
  }

  #createFailed(entry: Entry<C>, error: unknown): undefined {
    this.#stats.failed++;
    this.#report(error, { callId: entry.callId, stage: 'create' });
    if (entry.state === 'waiting') this.#drop(entry);
    return undefined;
  }

  #unclaimed(entry: Entry<C>): void {
    entry.timer = undefined;
    if (entry.state !== 'waiting') return;
    this.#stats.unclaimed++;
    log('call %s: no stream within %d ms', entry.callId, this.#claimTimeoutMs);
    this.#end(entry, PREWARM_UNCLAIMED_REASON);
  }

  #end(entry: Entry<C>, reason: string): void {
    if (entry.state !== 'waiting') return;
    this.#drop(entry);
    entry.endReason = reason;
    if (entry.call) endCall(entry.call, reason);
    // Not created yet: ended when `create` settles. The pending connection refuses a late stream.
    else entry.connection.close(1000, reason);
  }

  /** Forgets `entry` (it ended, or its call can no longer take a stream). */
  #drop(entry: Entry<C>): void {
    if (entry.state === 'waiting') entry.state = 'ended';
    this.#clearTimer(entry);
    if (this.#entries.get(entry.callId) === entry) this.#entries.delete(entry.callId);
  }

  #clearTimer(entry: Entry<C>): void {
    if (entry.timer !== undefined) {
      systemClock.clearTimeout(entry.timer);
      entry.timer = undefined;
    }
  }

  #run(fn: () => unknown, context: PrewarmErrorContext): void {
    try {
      Promise.resolve(fn()).catch((error: unknown) => this.#report(error, context));
    } catch (error) {
      this.#report(error, context);
    }
  }

  #report(error: unknown, context: PrewarmErrorContext): void {
    log('%s failed for call %s: %s', context.stage, context.callId, (error as Error)?.message ?? error);
    try {
      this.#options.onError?.(error, context);
    } catch (listenerError) {
      log('onError threw: %s', (listenerError as Error)?.message);
    }
  }
}

function endCall(call: PrewarmedCall, reason: string): void {
  try {
    call.transport.end(reason);
  } catch (error) {
    log('ending a warmed call failed: %s', (error as Error)?.message);
  }
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
