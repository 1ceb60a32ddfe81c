/**
 * The OpenAI SIP webhook handler's de-duplication on Redis: a delivery (or a call) that reaches
 * several instances is handled by one.
 */
import { ConfigError } from '@switchboard/core';
import { claimOnce, forgetKey, storeSettings, type RedisStoreOptions, type StoreSettings } from './client.js';

export type RedisOpenAISipDedupStoreOptions = RedisStoreOptions & {
  /**
   * How long a claimed key is kept, in ms. Default 15 minutes, as the in-memory store: OpenAI's
   * retries of a delivery and a ringing SIP call are long over by then.
   */
  ttlMs?: number;
};

/** Default time a claimed key is kept: 15 minutes. */
export const REDIS_SIP_DEDUP_DEFAULT_TTL_MS = 15 * 60_000;

/**
 * An `OpenAISipDedupStore` (from `@switchboard/sip`) on Redis, for the `dedup` option of
 * `OpenAISipWebhookHandler` on several instances. `claim` is
 * `SET <prefix>sip-dedup:<key> 1 NX PX <ttlMs>` (atomic: of concurrent claims of one key, on any
 * instances, exactly one gets `true`); `release` is `DEL`.
 *
 * When Redis fails the call rejects with a `RedisStoreError`: the handler then answers the
 * delivery 500 (and reports the error to `onError`), so OpenAI delivers it again later.
 */
export class RedisOpenAISipDedupStore {
  readonly #settings: StoreSettings;
  readonly #ttlMs: number;

  constructor(options: RedisOpenAISipDedupStoreOptions) {
    this.#settings = storeSettings('RedisOpenAISipDedupStore', options);
    const ttlMs = options.ttlMs ?? REDIS_SIP_DEDUP_DEFAULT_TTL_MS;
    if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs <= 0)
      throw new ConfigError('RedisOpenAISipDedupStore: `ttlMs` must be a positive integer');
    this.#ttlMs = ttlMs;
  }

  /** Records `key`; `true` when no instance had claimed it (the caller goes ahead). */
  async claim(key: string): Promise<boolean> {
    return claimOnce(this.#settings, 'RedisOpenAISipDedupStore.claim', 'sip-dedup', key, this.#ttlMs);
  }

  /** Forgets `key`, so that a retry of a delivery that failed can be handled. */
  async release(key: string): Promise<void> {
    await forgetKey(this.#settings, 'RedisOpenAISipDedupStore.release', 'sip-dedup', key);
  }
}
