/**
 * The checks of the agent's call features: `hangup.after_playback` (the agent's goodbye was heard
 * in full before the call ended) and `audio.injected` (audio the bridge played while a slow tool
 * ran reached the caller, and cost the model's audio nothing).
 */
import { bytesPerMs } from '@switchboard/core';
import { INJECTED_ITEM, injectedEvents } from './call-features.js';
import {
  PACING_SLACK_MS,
  chunksByItem,
  emittedOf,
  fail,
  largestPadding,
  na,
  pass,
  type ConformanceCheck,
} from './check-kit.js';
import type { ReplayResult } from './replay.js';
import { END_CALL_TOOL, formatDurationMs, SLOW_TOOL } from './simulator/index.js';

/** The `call_end` reason of a call the agent hung up (the core's `AGENT_HANGUP_REASON`). */
export const AGENT_HANGUP = 'agent_hangup';

function callEndReason(result: ReplayResult): string | undefined {
  return (emittedOf(result, 'call_end')[0]?.[0] as { reason?: string } | undefined)?.reason;
}

/** What the model sent of `itemId`, ms. */
function modelMs(result: ReplayResult, itemId: string): number {
  const model = result.model!;
  const bytes = model.outputAudio.filter((c) => c.itemId === itemId).reduce((n, c) => n + c.bytes.byteLength, 0);
  return formatDurationMs(model.outputFormat, bytes);
}

export const hangupAfterPlayback: ConformanceCheck = {
  id: 'hangup.after_playback',
  title: "the agent's hang-up waits until the caller heard its goodbye",
  run(result) {
    if (!result.trace.header.hazards.includes('agent-hangup')) return na('the agent does not hang up in this call');
    if (result.transportFeatures && !result.transportFeatures.endAfterPlayback)
      return na('the transport has no endAfterPlayback()');
    if (!result.model) return fail('the model was never connected');
    const goodbye = result.model.responses.find((r) => r.call?.name === END_CALL_TOOL);
    if (!goodbye) return fail(`the model never said goodbye with a call of ${END_CALL_TOOL}`);
    const ended = result.carrier.bridgeEnded;
    const reason = callEndReason(result);
    if (!ended) {
      const called = result.emitted.find(
        (e) => e.name === 'function_call' && (e.args[0] as { name?: string })?.name === END_CALL_TOOL,
      );
      const heard = (chunksByItem(result.carrier.chunks).get(goodbye.itemId) ?? []).map(
        (c) => c.startAt + c.durationMs,
      );
      return fail(
        `the bridge never ended the call: the caller hung up at ${result.carrier.endedAt?.toFixed(0) ?? '?'} ms, past the trace (call_end: ${reason ?? 'none'}; ${END_CALL_TOOL} ${called ? `called at ${called.at.toFixed(0)} ms` : 'never called'}; goodbye heard by ${heard.length > 0 ? `${Math.max(...heard).toFixed(0)} ms` : 'never'})`,
      );
    }
    if (reason !== AGENT_HANGUP) return fail(`the call ended with reason ${reason ?? 'none'}, not ${AGENT_HANGUP}`);
    const sentMs = modelMs(result, goodbye.itemId);
    if (sentMs <= 0) return fail('the model sent no audio of its goodbye');
    const chunks = chunksByItem(result.carrier.chunks).get(goodbye.itemId) ?? [];
    const gotMs = chunks.reduce((n, c) => n + c.durationMs, 0);
    // Sent complete: all of it reached the carrier (up to the resampling of a converted format).
    if (gotMs < sentMs - 1 - sentMs * 0.01)
      return fail(
        `the carrier got ${gotMs.toFixed(0)} of the ${sentMs.toFixed(0)} ms of the goodbye before the call ended (${ended.by})`,
      );
    const cut = chunks.find((c) => c.playedMs !== undefined && c.playedMs < c.durationMs);
    if (cut) return fail(`a clear cut the goodbye at ${cut.startAt.toFixed(0)} ms`);
    // Played complete: the caller's playout clock got to its end before the carrier saw the call end.
    const frameMs = largestPadding(result) / bytesPerMs(result.carrierFormat);
    const playedAt = Math.max(...chunks.map((c) => c.startAt + c.durationMs));
    const early = playedAt - ended.at;
    if (early > frameMs + PACING_SLACK_MS)
      return fail(
        `the call ended (${ended.by}) at ${ended.at.toFixed(0)} ms, ${early.toFixed(0)} ms before the caller had heard the goodbye to its end`,
      );
    return pass(
      `goodbye of ${sentMs.toFixed(0)} ms heard by ${playedAt.toFixed(0)} ms; the bridge ended the call (${ended.by}) ${(ended.at - playedAt).toFixed(0)} ms later`,
    );
  },
};

