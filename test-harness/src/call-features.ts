/**
 * The call features every replay exercises: the conformance agent's tools (`end_call`, and a slow
 * `forecast` during which the bridge plays filler audio), and the replayer's reading of the
 * bridge's injected audio, so that no chunk of it is taken for a model item's.
 */
import { RealtimeAgent, tool, type RealtimeTransportLayer } from '@openai/agents-realtime';
import {
  endCallTool,
  playWhile,
  systemClock,
  type AudioFormat,
  type Clock,
  type InjectedAudioEvent,
  type TelephonyRealtimeTransport,
} from '@switchboard/core';
import { z } from 'zod';
import type { AttributionStep } from './attribution.js';
import type { CarrierChunk } from './caller.js';
import { FILLER_DELAY_MS, FILLER_FORMAT, FILLER_NAME, fillerClip, isFillerAudio } from './filler.js';
import type { ModelTimelineEntry, RecordedEmit } from './replay.js';
import { SLOW_TOOL, SLOW_TOOL_MS } from './simulator/index.js';

/** The item the replayer gives the carrier's chunks of injected audio (no model item is theirs). */
export const INJECTED_ITEM = 'injected-audio';

/** Whether a transport can play audio of its own into the call (`playAudio`). */
export function canPlayAudio(transport: unknown): transport is TelephonyRealtimeTransport {
  return typeof (transport as { playAudio?: unknown } | undefined)?.playAudio === 'function';
}

/** Whether a transport can hang up once the caller heard everything (`endAfterPlayback`). */
export function canEndAfterPlayback(transport: unknown): boolean {
  return typeof (transport as { endAfterPlayback?: unknown } | undefined)?.endAfterPlayback === 'function';
}

function sleepOn(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/**
 * The agent every replay runs (and the relay benchmark): a `weather` tool the simulator's default
 * script calls; `end_call` (`endCallTool()`), which the `agent-hangup` script calls with its
 * goodbye; and a slow `forecast` ({@link SLOW_TOOL_MS} on `clock`, the bridge's clock) during which
 * the bridge plays the two-tone filler (`playWhile`). The call tools find the call in the session's
 * context: `new RealtimeSession(agent, { transport, context: { transport } })`.
 */
export function conformanceAgent(options: { clock?: Clock } = {}): RealtimeAgent {
  const clock = options.clock ?? systemClock;
  const filler = fillerClip();
  return new RealtimeAgent({
    name: 'Conformance agent',
    instructions: 'Answer briefly.',
    tools: [
      tool({
        name: 'weather',
        description: 'Weather in a city.',
        parameters: z.object({ location: z.string() }),
        execute: async ({ location }) => `The weather in ${location} is sunny.`,
      }),
      endCallTool(),
      tool({
        name: SLOW_TOOL,
        description: 'Weather forecast for a city; takes a few seconds.',
        parameters: z.object({ location: z.string() }),
        execute: async ({ location }, runContext) => {
          const work = sleepOn(clock, SLOW_TOOL_MS).then(() => `The forecast for ${location} is sunny.`);
          const transport = (runContext?.context as { transport?: RealtimeTransportLayer } | undefined)?.transport;
          if (!canPlayAudio(transport)) return work;
          return playWhile(transport, filler, work, {
            format: FILLER_FORMAT,
            name: FILLER_NAME,
            delayMs: FILLER_DELAY_MS,
          });
        },
      }),
    ],
  });
}

/** The bridge's `injected_audio` events, in order, with when it emitted them (stream ms). */
export function injectedEvents(emitted: readonly RecordedEmit[]): Array<{ at: number; event: InjectedAudioEvent }> {
  return emitted
    .filter((e) => e.name === 'injected_audio')
    .map((e) => ({ at: e.at, event: e.args[0] as InjectedAudioEvent }))
    .filter(({ event }) => typeof event?.id === 'string');
}

/**
 * Which of the carrier's chunks are the bridge's injected audio: once the bridge said a clip
 * started, a chunk that sounds like the filler (see `isFillerAudio`). The filler is the only audio
 * the conformance bridge injects.
 */
export function injectedChunkFlags(
  chunks: readonly CarrierChunk[],
  emitted: readonly RecordedEmit[],
  format: AudioFormat,
): boolean[] {
  const started = injectedEvents(emitted).find(({ event }) => event.phase === 'start');
  if (!started) return chunks.map(() => false);
  return chunks.map((chunk) => isFillerAudio(chunk.bytes, format));
}

/** How far a clear may follow the end of an injected clip and still be that clip's, stream ms. */
const INJECTED_CLEAR_MS = 1000;

/** A clear this soon after the caller started speaking belongs to a barge-in, stream ms. */
const BARGE_IN_CLEAR_MS = 1500;

/**
 * The replayer's record of the output with injected audio set apart: the carrier's chunks of it
 * are nobody's (they are left out of the model items' reckoning), and a clear with which the
 * bridge stopped a clip (one that follows a clip's end, with no barge-in before it) cuts no model
 * item. Returns the steps to attribute again, and for each `plays` step kept, its chunk.
 */
export function withoutInjected(
  steps: readonly AttributionStep[],
  injected: readonly boolean[],
  emitted: readonly RecordedEmit[],
  timeline: readonly ModelTimelineEntry[],
  sentAtOf: (frame: number) => number | undefined,
): { steps: AttributionStep[]; chunks: number[] } {
  const ends = injectedEvents(emitted)
    .filter(({ event }) => event.phase === 'end')
    .map(({ at }) => at);
  const speech = timeline.filter((e) => e.type === 'input_audio_buffer.speech_started').map((e) => e.at);
  const out: AttributionStep[] = [];
  const chunks: number[] = [];
  let plays = 0;
  for (const step of steps) {
    if (step.step === 'plays') {
      const index = plays++;
      if (injected[index]) continue;
      chunks.push(index);
    } else if (step.step === 'clear') {
      const at = step.sentAt ?? (step.frame === undefined ? undefined : sentAtOf(step.frame));
      if (
        at !== undefined &&
        ends.some((end) => at >= end - 50 && at <= end + INJECTED_CLEAR_MS) &&
        !speech.some((s) => s <= at && s >= at - BARGE_IN_CLEAR_MS)
      )
        continue;
    }
    out.push(step);
  }
  return { steps: out, chunks };
}
