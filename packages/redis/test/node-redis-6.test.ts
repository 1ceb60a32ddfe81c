/**
 * The stores on a node-redis 6 client (`redis@6`, the other major of the peer range), against a
 * real redis-server, beside a node-redis 5 client on the same server: what one major writes, the
 * other reads, so instances of one deployment may upgrade one at a time.
 */
import { createClient as createClient6 } from 'redis-6';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RedisNonceStore,
  RedisOpenAISipDedupStore,
  RedisPrewarmRegistry,
  type RedisStoreClient,
} from '../src/index.js';
import { REDIS, useRedisServer, type TestClient } from './redis-server.js';

const redis = useRedisServer({ beforeAll, afterAll });
let v5: TestClient;
let v6: ReturnType<typeof createClient6>;
const errors: unknown[] = [];
let n = 0;
const fresh = (what: string) => `${what}-${++n}-${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  if (!REDIS) return;
  v5 = await redis.client();
  v6 = createClient6({ url: redis.server.url });
  v6.on('error', (error: unknown) => errors.push(error));
  await v6.connect();
}, 60_000);

afterAll(() => {
  v6?.destroy();
});

describe.skipIf(!REDIS)('the stores on a node-redis 6 client', () => {
  it('types a node-redis 6 client as the client the stores take', () => {
    const typed: RedisStoreClient = v6;
    expect(typeof typed.set).toBe('function');
  });

  it('remembers a nonce once, across a node-redis 6 and a node-redis 5 connection', async () => {
    const on6 = new RedisNonceStore({ client: v6 });
    const on5 = new RedisNonceStore({ client: v5 });
    const key = fresh('sig');
    expect(await on6.remember(key, 60_000)).toBe(true);
    expect(await on6.remember(key, 60_000)).toBe(false);
    expect(await on5.remember(key, 60_000)).toBe(false);
    const ttl = await v6.pTTL(`switchboard:nonce:${key}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await on6.forget(key);
    expect(await on5.remember(key, 60_000)).toBe(true);
    expect(await on6.remember(key, 60_000)).toBe(false);
  });

  it('gives exactly one true to concurrent remembers of one key from both majors', async () => {
    const stores = [new RedisNonceStore({ client: v6 }), new RedisNonceStore({ client: v5 })];
    const key = fresh('race');
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 2]!.remember(key, 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('claims an OpenAI SIP delivery once, and releases it', async () => {
    const on6 = new RedisOpenAISipDedupStore({ client: v6 });
    const on5 = new RedisOpenAISipDedupStore({ client: v5 });
    const key = fresh('wh');
    expect(await on6.claim(key)).toBe(true);
    expect(await on5.claim(key)).toBe(false);
    expect(await on6.claim(key)).toBe(false);
    await on6.release(key);
    expect(await on5.claim(key)).toBe(true);
  });

  it('hands a pre-warmed call to the instance that takes it, once, whichever major wrote it', async () => {
    const owner = { id: 'instance-a', url: 'ws://10.0.0.5:8080/prewarm' };
    const on6 = new RedisPrewarmRegistry({ client: v6 });
    const on5 = new RedisPrewarmRegistry({ client: v5 });
    const first = fresh('CA');
    await on6.register(first, owner, 15_000);
    expect(await on5.take(first)).toEqual(owner);
    expect(await on6.take(first)).toBeUndefined();
    const second = fresh('CA');
    await on5.register(second, owner, 15_000);
    expect(await on6.take(second)).toEqual(owner);
    expect(await on5.take(second)).toBeUndefined();
    expect(errors).toEqual([]);
  });
});
