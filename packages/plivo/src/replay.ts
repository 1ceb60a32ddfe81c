/**
 * Replay protection for Plivo webhooks.
 *
 * `X-Plivo-Signature-V3` signs the URL, the parameters and a random nonce, but no time: a captured
 * request replays verbatim and verifies forever. Pass a `ReplayGuard` from `@switchboard/core` as
 * `replayGuard` to `assertPlivoSignatureV3` or `validatePlivoSignatureV3`: it remembers every
 * delivery it accepted for a while (`ttlMs`) and refuses a second one carrying the same signed
 * nonce. Deliveries are remembered only after their signature verified, so forged requests never
 * fill the store.
 *
 * The names here are core's, kept for Plivo users: {@link PlivoReplayGuard} only adds a `plivo:`
 * key prefix. The default store lives in memory and protects one process; behind a load balancer,
 * give every instance the same {@link PlivoNonceStore} backed by a shared database (with Redis:
 * `SET <prefix><key> 1 NX PX <ttlMs>`, new when the answer is `OK`).
 */
import {
  MemoryNonceStore,
  ReplayGuard,
  type MemoryNonceStoreOptions,
  type NonceStore,
  type ReplayGuardOptions,
} from '@switchboard/core';

/** Where a {@link PlivoReplayGuard} remembers the deliveries it accepted: core's `NonceStore`. */
export type PlivoNonceStore = NonceStore;

export type MemoryPlivoNonceStoreOptions = MemoryNonceStoreOptions;

/** Core's in-memory {@link MemoryNonceStore}, under its Plivo name. */
export class MemoryPlivoNonceStore extends MemoryNonceStore {}

export type PlivoReplayGuardOptions = ReplayGuardOptions;

/**
 * Core's {@link ReplayGuard} with its keys prefixed `plivo:` unless `keyPrefix` says otherwise.
 * Pass it as `replayGuard` to `assertPlivoSignatureV3` (which then throws a
 * `WebhookSignatureError` saying the request was replayed) or `validatePlivoSignatureV3` (which
 * then returns false). Use one guard per process (or one shared store across processes), and
 * check each request once: the second check of the same request is a replay.
 */
export class PlivoReplayGuard extends ReplayGuard {
  constructor(options: PlivoReplayGuardOptions = {}) {
    super(
      typeof options === 'object' && options !== null
        ? { ...options, keyPrefix: options.keyPrefix ?? 'plivo:' }
        : options,
    );
  }
}
