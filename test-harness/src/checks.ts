/**
 * Conformance checks. Each reads one {@link ReplayResult} and says pass, fail, or n/a (the trace
 * does not exercise it). Ids are stable: tools and CI refer to them.
 */
import { bytesPerMs, concatBytes } from '@switchboard/core';
import { excerpt } from '@switchboard/core/protocol';
import { z } from 'zod';
import type { CarrierChunk } from './caller.js';
import {
  MIN_SNR_DB,
  describeSimilarity,
  firstDifference,
  modelLinear,
  resamplerDelayMs,
  sameFormat,
} from './check-audio.js';
import {
  DEFAULT_CHECK_OPTIONS,
  PACING_SLACK_MS,
  chunksByItem,
  emittedOf,
  fail,
  largestPadding,
  na,
  notDeclared,
  pass,
  type CheckOptions,
  type CheckOutcome,
  type ConformanceCheck,
} from './check-kit.js';
import { bargeInCancel, bargeInClear, bargeInErrors, bargeInTruncate, interruptedItems } from './checks-bargein.js';
import { inputLossless } from './checks-input.js';
import { AGENT_HANGUP, audioInjectedCheck, hangupAfterPlayback } from './checks-call.js';
import { describeMalformedFrame } from './malformed.js';
import { traceFormat, type ReplayResult } from './replay.js';
import { traceExpect } from './trace.js';
import { compareAudio, linearSamples } from './similarity.js';

export {
  DEFAULT_CHECK_OPTIONS,
  type CheckOptions,
  type CheckOutcome,
  type CheckStatus,
  type ConformanceCheck,
} from './check-kit.js';
export { LENGTH_TOLERANCE, MIN_SNR_DB } from './check-audio.js';
export {
  EARLY_MEDIA_KEPT_MS,
  INACTIVITY_LIMIT_MS,
  INACTIVITY_PAD_MS,
  expectedModelInput,
  traceInputAudio,
} from './checks-input.js';

/**
 * Whether the end of the call cut item `itemId` short: the caller hung up (or sent its `stop`)
 * while the model was still sending the item, or while the caller was still hearing it (or
 * earlier audio, where none of it came). A reply that ran late (a stall of the model or of a
 * bridge that paces its output) may still be on its way when the caller hangs up; what the caller
 * cannot hear any more is not lost. An item whose audio stopped coming while the call went on,
 * the model done with it, is not excused.
 */
function endOfCallCut(result: ReplayResult, itemId: string, chunks: CarrierChunk[], frameMs: number): boolean {
  const endedAt = result.carrier.endedAt;
  if (endedAt === undefined) return false;
  const slack = frameMs + PACING_SLACK_MS;
  const responseId = result.model?.responses.find((r) => r.itemId === itemId)?.id;
  if (responseId === undefined) return false;
  const done = result.timeline.find((e) => e.type === 'response.done' && e.responseId === responseId);
  if (!done || done.at >= endedAt - slack) return true;
  const heard = chunks.length > 0 ? chunks : result.carrier.chunks.filter((c) => c.receivedAt <= endedAt);
  return heard.length > 0 && Math.max(...heard.map((c) => c.startAt + c.durationMs)) >= endedAt - slack;
}

