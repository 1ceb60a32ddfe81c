import { describe, expect, it } from 'vitest';
import { MemoryNonceStore, REPLAY_MAX_KEY_LENGTH, ReplayGuard } from '../src/index.js';
import { constantTimeEqual, readHeader, type RequestHeaders } from '../src/protocol.js';

const loose = (headers: unknown) => headers as RequestHeaders;

describe('readHeader', () => {
  it('finds a header in any letter case, in a plain object or a Headers', () => {
    expect(readHeader({ 'X-Twilio-Signature': 'abc' }, 'x-twilio-signature')).toBe('abc');
    expect(readHeader({ 'x-twilio-signature': ['first', 'second'] }, 'X-Twilio-Signature')).toBe('first');
    expect(readHeader(new Headers({ 'X-Twilio-Signature': 'abc' }), 'x-twilio-signature')).toBe('abc');
    expect(readHeader({}, 'authorization')).toBeUndefined();
  });

  it('reads a header map that is missing or not an object as having no headers', () => {
    for (const headers of [undefined, null, 42, true, 'authorization: Bearer x', 'A'.repeat(1_000_000)]) {
      expect(readHeader(loose(headers), 'authorization')).toBeUndefined();
    }
  });

  it('reads a value that is not a string, or a repeated value whose first entry is not one, as missing', () => {
    for (const value of [42, true, null, { 0: 'x' }, [42, 'x'], [null], [['x']], [], new Uint8Array([65])]) {
      expect(readHeader(loose({ authorization: value }), 'authorization')).toBeUndefined();
    }
  });

  it('reads headers through anything with a get(name), such as a Headers from another library', () => {
    const foreign = { get: (name: string) => (name === 'authorization' ? 'Bearer t' : null) };
    expect(readHeader(loose(foreign), 'authorization')).toBe('Bearer t');
    expect(readHeader(loose({ get: () => 42 }), 'authorization')).toBeUndefined();
  });

  it('answers missing when reading the map throws', () => {
    const throwing = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new TypeError('revoked');
        },
      },
    );
    expect(readHeader(loose(throwing), 'authorization')).toBeUndefined();
    expect(
      readHeader(
        loose({
          get: () => {
            throw new TypeError('bad name');
          },
        }),
        'authorization',
      ),
    ).toBeUndefined();
  });
});

describe('constantTimeEqual', () => {
  it('compares strings', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });

  it('never finds anything but two strings equal, even two missing values or a missing one and ""', () => {
    const cases: Array<[unknown, unknown]> = [
      [undefined, undefined],
      [undefined, ''],
      [null, 'null'],
      [42, '42'],
      [['abc'], 'abc'],
      [{}, '[object Object]'],
      [Object.create(null), ''],
    ];
    for (const [a, b] of cases) {
      expect(constantTimeEqual(a as string, b as string)).toBe(false);
      expect(constantTimeEqual(b as string, a as string)).toBe(false);
    }
  });
});

describe('ReplayGuard keys taken from a request', () => {
  it('refuses a key that is not a non-empty string without asking the store', async () => {
    const asked: string[] = [];
    const guard = new ReplayGuard({
      store: { remember: (key) => (asked.push(key), true), forget: (key) => void asked.push(key) },
    });
    for (const key of [undefined, null, 42, '', ['sig'], {}]) {
      expect(await guard.check(key as string)).toBe(false);
      await guard.forget(key as string);
    }
    expect(asked).toEqual([]);
  });

  it('stores a key longer than REPLAY_MAX_KEY_LENGTH as its SHA-256, and still tells a replay apart', async () => {
    const seen: string[] = [];
    const memory = new MemoryNonceStore();
    const guard = new ReplayGuard({
      keyPrefix: 'p:',
      store: {
        remember: (key, ttl) => (seen.push(key), memory.remember(key, ttl)),
        forget: (key) => memory.forget(key),
      },
    });
    const long = 'n'.repeat(1_000_000);
    expect(await guard.check(long)).toBe(true);
    expect(await guard.check(long)).toBe(false);
    expect(await guard.check(`${long}x`)).toBe(true);
    expect(seen[0]).toMatch(/^p:sha256:[0-9a-f]{64}$/);
    expect(new Set(seen).size).toBe(2);
    await guard.forget(long);
    expect(await guard.check(long)).toBe(true);

    const short = 's'.repeat(REPLAY_MAX_KEY_LENGTH);
    expect(await guard.check(short)).toBe(true);
    expect(seen.at(-1)).toBe(`p:${short}`);
  });
});
