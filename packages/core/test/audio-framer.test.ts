import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { Framer, concatBytes, type FramerRules } from '../src/audio/index.js';
import { prng } from '@switchboard/test-kit/random';

/** Index of the first differing byte, or -1 when equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Allowed frame sizes written out from the rules, independently of the framer. */
function allowed(rules: FramerRules): { unit: number; min: number; max: number } {
  const unit = rules.multipleOf ?? 1;
  let min = unit;
  while (rules.minBytes !== undefined && min < rules.minBytes) min += unit;
  let max = Infinity;
  if (rules.maxBytes !== undefined) {
    max = 0;
    while (max + unit <= rules.maxBytes) max += unit;
  }
  return { unit, min, max };
}

/**
 * Feed random chunks through a framer (reusing one buffer, as a caller would) and return a
 * list of every broken promise: frame sizes, held bytes, and the byte stream itself.
 */
function checkStream(
  rules: FramerRules,
  random: () => number,
  totalBytes: number,
  maxChunk: number,
  pad: boolean,
): string[] {
  const problems: string[] = [];
  const padByte = Math.floor(random() * 256);
  const framer = new Framer(rules, padByte);
  const { unit, min, max } = allowed(rules);
  const sent: Uint8Array[] = [];
  const frames: Uint8Array[] = [];
  const scratch = new Uint8Array(maxChunk);
  let remaining = totalBytes;
  while (remaining > 0) {
    const size = Math.min(remaining, Math.floor(random() * (maxChunk + 1)));
    const chunk = scratch.subarray(0, size);
    for (let i = 0; i < size; i++) chunk[i] = Math.floor(random() * 256);
    sent.push(chunk.slice());
    // Frames may view the pushed chunk: copy them before the chunk is overwritten.
    for (const frame of framer.push(chunk)) {
      const n = frame.length;
      if (n % unit !== 0 || n < min || n > max) problems.push(`frame of ${n} bytes`);
      frames.push(frame.slice());
    }
    if (framer.pendingBytes >= min) problems.push(`${framer.pendingBytes} bytes held after push`);
    remaining -= size;
  }
  const held = framer.pendingBytes;
  const tail = framer.flush(pad);
  if (framer.pendingBytes !== 0) problems.push('bytes held after flush');
  const input = concatBytes(sent);
  const output = concatBytes([...frames, ...tail]);
  if (held === 0) {
    if (tail.length !== 0) problems.push('flush emitted a frame with nothing held');
    if (firstDifference(output, input) !== -1) problems.push(`stream differs at ${firstDifference(output, input)}`);
    return problems;
  }
  const last = tail[0];
  if (tail.length !== 1 || last === undefined) return [...problems, `flush emitted ${tail.length} frames`];
  if (pad) {
    if (last.length !== min) problems.push(`padded flush of ${last.length} bytes`);
    if (!last.subarray(held).every((b) => b === padByte)) problems.push('padding is not the pad byte');
  } else if (last.length !== held) {
    problems.push(`unpadded flush of ${last.length} bytes, ${held} held`);
  }
  if (output.length < input.length) problems.push('output shorter than input');
  const diff = firstDifference(output.subarray(0, input.length), input);
  if (diff !== -1) problems.push(`stream differs at ${diff}`);
  return problems;
}

