/**
 * PlaybackLedger: what was sent to the carrier and what the caller has heard, per
 * (response, item, content index).
 *
 * Audio is recorded in chunks (one per model delta, each followed by a mark where the carrier
 * acknowledges playback). The carrier plays chunks back to back in the order sent, so the ledger
 * keeps a playout schedule: a chunk starts when it was sent or when the previous chunk ended,
 * whichever is later, and an acknowledged chunk ended exactly when its ack arrived. The played
 * position of an item is the acknowledged part plus the elapsed time into the chunk now playing,
 * never past that chunk's end (its ack has not come) and never past what was sent. Carriers with
 * no acknowledgements use the schedule alone.
 *
 * A `clear` starts a new generation: marks of older generations are stale and ignored.
 */

export type PlaybackKey = { responseId: string; itemId: string; contentIndex: number };

export type ItemPlayback = PlaybackKey & {
  /** Audio sent to the carrier for this item, in ms. */
  sentMs: number;
  /** Audio the caller has heard, in ms (from acks and the playout schedule). */
  playedMs: number;
  /** Audio acknowledged by the carrier, in ms. */
  ackedMs: number;
};

type Chunk = {
  item: ItemState;
  /** Item position at the end of this chunk, ms. */
  endOffsetMs: number;
  durationMs: number;
  sentAt: number;
  ackedAt: number | undefined;
  mark: string | undefined;
};

type ItemState = PlaybackKey & { sentMs: number; ackedMs: number; chunks: Chunk[] };

export type AckResult = 'acked' | 'stale' | 'unknown';

export class PlaybackLedger {
  #generation = 0;
  #markSeq = 0;
  #chunks: Chunk[] = [];
  #items = new Map<string, ItemState>();
  #byMark = new Map<string, Chunk>();
  #doneResponses = new Set<string>();
  readonly #now: () => number;
  readonly #prefix: string;

  constructor(options: { now?: () => number; markPrefix?: string } = {}) {
    this.#now = options.now ?? Date.now;
    this.#prefix = options.markPrefix ?? 'sb';
  }

  /** Current generation; bumped by every {@link clear}. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Records a chunk of `durationMs` sent for `key`. Returns the mark name to send after it when
   * `withMark` is set.
   */
  recordSent(key: PlaybackKey, durationMs: number, withMark: boolean): string | undefined {
    const id = itemKey(key);
    let item = this.#items.get(id);
    if (!item) {
      item = { ...key, sentMs: 0, ackedMs: 0, chunks: [] };
      this.#items.set(id, item);
    }
    item.sentMs += durationMs;
    const mark = withMark ? `${this.#prefix}${this.#generation}.${++this.#markSeq}` : undefined;
    const chunk: Chunk = { item, endOffsetMs: item.sentMs, durationMs, sentAt: this.#now(), ackedAt: undefined, mark };
    item.chunks.push(chunk);
    this.#chunks.push(chunk);
    if (mark) this.#byMark.set(mark, chunk);
    return mark;
  }

  /**
   * Applies a carrier ack. Marks from an older generation are `stale`, names the ledger never
   * issued are `unknown`; neither changes anything.
   */
  ack(name: string): AckResult {
    const chunk = this.#byMark.get(name);
    if (!chunk) return this.#isOwnStaleMark(name) ? 'stale' : 'unknown';
    this.#byMark.delete(name);
    const at = this.#now();
    // The carrier plays in order: an ack also settles every earlier chunk still waiting for one.
    for (const c of this.#chunks) {
      if (c.ackedAt === undefined) {
        c.ackedAt = at;
        if (c.mark) this.#byMark.delete(c.mark);
        if (c.endOffsetMs > c.item.ackedMs) c.item.ackedMs = c.endOffsetMs;
      }
      if (c === chunk) break;
    }
    this.#prune();
    this.#forgetHeardItems();
    return 'acked';
  }

  /** Played and sent positions of every item with audio in the current generation. */
  snapshot(): ItemPlayback[] {
    const played = this.#playedPositions(this.#now());
    const out: ItemPlayback[] = [];
    for (const item of this.#items.values()) {
      out.push({
        responseId: item.responseId,
        itemId: item.itemId,
        contentIndex: item.contentIndex,
        sentMs: item.sentMs,
        ackedMs: item.ackedMs,
        playedMs: played.get(item) ?? item.ackedMs,
      });
    }
    return out;
  }

  /** Starts a new generation (after a carrier `clear`): forgets all playback state. */
  clear(): void {
    this.#generation++;
    this.reset();
  }

  /** Forgets all playback state without starting a new generation. */
  reset(): void {
    this.#chunks = [];
    this.#items.clear();
    this.#byMark.clear();
    this.#doneResponses.clear();
  }

  /**
   * The response ended: once all of its audio is acknowledged its items are forgotten, so a long
   * call keeps no bookkeeping for turns the caller has heard in full.
   */
  responseDone(responseId: string): void {
    this.#doneResponses.add(responseId);
    this.#forgetHeardItems();
  }

  #playedPositions(now: number): Map<ItemState, number> {
    const played = new Map<ItemState, number>();
    let prevEnd = -Infinity;
    for (const c of this.#chunks) {
      const start = Math.max(c.sentAt, prevEnd);
      let position: number;
      if (c.ackedAt !== undefined) {
        position = c.endOffsetMs;
        prevEnd = c.ackedAt;
      } else {
        // Chunks play in order: one that has not started yet means none after it has.
        if (now <= start) break;
        const into = Math.min(c.durationMs, now - start);
        position = c.endOffsetMs - c.durationMs + into;
        prevEnd = start + c.durationMs;
      }
      const current = played.get(c.item) ?? 0;
      if (position > current) played.set(c.item, position);
    }
    for (const [item, ms] of played) played.set(item, Math.min(ms, item.sentMs));
    return played;
  }

  /** Keeps the chunk list short: acknowledged chunks before the first pending one carry no information the items do not. */
  #prune(): void {
    let i = 0;
    // Keep the last acknowledged chunk: it anchors the schedule of the next one.
    while (i < this.#chunks.length - 1 && this.#chunks[i + 1]!.ackedAt !== undefined) i++;
    if (i > 0) {
      for (const c of this.#chunks.slice(0, i)) {
        const list = c.item.chunks;
        const at = list.indexOf(c);
        if (at >= 0) list.splice(at, 1);
      }
      this.#chunks = this.#chunks.slice(i);
    }
  }

  #forgetHeardItems(): void {
    if (this.#doneResponses.size === 0) return;
    for (const [id, item] of this.#items) {
      if (!this.#doneResponses.has(item.responseId) || item.ackedMs < item.sentMs) continue;
      this.#items.delete(id);
      if (item.chunks.length > 0) this.#chunks = this.#chunks.filter((c) => c.item !== item || c === this.#chunks[this.#chunks.length - 1]);
    }
    for (const responseId of this.#doneResponses) {
      let open = false;
      for (const item of this.#items.values()) if (item.responseId === responseId) open = true;
      if (!open) this.#doneResponses.delete(responseId);
    }
  }

  #isOwnStaleMark(name: string): boolean {
    if (!name.startsWith(this.#prefix)) return false;
    const gen = Number(name.slice(this.#prefix.length, name.indexOf('.')));
    return Number.isInteger(gen) && gen < this.#generation;
  }
}

function itemKey(key: PlaybackKey): string {
  return `${key.responseId}\u0000${key.itemId}\u0000${key.contentIndex}`;
}
