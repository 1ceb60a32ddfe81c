/**
 * Replay protection for Plivo webhooks.
 *
 * `X-Plivo-Signature-V3` signs the URL, the parameters and a random nonce, but no time: a captured
 * request replays verbatim and verifies forever. A {@link PlivoReplayGuard} remembers every
 * delivery it accepted for a while (`ttlMs`) and refuses a second one carrying the same signed
 * nonce. Deliveries are remembered only after their signature verified, so forged requests never
 * fill the store.
 *
 * The default store lives in memory, bounded in time and size: it protects one process. Behind a
 * load balancer, give every instance the same {@link PlivoNonceStore} backed by a shared database
 * (with Redis: `SET <prefix><key> 1 NX PX <ttlMs>`, new when the answer is `OK`).
 */
import { ConfigError, WebhookSignatureError } from '@switchboard/core';

/** Where a {@link PlivoReplayGuard} remembers the deliveries it accepted. */
export interface PlivoNonceStore {
  /**
   * Remembers `key` for `ttlMs` and says whether it was new: `true` the first time, `false` when
   * the key is already remembered and has not expired. Must be atomic when several processes
   * share the store (two concurrent calls with one key: exactly one gets `true`).
   */
  remember(key: string, ttlMs: number): boolean | Promise<boolean>;
}

/** Default time a delivery is remembered: one hour. */
export const PLIVO_REPLAY_DEFAULT_TTL_MS = 60 * 60 * 1000;
/** Default number of deliveries the in-memory store holds: 10 000. */
export const PLIVO_REPLAY_DEFAULT_MAX_ENTRIES = 10_000;

export type MemoryPlivoNonceStoreOptions = {
  /** Most keys held at once; the oldest is forgotten first when it is full. Default 10 000. */
  maxEntries?: number;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
};

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`Plivo replay guard: ${name} must be a positive integer`);
  }
  return value;
}

/**
 * An in-memory {@link PlivoNonceStore} for one process: keys expire after their TTL, and when
 * `maxEntries` keys are held the oldest is forgotten first (so a burst of more deliveries than
 * that within the TTL shortens the protection of the oldest ones).
 */
export class MemoryPlivoNonceStore implements PlivoNonceStore {
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Key → expiry (ms). Insertion order is remembering order. */
  readonly #expiries = new Map<string, number>();

  constructor(options: MemoryPlivoNonceStoreOptions = {}) {
    this.#maxEntries = positiveInteger(options.maxEntries ?? PLIVO_REPLAY_DEFAULT_MAX_ENTRIES, 'maxEntries');
    if (options.now !== undefined && typeof options.now !== 'function') throw new ConfigError('Plivo replay guard: now must be a function');
    this.#now = options.now ?? Date.now;
  }

  /** How many keys are held (expired ones included until they are swept). */
  get size(): number {
    return this.#expiries.size;
  }

  remember(key: string, ttlMs: number): boolean {
    const now = this.#now();
    this.#sweep(now);
    const expiry = this.#expiries.get(key);
    if (expiry !== undefined && expiry > now) return false;
    this.#expiries.delete(key);
    this.#expiries.set(key, now + ttlMs);
    while (this.#expiries.size > this.#maxEntries) {
      const oldest = this.#expiries.keys().next().value as string;
      this.#expiries.delete(oldest);
    }
    return true;
  }

  /** Forgets expired keys from the oldest on, stopping at the first live one. */
  #sweep(now: number): void {
    for (const [key, expiry] of this.#expiries) {
      if (expiry > now) break;
      this.#expiries.delete(key);
    }
  }
}

export type PlivoReplayGuardOptions = {
  /** How long a delivery is remembered, in ms. Default one hour. */
  ttlMs?: number;
  /** Where deliveries are remembered. Default a {@link MemoryPlivoNonceStore} of 10 000 entries. */
  store?: PlivoNonceStore;
  /** Prepended to every key, to share one store between several applications. Default `plivo:`. */
  keyPrefix?: string;
};

/**
 * Refuses a Plivo webhook delivered a second time. Pass it as `replayGuard` to
 * `assertPlivoSignatureV3` (which then throws a `WebhookSignatureError` saying the request was
 * replayed) or `validatePlivoSignatureV3` (which then returns false). Use one guard per process
 * (or one shared store across processes), and check each request once: the second check of the
 * same request is a replay.
 */
export class PlivoReplayGuard {
  readonly #ttlMs: number;
  readonly #store: PlivoNonceStore;
  readonly #prefix: string;

  constructor(options: PlivoReplayGuardOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('Plivo replay guard: options must be an object');
    this.#ttlMs = positiveInteger(options.ttlMs ?? PLIVO_REPLAY_DEFAULT_TTL_MS, 'ttlMs');
    const store = options.store ?? new MemoryPlivoNonceStore();
    if (typeof store !== 'object' || store === null || typeof store.remember !== 'function') {
      throw new ConfigError('Plivo replay guard: store must have a remember(key, ttlMs) method');
    }
    this.#store = store;
    const prefix = options.keyPrefix ?? 'plivo:';
    if (typeof prefix !== 'string') throw new ConfigError('Plivo replay guard: keyPrefix must be a string');
    this.#prefix = prefix;
  }

  /**
   * Records a delivery whose signature verified, identified by its nonce and the signature that
   * matched it. Resolves `true` the first time, `false` for a replay.
   */
  async accept(nonce: string, signature: string): Promise<boolean> {
    return (await this.#store.remember(`${this.#prefix}${nonce}.${signature}`, this.#ttlMs)) === true;
  }

  /** Like {@link accept}, but throws a `WebhookSignatureError` for a replay. */
  async assertFresh(nonce: string, signature: string): Promise<void> {
    if (!(await this.accept(nonce, signature))) {
      throw new WebhookSignatureError(
        'X-Plivo-Signature-V3-Nonce was already used: the request was replayed (Plivo signs no timestamp, so a repeated nonce is refused)',
      );
    }
  }
}
