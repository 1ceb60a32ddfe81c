/**
 * Remembering which webhook deliveries and calls were already handled, so that a retried or
 * duplicated `realtime.call.incoming` is accepted and attached once.
 */
import { ConfigError } from '@switchboard/core';

/**
 * A set of recently seen keys. `claim` must be atomic: of two concurrent claims of one key,
 * exactly one gets `true`. Implement it over Redis (`SET key 1 NX PX ttl`) or a database to
 * share it between server instances.
 */
export interface OpenAISipDedupStore {
  /** Records `key`; `true` when it was not already present (the caller goes ahead). */
  claim(key: string): boolean | Promise<boolean>;
  /** Forgets `key`, so that a retry of a delivery that failed can be handled. */
  release(key: string): void | Promise<void>;
}

export type OpenAISipMemoryDedupStoreOptions = {
  /** Most keys kept; the oldest are forgotten first. Default 10 000. */
  maxEntries?: number;
  /** How long a key is kept, in ms. Default 15 minutes (a pending SIP call is long gone by then). */
  ttlMs?: number;
  /** Clock, in ms. Default `Date.now`. */
  now?: () => number;
};

const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_TTL_MS = 15 * 60_000;

/** An in-process {@link OpenAISipDedupStore}, bounded in size and age. */
export class OpenAISipMemoryDedupStore implements OpenAISipDedupStore {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: OpenAISipMemoryDedupStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new ConfigError('OpenAISipMemoryDedupStore: maxEntries must be a positive integer');
    }
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new ConfigError('OpenAISipMemoryDedupStore: ttlMs must be a positive number');
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new ConfigError('OpenAISipMemoryDedupStore: now must be a function');
    }
    this.#maxEntries = maxEntries;
    this.#ttlMs = ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** Keys currently remembered (expired ones included until the next claim sweeps them). */
  get size(): number {
    return this.#entries.size;
  }

  claim(key: string): boolean {
    const now = this.#now();
    this.#sweep(now);
    const expires = this.#entries.get(key);
    if (expires !== undefined && expires > now) return false;
    this.#entries.delete(key);
    this.#entries.set(key, now + this.#ttlMs);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    return true;
  }

  release(key: string): void {
    this.#entries.delete(key);
  }

  has(key: string): boolean {
    const expires = this.#entries.get(key);
    return expires !== undefined && expires > this.#now();
  }

  /** Entries are in insertion order and share one ttl, so the expired ones are at the front. */
  #sweep(now: number): void {
    for (const [key, expires] of this.#entries) {
      if (expires > now) break;
      this.#entries.delete(key);
    }
  }
}
