/**
 * Replay protection for webhooks whose signature carries no time.
 *
 * Several carriers sign a webhook's URL and parameters (and sometimes a random nonce) but no
 * timestamp: a captured request replays verbatim and verifies for ever, so it cannot be refused for
 * being old. A {@link ReplayGuard} remembers every delivery it accepted for a while (`ttlMs`) and
 * refuses the same delivery a second time. Carrier packages feed it a key only once the request's
 * signature verified, so forged requests never fill the store.
 *
 * The default store lives in memory, bounded in time and size: it protects one process. Behind a
 * load balancer, give every instance the same {@link NonceStore} backed by a shared database (with
 * Redis: `SET <prefix><key> 1 NX PX <ttlMs>`, new when the answer is `OK`; `DEL` to forget).
 *
 * Plain JavaScript only (`Map`, `Date.now`): it runs on Node and in Cloudflare Workers.
 */
import { ConfigError } from './errors.js';

/** Where a {@link ReplayGuard} remembers the deliveries it accepted. */
export interface NonceStore {
  /**
   * Remembers `key` for `ttlMs` and says whether it was new: `true` the first time, `false` when
   * the key is already remembered and has not expired. Must be atomic when several processes
   * share the store (two concurrent calls with one key: exactly one gets `true`).
   */
  remember(key: string, ttlMs: number): boolean | Promise<boolean>;
  /** Forgets `key`, so the next `remember(key)` is new again. Optional: needed by {@link ReplayGuard.forget}. */
  forget?(key: string): void | Promise<void>;
}

/** Default time a delivery is remembered: one hour. */
export const REPLAY_DEFAULT_TTL_MS = 60 * 60 * 1000;
/** Default number of deliveries the in-memory store holds: 10 000. */
export const REPLAY_DEFAULT_MAX_ENTRIES = 10_000;

export type MemoryNonceStoreOptions = {
  /** Most keys held at once; the oldest is forgotten first when it is full. Default 10 000. */
  maxEntries?: number;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
};

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`replay guard: ${name} must be a positive integer`);
  }
  return value;
}

/**
 * An in-memory {@link NonceStore} for one process: keys expire after their TTL, and when
 * `maxEntries` keys are held the oldest is forgotten first (so a burst of more deliveries than
 * that within the TTL shortens the protection of the oldest ones).
 */
export class MemoryNonceStore implements NonceStore {
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Key → expiry (ms). Insertion order is remembering order. */
  readonly #expiries = new Map<string, number>();

  constructor(options: MemoryNonceStoreOptions = {}) {
    this.#maxEntries = positiveInteger(options.maxEntries ?? REPLAY_DEFAULT_MAX_ENTRIES, 'maxEntries');
    if (options.now !== undefined && typeof options.now !== 'function')
      throw new ConfigError('replay guard: now must be a function');
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

  forget(key: string): void {
    this.#expiries.delete(key);
  }

  /** Forgets expired keys from the oldest on, stopping at the first live one. */
  #sweep(now: number): void {
    for (const [key, expiry] of this.#expiries) {
      if (expiry > now) break;
      this.#expiries.delete(key);
    }
  }
}

export type ReplayGuardOptions = {
  /** How long a delivery is remembered, in ms. Default one hour. */
  ttlMs?: number;
  /** Where deliveries are remembered. Default a {@link MemoryNonceStore} of 10 000 entries. */
  store?: NonceStore;
  /** Prepended to every key, to share one store between several applications. Default none. */
  keyPrefix?: string;
};

/**
 * Refuses a delivery seen before. Carrier packages take it as a `replayGuard` option of their
 * signature checks (Twilio, SignalWire, Plivo), which call {@link check} once the signature
 * verified. Use one guard per process (or one shared store across processes), and check each
 * request once: the second check of the same request is a replay.
 */
export class ReplayGuard {
  readonly #ttlMs: number;
  readonly #store: NonceStore;
  readonly #prefix: string;

  constructor(options: ReplayGuardOptions = {}) {
    if (typeof options !== 'object' || options === null)
      throw new ConfigError('replay guard: options must be an object');
    this.#ttlMs = positiveInteger(options.ttlMs ?? REPLAY_DEFAULT_TTL_MS, 'ttlMs');
    const store = options.store ?? new MemoryNonceStore();
    if (typeof store !== 'object' || store === null || typeof store.remember !== 'function') {
      throw new ConfigError('replay guard: store must have a remember(key, ttlMs) method');
    }
    if (store.forget !== undefined && typeof store.forget !== 'function')
      throw new ConfigError('replay guard: store.forget must be a method');
    this.#store = store;
    const prefix = options.keyPrefix ?? '';
    if (typeof prefix !== 'string') throw new ConfigError('replay guard: keyPrefix must be a string');
    this.#prefix = prefix;
  }

  /** How long a delivery is remembered, in ms. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /**
   * Records the delivery identified by `key` (a verified signature, or whatever the carrier makes
   * unique). Resolves `true` the first time, `false` for a replay within `ttlMs`. A key that is not
   * a non-empty string identifies no delivery and is never new: it resolves `false`, and the store
   * is not asked. A key longer than {@link REPLAY_MAX_KEY_LENGTH} characters is remembered as its
   * SHA-256 (`sha256:` and 64 hex digits), so a store holds at most that much per delivery.
   */
  async check(key: string): Promise<boolean> {
    const stored = await this.#key(key);
    if (stored === undefined) return false;
    return (await this.#store.remember(stored, this.#ttlMs)) === true;
  }

  /**
   * Forgets a delivery accepted by {@link check}, so the carrier's retry of it is accepted: call it
   * when handling the request failed. Needs a store with a `forget` method (the in-memory one has
   * it); a `ConfigError` otherwise. A key {@link check} would refuse is not looked up.
   */
  async forget(key: string): Promise<void> {
    const forget = this.#store.forget;
    if (forget === undefined) throw new ConfigError('replay guard: the store has no forget(key) method');
    const stored = await this.#key(key);
    if (stored === undefined) return;
    await forget.call(this.#store, stored);
  }

  /** The key as the store sees it: prefixed, long keys hashed; undefined for a key that is none. */
  async #key(key: unknown): Promise<string | undefined> {
    if (typeof key !== 'string' || key.length === 0) return undefined;
    const text = key.length > REPLAY_MAX_KEY_LENGTH ? await sha256Key(key) : key;
    return this.#prefix + text;
  }
}

/**
 * Longest key a {@link ReplayGuard} hands its store as it is: 256 characters. Carrier keys (a
 * signature, a nonce and a signature) are far shorter; a longer one is stored as its SHA-256.
 */
export const REPLAY_MAX_KEY_LENGTH = 256;

const keyEncoder = new TextEncoder();

async function sha256Key(key: string): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', keyEncoder.encode(key)));
  let hex = 'sha256:';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/**
 * Throws a `ConfigError` unless `guard` is `undefined` or a {@link ReplayGuard} (anything with a
 * `check(key)` method, so a guard from another copy of this package is accepted too). For carrier
 * packages that take a `replayGuard` option; `where` prefixes the message (e.g. `Plivo signature`).
 */
export function assertReplayGuardOption(guard: unknown, where?: string): asserts guard is ReplayGuard | undefined {
  if (guard === undefined) return;
  const g = guard as Partial<ReplayGuard> | null;
  if (typeof g !== 'object' || g === null || typeof g.check !== 'function') {
    throw new ConfigError(
      `${where === undefined ? '' : `${where}: `}replayGuard must be a ReplayGuard from @switchboard/core`,
    );
  }
}
