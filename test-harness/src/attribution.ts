/**
 * Which model item each chunk of audio the carrier got belongs to, and what of a response the
 * bridge cancelled it could still deliver: the replayer's reckoning of output audio.
 */
import type { RecordedEmit } from './replay.js';

/**
 * Which model item each chunk of the carrier's audio belongs to. The carrier gets the model's
 * audio in the order the model sent it, however long the bridge holds it (a paced bridge holds
 * seconds), so chunks are matched to the model's audio first in, first out, by duration. An item
 * ends at its last chunk (frame padding and a resampler's tail stay with it). Once the bridge cuts
 * an item (a truncate) or the carrier is told to clear, the audio of that item, and at a clear of
 * every item so far, is no longer expected: later deltas of them are not counted.
 *
 * Cuts and clears take effect where the bridge put them in the carrier's stream, not where the
 * replayer happened to see them: the frames of an item the bridge sent before its truncate are
 * that item's even when a starved carrier reads them after the model got the truncate, and a
 * clear the carrier reads late cuts only the items the model had begun before the bridge sent it
 * (not the next reply, already under way). Times are stream ms on one clock: when the model sent
 * a delta or got a truncate, when the bridge sent a frame or a clear. Where a time is not given,
 * the step takes effect at once.
 *
 * `limits` caps what is expected of an item, ms: the audio of a response the bridge cancelled at
 * a barge-in that reached the bridge only after it (see {@link bridgeCancelLimits}) is dropped by
 * design. A capped item closes once less than `limitSlackMs` of it is left (the resampler's tail
 * that the bridge discarded with the rest).
 */
export class OutputAttribution {
  #queue: Array<{ itemId: string; ms: number }> = [];
  readonly #cut = new Set<string>();
  /** Items the model sent audio of, and when it began (undefined: not told). */
  readonly #seen = new Map<string, number | undefined>();
  /** Truncates the model got whose place in the carrier's stream is not reached yet. */
  #pendingCuts: Array<{ itemIds: string[]; at: number }> = [];
  readonly #limits: ReadonlyMap<string, number>;
  readonly #limitSlackMs: number;
  /** Audio counted so far per capped item, ms. */
  readonly #counted = new Map<string, number>();

  constructor(options: { limits?: ReadonlyMap<string, number>; limitSlackMs?: number } = {}) {
    this.#limits = options.limits ?? new Map();
    this.#limitSlackMs = options.limitSlackMs ?? 0;
  }