const outputLossless: ConformanceCheck = {
  id: 'output.lossless',
  title: 'model audio reaches the carrier complete and in order',
  run(result) {
    if (!result.model) return fail('the model was never connected');
    const sent = new Map<string, Uint8Array[]>();
    for (const chunk of result.model.outputAudio) {
      const list = sent.get(chunk.itemId) ?? [];
      list.push(chunk.bytes);
      sent.set(chunk.itemId, list);
    }
    if (sent.size === 0) return na('the model sent no audio');
    const interrupted = interruptedItems(result, { callEnd: true });
    const byItem = chunksByItem(result.carrier.chunks);
    const exact =
      result.model.outputFormat.type !== 'audio/pcm' && sameFormat(result.carrierFormat, traceFormat(result.trace));
    const maxPad = largestPadding(result);
    const carrierFrameMs = maxPad / bytesPerMs(result.carrierFormat);
    let total = 0;
    const endedEarly: string[] = [];
    for (const [itemId, parts] of sent) {
      const modelBytes = concatBytes(parts);
      const chunks = byItem.get(itemId) ?? [];
      const carrierBytes = concatBytes(chunks.map((c) => c.bytes));
      total += carrierBytes.byteLength;
      // An item the caller hung up on needs only be a clean prefix.
      const short = () => {
        if (interrupted.has(itemId)) return false;
        if (!endOfCallCut(result, itemId, chunks, carrierFrameMs)) return true;
        endedEarly.push(itemId);
        return false;
      };
      if (!exact) {
        // Converted (resampled, or another G.711 law): the same sound, as long as the model's
        // audio (up to one frame of padding), shorter only where a barge-in cut it.
        const model = modelLinear(modelBytes, result.model.outputFormat.type);
        const carrier = {
          samples: linearSamples(carrierBytes, result.carrierFormat),
          sampleRate: result.carrierFormat.sampleRate,
        };
        const carrierMs = (carrier.samples.length * 1000) / carrier.sampleRate;
        const modelMs = (model.samples.length * 1000) / model.sampleRate;
        // Beyond the model's audio: padding to a whole frame, and the resampling filter's tail
        // (the filter delays audio by a few ms; the end of an item flushes it out).
        const frameMs =
          maxPad / bytesPerMs(result.carrierFormat) + resamplerDelayMs(model.sampleRate, carrier.sampleRate) + 1;
        if (carrierMs < modelMs - 1 && short())
          return fail(
            `item ${itemId}: carrier got ${carrierMs.toFixed(1)} of ${modelMs.toFixed(1)} ms${responseNote(result, itemId)}`,
          );
        if (carrierMs > modelMs + frameMs)
          return fail(
            `item ${itemId}: carrier got ${carrierMs.toFixed(1)} ms for ${modelMs.toFixed(1)} ms of model audio`,
          );
        if (carrierMs >= 100) {
          const heard = Math.min(model.samples.length, Math.round((carrierMs * model.sampleRate) / 1000));
          const similarity = compareAudio(
            { samples: model.samples.subarray(0, heard), sampleRate: model.sampleRate },
            carrier,
          );
          if (similarity.snrDb < MIN_SNR_DB)
            return fail(`item ${itemId}: audio differs: ${describeSimilarity(similarity)} (< ${MIN_SNR_DB} dB)`);
        }
        continue;
      }
      const common = Math.min(modelBytes.byteLength, carrierBytes.byteLength);
      const at = firstDifference(modelBytes.subarray(0, common), carrierBytes.subarray(0, common));
      if (at !== -1) return fail(`item ${itemId}: audio differs at byte ${at}`);
      if (carrierBytes.byteLength < modelBytes.byteLength && short()) {
        return fail(
          `item ${itemId}: model sent ${modelBytes.byteLength} bytes, carrier got ${carrierBytes.byteLength}${responseNote(result, itemId)}`,
        );
      }
      // Beyond the model's audio only padding to a whole frame may follow.
      if (carrierBytes.byteLength - modelBytes.byteLength >= maxPad) {
        return fail(
          `item ${itemId}: carrier got ${carrierBytes.byteLength - modelBytes.byteLength} bytes more than the model sent`,
        );
      }
    }
    const cutByEnd = endedEarly.length > 0 ? `; ${endedEarly.length} cut short by the end of the call` : '';
    return pass(`${sent.size} items, ${total} bytes${cutByEnd}`);
  },
};

const dtmfOrder: ConformanceCheck = {
  id: 'dtmf.order',
  title: 'DTMF digits surface as events, in order',
  naWhen: 'dtmfIn: false',
  run(result) {
    const expected = traceExpect(result.trace).dtmf;
    // A carrier without DTMF on its stream cannot pass the caller's digits to the bridge.
    if (!result.capabilities.dtmfIn) return notDeclared('dtmfIn: false');
    if (expected.length === 0) return na('no DTMF in this call');
    const digits = emittedOf(result, 'dtmf').map((args) => (args[0] as { digit?: string })?.digit);
    return JSON.stringify(digits) === JSON.stringify(expected)
      ? pass(digits.join(' '))
      : fail(`expected ${expected.join(' ')}, got ${digits.join(' ') || 'none'}`);
  },
};

/** How the model's response of an item ended, and when, for a failure's detail. */
function responseNote(result: ReplayResult, itemId: string): string {
  const response = result.model?.responses.find((r) => r.itemId === itemId);
  if (!response) return '';
  const done = result.timeline.find((e) => e.type === 'response.done' && e.responseId === response.id);
  const reason = response.cancelReason ? ` (${response.cancelReason})` : '';
  const at = done ? ` at ${Math.round(done.at)} ms` : '';
  const end =
    result.carrier.endedAt === undefined ? '' : `; the call ended at ${Math.round(result.carrier.endedAt)} ms`;
  return ` (its response ${response.status}${reason}${at}${end})`;
}