/** A truncate this soon after the caller started speaking belongs to a barge-in, stream ms. */
const BARGE_IN_TRUNCATE_MS = 2000;

/** How far around the tool's run injected audio may start, stream ms (the bridge's and the model's timing). */
const TOOL_RUN_SLACK_MS = 500;

/**
 * `audio.injected`, judged with the check that the model's audio reached the carrier complete
 * (`output.lossless`), which must still hold with the injected audio in between.
 */
export function audioInjectedCheck(modelAudioLossless: ConformanceCheck): ConformanceCheck {
  return {
    id: 'audio.injected',
    title: 'injected audio reaches the caller while a tool runs, and costs the model audio nothing',
    run(result, options) {
      if (!result.trace.header.hazards.includes('slow-tool')) return na('no slow tool in this call');
      if (result.transportFeatures && !result.transportFeatures.playAudio)
        return na('the transport has no playAudio()');
      if (!result.model) return fail('the model was never connected');
      const call = emittedOf(result, 'function_call').find(
        (args) => (args[0] as { name?: string })?.name === SLOW_TOOL,
      );
      if (!call) return fail(`the session never called ${SLOW_TOOL}`);
      const events = injectedEvents(result.emitted);
      const start = events.find((e) => e.event.phase === 'start');
      const end = events.find((e) => e.event.phase === 'end');
      if (!start) return fail(`no injected_audio start event while ${SLOW_TOOL} ran`);
      if (!end) return fail(`injected audio ${start.event.id} never ended (no injected_audio end event)`);
      const ending = end.event as { reason?: string; sentMs?: number };
      if (ending.reason === 'call_end') return fail('the injected audio played until the call ended');
      // While the tool ran: after its response was done, before the answer's response began.
      const callResponse = result.model.responses.find((r) => r.kind === 'function_call');
      const toolFrom = result.timeline.find(
        (e) => e.type === 'response.done' && callResponse !== undefined && e.responseId === callResponse.id,
      )?.at;
      const answer = result.model.responses.find(
        (r) => callResponse !== undefined && r.createdAt > callResponse.createdAt,
      );
      const toolTo = result.timeline.find(
        (e) => e.type === 'response.created' && answer !== undefined && e.responseId === answer.id,
      )?.at;
      const injected = result.carrier.chunks.filter((c) => c.itemId === INJECTED_ITEM);
      const heardMs = injected.reduce((n, c) => n + (c.playedMs ?? c.durationMs), 0);
      if (injected.length === 0 || heardMs <= 0) return fail('no injected audio reached the caller');
      const first = Math.min(...injected.map((c) => c.startAt));
      if (toolFrom !== undefined && first < toolFrom - TOOL_RUN_SLACK_MS)
        return fail(
          `injected audio played at ${first.toFixed(0)} ms, before the tool started (${toolFrom.toFixed(0)} ms)`,
        );
      if (toolTo !== undefined && first > toolTo + TOOL_RUN_SLACK_MS)
        return fail(
          `injected audio played from ${first.toFixed(0)} ms, after the tool was done (${toolTo.toFixed(0)} ms)`,
        );
      // No model item truncated for it: only a barge-in truncates.
      const speech = result.timeline.filter((e) => e.type === 'input_audio_buffer.speech_started').map((e) => e.at);
      const truncate = result.timeline.find(
        (e) =>
          e.type === 'client:conversation.item.truncate' &&
          !speech.some((s) => s <= e.at && s >= e.at - BARGE_IN_TRUNCATE_MS),
      );
      if (truncate) return fail(`item ${truncate.itemId} was truncated at ${truncate.audioEndMs} ms with no barge-in`);
      // Nothing of the model's audio cut by the clear that stopped the filler.
      const cut = result.carrier.chunks.find(
        (c) =>
          c.itemId !== undefined && c.itemId !== INJECTED_ITEM && c.playedMs !== undefined && c.playedMs < c.durationMs,
      );
      if (cut && speech.length === 0)
        return fail(`a clear cut ${(cut.durationMs - cut.playedMs!).toFixed(0)} ms of model item ${cut.itemId}`);
      const lossless = modelAudioLossless.run(result, options);
      if (lossless.status === 'fail') return fail(`model audio: ${lossless.detail}`);
      return pass(
        `${heardMs.toFixed(0)} ms of injected audio heard (${injected.length} chunks, ended: ${ending.reason ?? '?'}); model audio: ${lossless.detail}`,
      );
    },
  };
}
