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
 * `limits` caps what is expected of an item, ms: the audio of a response the bridge cancelled at
 * a barge-in that reached the bridge only after it (see {@link bridgeCancelLimits}) is dropped by
 * design. A capped item closes once less than `limitSlackMs` of it is left (the resampler's tail
 * that the bridge discarded with the rest).
 */
export class OutputAttribution {
  #queue: Array<{ itemId: string; ms: number }> = [];
  readonly #cut = new Set<string>();
  readonly #seen = new Set<string>();
  readonly #limits: ReadonlyMap<string, number>;
  readonly #limitSlackMs: number;
  /** Audio counted so far per capped item, ms. */
  readonly #counted = new Map<string, number>();

  constructor(options: { limits?: ReadonlyMap<string, number>; limitSlackMs?: number } = {}) {
    this.#limits = options.limits ?? new Map();
    this.#limitSlackMs = options.limitSlackMs ?? 0;
  }

  /** The model sent `ms` of audio for `itemId`. */
  modelSent(itemId: string, ms: number): void {
    if (this.#cut.has(itemId)) return;
    this.#seen.add(itemId);
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

  /** The bridge cut these items: what is left of them will not play. */
  cut(itemIds: Iterable<string>): void {
    for (const id of itemIds) this.#cut.add(id);
    this.#queue = this.#queue.filter((entry) => !this.#cut.has(entry.itemId));
  }

  /** The carrier was told to clear: nothing the model sent so far will play any more. */
  clear(): void {
    this.cut([...this.#seen]);
  }

  /** The item of the next `durationMs` of audio the carrier got, if any is expected. */
  carrierPlays(durationMs: number): string | undefined {
    // An item is done once the model has moved on to the next and less than a millisecond of it is
    // left (resampling rounds) or none (padding). While it is the last the model sent, more of it
    // may still come, and audio beyond it is its padding.
    while (this.#queue.length > 1 && this.#queue[0]!.ms < 1 + (this.#limits.has(this.#queue[0]!.itemId) ? this.#limitSlackMs : 0)) this.#queue.shift();
    const head = this.#queue[0];
    if (!head) return undefined;
    head.ms -= durationMs;
    return head.itemId;
  }
}

export type AttributionStep =
  | { step: 'sent'; itemId: string; ms: number }
  | { step: 'cut'; itemIds: string[] }
  | { step: 'clear' }
  | { step: 'plays'; ms: number };

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
export function bridgeCancelLimits(emitted: readonly RecordedEmit[], deltaMs: (base64: string) => number): Map<string, number> {
  let active: string | undefined;
  const cancelled = new Set<string>();
  const forwarded = new Map<string, number>();
  const limits = new Map<string, number>();
  for (const { name, args } of emitted) {
    const event = args[0] as { response?: { id?: string }; response_id?: string; item_id?: string; delta?: string } | undefined;
    if (name === 'response.created') {
      active = event?.response?.id;
    } else if (name === 'response.done') {
      if (event?.response?.id === active) active = undefined;
    } else if (name === 'audio_interrupted') {
      if (active !== undefined) cancelled.add(active);
      active = undefined;
    } else if (name === 'response.output_audio.delta' && event?.item_id && typeof event.delta === 'string') {
      const ms = deltaMs(event.delta);
      if (event.response_id !== undefined && cancelled.has(event.response_id)) limits.set(event.item_id, forwarded.get(event.item_id) ?? 0);
      else forwarded.set(event.item_id, (forwarded.get(event.item_id) ?? 0) + ms);
    }
  }
  return limits;
}
