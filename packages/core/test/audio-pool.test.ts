import { describe, expect, it } from 'vitest';
import { base64Decode, base64DecodeShared, base64Encode, isTrustedBase64 } from '../src/audio/base64.js';
import { allocBytes, exactBuffer } from '../src/audio/pool.js';
import { Framer } from '../src/audio/framer.js';
import { prng } from '@switchboard/test-kit/random';

const overlaps = (a: Uint8Array, b: Uint8Array) =>
  a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;

describe('pooled byte arrays', () => {
  it('hands out zero-filled, 8-byte aligned regions that never overlap, across pool boundaries', () => {
    const random = prng(7);
    const arrays: Uint8Array[] = [];
    for (let i = 0; i < 400; i++) {
      const a = allocBytes(1 + Math.floor(random() * 1024));
      expect(a.every((b) => b === 0)).toBe(true);
      expect(a.byteOffset % 8).toBe(0);
      a.fill(0xff);
      arrays.push(a);
    }
    // 400 arrays of ~512 bytes span several 16 KiB pools.
    expect(new Set(arrays.map((a) => a.buffer)).size).toBeGreaterThan(5);
    for (let i = 1; i < arrays.length; i++) expect(overlaps(arrays[i - 1]!, arrays[i]!)).toBe(false);
    // 16-bit views of them work (aligned).
    expect(new Int16Array(arrays[0]!.buffer, arrays[0]!.byteOffset, arrays[0]!.byteLength >> 1)[0]).toBe(-1);
  });

  it('gives larger and empty arrays buffers of their own', () => {
    const big = allocBytes(4096);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(4096);
    expect(allocBytes(0).byteLength).toBe(0);
  });

  it('exactBuffer: the buffer itself when the array spans it, else a copy of just the bytes', () => {
    const own = new Uint8Array([1, 2, 3]);
    expect(exactBuffer(own)).toBe(own.buffer);
    const pooled = allocBytes(3);
    pooled.set([4, 5, 6]);
    const copy = exactBuffer(pooled);
    expect(copy).not.toBe(pooled.buffer);
    expect([...new Uint8Array(copy)]).toEqual([4, 5, 6]);
  });
});

describe('base64DecodeShared', () => {
  it('decodes as base64Decode does, each result its own region, and refuses what it refuses', () => {
    const random = prng(11);
    const results: Array<[Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < 300; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(random() * 1500) }, () => Math.floor(random() * 256));
      const text = base64Encode(bytes);
      const shared = base64DecodeShared(text);
      expect(shared).toEqual(base64Decode(text));
      expect(shared).toEqual(bytes);
      expect(isTrustedBase64(text, shared)).toBe(true);
      results.push([shared, bytes]);
    }
    // Later decodes wrote nowhere an earlier result lives.
    for (const [shared, bytes] of results) expect(shared).toEqual(bytes);
    for (const bad of ['AAA=AAAA', 'AAAA AAA', 'AAAA-AAA', 'AAAAŁAAA', 'A', 'AA"A']) {
      expect(() => base64DecodeShared(bad)).toThrow(TypeError);
      expect(() => base64Decode(bad)).toThrow(TypeError);
    }
  });
});

describe('base64Encode with its reused character buffer', () => {
  it('encodes texts of every size, one after another, each as Node does', () => {
    const random = prng(3);
    for (const length of [0, 1, 2, 3, 159, 160, 161, 900, 12_000, 12_289, 20_000, 5, 70_000, 4]) {
      const bytes = Uint8Array.from({ length }, () => Math.floor(random() * 256));
      expect(base64Encode(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
  });
});

describe('Framer with pooled frames', () => {
  it('frames that join two inputs hold both, and later frames do not overwrite them', () => {
    const framer = new Framer({ minBytes: 160, maxBytes: 160 });
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) frames.push(...framer.push(new Uint8Array(100).fill(i)));
    // Every byte of the stream is where it belongs: byte k of the stream came from input k / 100.
    const joined = frames.flatMap((f) => [...f]);
    expect(joined.length).toBe(Math.floor(5000 / 160) * 160);
    // The frames that straddle two inputs were made here (the others are views of an input).
    expect(frames.filter((f) => f.buffer.byteLength !== 100).length).toBeGreaterThan(10);
    expect(joined.every((value, k) => value === Math.floor(k / 100))).toBe(true);
  });
});
