/**
 * Where the instance that pre-warmed a call is written down, for the instance its media stream
 * reaches: behind a load balancer the webhook and the stream may land on different instances.
 * The in-memory registry serves one process (and tests); several instances share one backed by a
 * database (`@switchboard/redis` has one on Redis: `SET PX` to register, `GETDEL` to take).
 */
import { ConfigError } from '../errors.js';

/** An instance holding pre-warmed calls: its id, and the WebSocket URL streams are forwarded to. */
export type PrewarmOwner = { id: string; url: string };

/** Shared across instances: which instance warmed which call. */
export interface PrewarmRegistry {
  /** Records `owner` as the instance holding `callId`, for `ttlMs`. */
  register(callId: string, owner: PrewarmOwner, ttlMs: number): Promise<void> | void;
  /**
   * The owner of `callId`, removed in the same step: of two concurrent takes of one call id, at
   * most one gets the owner. `undefined` when none is recorded (or it expired).
   */
  take(callId: string): Promise<PrewarmOwner | undefined> | PrewarmOwner | undefined;
}

export type MemoryPrewarmRegistryOptions = {
  /** Most calls held at once; the oldest is forgotten first when it is full. Default 10 000. */
  maxEntries?: number;
  /** Clock, ms. Default `Date.now`. */
  now?: () => number;
};

/** An in-memory {@link PrewarmRegistry} for the instances of one process (and tests). */
export class MemoryPrewarmRegistry implements PrewarmRegistry {
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Call id to owner and expiry; insertion order is registration order. */
  readonly #entries = new Map<string, { owner: PrewarmOwner; expires: number }>();

  constructor(options: MemoryPrewarmRegistryOptions = {}) {
    const max = options.maxEntries ?? 10_000;
    if (!(Number.isSafeInteger(max) && max > 0))
      throw new ConfigError(`prewarm registry: \`maxEntries\` must be a positive integer, got ${String(max)}.`);
    if (options.now !== undefined && typeof options.now !== 'function')
      throw new ConfigError('prewarm registry: `now` must be a function.');
    this.#maxEntries = max;
    this.#now = options.now ?? Date.now;
  }

  /** Entries held (expired ones included until they are swept). */
  get size(): number {
    return this.#entries.size;
  }

  register(callId: string, owner: PrewarmOwner, ttlMs: number): void {
    const now = this.#now();
    this.#sweep(now);
    this.#entries.delete(callId);
    this.#entries.set(callId, { owner: { id: owner.id, url: owner.url }, expires: now + ttlMs });
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  take(callId: string): PrewarmOwner | undefined {
    const entry = this.#entries.get(callId);
    if (!entry) return undefined;
    this.#entries.delete(callId);
    return entry.expires > this.#now() ? entry.owner : undefined;
  }

  /** Drops expired entries from the oldest on (expiries only grow with insertion for one TTL). */
  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expires > now) break;
      this.#entries.delete(key);
    }
  }
}
