/**
 * PlaybackLedger: what was sent to the carrier and what the caller has heard, per
 * (response, item, content index).
 *
 * Audio is recorded in chunks (one per model delta, each followed by a mark where the carrier
 * acknowledges playback). The carrier plays chunks back to back in the order sent, so the ledger
 * keeps a playout schedule: a chunk starts when it was sent or when the previous chunk ended,
 * whichever is later. An acknowledged chunk ended when its ack arrived, less the jitter of the
 * moment (see `#ackedEnd`), which re-anchors the schedule. The played position of an item is its
 * acknowledged audio plus the elapsed time into the chunk now playing, never past that chunk's end
 * (its ack has not come) and never past what was sent. Carriers with no acknowledgements use the schedule alone.
 *
 * A `clear` starts a new generation: marks of older generations are stale and ignored.
 */

export type PlaybackKey = { responseId: string; itemId: string; contentIndex: number };

export type ItemPlayback = PlaybackKey & {
  /** Audio sent to the carrier for this item, in ms (frame padding included). */
  sentMs: number;
  /** The model's audio for this item, in ms: the most a truncation may keep. */
  contentMs: number;
  /** Audio the caller has heard, in ms (from acks and the playout schedule). */
  playedMs: number;
  /** Audio acknowledged by the carrier (or, without acks, played by the schedule), in ms. */
  ackedMs: number;
  /** True while a mark sent after this item's audio has not come back. */
  awaitingAck: boolean;
};

type ItemState = PlaybackKey & { sentMs: number; contentMs: number; ackedMs: number; pending: number };

/** A chunk not yet acknowledged. */
type Chunk = {
  item: ItemState;
  /** Item position at the end of this chunk, ms. */
  endOffsetMs: number;
  durationMs: number;
  sentAt: number;
  mark: string | undefined;
};

export type AckResult = 'acked' | 'stale' | 'unknown';

/**
 * Content of an item not (yet) sent that still counts as all sent: what resampling and framing
 * round away. Audio held back to send is whole carrier frames, far above it.
 */
const UNSENT_TOLERANCE_MS = 5;

/**
 * How many recent acks the steady ack delay is taken from. Until that many have come, none is
 * assumed: a delay counts as the carrier's own only once every ack in a full window showed it.
 */
const LATENESS_WINDOW = 8;

export class PlaybackLedger {
  #generation = 0;
  #markSeq = 0;
  /** Unacknowledged chunks, in the order sent. */
  #chunks: Chunk[] = [];
  /** When the carrier finished the last acknowledged chunk: where the schedule starts. */
  #anchor = -Infinity;
  #items = new Map<string, ItemState>();
  #byMark = new Map<string, Chunk>();
  #doneResponses = new Set<string>();
  /**
   * How late the recent acks came after the schedule's end of their chunk, ms (the link's, kept
   * across clears); it starts with a zero, the delay assumed before a window of acks showed one.
   */
  #lateness: number[] = [0];
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

  /** Adds `ms` of model audio to an item (what a truncation may keep at most). */
  addContent(key: PlaybackKey, ms: number): void {
    this.#item(key).contentMs += ms;
  }

