/**
 * Model audio that arrives before the carrier's stream started: a pre-warmed call whose agent
 * greets the caller as soon as the session is up has its greeting ready before the caller is
 * on the line. It is kept here (bounded) and played, in order, when the stream starts.
 */
import { sameModelFormat, type ModelAudioFormat } from '../codec.js';
import type { PlaybackKey } from '../ledger.js';

/** Default bound: 60 s of PCM16 at 24 kHz. */
export const HELD_OUTPUT_MAX_BYTES = 60 * 48_000;

type Held = { key: PlaybackKey; audio: Uint8Array | undefined; format: ModelAudioFormat } | { done: string };

/** What the transport does with held audio once the stream started. */
export interface HeldOutputSink {
  /** Whether the response `key` belongs to was cancelled meanwhile (its audio is dropped). */
  cancelled(key: PlaybackKey): boolean;
  /** Plays one delta of model audio. */
  play(key: PlaybackKey, audio: Uint8Array): void;
  /** The end of an audio part. */
  flush(key: PlaybackKey): void;
  /** Audio dropped: its response was cancelled, or the stream's start changed the model format. */
  dropped(bytes: number): void;
  /** A response whose end came while it was held: told again once its audio was played. */
  done(responseId: string): void;
}

export class HeldOutput {
  readonly #maxBytes: number;
  #items: Held[] = [];
  #bytes = 0;
  #released = false;

  constructor(maxBytes = HELD_OUTPUT_MAX_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes of model audio held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps a delta; false when the stream already started or the bound is reached (the caller counts the drop). */
  hold(key: PlaybackKey, audio: ArrayBuffer | Uint8Array, format: ModelAudioFormat): boolean {
    if (this.#released || this.#bytes + audio.byteLength > this.#maxBytes) return false;
    this.#items.push({ key: { ...key }, audio: new Uint8Array(audio.slice(0)), format });
    this.#bytes += audio.byteLength;
    return true;
  }

  /** Keeps the end of an audio part; false once the stream started. */
  holdFlush(key: PlaybackKey, format: ModelAudioFormat): boolean {
    if (this.#released) return false;
    this.#items.push({ key: { ...key }, audio: undefined, format });
    return true;
  }

  /** Keeps the end of a response (`response.done`), for the playback accounting; false once the stream started. */
  holdDone(responseId: string): boolean {
    if (this.#released) return false;
    this.#items.push({ done: responseId });
    return true;
  }

  /**
   * The stream started: plays what was held, in order, where it is in the model format the call
   * now uses (`format`); nothing is held after this.
   */
  release(sink: HeldOutputSink, format: ModelAudioFormat): void {
    if (this.#released) return;
    this.#released = true;
    const items = this.#items;
    this.#items = [];
    this.#bytes = 0;
    for (const item of items) {
      if ('done' in item) {
        sink.done(item.done);
        continue;
      }
      const { key, audio } = item;
      if (sink.cancelled(key) || !sameModelFormat(item.format, format)) {
        if (audio) sink.dropped(audio.byteLength);
      } else if (audio) sink.play(key, audio);
      else sink.flush(key);
    }
  }

  /** The call ended before its stream started: drops what was held; returns its size in bytes. */
  discard(): number {
    const bytes = this.#bytes;
    this.#released = true;
    this.#items = [];
    this.#bytes = 0;
    return bytes;
  }
}