describe('Framer', () => {
  it('passes input through untouched when there are no rules', () => {
    const framer = new Framer({});
    const bytes = Uint8Array.of(1, 2, 3);
    const frames = framer.push(bytes);
    expect(frames).toHaveLength(1);
    expect(frames[0]).toBe(bytes);
    expect(framer.push(new Uint8Array(0))).toEqual([]);
    expect(framer.pendingBytes).toBe(0);
    expect(framer.flush()).toEqual([]);
  });

  it('cuts Twilio-like audio into multiples of 160 bytes', () => {
    const framer = new Framer({ multipleOf: 160 }, 0xff);
    expect(framer.push(new Uint8Array(100).fill(1))).toEqual([]);
    expect(framer.pendingBytes).toBe(100);
    const frames = framer.push(new Uint8Array(300).fill(2));
    expect(frames.map((f) => f.length)).toEqual([320]);
    expect(frames[0]!.subarray(0, 100).every((b) => b === 1)).toBe(true);
    expect(frames[0]!.subarray(100).every((b) => b === 2)).toBe(true);
    expect(framer.pendingBytes).toBe(80);
    const [last] = framer.flush();
    expect(last!.length).toBe(160);
    expect(last!.subarray(0, 80).every((b) => b === 2)).toBe(true);
    expect(last!.subarray(80).every((b) => b === 0xff)).toBe(true);
  });

  it('applies Exotel-like rules: at least 3200, at most 100000, multiples of 320', () => {
    const framer = new Framer({ minBytes: 3200, maxBytes: 100_000, multipleOf: 320 });
    expect(framer.push(new Uint8Array(3000))).toEqual([]);
    expect(framer.push(new Uint8Array(500)).map((f) => f.length)).toEqual([3200]);
    expect(framer.pendingBytes).toBe(300);
    // 300 + 250000 = 250300: two frames of 99840 (the largest multiple of 320 <= 100000),
    // then 50620 -> 50560, keeping 60.
    expect(framer.push(new Uint8Array(250_000)).map((f) => f.length)).toEqual([99_840, 99_840, 50_560]);
    expect(framer.pendingBytes).toBe(60);
    expect(framer.flush(false).map((f) => f.length)).toEqual([60]);
    expect(framer.pendingBytes).toBe(0);
  });

  it('rounds minBytes up and maxBytes down to the multiple', () => {
    const framer = new Framer({ minBytes: 250, maxBytes: 1000, multipleOf: 160 });
    expect(framer.minFrame).toBe(320);
    expect(framer.maxFrame).toBe(960);
    expect(framer.push(new Uint8Array(319))).toEqual([]);
    expect(framer.push(new Uint8Array(1)).map((f) => f.length)).toEqual([320]);
    expect(framer.push(new Uint8Array(2000)).map((f) => f.length)).toEqual([960, 960]);
    expect(framer.pendingBytes).toBe(80);
  });

  it('keeps held bytes even when the caller reuses its buffer', () => {
    const framer = new Framer({ multipleOf: 4 });
    const buffer = Uint8Array.of(1, 2, 3, 4, 5, 6);
    const first = framer.push(buffer).map((f) => Array.from(f));
    buffer.set([7, 8, 9, 10, 11, 12]);
    const second = framer.push(buffer).map((f) => Array.from(f));
    expect(first).toEqual([[1, 2, 3, 4]]);
    expect(second).toEqual([[5, 6, 7, 8, 9, 10, 11, 12]]);
  });

  it('drops held bytes on reset', () => {
    const framer = new Framer({ multipleOf: 160 });
    framer.push(new Uint8Array(50));
    framer.reset();
    expect(framer.pendingBytes).toBe(0);
    expect(framer.flush()).toEqual([]);
    expect(framer.push(new Uint8Array(160).fill(9)).map((f) => f.length)).toEqual([160]);
  });

  it.each([
    [{ minBytes: 0 }],
    [{ multipleOf: 0 }],
    [{ maxBytes: -1 }],
    [{ multipleOf: 2.5 }],
    [{ maxBytes: 100, multipleOf: 160 }],
    [{ minBytes: 400, maxBytes: 300 }],
    [{ minBytes: 200, maxBytes: 300, multipleOf: 160 }],
  ])('rejects impossible rules %j with a ConfigError', (rules) => {
    expect(() => new Framer(rules)).toThrow(ConfigError);
  });

  const RULES: FramerRules[] = [
    {},
    { multipleOf: 160 },
    { multipleOf: 320 },
    { minBytes: 3200, maxBytes: 100_000, multipleOf: 320 },
    { maxBytes: 640 },
    { minBytes: 480 },
    { minBytes: 7, maxBytes: 50, multipleOf: 3 },
    { minBytes: 160, maxBytes: 160, multipleOf: 160 },
  ];

  it.each(RULES.map((rules) => [rules]))(
    'never loses, duplicates or reorders a byte and always respects %j',
    (rules) => {
      const random = prng(JSON.stringify(rules).length * 131);
      for (let round = 0; round < 40; round++) {
        const maxChunk = [1, 17, 160, 1000, 5000][round % 5]!;
        const total = Math.floor(random() * 20_000);
        expect(checkStream(rules, random, total, maxChunk, round % 2 === 0), `round ${round}`).toEqual([]);
      }
      expect(checkStream(rules, random, 250_000, 120_000, true)).toEqual([]);
    },
  );
});