  /** The model sent `ms` of audio for `itemId` (at `at`). */
  modelSent(itemId: string, ms: number, at?: number): void {
    if (this.#cut.has(itemId)) return;
    if (!this.#seen.has(itemId)) this.#seen.set(itemId, at);
    const limit = this.#limits.get(itemId);
    if (limit !== undefined) {
      const counted = this.#counted.get(itemId) ?? 0;
      ms = Math.min(ms, Math.max(0, limit - counted));
      this.#counted.set(itemId, counted + ms);
      if (ms <= 0) return;
    }
    const last = this.#queue.at(-1);
    if (last?.itemId === itemId) last.ms += ms;
    else this.#queue.push({ itemId, ms });
  }

  /**
   * The bridge cut these items (the model got their truncate at `at`): what is left of them will
   * not play. Their audio the bridge sent before the truncate (frames sent up to `at`) still does.
   */
  cut(itemIds: Iterable<string>, at?: number): void {
    const ids = [...itemIds];
    for (const id of ids) this.#cut.add(id);
    if (at === undefined) this.#drop(ids);
    else this.#pendingCuts.push({ itemIds: ids, at });
  }

  /**
   * The carrier was told to clear (the bridge sent the clear at `sentAt`): nothing the model had
   * begun sending by then will play any more.
   */
  clear(sentAt?: number): void {
    this.#applyCuts(sentAt);
    const ids = [...this.#seen]
      .filter(([, began]) => sentAt === undefined || began === undefined || began < sentAt)
      .map(([id]) => id);
    for (const id of ids) this.#cut.add(id);
    this.#drop(ids);
  }

  /**
   * The item of the next `durationMs` of audio the carrier got (the bridge sent it at `sentAt`), if any is expected.
   */
  carrierPlays(durationMs: number, sentAt?: number): string | undefined {
    this.#applyCuts(sentAt);
    // An item is done once the model has moved on to the next and less than a millisecond of it is
    // left (resampling rounds) or none (padding). While it is the last the model sent, more of it
    // may still come, and audio beyond it is its padding.
    while (
      this.#queue.length > 1 &&
      this.#queue[0]!.ms < 1 + (this.#limits.has(this.#queue[0]!.itemId) ? this.#limitSlackMs : 0)
    )
      this.#queue.shift();
    const head = this.#queue[0];
    if (!head) return undefined;
    head.ms -= durationMs;
    return head.itemId;
  }

  /** Applies the truncates the bridge sent before `sentAt` (all of them when it is not known). */
  #applyCuts(sentAt: number | undefined): void {
    if (this.#pendingCuts.length === 0) return;
    const due = this.#pendingCuts.filter((cut) => sentAt === undefined || cut.at < sentAt);
    if (due.length === 0) return;
    this.#pendingCuts = this.#pendingCuts.filter((cut) => !due.includes(cut));
    this.#drop(due.flatMap((cut) => cut.itemIds));
  }

  #drop(itemIds: readonly string[]): void {
    if (itemIds.length === 0) return;
    const ids = new Set(itemIds);
    this.#queue = this.#queue.filter((entry) => !ids.has(entry.itemId));
  }
}

/**
 * What the replayer told the attribution, in order, to tell it again once the bridge's record is
 * known. `frame` is the index of the carrier frame that carried the audio or the clear; `at` and
 * `sentAt` as for {@link OutputAttribution}.
 */
export type AttributionStep =
  | { step: 'sent'; itemId: string; ms: number; at?: number }
  | { step: 'cut'; itemIds: string[]; at?: number }
  | { step: 'clear'; frame?: number; sentAt?: number }
  | { step: 'plays'; ms: number; frame?: number; sentAt?: number };

/**
 * Attributes the carrier's audio again from the steps recorded: the item of each `plays` step, in
 * order. `sentAtOf` gives when the bridge sent a frame where a step lacks it (a bridge in another
 * process reports it only after the call).
 */
export function attributeAgain(
  steps: readonly AttributionStep[],
  options: {
    limits?: ReadonlyMap<string, number>;
    limitSlackMs?: number;
    sentAtOf?: (frame: number) => number | undefined;
  } = {},
): Array<string | undefined> {
  const attribution = new OutputAttribution(options);
  const sentAt = (step: { frame?: number; sentAt?: number }) =>
    step.sentAt ?? (step.frame === undefined ? undefined : options.sentAtOf?.(step.frame));
  const items: Array<string | undefined> = [];
  for (const step of steps) {
    if (step.step === 'sent') attribution.modelSent(step.itemId, step.ms, step.at);
    else if (step.step === 'cut') attribution.cut(step.itemIds, step.at);
    else if (step.step === 'clear') attribution.clear(sentAt(step));
    else items.push(attribution.carrierPlays(step.ms, sentAt(step)));
  }
  return items;
}

/** Bytes encoded by a base64 text. */
export function base64Length(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

/**
 * For each item of a response the bridge cancelled at a barge-in and then dropped audio of: the
 * ms of that item the bridge had before the barge-in, which is all the carrier can get. Read from
 * the events the bridge's transport emitted, in the order it handled them: the response it had
 * seen created and not yet done when it emitted `audio_interrupted` is the one it cancelled, and
 * its audio deltas handled after that moment are dropped (`deltaMs` gives a delta's length).
 */
export function bridgeCancelLimits(
  emitted: readonly RecordedEmit[],
  deltaMs: (base64: string) => number,
): Map<string, number> {
  let active: string | undefined;
  const cancelled = new Set<string>();
  const forwarded = new Map<string, number>();
  const limits = new Map<string, number>();
  for (const { name, args } of emitted) {
    const event = args[0] as
      { response?: { id?: string }; response_id?: string; item_id?: string; delta?: string } | undefined;
    if (name === 'response.created') {
      active = event?.response?.id;
    } else if (name === 'response.done') {
      if (event?.response?.id === active) active = undefined;
    } else if (name === 'audio_interrupted') {
      if (active !== undefined) cancelled.add(active);
      active = undefined;
    } else if (name === 'response.output_audio.delta' && event?.item_id && typeof event.delta === 'string') {
      const ms = deltaMs(event.delta);
      if (event.response_id !== undefined && cancelled.has(event.response_id))
        limits.set(event.item_id, forwarded.get(event.item_id) ?? 0);
      else forwarded.set(event.item_id, (forwarded.get(event.item_id) ?? 0) + ms);
    }
  }
  return limits;
}
