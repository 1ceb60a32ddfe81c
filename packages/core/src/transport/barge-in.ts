import type { PlaybackKey, PlaybackLedger } from '../ledger.js';
import { logger } from '../log.js';
import type { CallMetrics } from '../metrics.js';
import type { MediaStreamProtocol } from '../types.js';
import type { OutputPath } from './output.js';

const log = logger('core');

/** What barge-in needs from the transport it belongs to. */
export interface BargeInHost {
  readonly metrics: CallMetrics;
  readonly protocol: MediaStreamProtocol;
  readonly ledger: PlaybackLedger;
  readonly output: OutputPath;
  /** Sends `response.cancel` for the response in flight. */
  cancelResponse(): void;
  /** Tells the model where the caller stopped hearing an item. */
  truncate(itemId: string, contentIndex: number, audioEndMs: number): void;
  /** Emits `audio_interrupted`. */
  interrupted(): void;
  /** Runs `fn`, turning a throw into an `error` event. */
  safely(fn: () => void): void;
}

/**
 * The model's responses as the call sees them — which item the audio belongs to, which response is
 * generating, which were cancelled — and barge-in: stop the carrier's playback, cancel the
 * response, and truncate every item at what the caller actually heard (from the playback ledger).
 */
export class Responses {
  readonly #host: BargeInHost;
  /** The part the model's audio currently belongs to. */
  current: PlaybackKey | undefined;
  #active: string | undefined;
  /**
   * Cancelled responses, and for each the items the caller had heard in full when it was
   * cancelled (no truncate sent): item key → heard ms. Audio of such an item that arrives after
   * the barge-in is dropped, so the item is truncated then, once, at what was heard.
   */
  readonly #cancelled = new Map<string, Map<string, number | 'done'>>();

  constructor(host: BargeInHost) {
    this.#host = host;
  }

  created(responseId: string): void {
    this.#active = responseId;
  }

  done(responseId: string): void {
    this.#cancelled.delete(responseId);
    this.#host.ledger.responseDone(responseId);
    if (this.#active === responseId) this.#active = undefined;
  }

  /** The model connection went away: nothing is generating any more. */
  disconnected(): void {
    this.#active = undefined;
  }

  isCancelled(responseId: string): boolean {
    return this.#cancelled.has(responseId);
  }

  /**
   * Audio of a cancelled response arrived (and is dropped): the model keeps it in the item unless
   * told where the caller stopped, so the item is truncated at what was heard — once, and only
   * where the barge-in did not already truncate it.
   */
  lateAudio(key: PlaybackKey): void {
    const items = this.#cancelled.get(key.responseId);
    if (!items) return;
    const id = itemKey(key);
    const heard = items.get(id);
    if (heard === 'done') return;
    items.set(id, 'done');
    // An item never heard at all (its audio all came late) is truncated at its start.
    const audioEndMs = heard ?? 0;
    this.#host.metrics.truncations.push({ itemId: key.itemId, contentIndex: key.contentIndex, audioEndMs, sentMs: audioEndMs });
    log('truncate item=%s at %dms: its audio after the barge-in was dropped', key.itemId, audioEndMs);
    this.#host.safely(() => this.#host.truncate(key.itemId, key.contentIndex, audioEndMs));
  }

  /** A new carrier stream: what the old one was playing is gone with it. */
  newStream(): void {
    this.bargeIn(true, { clear: false });
    this.#host.ledger.clear();
    this.current = undefined;
  }

  /**
   * Stops what the caller would still hear and tells the model where the caller stopped hearing.
   * `clear: false` when the carrier's stream itself is gone (a new `start`): nothing to clear.
   */
  bargeIn(cancelOngoingResponse: boolean, options: { clear: boolean } = { clear: true }): void {
    const { ledger, output, metrics, protocol } = this.#host;
    const items = ledger.snapshot();
    // Truncate what was not heard; clear while the carrier may still be playing (an ack is out).
    // Frame padding is not part of an item: one heard up to its own audio keeps its transcript.
    const unheard = items.filter((item) => item.playedMs < item.contentMs);
    const playing = unheard.length > 0 || items.some((item) => item.awaitingAck) || output.pendingBytes > 0 || output.queuedBytes > 0;
    const active = this.#active;
    const generating = active !== undefined && !this.#cancelled.has(active);
    if (!playing && !generating) return;

    metrics.bargeIns++;
    if (options.clear && playing && protocol.capabilities.clear) output.send({ type: 'clear' });
    metrics.interruptedBytesDiscarded += output.discard();
    ledger.clear();
    if (generating) {
      // What of this response the caller heard in full (no truncate below): kept for late audio.
      const heard = new Map<string, number | 'done'>();
      for (const item of items) {
        if (item.responseId !== active) continue;
        heard.set(itemKey(item), item.playedMs < item.contentMs ? 'done' : Math.max(0, Math.floor(item.contentMs)));
      }
      this.#cancelled.set(active, heard);
      if (cancelOngoingResponse) this.#host.safely(() => this.#host.cancelResponse());
    }
    this.#host.safely(() => this.#host.interrupted());
    for (const item of unheard) {
      // Never past the model's own audio: frame padding is not part of the item.
      const audioEndMs = Math.max(0, Math.floor(Math.min(item.playedMs, item.contentMs)));
      metrics.truncations.push({ itemId: item.itemId, contentIndex: item.contentIndex, audioEndMs, sentMs: item.sentMs });
      log('truncate item=%s at %dms of %dms sent', item.itemId, audioEndMs, Math.round(item.sentMs));
      this.#host.safely(() => this.#host.truncate(item.itemId, item.contentIndex, audioEndMs));
    }
  }
}

function itemKey(key: PlaybackKey): string {
  return `${key.itemId}\u0000${key.contentIndex}`;
}
