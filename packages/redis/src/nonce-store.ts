/**
 * The webhook replay guard's nonce store on Redis: every instance behind the load balancer
 * refuses a delivery any of them accepted.
 */
import type { NonceStore } from '@switchboard/core';
import {
  claimOnce,
  forgetKey,
  isKey,
  pxOf,
  storeSettings,
  type RedisStoreOptions,
  type StoreSettings,
} from './client.js';

/**
 * A `NonceStore` (from `@switchboard/core`) on Redis, for a `ReplayGuard` (or Plivo's
 * `PlivoReplayGuard`) shared by several instances. `remember` is
 * `SET <prefix>nonce:<key> 1 NX PX <ttlMs>`, atomic in Redis: of any number of concurrent calls
 * with one key, on any instances, exactly one resolves `true`. `forget` is `DEL`.
 *
 * When Redis fails (an error, the connection lost, no answer within `timeoutMs`) the call rejects
 * with a `RedisStoreError`, and so does the guard's `check` and the carrier's signature check that
 * called it: answer the webhook with a 5xx, and the carrier sends it again.
 */
export class RedisNonceStore implements NonceStore {
  readonly #settings: StoreSettings;

  constructor(options: RedisStoreOptions) {
    this.#settings = storeSettings('RedisNonceStore', options);
  }

  /** `true` the first time `key` is remembered within `ttlMs`, `false` after. An empty key is never new. */
  async remember(key: string, ttlMs: number): Promise<boolean> {
    const operation = 'RedisNonceStore.remember';
    if (!isKey(key)) return false;
    return claimOnce(this.#settings, operation, 'nonce', key, pxOf(operation, ttlMs));
  }

  /** Forgets `key`: the next `remember(key)` is new again. */
  async forget(key: string): Promise<void> {
    await forgetKey(this.#settings, 'RedisNonceStore.forget', 'nonce', key);
  }
}
