import { describe, expect, it } from 'vitest';
import { ConfigError, MemoryNonceStore, REPLAY_DEFAULT_TTL_MS, ReplayGuard, type NonceStore } from '../src/index.js';
import { assertReplayGuardOption } from '../src/protocol.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_787_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('ReplayGuard', () => {
  it('accepts a key once and refuses it again until the TTL has passed', async () => {
    const clock = manualClock();
    const guard = new ReplayGuard({ ttlMs: 60_000, store: new MemoryNonceStore({ now: clock.now }) });
    expect(await guard.check('sig-a')).toBe(true);
    expect(await guard.check('sig-a')).toBe(false);
    expect(await guard.check('sig-b')).toBe(true);
    clock.advance(59_999);
    expect(await guard.check('sig-a')).toBe(false);
    clock.advance(1);
    expect(await guard.check('sig-a')).toBe(true);
    expect(guard.ttlMs).toBe(60_000);
  });

  it('remembers for one hour by default', async () => {
    const ttls: number[] = [];
    const guard = new ReplayGuard({ store: { remember: (_key, ttlMs) => (ttls.push(ttlMs), true) } });
    await guard.check('k');
    expect(ttls).toEqual([REPLAY_DEFAULT_TTL_MS]);
    expect(REPLAY_DEFAULT_TTL_MS).toBe(3_600_000);
  });

  it('forgets a key on request, so a retry after failed handling is accepted', async () => {
    const guard = new ReplayGuard();
    expect(await guard.check('sig')).toBe(true);
    await guard.forget('sig');
    expect(await guard.check('sig')).toBe(true);
    expect(await guard.check('sig')).toBe(false);
  });

  it('shares what it saw through an asynchronous store, prefixing every key', async () => {
    // Redis semantics (SET NX PX / DEL), asynchronous, shared by two guards as two instances would.
    const shared = new Map<string, number>();
    const store: NonceStore = {
      remember: async (key, ttlMs) => {
        await Promise.resolve();
        if (shared.has(key)) return false;
        shared.set(key, ttlMs);
        return true;
      },
      forget: async (key) => {
        await Promise.resolve();
        shared.delete(key);
      },
    };
    const instanceA = new ReplayGuard({ store, keyPrefix: 'app-1:', ttlMs: 5_000 });
    const instanceB = new ReplayGuard({ store, keyPrefix: 'app-1:', ttlMs: 5_000 });
    const other = new ReplayGuard({ store, keyPrefix: 'app-2:' });
    expect(await instanceA.check('sig')).toBe(true);
    expect(await instanceB.check('sig')).toBe(false);
    expect(await other.check('sig')).toBe(true);
    expect([...shared]).toEqual([
      ['app-1:sig', 5_000],
      ['app-2:sig', 3_600_000],
    ]);
    await instanceB.forget('sig');
    expect(await instanceA.check('sig')).toBe(true);
  });

  it('lets exactly one of two concurrent checks of a key through with an atomic store', async () => {
    const guard = new ReplayGuard();
    const results = await Promise.all([guard.check('same'), guard.check('same')]);
    expect(results.sort()).toEqual([false, true]);
  });

  it('refuses bad options with a ConfigError, and an empty key as no delivery', async () => {
    expect(() => new ReplayGuard({ ttlMs: 0 })).toThrow(ConfigError);
    expect(() => new ReplayGuard({ ttlMs: 1.5 })).toThrow(ConfigError);
    expect(() => new ReplayGuard({ store: {} as NonceStore })).toThrow(ConfigError);
    expect(() => new ReplayGuard({ store: { remember: () => true, forget: 1 } as unknown as NonceStore })).toThrow(
      ConfigError,
    );
    expect(() => new ReplayGuard({ keyPrefix: 1 as unknown as string })).toThrow(ConfigError);
    expect(() => new ReplayGuard(null as unknown as {})).toThrow(ConfigError);
    // The key comes from the request: an empty one is never new, and no configuration mistake.
    expect(await new ReplayGuard().check('')).toBe(false);
    // A store without forget() still guards, but cannot forget.
    const guard = new ReplayGuard({ store: { remember: () => true } });
    expect(await guard.check('k')).toBe(true);
    await expect(guard.forget('k')).rejects.toThrow(/forget/);
  });
});

describe('MemoryNonceStore', () => {
  it('never holds more than maxEntries keys, evicting in remembering order', () => {
    const store = new MemoryNonceStore({ maxEntries: 100 });
    const keys = Array.from({ length: 250 }, (_, i) => `delivery-${i}`);
    for (const key of keys) store.remember(key, 60_000);
    expect(store.size).toBe(100);
    // The 150 oldest were evicted (new again); the 100 newest are still known.
    expect(keys.slice(150).map((key) => store.remember(key, 60_000))).toEqual(Array(100).fill(false));
    expect(store.remember('delivery-149', 60_000)).toBe(true);
    expect(store.size).toBe(100);
  });

  it('honours each key’s own TTL and drops expired keys before counting', () => {
    const clock = manualClock();
    const store = new MemoryNonceStore({ maxEntries: 2, now: clock.now });
    expect(store.remember('short', 100)).toBe(true);
    expect(store.remember('long', 10_000)).toBe(true);
    clock.advance(100);
    // 'short' expired: remembering a third key sweeps it instead of evicting 'long'.
    expect(store.remember('third', 10_000)).toBe(true);
    expect(store.size).toBe(2);
    expect(store.remember('long', 10_000)).toBe(false);
    expect(store.remember('short', 100)).toBe(true);
  });

  it('forgets a key', () => {
    const store = new MemoryNonceStore();
    store.remember('a', 1_000);
    store.forget('a');
    expect(store.size).toBe(0);
    expect(store.remember('a', 1_000)).toBe(true);
  });

  it('refuses bad options with a ConfigError', () => {
    expect(() => new MemoryNonceStore({ maxEntries: -1 })).toThrow(ConfigError);
    expect(() => new MemoryNonceStore({ maxEntries: 2.5 })).toThrow(ConfigError);
    expect(() => new MemoryNonceStore({ now: 5 as unknown as () => number })).toThrow(ConfigError);
  });
});

describe('assertReplayGuardOption', () => {
  it('accepts undefined and anything with a check method', () => {
    expect(() => assertReplayGuardOption(undefined)).not.toThrow();
    expect(() => assertReplayGuardOption(new ReplayGuard())).not.toThrow();
    expect(() => assertReplayGuardOption({ check: async () => true })).not.toThrow();
  });

  it('refuses anything else with a ConfigError, prefixed by where it was given', () => {
    for (const bad of [{}, null, 'guard', { check: 1 }])
      expect(() => assertReplayGuardOption(bad)).toThrow(ConfigError);
    expect(() => assertReplayGuardOption({}, 'Plivo signature')).toThrow(
      /^Plivo signature: replayGuard must be a ReplayGuard/,
    );
  });
});
