import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, MemoryNonceStore, ReplayGuard, WebhookSignatureError } from '@switchboard/core';
import {
  MemoryPlivoNonceStore,
  PlivoReplayGuard,
  assertPlivoSignatureV3,
  validatePlivoSignatureV3,
  type PlivoNonceStore,
} from '../src/index.js';

const TOKEN = 'ZWI3ZGU0ZjM2NTljZTk1ZWE5NGE0OGE0MDBiNDE3';
const URL_ = 'https://voice.example.com/plivo/answer';
const PARAMS = { CallUUID: '97ceeb52-58b6-11e1-86da-77300b68f8bb', From: '+14155551234', To: '+14155556789' };

/** A delivery as Plivo signs it: HMAC-SHA256 of the URL, `?`, the sorted `namevalue` pairs, `.` and the nonce. */
function delivery(nonce: string, params: Record<string, string> = PARAMS) {
  const base = `${URL_}?${Object.keys(params)
    .sort()
    .map((k) => k + params[k])
    .join('')}`;
  const signature = createHmac('sha256', TOKEN).update(`${base}.${nonce}`).digest('base64');
  return { authToken: TOKEN, method: 'POST', url: URL_, params, nonce, signature };
}

/** A clock the test moves by hand. */
function manualClock(start = 1_787_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('PlivoReplayGuard with assertPlivoSignatureV3', () => {
  it('accepts a valid delivery once and refuses the same delivery again as replayed', async () => {
    const replayGuard = new PlivoReplayGuard();
    const first = delivery('05429567804466091622');
    await expect(assertPlivoSignatureV3({ ...first, replayGuard })).resolves.toBeUndefined();
    const replay = assertPlivoSignatureV3({ ...first, replayGuard });
    await expect(replay).rejects.toBeInstanceOf(WebhookSignatureError);
    await expect(assertPlivoSignatureV3({ ...first, replayGuard })).rejects.toThrow(/replayed/);
    // Another delivery (its own nonce) goes through.
    await expect(assertPlivoSignatureV3({ ...delivery('05429567804466091623'), replayGuard })).resolves.toBeUndefined();
  });

  it('refuses a tampered delivery as a mismatch and does not remember it', async () => {
    const replayGuard = new PlivoReplayGuard();
    const genuine = delivery('11111111111111111111');
    const tampered = { ...genuine, params: { ...PARAMS, To: '+14155550000' } };
    await expect(assertPlivoSignatureV3({ ...tampered, replayGuard })).rejects.toThrow(/does not match/);
    // The forged attempt did not burn the nonce: the genuine delivery still verifies, once.
    await expect(assertPlivoSignatureV3({ ...genuine, replayGuard })).resolves.toBeUndefined();
    await expect(assertPlivoSignatureV3({ ...genuine, replayGuard })).rejects.toThrow(/replayed/);
  });

  it('refuses a stale delivery replayed later within the TTL, and forgets it after the TTL', async () => {
    const clock = manualClock();
    const replayGuard = new PlivoReplayGuard({ ttlMs: 60_000, store: new MemoryPlivoNonceStore({ now: clock.now }) });
    const captured = delivery('22222222222222222222');
    await assertPlivoSignatureV3({ ...captured, replayGuard });
    clock.advance(59_999);
    await expect(assertPlivoSignatureV3({ ...captured, replayGuard })).rejects.toThrow(/replayed/);
    clock.advance(60_001);
    // Past the TTL the guard no longer knows it: the window is what bounds the protection.
    await expect(assertPlivoSignatureV3({ ...captured, replayGuard })).resolves.toBeUndefined();
  });

  it('makes validatePlivoSignatureV3 return false for a replay', async () => {
    const replayGuard = new PlivoReplayGuard();
    const first = delivery('33333333333333333333');
    expect(await validatePlivoSignatureV3({ ...first, replayGuard })).toBe(true);
    expect(await validatePlivoSignatureV3({ ...first, replayGuard })).toBe(false);
    // Without a guard nothing is remembered: the helper stays stateless.
    expect(await validatePlivoSignatureV3(first)).toBe(true);
    expect(await validatePlivoSignatureV3(first)).toBe(true);
  });

  it('shares what it saw through an injected store, as instances behind a load balancer would', async () => {
    // A store with Redis semantics (SET NX PX): asynchronous, shared by two guards.
    const shared = new Map<string, number>();
    const store: PlivoNonceStore = {
      remember: async (key, ttlMs) => {
        if (shared.has(key)) return false;
        shared.set(key, ttlMs);
        return true;
      },
    };
    const instanceA = new PlivoReplayGuard({ store, keyPrefix: 'tenant-1:' });
    const instanceB = new PlivoReplayGuard({ store, keyPrefix: 'tenant-1:' });
    const first = delivery('44444444444444444444');
    await assertPlivoSignatureV3({ ...first, replayGuard: instanceA });
    await expect(assertPlivoSignatureV3({ ...first, replayGuard: instanceB })).rejects.toThrow(/replayed/);
    expect([...shared.keys()]).toEqual([expect.stringMatching(/^tenant-1:44444444444444444444\./)]);
    expect([...shared.values()]).toEqual([3_600_000]);
  });

  it('refuses bad options with a ConfigError', async () => {
    expect(() => new PlivoReplayGuard({ ttlMs: 0 })).toThrow(ConfigError);
    expect(() => new PlivoReplayGuard({ ttlMs: 1.5 })).toThrow(ConfigError);
    expect(() => new PlivoReplayGuard({ store: {} as PlivoNonceStore })).toThrow(ConfigError);
    expect(() => new MemoryPlivoNonceStore({ maxEntries: -1 })).toThrow(ConfigError);
    await expect(assertPlivoSignatureV3({ ...delivery('5'), replayGuard: {} as PlivoReplayGuard })).rejects.toThrow(
      ConfigError,
    );
  });
});

describe("core's ReplayGuard with the Plivo checks", () => {
  it('is accepted as replayGuard, keyed by nonce and matched signature, and refuses a replay', async () => {
    const keys: string[] = [];
    const memory = new MemoryNonceStore();
    const replayGuard = new ReplayGuard({
      store: {
        remember: (key, ttlMs) => (keys.push(key), memory.remember(key, ttlMs)),
        forget: (key) => memory.forget(key),
      },
    });
    const first = delivery('66666666666666666666');
    await expect(assertPlivoSignatureV3({ ...first, replayGuard })).resolves.toBeUndefined();
    await expect(assertPlivoSignatureV3({ ...first, replayGuard })).rejects.toThrow(/replayed/);
    expect(await validatePlivoSignatureV3({ ...first, replayGuard })).toBe(false);
    expect(keys[0]).toBe(`66666666666666666666.${first.signature}`);
    // Forgetting the key accepts the delivery once more.
    await replayGuard.forget(keys[0]!);
    expect(await validatePlivoSignatureV3({ ...first, replayGuard })).toBe(true);
  });

  it('keys a PlivoReplayGuard under plivo: by default', async () => {
    const keys: string[] = [];
    const replayGuard = new PlivoReplayGuard({ store: { remember: (key) => (keys.push(key), true) } });
    const first = delivery('77777777777777777777');
    await assertPlivoSignatureV3({ ...first, replayGuard });
    expect(keys).toEqual([`plivo:77777777777777777777.${first.signature}`]);
  });
});

describe('MemoryPlivoNonceStore', () => {
  it('stays within maxEntries, forgetting the oldest key first', () => {
    const store = new MemoryPlivoNonceStore({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd']) expect(store.remember(key, 60_000)).toBe(true);
    expect(store.size).toBe(3);
    expect(store.remember('d', 60_000)).toBe(false);
    expect(store.remember('b', 60_000)).toBe(false);
    // 'a' was evicted to make room, so it is new again.
    expect(store.remember('a', 60_000)).toBe(true);
    expect(store.size).toBe(3);
  });

  it('sweeps expired keys as it goes', () => {
    const clock = manualClock();
    const store = new MemoryPlivoNonceStore({ now: clock.now });
    store.remember('a', 1_000);
    store.remember('b', 1_000);
    clock.advance(1_000);
    store.remember('c', 1_000);
    expect(store.size).toBe(1);
  });
});
