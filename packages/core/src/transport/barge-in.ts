import type { ItemPlayback, PlaybackKey, PlaybackLedger } from '../ledger.js';
import { logger } from '../log.js';
import type { CallMetrics } from '../metrics.js';
import type { MediaStreamProtocol } from '../types.js';
import { isInjectedKey } from './inject.js';
import type { OutputPath } from './output.js';

const log = logger('core');

/** A `response.cancel` this transport sends: its own event id, so that the service's answer can be told apart. */
export type CancelEvent = { type: 'response.cancel'; event_id: string; response_id: string };

/** How many of its cancels the transport remembers, waiting for a possible refusal. */
const REMEMBERED_CANCELS = 32;
const REFUSAL_CODE = 'response_cancel_not_active';

/** What barge-in needs from the transport it belongs to. */
export interface BargeInHost {
  readonly metrics: CallMetrics;
  readonly protocol: MediaStreamProtocol;
  readonly ledger: PlaybackLedger;
  readonly output: OutputPath;
  /** Sends this `response.cancel` (for the response in flight) to the model. */
  cancelResponse(event: CancelEvent): void;
  /** Tells the model where the caller stopped hearing an item. */
  truncate(itemId: string, contentIndex: number, audioEndMs: number): void;
  /** Emits `audio_interrupted`. */
  interrupted(): void;
  /** Runs `fn`, turning a throw into an `error` event. */
  safely(fn: () => void): void;
  /** Injected audio (`playAudio`): never truncated, cleared by a barge-in where interruptible. */
  readonly injected?: {
    interruptible(items: ItemPlayback[]): boolean;
    cleared(items: ItemPlayback[], carrierCleared: boolean): void;
  };
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
  /** Event ids of the cancels sent, oldest first (a bounded few). */
  readonly #cancelIds = new Set<string>();
  readonly #cancelPrefix = `sb_cancel_${Math.random().toString(36).slice(2, 8)}_`;
  #cancels = 0;

  constructor(host: BargeInHost) {
    this.#host = host;
  }

  /**
   * Whether a model message is the service refusing one of this transport's own cancels
   * (`response_cancel_not_active`, naming the cancel's event id): the response was over, done or
   * cancelled by the server's own turn detection, by the time the cancel arrived. Nothing is
   * wrong then — the caller had stopped hearing it and its items were truncated — so the refusal
   * is no error of the call. Any other error, a refusal of someone else's cancel included, is not
   * matched.
   */
  refusedOwnCancel(data: unknown): boolean {
    if (this.#cancelIds.size === 0) return false;
    const text = typeof data === 'string' ? data : String(data);
    if (!text.includes(REFUSAL_CODE)) return false;
    let event: { type?: unknown; error?: { code?: unknown; event_id?: unknown } | null };
    try {
      event = JSON.parse(text) as typeof event;
    } catch {
      return false;
    }
    const error = event?.type === 'error' ? event.error : undefined;
    if (!error || error.code !== REFUSAL_CODE || typeof error.event_id !== 'string') return false;
    if (!this.#cancelIds.delete(error.event_id)) return false;
    log('cancel %s: the response was already over', error.event_id);
    return true;
  }

  #sendCancel(responseId: string): void {
    const eventId = `${this.#cancelPrefix}${++this.#cancels}`;
    this.#cancelIds.add(eventId);
    if (this.#cancelIds.size > REMEMBERED_CANCELS) this.#cancelIds.delete(this.#cancelIds.values().next().value!);
    this.#host.cancelResponse({ type: 'response.cancel', event_id: eventId, response_id: responseId });
  }

  /** True while a response is generating that was not cancelled. */
  get generating(): boolean {
    return this.#active !== undefined && !this.#cancelled.has(this.#active);
  }

  /** The response generating now, if any. */
  get active(): string | undefined {
    return this.#active;
  }

  created(responseId: string): void {
    this.#active = responseId;
  }

  done(responseId: string): void {
    this.#cancelled.delete(responseId);
    this.#host.ledger.responseDone(responseId);
    if (this.#active === responseId) this.#active = undefined;
  }

  /**
   * Cancels a response before any of it was heard (the call is being hung up): its audio is
   * dropped as it arrives and its items truncated at their start.
   */
  cancelUnheard(responseId: string): void {
    if (this.#cancelled.has(responseId)) return;
    this.#cancelled.set(responseId, new Map());
    this.#host.safely(() => this.#sendCancel(responseId));
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
    this.#host.metrics.truncations.push({
      itemId: key.itemId,
      contentIndex: key.contentIndex,
      audioEndMs,
      sentMs: audioEndMs,
    });
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
    const all = ledger.snapshot();
    // Injected audio is no part of the model's items: never truncated, and only an interruptible
    // clip makes a barge-in stop the carrier.
    const items = all.filter((item) => !isInjectedKey(item));
    const injected = this.#host.injected;
    // What of an item the caller hears in the end: what was played, where the carrier can clear
    // the rest; where it cannot, everything it was sent plays out.
    const canClear = protocol.capabilities.clear;
    const heardMs = (item: (typeof items)[number]) => (canClear ? item.playedMs : item.sentMs);
    // Truncate what was not heard; clear while the carrier may still be playing (an ack is out).
    // Frame padding is not part of an item: one heard up to its own audio keeps its transcript.
    const unheard = items.filter((item) => heardMs(item) < item.contentMs);
    const playing =
      unheard.length > 0 ||
      items.some((item) => item.awaitingAck) ||
      output.pendingBytes > 0 ||
      output.queuedBytes > 0 ||
      (injected?.interruptible(all) ?? false);
    const active = this.#active;
    const generating = active !== undefined && !this.#cancelled.has(active);
    if (!playing && !generating) return;

    metrics.bargeIns++;
    const cleared = options.clear && playing && canClear;
    if (cleared) output.send({ type: 'clear' });
    metrics.interruptedBytesDiscarded += output.discard();
    // Nothing playing (a response generating, not yet heard): the ledger keeps what it holds, a
    // clip that is not interruptible included.
    if (playing || !options.clear) {
      if (injected) this.#host.safely(() => injected.cleared(all, cleared));
      ledger.clear();
    }
    if (generating) {
      // What of this response the caller heard in full (no truncate below): kept for late audio.
      const heard = new Map<string, number | 'done'>();
      for (const item of items) {
        if (item.responseId !== active) continue;
        heard.set(itemKey(item), heardMs(item) < item.contentMs ? 'done' : Math.max(0, Math.floor(item.contentMs)));
      }
      this.#cancelled.set(active, heard);
      // Named by id: a cancel that crosses the response's end (or a newer response) touches
      // nothing else, and its refusal is recognised (see `refusedOwnCancel`).
      if (cancelOngoingResponse) this.#host.safely(() => this.#sendCancel(active));
    }
    this.#host.safely(() => this.#host.interrupted());
    for (const item of unheard) {
      // Never past the model's own audio: frame padding is not part of the item.
      const audioEndMs = Math.max(0, Math.floor(Math.min(heardMs(item), item.contentMs)));
      metrics.truncations.push({
        itemId: item.itemId,
        contentIndex: item.contentIndex,
        audioEndMs,
        sentMs: item.sentMs,
      });
      log('truncate item=%s at %dms of %dms sent', item.itemId, audioEndMs, Math.round(item.sentMs));
      this.#host.safely(() => this.#host.truncate(item.itemId, item.contentIndex, audioEndMs));
    }
  }
}

function itemKey(key: PlaybackKey): string {
  return `${key.itemId}\u0000${key.contentIndex}`;
}