const metadataFirst: ConformanceCheck = {
  id: 'metadata.first',
  title: 'call metadata arrives before the first audio',
  run(result) {
    const starts = result.emitted.filter((e) => e.name === 'call_start');
    const expect = traceExpect(result.trace);
    // Each start with its own ids and parameters; a redacted id (`""`) or unknown parameters (a
    // capture that begins mid-call, parameters redacted) are not compared.
    const expected =
      expect.starts ??
      expect.streamSids.map((streamSid) => ({
        streamSid,
        callSid: expect.callSid,
        customParameters: expect.customParameters,
      }));
    if (starts.length !== expected.length)
      return fail(`expected ${expected.length} call_start event(s), got ${starts.length}`);
    const first = starts[0]!;
    // A bridge in another process stamps on its own clock, to the whole millisecond (workerd's):
    // a call_start within that real millisecond of the audio may seem to come after it.
    const slack = result.remoteBridge ? Math.max(1, result.speed) : 0;
    if (result.firstModelAudioAt !== undefined && first.at > result.firstModelAudioAt + slack)
      return fail(
        `call_start came ${(first.at - result.firstModelAudioAt).toFixed(1)} ms after audio reached the model`,
      );
    for (const [i, start] of starts.entries()) {
      const event = start.args[0] as { callId?: string; streamId?: string; customParameters?: Record<string, string> };
      const want = expected[i]!;
      if (!event.streamId) return fail(`call_start ${i + 1}: no stream id`);
      if (result.carriesStreamId && want.streamSid !== '' && event.streamId !== want.streamSid) {
        return fail(`call_start ${i + 1}: stream id ${event.streamId}, expected ${want.streamSid}`);
      }
      if (want.callSid !== '' && event.callId !== want.callSid)
        return fail(`call_start ${i + 1}: call id ${event.callId}, expected ${want.callSid}`);
      if (want.customParameters && JSON.stringify(event.customParameters) !== JSON.stringify(want.customParameters)) {
        return fail(
          `call_start ${i + 1}: custom parameters ${JSON.stringify(event.customParameters)}, expected ${JSON.stringify(want.customParameters)}`,
        );
      }
    }
    return pass(`${starts.length} start(s), ${Object.keys(expect.customParameters).length} parameter(s)`);
  },
};

const lifecycle: ConformanceCheck = {
  id: 'lifecycle.close',
  title: 'the end of the call closes the model socket and releases the carrier socket',
  run(result) {
    const ends = emittedOf(result, 'call_end');
    if (ends.length !== 1) return fail(`expected one call_end event, got ${ends.length}`);
    if (result.model && result.modelClosedAt === undefined)
      return fail('the model socket stayed open after the call ended');
    if (result.transportStatus !== 'disconnected') return fail(`transport status is ${result.transportStatus}`);
    if (result.bridgeSocketListeners > 0)
      return fail(`${result.bridgeSocketListeners} listener(s) left on the carrier socket`);
    return pass(`call_end: ${(ends[0]![0] as { reason?: string })?.reason ?? '?'}`);
  },
};

/** Stream ms an error event may seem to precede the frame it answers (a remote bridge's clock). */
const MALFORMED_CLOCK_SLACK_MS = 50;

/**
 * Which malformed frame each `ProtocolError` answers: an error whose frame excerpt is that of a frame
 * the caller sent belongs to it; the others, in order, to the earliest frame sent before them that
 * has none yet (the bridge decodes its frames in order). Returns the frames left without one.
 */
function unansweredMalformed(
  sent: Array<{ at: number; frame: string | Uint8Array }>,
  errors: Array<{ at: number; excerpt?: string }>,
): number[] {
  const answered = new Set<number>();
  const excerpts = sent.map((s) => excerpt(s.frame));
  const rest = errors.filter((error) => {
    const k = error.excerpt === undefined ? -1 : excerpts.findIndex((e, i) => !answered.has(i) && e === error.excerpt);
    if (k === -1) return true;
    answered.add(k);
    return false;
  });
  for (const error of rest) {
    const k = sent.findIndex((s, i) => !answered.has(i) && s.at <= error.at + MALFORMED_CLOCK_SLACK_MS);
    if (k !== -1) answered.add(k);
  }
  return sent.map((_, i) => i).filter((i) => !answered.has(i));
}

