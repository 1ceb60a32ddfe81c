/**
 * Two channels of 16-bit samples on one timeline, for the call audio recorder. Positions are
 * absolute sample indices from the start of the recording. Only the window that may still change
 * is held — from the first sample not yet taken to the end of the latest audio placed — in one
 * ring buffer per channel that grows up to a bound; everything before it has been taken out
 * (written), and audio placed past the bound is dropped and counted by the caller.
 */

/** Which channel: 0 = left (the caller), 1 = right (the agent). */
export type Channel = 0 | 1;

/** Smallest ring allocated, samples per channel. */
const INITIAL_CAPACITY = 4096;

export class StereoTimeline {
  /** Most samples per channel held at once. */
  readonly maxHeld: number;
  #rings: [Int16Array, Int16Array];
  /** Ring index of the sample at `#base`. */
  #head = 0;
  /** Absolute position of the first sample not yet taken. */
  #base = 0;
  /** Absolute end of the audio placed on each channel (never before `#base` once taken past). */
  #ends: [number, number] = [0, 0];

  constructor(maxHeld: number) {
    this.maxHeld = Math.max(1, Math.floor(maxHeld));
    const capacity = Math.min(INITIAL_CAPACITY, this.maxHeld);
    this.#rings = [new Int16Array(capacity), new Int16Array(capacity)];
  }

  /** Absolute position of the first sample not yet taken. */
  get base(): number {
    return this.#base;
  }

  /** Absolute end of the audio placed on `channel`. */
  end(channel: Channel): number {
    return Math.max(this.#ends[channel], this.#base);
  }

  /** End of the held window: the later of both channels' ends. */
  get heldEnd(): number {
    return Math.max(this.end(0), this.end(1));
  }

  /** Samples per channel the ring can hold now (memory in use: 4 bytes per sample). */
  get capacity(): number {
    return this.#rings[0].length;
  }

  /**
   * Writes `samples` on `channel` from absolute position `at` (moved up to the window's start if
   * before it), replacing what was there. Returns how many samples did not fit within `maxHeld`
   * of the window's start and were dropped.
   */
  put(channel: Channel, at: number, samples: Int16Array): number {
    const start = Math.max(Math.floor(at), this.#base);
    const room = this.#base + this.maxHeld - start;
    const count = Math.max(0, Math.min(samples.length, room));
    if (count > 0) {
      this.#reserve(start + count - this.#base);
      this.#copyIn(channel, start - this.#base, samples.subarray(0, count));
      this.#ends[channel] = Math.max(this.#ends[channel], start + count);
    }
    return samples.length - count;
  }

  /**
   * Silences `channel` from absolute position `from` (at least the window's start) to its end,
   * which becomes `from`. Returns the number of samples removed.
   */
  cut(channel: Channel, from: number): number {
    const start = Math.max(Math.floor(from), this.#base);
    const end = this.end(channel);
    if (end <= start) return 0;
    this.#fill(channel, start - this.#base, end - start);
    this.#ends[channel] = start;
    return end - start;
  }

  /**
   * Removes `count` samples of `channel` from absolute position `from` (at least the window's
   * start): what follows moves that much earlier, and the channel's end with it. Returns the
   * number of samples removed.
   */
  remove(channel: Channel, from: number, count: number): number {
    const start = Math.max(Math.floor(from), this.#base);
    const end = this.end(channel);
    const n = Math.max(0, Math.min(Math.floor(count), end - start));
    if (n === 0) return 0;
    const rest = this.#read(channel, start + n - this.#base, end - start - n);
    this.#fill(channel, start - this.#base, end - start);
    this.#copyIn(channel, start - this.#base, rest);
    this.#ends[channel] = end - n;
    return n;
  }

  /**
   * Takes the window's first `count` samples out as interleaved stereo (left, right, ...); past
   * the audio held, silence. The caller bounds `count` (a block at a time).
   */
  take(count: number): Int16Array {
    const n = Math.max(0, Math.floor(count));
    const out = new Int16Array(n * 2);
    const held = Math.max(0, Math.min(n, this.heldEnd - this.#base));
    const [left, right] = this.#rings;
    const capacity = left.length;
    const first = Math.min(held, capacity - this.#head);
    interleave(out, 0, left, right, this.#head, first);
    interleave(out, first, left, right, 0, held - first);
    for (const ring of this.#rings) {
      ring.fill(0, this.#head, this.#head + first);
      ring.fill(0, 0, held - first);
    }
    this.#head = (this.#head + held) % capacity;
    this.#base += n;
    return out;
  }

  /** Makes the ring hold at least `length` samples from the window's start. */
  #reserve(length: number): void {
    const capacity = this.#rings[0].length;
    if (length <= capacity) return;
    let grown = capacity;
    while (grown < length) grown *= 2;
    grown = Math.min(Math.max(grown, length), this.maxHeld);
    const held = Math.min(capacity, this.heldEnd - this.#base);
    for (const channel of [0, 1] as const) {
      const ring = this.#rings[channel];
      const next = new Int16Array(grown);
      const first = Math.min(held, capacity - this.#head);
      next.set(ring.subarray(this.#head, this.#head + first), 0);
      if (first < held) next.set(ring.subarray(0, held - first), first);
      this.#rings[channel] = next;
    }
    this.#head = 0;
  }

  /** Copies `samples` into `channel` at `offset` from the window's start (room reserved). */
  #copyIn(channel: Channel, offset: number, samples: Int16Array): void {
    const ring = this.#rings[channel];
    const at = (this.#head + offset) % ring.length;
    const first = Math.min(samples.length, ring.length - at);
    ring.set(samples.subarray(0, first), at);
    if (first < samples.length) ring.set(samples.subarray(first), 0);
  }

  /** A copy of `count` samples of `channel` from `offset` after the window's start (within the ring). */
  #read(channel: Channel, offset: number, count: number): Int16Array {
    const ring = this.#rings[channel];
    const out = new Int16Array(Math.max(0, count));
    if (count <= 0) return out;
    const at = (this.#head + offset) % ring.length;
    const first = Math.min(count, ring.length - at);
    out.set(ring.subarray(at, at + first), 0);
    if (first < count) out.set(ring.subarray(0, count - first), first);
    return out;
  }

  /** Zeroes `count` samples of `channel` from `offset` after the window's start (within the ring). */
  #fill(channel: Channel, offset: number, count: number): void {
    const ring = this.#rings[channel];
    const n = Math.min(count, ring.length - offset);
    if (n <= 0) return;
    const at = (this.#head + offset) % ring.length;
    const first = Math.min(n, ring.length - at);
    ring.fill(0, at, at + first);
    if (first < n) ring.fill(0, 0, n - first);
  }
}

/** Writes `count` samples of `left` and `right` from `from` into `out` as stereo pairs, from pair `at`. */
function interleave(
  out: Int16Array,
  at: number,
  left: Int16Array,
  right: Int16Array,
  from: number,
  count: number,
): void {
  for (let i = 0, o = 2 * at, s = from; i < count; i++, o += 2, s++) {
    out[o] = left[s]!;
    out[o + 1] = right[s]!;
  }
}