  /**
   * Records a chunk of `durationMs` sent for `key`. Returns the mark name to send after it when
   * `withMark` is set; without marks the schedule alone decides what was played.
   */
  recordSent(key: PlaybackKey, durationMs: number, withMark: boolean): string | undefined {
    const item = this.#item(key);
    item.sentMs += durationMs;
    const mark = withMark ? `${this.#prefix}${this.#generation}.${++this.#markSeq}` : undefined;
    const chunk: Chunk = { item, endOffsetMs: item.sentMs, durationMs, sentAt: this.#now(), mark };
    item.pending++;
    this.#chunks.push(chunk);
    if (mark) this.#byMark.set(mark, chunk);
    else this.#settlePlayed();
    return mark;
  }

  /**
   * Applies a carrier ack. Marks from an older generation are `stale`, names the ledger never
   * issued are `unknown`; neither changes anything.
   */
  ack(name: string): AckResult {
    const chunk = this.#byMark.get(name);
    if (!chunk) return this.#isOwnStaleMark(name) ? 'stale' : 'unknown';
    // The carrier plays in order: this ack settles every earlier chunk too.
    const index = this.#chunks.indexOf(chunk);
    this.#settle(index + 1, this.#ackedEnd(index, this.#now()));
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
        contentMs: item.contentMs,
        ackedMs: item.ackedMs,
        playedMs: played.get(item) ?? item.ackedMs,
        awaitingAck: this.#chunks.some((c) => c.item === item && c.mark !== undefined),
      });
    }
    return out;
  }

  /**
   * Audio sent but, by the schedule, not yet played: how much the carrier still has queued, in
   * ms. Without acks this is the playout clock's estimate; with acks the schedule restarts at each.
   */
  queuedMs(): number {
    const now = this.#now();
    let end = this.#anchor;
    for (const c of this.#chunks) end = Math.max(c.sentAt, end) + c.durationMs;
    return Math.max(0, end - now);
  }

  /** True while a mark sent is still waiting for the carrier's ack. */
  awaitingAck(): boolean {
    return this.#byMark.size > 0;
  }

  /**
   * The response ended: once all of its audio is played its items are forgotten, so a long call
   * keeps no bookkeeping for turns the caller has heard in full.
   */
  responseDone(responseId: string): void {
    this.#doneResponses.add(responseId);
    this.#settlePlayed();
    this.#forgetHeardItems();
  }

  /** Starts a new generation (after a carrier `clear`): forgets all playback state. */
  clear(): void {
    this.#generation++;
    this.reset();
  }

  /** Forgets all playback state without starting a new generation. */
  reset(): void {
    this.#chunks = [];
    this.#anchor = -Infinity;
    this.#items.clear();
    this.#byMark.clear();
    this.#doneResponses.clear();
  }

  /**
   * When the carrier finished chunk `index`, from an ack that arrived at `arrival`. The schedule
   * says when it could have finished at the earliest; the ack, when it had at the latest. An ack
   * later than the schedule carries the carrier's steady delay (a playout buffer, the way back)
   * plus jitter of the moment (a stalled network or event loop): the steady part is the least
   * lateness of the recent acks, and only that part moves the schedule. The first acks of a call
   * cannot tell the two apart (one ack late by a stall looks like a carrier that started late), so
   * the carrier is taken to play what it gets when it gets it until a full window of acks shows a
   * steady delay. An ack earlier than the schedule (a carrier that acknowledges what it has
   * queued) is taken as it is.
   */
  #ackedEnd(index: number, arrival: number): number {
    let end = this.#anchor;
    for (let i = 0; i <= index; i++) end = Math.max(this.#chunks[i]!.sentAt, end) + this.#chunks[i]!.durationMs;
    const lateness = arrival - end;
    this.#lateness.push(Math.max(0, lateness));
    if (this.#lateness.length > LATENESS_WINDOW) this.#lateness.shift();
    if (!(lateness > 0)) return arrival;
    return end + Math.min(...this.#lateness);
  }

  #item(key: PlaybackKey): ItemState {
    const id = `${key.responseId}\u0000${key.itemId}\u0000${key.contentIndex}`;
    let item = this.#items.get(id);
    if (!item) {
      item = { ...key, sentMs: 0, contentMs: 0, ackedMs: 0, pending: 0 };
      this.#items.set(id, item);
    }
    return item;
  }

  /** Marks the first `count` chunks as played to their end, the last of them finishing at `at`. */
  #settle(count: number, at: number): void {
    if (count <= 0) return;
    for (let i = 0; i < count; i++) {
      const c = this.#chunks[i]!;
      if (c.mark) this.#byMark.delete(c.mark);
      c.item.pending--;
      if (c.endOffsetMs > c.item.ackedMs) c.item.ackedMs = c.endOffsetMs;
    }
    this.#chunks = this.#chunks.slice(count);
    this.#anchor = at;
    this.#forgetHeardItems();
  }

  /**
   * Chunks without a mark never get an ack: once the schedule says they have played, settle
   * them, so the bookkeeping stays bounded on carriers with no acknowledgements.
   */
  #settlePlayed(): void {
    const now = this.#now();
    let end = this.#anchor;
    let count = 0;
    for (const c of this.#chunks) {
      if (c.mark) break;
      const finish = Math.max(c.sentAt, end) + c.durationMs;
      if (finish > now) break;
      end = finish;
      count++;
    }
    if (count > 0) this.#settle(count, end);
  }

  #playedPositions(now: number): Map<ItemState, number> {
    const played = new Map<ItemState, number>();
    let prevEnd = this.#anchor;
    for (const c of this.#chunks) {
      const start = Math.max(c.sentAt, prevEnd);
      // Chunks play in order: one that has not started yet means none after it has.
      if (now <= start) break;
      const position = c.endOffsetMs - c.durationMs + Math.min(c.durationMs, now - start);
      if (position > (played.get(c.item) ?? c.item.ackedMs)) played.set(c.item, position);
      prevEnd = start + c.durationMs;
    }
    return played;
  }

  #forgetHeardItems(): void {
    if (this.#doneResponses.size === 0) return;
    const open = new Set<string>();
    for (const [id, item] of this.#items) {
      // Heard in full: nothing awaiting playback, and nothing of it still held back to send
      // (a paced bridge holds most of a reply; its response can be done before it all left).
      if (
        this.#doneResponses.has(item.responseId) &&
        item.pending === 0 &&
        item.contentMs - item.sentMs < UNSENT_TOLERANCE_MS
      ) {
        this.#items.delete(id);
      } else open.add(item.responseId);
    }
    for (const responseId of this.#doneResponses) if (!open.has(responseId)) this.#doneResponses.delete(responseId);
  }

  #isOwnStaleMark(name: string): boolean {
    if (!name.startsWith(this.#prefix)) return false;
    const gen = Number(name.slice(this.#prefix.length, name.indexOf('.')));
    return Number.isInteger(gen) && gen < this.#generation;
  }
}
