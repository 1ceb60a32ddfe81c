import { describe, expect, it } from 'vitest';
import { StereoTimeline, type Channel } from '../src/recorder/audio-timeline.js';

/** The same timeline as plain arrays: what every sample should be. */
class Model {
  // Longer than any timeline of the test gets: 400 steps of at most 3000 samples taken, plus the window.
  left = new Int16Array(1_500_000);
  right = new Int16Array(1_500_000);
  ends = [0, 0];
  base = 0;
  constructor(readonly maxHeld: number) {}
  put(channel: Channel, at: number, samples: Int16Array): number {
    const start = Math.max(at, this.base);
    const count = Math.max(0, Math.min(samples.length, this.base + this.maxHeld - start));
    const arr = channel === 0 ? this.left : this.right;
    for (let i = 0; i < count; i++) arr[start + i] = samples[i]!;
    if (count > 0) this.ends[channel] = Math.max(this.ends[channel]!, start + count);
    return samples.length - count;
  }
  cut(channel: Channel, from: number): number {
    const start = Math.max(from, this.base);
    const end = Math.max(this.ends[channel]!, this.base);
    if (end <= start) return 0;
    const arr = channel === 0 ? this.left : this.right;
    for (let i = start; i < end; i++) arr[i] = 0;
    this.ends[channel] = start;
    return end - start;
  }
  remove(channel: Channel, from: number, count: number): number {
    const start = Math.max(from, this.base);
    const end = Math.max(this.ends[channel]!, this.base);
    const n = Math.max(0, Math.min(count, end - start));
    if (n === 0) return 0;
    const arr = channel === 0 ? this.left : this.right;
    for (let i = start; i < end; i++) arr[i] = i + n < end ? arr[i + n]! : 0;
    this.ends[channel] = end - n;
    return n;
  }
  take(n: number): Int16Array {
    const out = new Int16Array(2 * n);
    for (let i = 0; i < n; i++) {
      out[2 * i] = this.left[this.base + i]!;
      out[2 * i + 1] = this.right[this.base + i]!;
    }
    this.base += n;
    return out;
  }
}

/** A small seeded generator (mulberry32), so that a failure replays. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index of the first sample that differs (or -1), cheaper to compare than whole arrays. */
function firstDifference(actual: Int16Array, expected: Int16Array): number {
  if (actual.length !== expected.length) return Math.min(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) return i;
  return -1;
}

describe('StereoTimeline', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'holds, cuts, removes and takes out every sample as plain arrays do (seed %i)',
    (seed) => {
      const next = random(seed);
      const maxHeld = 3000 + Math.floor(next() * 20_000);
      const timeline = new StereoTimeline(maxHeld);
      const model = new Model(maxHeld);
      let value = 1;
      for (let op = 0; op < 400; op++) {
        const r = next();
        const channel: Channel = next() < 0.5 ? 0 : 1;
        const at = model.base + Math.floor((next() - 0.1) * maxHeld * 1.2);
        if (r < 0.6) {
          const samples = Int16Array.from({ length: Math.floor(next() * 2000) }, () => value++ % 30_000);
          expect(timeline.put(channel, at, samples)).toBe(model.put(channel, at, samples));
        } else if (r < 0.7) {
          expect(timeline.cut(channel, at)).toBe(model.cut(channel, at));
        } else if (r < 0.8) {
          const n = Math.floor(next() * 3000);
          expect(timeline.remove(channel, at, n)).toBe(model.remove(channel, at, n));
        } else {
          const n = Math.floor(next() * 3000);
          expect(firstDifference(timeline.take(n), model.take(n))).toBe(-1);
        }
        const state = [timeline.base, timeline.end(channel), timeline.capacity <= maxHeld];
        expect(state).toEqual([model.base, Math.max(model.ends[channel]!, model.base), true]);
      }
      const rest = timeline.heldEnd - timeline.base + 10;
      expect(firstDifference(timeline.take(rest), model.take(rest))).toBe(-1);
    },
  );
});
