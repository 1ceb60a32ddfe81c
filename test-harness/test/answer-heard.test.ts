/**
 * When the caller of a slow tool's call has heard the answer (and may hang up): not while a pacing
 * bridge still holds part of it, even where the carrier played all it had got so far.
 */
import { describe, expect, it } from 'vitest';
import { ANSWER_HEARD_SLACK_MS, answerHeard } from '../src/reply-gate.js';

/** `n` back-to-back 100 ms chunks of `itemId` from `from` (stream ms). */
function chunks(itemId: string, from: number, n: number) {
  return Array.from({ length: n }, (_, k) => ({ itemId, startAt: from + 100 * k, durationMs: 100 }));
}

describe('answerHeard', () => {
  const answer = { itemId: 'item_answer', modelMs: 1000 };
  const filler = chunks('injected-audio', 0, 20);

  it('is true once both responses are done and all of the answer reached the carrier and played', () => {
    const got = [...filler, ...chunks('item_answer', 2000, 10)];
    expect(answerHeard({ responsesDone: 2, chunks: got, now: 3000, answer })).toBe(true);
  });

  it('is false while the carrier still plays the last chunk it got', () => {
    const got = [...filler, ...chunks('item_answer', 2000, 10)];
    expect(answerHeard({ responsesDone: 2, chunks: got, now: 2950, answer })).toBe(false);
  });

  it('is false when the carrier ran dry but the bridge has not sent the whole answer yet', () => {
    // The model sent a second of answer and is done; the paced bridge sent 600 ms so far, which has
    // played: the rest is still to come.
    const got = [...filler, ...chunks('item_answer', 2000, 6)];
    expect(answerHeard({ responsesDone: 2, chunks: got, now: 5000, answer })).toBe(false);
  });

  it('allows what framing rounds off the answer', () => {
    const got = [...filler, ...chunks('item_answer', 2000, 10)];
    const modelMs = 1000 + ANSWER_HEARD_SLACK_MS;
    expect(answerHeard({ responsesDone: 2, chunks: got, now: 3000, answer: { ...answer, modelMs } })).toBe(true);
    expect(answerHeard({ responsesDone: 2, chunks: got, now: 3000, answer: { ...answer, modelMs: modelMs + 1 } })).toBe(
      false,
    );
  });

  it('is false before the answer is done, and before the carrier got any audio', () => {
    const got = [...filler, ...chunks('item_answer', 2000, 10)];
    expect(answerHeard({ responsesDone: 1, chunks: got, now: 9000, answer })).toBe(false);
    expect(answerHeard({ responsesDone: 2, chunks: [], now: 9000, answer })).toBe(false);
  });

  it('goes by the carrier alone when the model sent no audio', () => {
    expect(answerHeard({ responsesDone: 2, chunks: filler, now: 2000, answer: undefined })).toBe(true);
  });
});
