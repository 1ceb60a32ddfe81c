/**
 * The conversation of a simulated session: its items in order, with the audio each audio message
 * holds (what `conversation.item.retrieved` returns).
 */
import { base64Encode } from '@switchboard/core';
import { formatBytesPerMs, formatDurationMs } from './audio.js';
import type { SimulatorAudioFormat } from './session-schema.js';
import { isPlainObject, type Json } from './types.js';

export type Item = Json & { id: string; type: string };

export interface ItemState {
  item: Item;
  /** Audio messages: the audio the item holds, in `format`. */
  audio?: { chunks: Uint8Array[]; bytes: number; format: SimulatorAudioFormat };
  /** Assistant audio items: ms of audio sent (or kept, after a truncate). */
  audioMsSent?: number;
}

export class Conversation {
  readonly #items = new Map<string, ItemState>();
  #order: string[] = [];

  get(id: string): ItemState | undefined {
    return this.#items.get(id);
  }

  has(id: string): boolean {
    return this.#items.has(id);
  }

  /** Items in order (copies). */
  list(): Json[] {
    return this.#order.map((id) => structuredClone(this.#items.get(id)!.item));
  }

  last(): string | null {
    return this.#order[this.#order.length - 1] ?? null;
  }

  previousOf(itemId: string): string | null {
    const index = this.#order.indexOf(itemId);
    return index > 0 ? this.#order[index - 1]! : null;
  }

  /** Adds an item after `previous` (null: at the start of the conversation). */
  insert(state: ItemState, previous: string | null): void {
    this.#items.set(state.item.id, state);
    if (previous === null) {
      this.#order.unshift(state.item.id);
      return;
    }
    const index = this.#order.indexOf(previous);
    if (index < 0 || index === this.#order.length - 1) this.#order.push(state.item.id);
    else this.#order.splice(index + 1, 0, state.item.id);
  }

  delete(id: string): boolean {
    if (!this.#items.delete(id)) return false;
    this.#order = this.#order.filter((other) => other !== id);
    return true;
  }

  /** Appends audio to an audio message. */
  addAudio(state: ItemState, bytes: Uint8Array, format: SimulatorAudioFormat): void {
    state.audio ??= { chunks: [], bytes: 0, format };
    state.audio.chunks.push(bytes);
    state.audio.bytes += bytes.length;
  }

  /** Keeps the first `ms` of an item's audio (a truncate). */
  cutAudio(state: ItemState, ms: number): void {
    const audio = state.audio;
    if (!audio) return;
    const keep = Math.min(audio.bytes, Math.floor(ms * formatBytesPerMs(audio.format)));
    const whole = joinBytes(audio.chunks, audio.bytes).subarray(
      0,
      keep - (audio.format.type === 'audio/pcm' ? keep % 2 : 0),
    );
    audio.chunks = [whole];
    audio.bytes = whole.length;
  }

  /** Ms of audio an item holds. */
  audioMs(state: ItemState): number {
    return state.audio ? formatDurationMs(state.audio.format, state.audio.bytes) : 0;
  }

  /**
   * The item as `conversation.item.retrieved` carries it: audio content parts hold the item's
   * audio (base64, in the session's format of the time) next to their transcript.
   */
  retrieved(state: ItemState): Json {
    const item = structuredClone(state.item);
    const audio = state.audio;
    if (Array.isArray(item.content)) {
      item.content = item.content.map((part: unknown) => {
        if (!isPlainObject(part) || (part.type !== 'input_audio' && part.type !== 'output_audio')) return part;
        return { ...part, audio: audio ? base64Encode(joinBytes(audio.chunks, audio.bytes)) : null };
      });
    }
    return item;
  }
}

function joinBytes(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