const malformed: ConformanceCheck = {
  id: 'errors.malformed',
  title: 'malformed frames become error events and the call goes on',
  run(result) {
    if (result.carrier.malformedSent === 0) return na('no malformed frames were sent');
    const sent = result.carrier.malformed ?? [];
    const first = sent[0]?.at ?? -Infinity;
    const protocolErrors: Array<{ at: number; excerpt?: string }> = [];
    for (const { at, name, args } of result.emitted) {
      if (name !== 'error') continue;
      const error = (args[0] as { error?: { name?: string; code?: string; frameExcerpt?: unknown } })?.error;
      const isProtocol =
        error?.name === 'ProtocolError' || (typeof error?.code === 'string' && error.code.includes('protocol'));
      // Errors before the first malformed frame answer something else.
      if (!isProtocol || at < first - MALFORMED_CLOCK_SLACK_MS) continue;
      protocolErrors.push({ at, ...(typeof error.frameExcerpt === 'string' ? { excerpt: error.frameExcerpt } : {}) });
    }
    if (sent.length > 0) {
      const missing = unansweredMalformed(sent, protocolErrors);
      if (missing.length > 0) {
        const k = missing[0]!;
        const others = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
        return fail(
          `malformed frame ${k + 1} of ${sent.length}, ${describeMalformedFrame(sent[k]!.frame)}, gave no ProtocolError${others}`,
        );
      }
    } else if (protocolErrors.length < result.carrier.malformedSent) {
      return fail(`${result.carrier.malformedSent} malformed frames, ${protocolErrors.length} ProtocolError event(s)`);
    }
    // The agent may end the call before the carrier is done; nothing else may.
    const agentHangup =
      result.carrier.bridgeEnded !== undefined &&
      (emittedOf(result, 'call_end')[0]?.[0] as { reason?: string } | undefined)?.reason === AGENT_HANGUP;
    if (
      !agentHangup &&
      result.callEndedAt !== undefined &&
      result.lastFrameAt !== undefined &&
      result.callEndedAt < result.lastFrameAt - 1
    ) {
      return fail('the call ended before the carrier finished');
    }
    return pass(`${protocolErrors.length} error event(s) for ${result.carrier.malformedSent} malformed frame(s)`);
  },
};

const transportError = z.object({ type: z.literal('error'), error: z.unknown() });
const EVENT_SCHEMAS: Record<string, z.ZodType<unknown[]>> = {
  '*': z.tuple([z.looseObject({ type: z.string() })]),
  audio: z.tuple([
    z.looseObject({ type: z.literal('audio'), data: z.instanceof(ArrayBuffer), responseId: z.string() }),
  ]),
  audio_interrupted: z.tuple([]),
  audio_done: z.tuple([]),
  error: z.tuple([transportError]),
  function_call: z.tuple([
    z.looseObject({ type: z.literal('function_call'), callId: z.string(), name: z.string(), arguments: z.string() }),
  ]),
  audio_transcript_delta: z.tuple([z.looseObject({ delta: z.string(), itemId: z.string(), responseId: z.string() })]),
  output_text_delta: z.tuple([z.looseObject({ delta: z.string(), itemId: z.string(), responseId: z.string() })]),
  turn_started: z.tuple([z.looseObject({ type: z.literal('response_started') })]),
  turn_done: z.tuple([
    z.looseObject({
      type: z.literal('response_done'),
      response: z.looseObject({ id: z.string(), output: z.array(z.unknown()) }),
    }),
  ]),
  usage_update: z.tuple([z.object({}).loose()]),
  item_update: z.tuple([z.looseObject({ itemId: z.string(), type: z.string() })]),
  item_deleted: z.tuple([z.looseObject({ itemId: z.string() })]),
  connection_change: z.tuple([z.enum(['connecting', 'connected', 'disconnected', 'disconnecting'])]),
  connected: z.tuple([]),
  disconnected: z.tuple([]),
  call_start: z.tuple([
    z.looseObject({
      type: z.literal('call_start'),
      streamId: z.string(),
      format: z.object({ encoding: z.enum(['pcmu', 'pcma', 'l16']), sampleRate: z.number(), channels: z.literal(1) }),
      customParameters: z.record(z.string(), z.string()),
    }),
  ]),
  dtmf: z.tuple([z.looseObject({ type: z.literal('dtmf'), digit: z.string().min(1) })]),
  call_end: z.tuple([z.looseObject({ type: z.literal('call_end'), reason: z.string().optional() })]),
  injected_audio: z.tuple([
    z.union([
      z.looseObject({
        type: z.literal('injected_audio'),
        id: z.string().min(1),
        name: z.string().optional(),
        phase: z.literal('start'),
      }),
      z.looseObject({
        type: z.literal('injected_audio'),
        id: z.string().min(1),
        name: z.string().optional(),
        phase: z.literal('end'),
        sentMs: z.number().nonnegative(),
        playedMs: z.number().nonnegative(),
        reason: z.enum(['finished', 'yielded', 'interrupted', 'stopped', 'call_end']),
      }),
    ]),
  ]),
  machine_detection: z.tuple([
    z.looseObject({
      type: z.literal('machine_detection'),
      callId: z.string(),
      carrier: z.string(),
      answeredBy: z.enum(['human', 'machine', 'fax', 'unknown']),
      greetingEnded: z.boolean(),
      carrierResult: z.string(),
      detectionMs: z.number().optional(),
    }),
  ]),
};

