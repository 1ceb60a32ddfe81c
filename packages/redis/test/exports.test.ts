import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';

// The run-time names of the package. A change to this list is a change to the public API: make it
// on purpose, with its README and API report.
describe('@switchboard/redis exports', () => {
  it('names the three stores, their error and their defaults', () => {
    expect(Object.keys(root).sort()).toEqual([
      'REDIS_DEFAULT_PREFIX',
      'REDIS_DEFAULT_TIMEOUT_MS',
      'REDIS_SIP_DEDUP_DEFAULT_TTL_MS',
      'RedisNonceStore',
      'RedisOpenAISipDedupStore',
      'RedisPrewarmRegistry',
      'RedisStoreError',
    ]);
    expect(root.REDIS_DEFAULT_PREFIX).toBe('switchboard:');
  });
});
