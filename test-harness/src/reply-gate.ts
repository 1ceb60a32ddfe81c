/**
 * The caller of a barge-in trace speaks over the reply: it starts its next utterance while the
 * agent's answer to the previous one is playing. On a starved machine the replayer, the bridge
 * and the simulated model all run late, and the caller can reach its next utterance before any of
 * the reply has reached the carrier: the call then holds no barge-in at all, through no fault of
 * the bridge. The reply gate holds the caller's next utterance until reply audio has reached the
 * carrier, as a caller who interrupts an answer waits for the answer to begin.
 */
import type { TraceUtterance } from './trace.js';

/**
 * How long the gate holds an utterance at most, real ms: a bridge that forwards no audio at all holds the replay no
 * longer.
 */
export const REPLY_GATE_MAX_HOLD_MS = 5000;

export type ReplyGateOptions = {
  /** The trace's utterances (speech segments, trace ms), in order. */
  utterances: readonly TraceUtterance[];
  /** How many audio chunks the carrier has received so far. */
  chunksReceived: () => number;
  /** Real time, ms (the longest hold is counted on it). */
  realNow: () => number;
  /** The longest hold of one utterance, real ms. Default {@link REPLY_GATE_MAX_HOLD_MS}. */
  maxHoldMs?: number;
};

/**
 * A `holdAt` for `CallerSimulator.play`: asked, in order, before each frame goes out (with the
 * frame's trace time), whether to hold it. Each utterance after the first is held at its start
 * until the carrier has received audio since the caller sent the end of the utterance before (the
 * reply, or more of a reply still playing), or for `maxHoldMs` at most. Frames before an
 * utterance's start, and every frame when the reply came in time, go out unheld.
 */
export function replyGate(options: ReplyGateOptions): (t: number) => boolean {
  const { utterances, chunksReceived, realNow } = options;
  const maxHoldMs = options.maxHoldMs ?? REPLY_GATE_MAX_HOLD_MS;
  /** The utterance the gate guards next. */
  let next = 1;
  /** Chunks the carrier had received when the caller sent the end of the utterance before `next`. */
  let before: number | undefined;
  let holdingSince: number | undefined;
  const pass = () => {
    next++;
    before = undefined;
    holdingSince = undefined;
  };
  return (t) => {
    while (next < utterances.length && t >= utterances[next]!.startMs) {
      // No frame went out between the two utterances (they touch): nothing to wait for.
      if (before === undefined) {
        pass();
        continue;
      }
      if (chunksReceived() > before) {
        pass();
        continue;
      }
      const now = realNow();
      holdingSince ??= now;
      if (now - holdingSince >= maxHoldMs) {
        pass();
        continue;
      }
      return true;
    }
    if (next < utterances.length && before === undefined && t >= utterances[next - 1]!.endMs) before = chunksReceived();
    return false;
  };
}

/** How long the caller of a `slow-tool` call waits at most for the answer before it hangs up, real ms. */
export const ANSWER_GATE_MAX_HOLD_MS = 10_000;

/**
 * A `holdAt` for `CallerSimulator.play` in a call whose answer comes late by design (a slow tool):
 * the frames from `fromT` on (the end of the call) are held until `answered()` says the caller has
 * heard the answer, or for `maxHoldMs` at most, as a caller who waits for the answer before
 * hanging up. On a starved machine the tool, the model and the bridge run late, and the caller
 * would otherwise hang up on an answer that the checks then excuse as cut by the end of the call.
 */
export function answerGate(options: {
  fromT: number;
  answered: () => boolean;
  realNow: () => number;
  maxHoldMs?: number;
}): (t: number) => boolean {
  const maxHoldMs = options.maxHoldMs ?? ANSWER_GATE_MAX_HOLD_MS;
  let holdingSince: number | undefined;
  let released = false;
  return (t) => {
    if (released || t < options.fromT) return false;
    const now = options.realNow();
    holdingSince ??= now;
    if (options.answered() || now - holdingSince >= maxHoldMs) {
      released = true;
      return false;
    }
    return true;
  };
}

/** How much less than the model sent of the answer the carrier may get and the answer count as heard, ms (rounding). */
export const ANSWER_HEARD_SLACK_MS = 20;

/**
 * The `answered` of {@link answerGate} for a slow tool's call: the caller has heard the answer once
 * both responses are done (the tool call's and the answer's), the carrier got all the model sent
 * of the answer's item, and the last chunk it got has played. A carrier that merely ran dry has
 * not heard it: a model that generates faster than real time is done long before a pacing bridge
 * has sent the whole answer, and a late pacing timer can leave the carrier idle a moment before
 * the rest comes.
 */
export function answerHeard(state: {
  /** `response.done` events so far. */
  responsesDone: number;
  /** What the carrier got, in order (its item by the harness's attribution). */
  chunks: readonly { itemId?: string; startAt: number; durationMs: number }[];
  /** Stream ms. */
  now: number;
  /** The last item the model sent audio of, and how much of it, ms. */
  answer: { itemId: string; modelMs: number } | undefined;
}): boolean {
  const last = state.chunks.at(-1);
  if (state.responsesDone < 2 || last === undefined || state.now < last.startAt + last.durationMs) return false;
  if (!state.answer) return true;
  let carrierMs = 0;
  for (const chunk of state.chunks) if (chunk.itemId === state.answer.itemId) carrierMs += chunk.durationMs;
  return carrierMs + ANSWER_HEARD_SLACK_MS >= state.answer.modelMs;
}