const eventShapes: ConformanceCheck = {
  id: 'events.schema',
  title: 'every emitted event matches RealtimeTransportEventTypes',
  run(result) {
    let checked = 0;
    for (const e of result.emitted) {
      const schema = EVENT_SCHEMAS[e.name];
      if (!schema) {
        if (e.name.includes('.') || e.name.startsWith('mcp_')) continue; // raw server events by type name
        return fail(`unknown event '${e.name}'`);
      }
      const parsed = schema.safeParse(e.args);
      if (!parsed.success) return fail(`'${e.name}' event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      checked++;
    }
    return pass(`${checked} events`);
  },
};

const carrierFrames: ConformanceCheck = {
  id: 'carrier.frames',
  title: 'every frame sent to the carrier is valid for it',
  run(result) {
    const rejected = result.carrier.rejected;
    return rejected.length === 0 ? pass() : fail(`${rejected.length} rejected, first: ${rejected[0]!.error}`);
  },
};

const carrierPacing: ConformanceCheck = {
  id: 'carrier.pacing',
  title: 'a paced carrier never holds more than the declared lead of unplayed audio',
  naWhen: 'no pacing',
  run(result) {
    const pacing = result.capabilities.pacing;
    if (!pacing) return notDeclared('no pacing');
    if (result.carrier.chunks.length === 0) return na('the carrier got no audio');
    const frameMs = largestPadding(result) / bytesPerMs(result.carrierFormat);
    const bound = pacing.leadMs + frameMs + PACING_SLACK_MS;
    const most = result.carrier.maxQueuedMs;
    return most <= bound
      ? pass(`at most ${most.toFixed(0)} ms queued (lead ${pacing.leadMs} ms)`)
      : fail(`${most.toFixed(0)} ms of audio queued at the carrier, more than the ${pacing.leadMs} ms lead declared`);
  },
};

const modelProtocol: ConformanceCheck = {
  id: 'model.protocol',
  title: 'every event sent to the model is valid Realtime protocol',
  run(result) {
    if (!result.model) return fail('the model was never connected');
    const violations = result.model.violations;
    if (result.failures.length > 0) return fail(result.failures[0]!);
    return violations.length === 0
      ? pass(`${result.model.events.length} client events`)
      : fail(`${violations[0]!.code}: ${violations[0]!.issues}`);
  },
};

/** Every check, in report order. */
export const CHECKS: readonly ConformanceCheck[] = [
  inputLossless,
  outputLossless,
  bargeInClear,
  bargeInTruncate,
  bargeInCancel,
  bargeInErrors,
  dtmfOrder,
  metadataFirst,
  lifecycle,
  hangupAfterPlayback,
  audioInjectedCheck(outputLossless),
  malformed,
  eventShapes,
  carrierFrames,
  carrierPacing,
  modelProtocol,
];

export function runChecks(
  result: ReplayResult,
  options: Partial<CheckOptions> = {},
): Array<{ check: ConformanceCheck; outcome: CheckOutcome }> {
  const resolved = { ...DEFAULT_CHECK_OPTIONS, ...options };
  // A trace of another carrier than the adapter's was not replayed: nothing can be judged.
  if (result.notReplayed !== undefined) return CHECKS.map((check) => ({ check, outcome: na(result.notReplayed!) }));
  return CHECKS.map((check) => {
    try {
      return { check, outcome: check.run(result, resolved) };
    } catch (error) {
      return { check, outcome: fail(`check crashed: ${(error as Error).message}`) };
    }
  });
}
