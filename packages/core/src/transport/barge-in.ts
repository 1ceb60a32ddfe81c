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
  readonly #cancelled = new Set<string>();

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
    const generating = this.#active !== undefined && !this.#cancelled.has(this.#active);
    if (!playing && !generating) return;

    metrics.bargeIns++;
    if (options.clear && playing && protocol.capabilities.clear) output.send({ type: 'clear' });
    metrics.interruptedBytesDiscarded += output.discard();
    ledger.clear();
    if (generating) {
      this.#cancelled.add(this.#active!);
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
