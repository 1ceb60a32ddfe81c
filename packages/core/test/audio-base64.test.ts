import { afterEach, describe, expect, it, vi } from 'vitest';
import { base64Decode, base64Encode, base64UrlDecode, base64UrlEncode } from '../src/audio/index.js';
import { prng } from '@switchboard/test-kit/random';

function randomBytes(random: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

/** Bit-by-bit reference encoder: slow and obviously correct. */
function referenceEncode(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  while (bits.length % 6 !== 0) bits += '0';
  let out = '';
  for (let i = 0; i < bits.length; i += 6) out += alphabet[parseInt(bits.slice(i, i + 6), 2)];
  while (out.length % 4 !== 0) out += '=';
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('base64', () => {
  const vectors: Array<[string, string]> = [
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ];

  it('encodes the RFC 4648 test vectors', () => {
    for (const [plain, encoded] of vectors) expect(base64Encode(text(plain))).toBe(encoded);
  });

  it('decodes the RFC 4648 test vectors, with and without padding', () => {
    for (const [plain, encoded] of vectors) {
      expect(Array.from(base64Decode(encoded))).toEqual(Array.from(text(plain)));
      expect(Array.from(base64Decode(encoded.replace(/=+$/, '')))).toEqual(Array.from(text(plain)));
    }
  });

  it('uses the standard alphabet including + and /', () => {
    expect(base64Encode(Uint8Array.of(0xfb, 0xff, 0xbf))).toBe('+/+/');
    expect(Array.from(base64Decode('+/+/'))).toEqual([0xfb, 0xff, 0xbf]);
  });

  it('encodes random data like the reference and decodes it back, for many lengths', () => {
    const random = prng(0x5eed);
    for (let length = 0; length < 400; length++) {
      const bytes = randomBytes(random, length);
      const encoded = base64Encode(bytes);
      expect(encoded).toBe(referenceEncode(bytes));
      expect(Array.from(base64Decode(encoded))).toEqual(Array.from(bytes));
    }
  });

  it('round-trips large payloads', () => {
    const random = prng(42);
    for (const length of [8190, 8191, 8192, 8193, 48_000, 100_001]) {
      const bytes = randomBytes(random, length);
      const encoded = base64Encode(bytes);
      expect(encoded.length).toBe(Math.ceil(length / 3) * 4);
      expect(firstDifference(base64Decode(encoded), bytes)).toBe(-1);
    }
    const sample = randomBytes(random, 30_000);
    expect(base64Encode(sample)).toBe(referenceEncode(sample));
  });

  it('round-trips every byte value', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(base64Decode(base64Encode(bytes))).toEqual(bytes);
  });

  it.each([
    ['a character outside the alphabet', 'Zm9v!A=='],
    ['whitespace', 'Zm9v Zm9v'],
    ['a line break', 'Zm9v\nZm9v'],
    ['URL-safe characters', 'Zm-_'],
    ['a non-ASCII character', 'Zm9vé'],
    ['a character above U+00FF', 'Zm9\u0100'],
    ['a single leftover character', 'Zm9vY'],
    ['padding in the middle', 'Zg==Zg=='],
    ['padding at the start', '=Zm9'],
    ['too much padding', 'Zm9v===='],
    ['padding alone', '=='],
    ['a padded text of the wrong length', 'Zg='],
  ])('rejects %s with a TypeError', (_name, input) => {
    expect(() => base64Decode(input)).toThrow(TypeError);
  });

  describe('without a platform TextDecoder', () => {
    afterEach(() => {
      vi.unstubAllGlobals();
      vi.resetModules();
    });

    it('still encodes small and large payloads', async () => {
      vi.stubGlobal('TextDecoder', undefined);
      vi.resetModules();
      const fresh = await import('../src/audio/base64.js');
      const random = prng(7);
      for (const length of [0, 1, 2, 3, 100, 20_000]) {
        const bytes = randomBytes(random, length);
        expect(fresh.base64Encode(bytes)).toBe(referenceEncode(bytes));
      }
    });
  });
});

describe('base64url', () => {
  it('encodes without padding, with - and _ for + and /', () => {
    expect(base64UrlEncode(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(base64UrlEncode(text('f'))).toBe('Zg');
    expect(base64UrlEncode(new Uint8Array(0))).toBe('');
  });

  it('round-trips every length up to 64', () => {
    const random = prng(7);
    for (let length = 0; length <= 64; length++) {
      const bytes = randomBytes(random, length);
      const encoded = base64UrlEncode(bytes);
      expect(encoded).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(base64UrlDecode(encoded)).toEqual(bytes);
    }
  });

  it('refuses padding, the standard alphabet and impossible lengths', () => {
    for (const bad of ['Zg==', '-_8=', '+/8', 'ab c', 'abcde']) {
      expect(() => base64UrlDecode(bad), bad).toThrow(TypeError);
    }
  });
});
