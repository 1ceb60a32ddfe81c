/**
 * The stores against a real redis-server: what each command leaves in Redis, atomicity under
 * concurrent calls from several connections, expiry, prefixes and keys from the network.
 */
import {
  ConfigError,
  MemoryNonceStore,
  MemoryPrewarmRegistry,
  REPLAY_MAX_KEY_LENGTH,
  type NonceStore,
  type PrewarmRegistry,
} from '@switchboard/core';
import type { OpenAISipDedupStore } from '@switchboard/sip';
import type { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REDIS_SIP_DEDUP_DEFAULT_TTL_MS,
  RedisNonceStore,
  RedisOpenAISipDedupStore,
  RedisPrewarmRegistry,
  RedisStoreError,
  type RedisStoreClient,
} from '../src/index.js';
import { REDIS, useRedisServer, waitFor, type TestClient } from './redis-server.js';

const redis = useRedisServer({ beforeAll, afterAll });
let a: TestClient;
let b: TestClient;
let n = 0;
/** A key no other test uses. */
const fresh = (what: string) => `${what}-${++n}-${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  if (!REDIS) return;
  // Two connections, as two instances have.
  a = await redis.client();
  b = await redis.client();
}, 60_000);

describe('store options', () => {
  const client: RedisStoreClient = { set: async () => 'OK', getDel: async () => null, del: async () => 0 };

  it('refuses a missing or wrong client, prefix, timeout or TTL with a ConfigError naming it', () => {
    for (const Store of [RedisNonceStore, RedisOpenAISipDedupStore, RedisPrewarmRegistry]) {
      expect(() => new Store(undefined as never)).toThrow(ConfigError);
      expect(() => new Store({} as never)).toThrow(/client/);
      expect(() => new Store({ client: { set() {}, del() {} } } as never)).toThrow(/getDel/);
      expect(() => new Store({ client, prefix: 7 as never })).toThrow(/prefix/);
      expect(() => new Store({ client, prefix: 'p'.repeat(257) })).toThrow(/prefix/);
      expect(() => new Store({ client, timeoutMs: 0 })).toThrow(/timeoutMs/);
      expect(() => new Store({ client, timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
      expect(() => new Store({ client, prefix: '' })).not.toThrow();
    }
    expect(() => new RedisOpenAISipDedupStore({ client, ttlMs: -1 })).toThrow(/ttlMs/);
    expect(() => new RedisOpenAISipDedupStore({ client, ttlMs: 1.5 })).toThrow(/ttlMs/);
  });

  it('rejects a TTL that is not a positive number of ms with a ConfigError', async () => {
    const store = new RedisNonceStore({ client });
    await expect(store.remember('k', 0)).rejects.toBeInstanceOf(ConfigError);
    await expect(store.remember('k', Number.POSITIVE_INFINITY)).rejects.toThrow(/TTL/);
  });

  it('types a node-redis client as the client the stores take, and the stores as the interfaces they serve', () => {
    // Compile-time: these assignments are what a user writes.
    const stores: [NonceStore, OpenAISipDedupStore, PrewarmRegistry] = [
      new RedisNonceStore({ client }),
      new RedisOpenAISipDedupStore({ client }),
      new RedisPrewarmRegistry({ client }),
    ];
    const typed = (c: TestClient): RedisStoreClient => c;
    const typedCluster = (c: ReturnType<typeof createCluster>): RedisStoreClient => c;
    expect(stores).toHaveLength(3);
    expect([typeof typed, typeof typedCluster]).toEqual(['function', 'function']);
  });
});

describe.skipIf(!REDIS)('RedisNonceStore on redis-server', () => {
  it('remembers a key once: SET NX PX under <prefix>nonce:, new again after forget', async () => {
    const store = new RedisNonceStore({ client: a });
    const key = fresh('sig');
    expect(await store.remember(key, 60_000)).toBe(true);
    expect(await store.remember(key, 60_000)).toBe(false);
    expect(await a.get(`switchboard:nonce:${key}`)).toBe('1');
    const ttl = await a.pTTL(`switchboard:nonce:${key}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await store.forget(key);
    expect(await a.exists(`switchboard:nonce:${key}`)).toBe(0);
    expect(await store.remember(key, 60_000)).toBe(true);
  });

  it('gives exactly one true to many concurrent remembers of one key over two connections', async () => {
    const stores = [new RedisNonceStore({ client: a }), new RedisNonceStore({ client: b })];
    for (let round = 0; round < 5; round++) {
      const key = fresh('race');
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 2]!.remember(key, 60_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    }
  });

  it('forgets a key once its TTL has passed', async () => {
    const store = new RedisNonceStore({ client: a });
    const key = fresh('ttl');
    expect(await store.remember(key, 50)).toBe(true);
    await waitFor(async () => (await a.exists(`switchboard:nonce:${key}`)) === 0, 'the key to expire');
    expect(await store.remember(key, 60_000)).toBe(true);
    expect(await store.remember(key, 60_000)).toBe(false);
  });

  it('keeps prefixes apart: the same key is new under each prefix, and shared under one', async () => {
    const key = fresh('prefix');
    const appA = new RedisNonceStore({ client: a, prefix: 'app-a:' });
    const appB = new RedisNonceStore({ client: b, prefix: 'app-b:' });
    const appAOther = new RedisNonceStore({ client: b, prefix: 'app-a:' });
    expect(await appA.remember(key, 60_000)).toBe(true);
    expect(await appB.remember(key, 60_000)).toBe(true);
    expect(await appAOther.remember(key, 60_000)).toBe(false);
    expect(await a.exists([`app-a:nonce:${key}`, `app-b:nonce:${key}`])).toBe(2);
  });

  it('stores a key longer than REPLAY_MAX_KEY_LENGTH as its SHA-256, and never an empty key', async () => {
    const prefix = `${fresh('long')}:`;
    const store = new RedisNonceStore({ client: a, prefix });
    const long = 'x'.repeat(100_000) + fresh('tail');
    expect(await store.remember(long, 60_000)).toBe(true);
    expect(await store.remember(long, 60_000)).toBe(false);
    // Another long key with the same first REPLAY_MAX_KEY_LENGTH characters is another delivery.
    expect(await store.remember(long.slice(0, REPLAY_MAX_KEY_LENGTH) + 'y'.repeat(500), 60_000)).toBe(true);
    const hashed = await a.keys(`${prefix}*`);
    expect(hashed).toHaveLength(2);
    for (const key of hashed) expect(key).toMatch(new RegExp(`^${prefix}nonce:sha256:[0-9a-f]{64}$`));
    // A key of exactly the limit is kept as it is.
    const exact = fresh('exact').padEnd(REPLAY_MAX_KEY_LENGTH, 'e');
    expect(await store.remember(exact, 60_000)).toBe(true);
    expect(await a.exists(`${prefix}nonce:${exact}`)).toBe(1);
    // An empty key names no delivery: never new, never stored.
    expect(await store.remember('', 60_000)).toBe(false);
    await store.forget('');
    expect(await a.keys(`${prefix}*`)).toHaveLength(3);
  });

  it('behaves as the in-memory store does for the same sequence of calls', async () => {
    const memory = new MemoryNonceStore();
    const store = new RedisNonceStore({ client: b });
    const keys = [fresh('m'), fresh('m'), fresh('m')];
    const sequence = [0, 1, 0, 2, 1, 2, 2, 0];
    for (const i of sequence) expect(await store.remember(keys[i]!, 60_000)).toBe(memory.remember(keys[i]!, 60_000));
  });
});

