import { seqDelta } from './packet.js';

/** Counters of one receive stream, cumulative over the call. */
export type JitterBufferStats = {
  /** Packets accepted into the buffer. */
  received: number;
  /** Packets released in order. */
  released: number;
  /** Packets that arrived after a later one and were put back in order. */
  reordered: number;
  /** Sequence numbers given up on: never arrived within the buffer's depth. */
  lost: number;
  /** Packets that arrived after their place had been given up on (dropped). */
  late: number;
  /** Copies of a packet already held or released (dropped). */
  duplicates: number;
  /** Jumps in the sequence numbers too large to be loss (a restarted sender): the buffer resynchronised. */
  resyncs: number;
  /**
   * Packets far outside the numbering (a very late copy, a stray source) that no packet in
   * sequence followed: dropped, without counting the numbers between as lost.
   */
  strays: number;
};

/**
 * One released packet: `lostBefore` sequence numbers were given up on just before it; `restart`
 * marks the first packet of a new numbering (the sender restarted: its timestamps did too).
 */
export type Released<T> = { item: T; sequence: number; lostBefore: number; restart: boolean };

/** A gap this large is a restarted sender, not loss (RFC 3550 appendix A.1 uses the same bounds). */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
/** How many released sequence numbers are remembered to tell duplicates from late packets. */
const RECENT = 128;

/**
 * A small receive jitter buffer for RTP: puts packets back in sequence order, holds at most
 * `depth` packets while waiting for a missing one, then gives it up as lost and counts it. It has
 * no clock: packets leave when their predecessors have, or when the buffer is full. 16-bit
 * sequence numbers are unwrapped into a running count.
 */
export class JitterBuffer<T> {
  readonly depth: number;
  readonly stats: JitterBufferStats = {
    received: 0,
    released: 0,
    reordered: 0,
    lost: 0,
    late: 0,
    duplicates: 0,
    resyncs: 0,
    strays: 0,
  };
  /** Next extended sequence number to release; undefined before the first packet. */
  #next: number | undefined;
  /** Highest extended sequence number accepted. */
  #highest: number | undefined;
  #held = new Map<number, T>();
  /** A packet far outside the numbering, kept until the next one shows whether the sender restarted. */
  #probation: { ext: number; item: T } | undefined;
  #recent = new Set<number>();
  #recentOrder: number[] = [];
  /** The extended sequence number a new numbering starts at, until it is released. */
  #restartAt: number | undefined;

  constructor(depth = 3) {
    if (!Number.isInteger(depth) || depth < 0)
      throw new RangeError(`jitter buffer depth must be a whole number >= 0, got ${depth}`);
    this.depth = depth;
  }

  /** Packets waiting for a missing predecessor. */
  get held(): number {
    return this.#held.size;
  }

  /** Adds a packet by its 16-bit sequence number; returns what can now leave, in order. */
  push(sequence16: number, item: T): Array<Released<T>> {
    const out: Array<Released<T>> = [];
    if (this.#next === undefined) {
      this.#next = sequence16;
      this.#highest = sequence16;
      this.stats.received++;
      this.#held.set(sequence16, item);
      this.#drain(out, 0);
      return out;
    }
    const ext = this.#next + seqDelta(sequence16, this.#next & 0xffff);
    const ahead = ext - this.#next;
    if (ahead > MAX_DROPOUT || ahead < -MAX_MISORDER) {
      // One packet far off is a stray until the next one follows it in sequence (RFC 3550
      // appendix A.1): only then did the sender restart its numbering.
      const candidate = this.#probation;
      if (candidate === undefined || ext !== candidate.ext + 1) {
        if (candidate !== undefined) this.stats.strays++;
        this.#probation = { ext, item };
        return out;
      }
      // Keep what is held, in order, then follow the new numbering from the first of the two.
      this.#probation = undefined;
      this.stats.resyncs++;
      this.flush(out);
      this.#next = candidate.ext;
      this.#highest = candidate.ext;
      this.#restartAt = candidate.ext;
      this.stats.received++;
      this.#held.set(candidate.ext, candidate.item);
    } else {
      // A packet within the numbering: the stray kept on probation was no restart.
      this.#dropStray();
      if (ahead < 0) {
        if (this.#recent.has(ext)) this.stats.duplicates++;
        else this.stats.late++;
        return out;
      }
      if (this.#held.has(ext)) {
        this.stats.duplicates++;
        return out;
      }
    }
    this.stats.received++;
    if (this.#highest !== undefined && ext < this.#highest) this.stats.reordered++;
    this.#highest = Math.max(this.#highest ?? ext, ext);
    this.#held.set(ext, item);
    this.#drain(out, 0);
    while (this.#held.size > this.depth) {
      // The missing packet is given up on: the oldest held one leaves, after counting the hole.
      const first = Math.min(...this.#held.keys());
      const lost = first - this.#next!;
      this.stats.lost += lost;
      this.#next = first;
      this.#drain(out, lost);
    }
    return out;
  }

  /** Releases everything held, in order, counting the holes between (the stream ended). */
  flush(out: Array<Released<T>> = []): Array<Released<T>> {
    this.#dropStray();
    while (this.#held.size > 0) {
      const first = Math.min(...this.#held.keys());
      const lost = first - this.#next!;
      this.stats.lost += lost;
      this.#next = first;
      this.#drain(out, lost);
    }
    return out;
  }

  /** Forgets the stream (a new source): the next packet starts a new numbering. */
  reset(): void {
    this.#dropStray();
    this.#next = undefined;
    this.#highest = undefined;
    this.#held.clear();
    this.#recent.clear();
    this.#recentOrder = [];
    this.#restartAt = undefined;
  }

  #dropStray(): void {
    if (this.#probation === undefined) return;
    this.#probation = undefined;
    this.stats.strays++;
  }

  #drain(out: Array<Released<T>>, lostBefore: number): void {
    let lost = lostBefore;
    let next = this.#next!;
    let item = this.#held.get(next);
    while (item !== undefined || this.#held.has(next)) {
      this.#held.delete(next);
      const restart = next === this.#restartAt;
      if (restart) this.#restartAt = undefined;
      out.push({ item: item as T, sequence: next, lostBefore: lost, restart });
      this.#remember(next);
      this.stats.released++;
      lost = 0;
      next++;
      item = this.#held.get(next);
    }
    this.#next = next;
  }

  #remember(sequence: number): void {
    this.#recent.add(sequence);
    this.#recentOrder.push(sequence);
    if (this.#recentOrder.length > RECENT) this.#recent.delete(this.#recentOrder.shift()!);
  }
}
