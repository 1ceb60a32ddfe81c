export { RedisNonceStore } from './nonce-store.js';
export { RedisOpenAISipDedupStore, REDIS_SIP_DEDUP_DEFAULT_TTL_MS } from './sip-dedup-store.js';
export type { RedisOpenAISipDedupStoreOptions } from './sip-dedup-store.js';
export { RedisPrewarmRegistry } from './prewarm-registry.js';
export { RedisStoreError } from './errors.js';
export { REDIS_DEFAULT_PREFIX, REDIS_DEFAULT_TIMEOUT_MS } from './client.js';
export type { RedisStoreClient, RedisStoreOptions } from './client.js';
