/**
 * The user side of a simulated conversation: the input audio waiting to be committed, and the
 * input audio transcription the service sends for a committed turn when the session turns it on.
 */
import type { ItemState } from './conversation.js';
import { isPlainObject, type Json } from './types.js';

/** Input audio kept for the user item of a turn (what `conversation.item.retrieved` returns), at most. */
const MAX_RETAINED_INPUT_BYTES = 16 * 1024 * 1024;

/** The input audio buffer since the last commit. */
export class UncommittedInput {
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  /** Ms of audio appended since the last commit. */
  ms = 0;

  push(bytes: Uint8Array, ms: number): void {
    this.ms += ms;
    if (this.#bytes + bytes.length > MAX_RETAINED_INPUT_BYTES) return;
    this.#chunks.push(bytes);
    this.#bytes += bytes.length;
  }

  /** The buffered audio; empties the buffer. */
  take(): Uint8Array[] {
    const chunks = this.#chunks;
    this.reset();
    return chunks;
  }

  reset(): void {
    this.#chunks = [];
    this.#bytes = 0;
    this.ms = 0;
  }
}

/**
 * The transcription events of one committed turn (deltas word by word, then `completed` with
 * token usage), and the item updated with the transcript.
 */
export function transcriptionEvents(
  state: ItemState,
  transcript: string,
  audioMs: number,
): Array<Json & { type: string }> {
  const itemId = state.item.id;
  const events: Array<Json & { type: string }> = transcript
    .split(/(?<=\s)/)
    .filter((w) => w.length > 0)
    .map((delta) => ({
      type: 'conversation.item.input_audio_transcription.delta',
      item_id: itemId,
      content_index: 0,
      delta,
    }));
  if (Array.isArray(state.item.content)) {
    state.item.content = state.item.content.map((part: unknown) =>
      isPlainObject(part) && part.type === 'input_audio' ? { ...part, transcript } : part,
    );
  }
  const audioTokens = Math.max(1, Math.ceil(audioMs / 100));
  const outputTokens = Math.max(1, Math.ceil(transcript.length / 4));
  events.push({
    type: 'conversation.item.input_audio_transcription.completed',
    item_id: itemId,
    content_index: 0,
    transcript,
    usage: {
      type: 'tokens',
      total_tokens: audioTokens + outputTokens,
      input_tokens: audioTokens,
      input_token_details: { text_tokens: 0, audio_tokens: audioTokens },
      output_tokens: outputTokens,
    },
  });
  return events;
}
