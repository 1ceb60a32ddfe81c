/**
 * Replay protection for Plivo webhooks.
 *
 * `X-Plivo-Signature-V3` signs the URL, the parameters and a random nonce, but no time: a captured
 * request replays verbatim and verifies forever. A {@link PlivoReplayGuard} remembers every
 * delivery it accepted for a while (`ttlMs`) and refuses a second one carrying the same signed
 * nonce. Deliveries are remembered only after their signature verified, so forged requests never
 * fill the store.
 *
 * The guard itself is `@switchboard/core`'s {@link ReplayGuard} (the names here are kept for
 * Plivo users): the default store lives in memory and protects one process; behind a load
 * balancer, give every instance the same {@link PlivoNonceStore} backed by a shared database
 * (with Redis: `SET <prefix><key> 1 NX PX <ttlMs>`, new when the answer is `OK`).
 */
import {
  MemoryNonceStore,
  REPLAY_DEFAULT_MAX_ENTRIES,
  REPLAY_DEFAULT_TTL_MS,
  ReplayGuard,
  WebhookSignatureError,
  type MemoryNonceStoreOptions,
  type NonceStore,
  type ReplayGuardOptions,
} from '@switchboard/core';

/** Where a {@link PlivoReplayGuard} remembers the deliveries it accepted: core's `NonceStore`. */
export type PlivoNonceStore = NonceStore;

/** Default time a delivery is remembered: one hour. */
export const PLIVO_REPLAY_DEFAULT_TTL_MS = REPLAY_DEFAULT_TTL_MS;
/** Default number of deliveries the in-memory store holds: 10 000. */
export const PLIVO_REPLAY_DEFAULT_MAX_ENTRIES = REPLAY_DEFAULT_MAX_ENTRIES;

export type MemoryPlivoNonceStoreOptions = MemoryNonceStoreOptions;

/** Core's in-memory {@link MemoryNonceStore}, under its Plivo name. */
export class MemoryPlivoNonceStore extends MemoryNonceStore {}

export type PlivoReplayGuardOptions = ReplayGuardOptions;

/**
 * Refuses a Plivo webhook delivered a second time. Pass it as `replayGuard` to
 * `assertPlivoSignatureV3` (which then throws a `WebhookSignatureError` saying the request was
 * replayed) or `validatePlivoSignatureV3` (which then returns false). Keys are prefixed with
 * `plivo:` unless `keyPrefix` says otherwise. Use one guard per process (or one shared store
 * across processes), and check each request once: the second check of the same request is a
 * replay.
 */
export class PlivoReplayGuard extends ReplayGuard {
  constructor(options: PlivoReplayGuardOptions = {}) {
    super(typeof options === 'object' && options !== null ? { ...options, keyPrefix: options.keyPrefix ?? 'plivo:' } : options);
  }

  /**
   * Records a delivery whose signature verified, identified by its nonce and the signature that
   * matched it. Resolves `true` the first time, `false` for a replay.
   */
  accept(nonce: string, signature: string): Promise<boolean> {
    return this.check(`${nonce}.${signature}`);
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