describe.skipIf(!REDIS)('RedisOpenAISipDedupStore on redis-server', () => {
  it('claims a key once under <prefix>sip-dedup:, for 15 minutes by default; release lets it be claimed again', async () => {
    const store = new RedisOpenAISipDedupStore({ client: a });
    const key = `webhook:${fresh('msg')}`;
    expect(await store.claim(key)).toBe(true);
    expect(await store.claim(key)).toBe(false);
    const ttl = await a.pTTL(`switchboard:sip-dedup:${key}`);
    expect(ttl).toBeGreaterThan(REDIS_SIP_DEDUP_DEFAULT_TTL_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(REDIS_SIP_DEDUP_DEFAULT_TTL_MS);
    await store.release(key);
    expect(await store.claim(key)).toBe(true);
  });

  it('gives exactly one true to many concurrent claims of one key over two connections', async () => {
    const stores = [new RedisOpenAISipDedupStore({ client: a }), new RedisOpenAISipDedupStore({ client: b })];
    for (let round = 0; round < 5; round++) {
      const key = `call:${fresh('rtc')}`;
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 2]!.claim(key)));
      expect(results.filter(Boolean)).toHaveLength(1);
    }
  });

  it('lets a claim expire after ttlMs, and keeps prefixes apart', async () => {
    const key = `call:${fresh('rtc')}`;
    const short = new RedisOpenAISipDedupStore({ client: a, ttlMs: 50, prefix: 'short:' });
    expect(await short.claim(key)).toBe(true);
    expect(await new RedisOpenAISipDedupStore({ client: b }).claim(key)).toBe(true);
    await waitFor(async () => (await a.exists(`short:sip-dedup:${key}`)) === 0, 'the claim to expire');
    expect(await short.claim(key)).toBe(true);
  });

  it('stores a long call id as its SHA-256', async () => {
    const store = new RedisOpenAISipDedupStore({ client: a, prefix: 'dedup-long:' });
    const key = `call:${'r'.repeat(5_000)}${fresh('x')}`;
    expect(await store.claim(key)).toBe(true);
    expect(await store.claim(key)).toBe(false);
    const keys = await a.keys('dedup-long:*');
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^dedup-long:sip-dedup:sha256:[0-9a-f]{64}$/);
  });
});

describe.skipIf(!REDIS)('RedisPrewarmRegistry on redis-server', () => {
  const owner = { id: 'instance-a', url: 'ws://10.0.0.5:8080/prewarm' };

  it('registers an owner as JSON under <prefix>prewarm:<callId> for ttlMs; take returns it once', async () => {
    const registry = new RedisPrewarmRegistry({ client: a });
    const callId = fresh('CA');
    await registry.register(callId, owner, 15_000);
    expect(JSON.parse((await a.get(`switchboard:prewarm:${callId}`))!)).toEqual(owner);
    const ttl = await a.pTTL(`switchboard:prewarm:${callId}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(15_000);
    expect(await new RedisPrewarmRegistry({ client: b }).take(callId)).toEqual(owner);
    expect(await registry.take(callId)).toBeUndefined();
    expect(await a.exists(`switchboard:prewarm:${callId}`)).toBe(0);
    expect(await registry.take(fresh('never-registered'))).toBeUndefined();
  });

  it('gives the owner to exactly one of many concurrent takes over two connections', async () => {
    const registries = [new RedisPrewarmRegistry({ client: a }), new RedisPrewarmRegistry({ client: b })];
    for (let round = 0; round < 5; round++) {
      const callId = fresh('CA');
      await registries[round % 2]!.register(callId, owner, 15_000);
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => registries[i % 2]!.take(callId)));
      expect(results.filter((r) => r !== undefined)).toEqual([owner]);
    }
  });

  it('forgets an owner after ttlMs; a second register replaces the first; prefixes stay apart', async () => {
    const registry = new RedisPrewarmRegistry({ client: a });
    const callId = fresh('CA');
    await registry.register(callId, owner, 50);
    await waitFor(async () => (await a.exists(`switchboard:prewarm:${callId}`)) === 0, 'the entry to expire');
    expect(await registry.take(callId)).toBeUndefined();

    const other = { id: 'instance-b', url: 'ws://10.0.0.6:8080/prewarm' };
    await registry.register(callId, owner, 15_000);
    await registry.register(callId, other, 15_000);
    const elsewhere = new RedisPrewarmRegistry({ client: b, prefix: 'other-app:' });
    expect(await elsewhere.take(callId)).toBeUndefined();
    expect(await registry.take(callId)).toEqual(other);
  });

  it('agrees with the in-memory registry on a sequence of registers and takes', async () => {
    const memory = new MemoryPrewarmRegistry();
    const registry = new RedisPrewarmRegistry({ client: b });
    const ids = [fresh('CA'), fresh('CA')];
    const steps: Array<['register' | 'take', number]> = [
      ['take', 0],
      ['register', 0],
      ['register', 1],
      ['take', 0],
      ['take', 0],
      ['take', 1],
      ['take', 1],
    ];
    for (const [step, i] of steps) {
      if (step === 'register') {
        memory.register(ids[i]!, owner, 15_000);
        await registry.register(ids[i]!, owner, 15_000);
      } else expect(await registry.take(ids[i]!)).toEqual(memory.take(ids[i]!));
    }
  });

  it("stores a long call id (from a stream's first frame) as its SHA-256", async () => {
    const registry = new RedisPrewarmRegistry({ client: a, prefix: 'prewarm-long:' });
    const callId = `CA${'0'.repeat(10_000)}${fresh('x')}`;
    await registry.register(callId, owner, 15_000);
    expect(await a.keys('prewarm-long:*')).toEqual([
      expect.stringMatching(/^prewarm-long:prewarm:sha256:[0-9a-f]{64}$/),
    ]);
    expect(await registry.take(`${callId}0`)).toBeUndefined();
    expect(await registry.take(callId)).toEqual(owner);
  });

  it('refuses a bad call id, owner or TTL with a ConfigError, and a value that is no owner with a RedisStoreError', async () => {
    const registry = new RedisPrewarmRegistry({ client: a });
    await expect(registry.register('', owner, 1_000)).rejects.toBeInstanceOf(ConfigError);
    await expect(registry.register('CA1', { id: 'a' } as never, 1_000)).rejects.toThrow(/owner/);
    await expect(registry.register('CA1', { id: '', url: 'ws://x' }, 1_000)).rejects.toThrow(/owner/);
    await expect(registry.register('CA1', owner, -5)).rejects.toThrow(/TTL/);
    expect(await registry.take('')).toBeUndefined();
    expect(await registry.take(undefined as never)).toBeUndefined();

    const callId = fresh('CA');
    await a.set(`switchboard:prewarm:${callId}`, 'not json');
    const failure = await registry.take(callId).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RedisStoreError);
    expect((failure as RedisStoreError).operation).toBe('RedisPrewarmRegistry.take');
    await a.set(`switchboard:prewarm:${callId}`, JSON.stringify({ id: 'x', url: 42 }));
    await expect(registry.take(callId)).rejects.toThrow(/not an owner/);
  });
});
