/**
 * `input.lossless`: the caller's audio reaches the model complete and in order. Two things a
 * transport does by design change that audio, and each is accepted only where the replay shows
 * that its condition really held:
 *
 * - inactivity padding: while the caller speaks, a line that goes quiet for the inactivity limit
 *   gets a second of silence (`metrics.inactivityPaddedMs`). Accepted where the caller's audio
 *   really stopped going out for at least the limit at that point of the call (the caller logs
 *   its pauses, see `CallerLog.pauses`), or after its last frame while the call was ending.
 *   Padding while the caller's audio kept coming stays a failure.
 * - early media dropped at its bound: audio that came while the model was not ready, beyond the
 *   transport's bound, oldest first (`metrics.earlyMediaDroppedBytes`). A replay faster than
 *   real time fills the bound that much sooner while a loaded machine connects the model late.
 *   Accepted when the transport kept at least the core's default bound (10 s) and the model got
 *   exactly the rest: the call's audio without that much of its start.
 */
import {
  TRANSPORT_DEFAULTS,
  base64Decode,
  bytesPerMs,
  concatBytes,
  durationMs,
  silence,
  type AudioFormat,
} from '@switchboard/core';
import { inboundTranscoder } from '@switchboard/core/protocol';
import {
  LENGTH_TOLERANCE,
  MIN_SNR_DB,
  describeSimilarity,
  firstDifference,
  modelAudioFormat,
  modelLinear,
  sameFormat,
} from './check-audio.js';
import { fail, largestPadding, pass, type CheckOutcome, type ConformanceCheck } from './check-kit.js';
import { traceFormat, type ReplayResult } from './replay.js';
import { compareAudio, linearSamples, resampleAll } from './similarity.js';
import { traceCarrier } from './trace.js';
import { traceInputStreams } from './trace/facts.js';

/** Silence a transport sends when the caller's line goes quiet during speech, ms: one piece per quiet spell. */
export const INACTIVITY_PAD_MS = 1000;

/**
 * How long the caller's audio must have stopped for a transport to pad it, real ms: the core's
 * default `inputAudioInactivityTimeoutMs`.
 */
export const INACTIVITY_LIMIT_MS = TRANSPORT_DEFAULTS.inactivityMs ?? 750;

/**
 * Early media a transport must keep while the model connects before it may drop the oldest, ms:
 * the core's default `earlyMediaMaxMs`.
 */
export const EARLY_MEDIA_KEPT_MS = TRANSPORT_DEFAULTS.earlyMediaMaxMs;

/** Slack for whole frames in the early-media accounting, ms. */
const FRAME_SLACK_MS = 100;

/** How far padding may sit from where the caller paused, ms of audio (a reorder window, resampling). */
const PAD_POSITION_SLACK_MS = 200;

/** Samples at the start of a padding append that a resampler's filter may still fill, ms. */
const PAD_FILTER_TAIL_MS = 10;

type TraceMedia = { payload: string; timestamp?: string; chunk?: string; track?: string };

/**
 * How much of the caller's audio just before the bridge ended the call may never reach the model,
 * stream ms: what was on its way (the loopback, the bridge's input path) when the bridge hung up.
 */
export const BRIDGE_END_TAIL_MS = 1000;

/**
 * The trace's frames the caller sent: all of them, unless the bridge ended the call first (the
 * agent hung up); then those sent before the caller saw the end.
 */
function framesSent(result: ReplayResult): Array<Record<string, unknown>> {
  return result.carrier.bridgeEnded
    ? result.carrier.traceFramesSent.map((f) => f.frame)
    : result.trace.frames.map((f) => f.frame);
}

/**
 * Of the caller's audio that reached the bridge before it ended the call, how much may still have
 * been on its way to the model (a reorder window, a jitter buffer, a resampler), ms.
 */
export const BRIDGE_END_PIPELINE_MS = 300;

/**
 * Where the bridge ended the call (the agent hung up): the least of the caller's audio the model
 * must have got, ms — all that the caller sent up to {@link BRIDGE_END_TAIL_MS} before the end, or,
 * where the bridge's metrics say it got less of it by then (a busy machine delivers the caller's
 * frames late), all it got but the last {@link BRIDGE_END_PIPELINE_MS}. Undefined when the caller
 * ended the call.
 */
function bridgeEndFloorMs(result: ReplayResult): number | undefined {
  if (!result.carrier.bridgeEnded || traceCarrier(result.trace) !== 'twilio') return undefined;
  const endAt = Math.min(result.callEndedAt ?? Infinity, result.carrier.bridgeEnded.at);
  const format = traceFormat(result.trace);
  let ms = 0;
  for (const { at, frame } of result.carrier.traceFramesSent) {
    if (at > endAt - BRIDGE_END_TAIL_MS) break;
    const media = frame.media as TraceMedia | undefined;
    if (frame.event === 'media' && media?.track !== 'outbound' && typeof media?.payload === 'string')
      ms += durationMs(format, base64Decode(media.payload).byteLength);
  }
  const received = result.metrics?.audioBytesIn;
  if (typeof received !== 'number' || !(received >= 0)) return ms;
  return Math.min(ms, Math.max(0, durationMs(result.carrierFormat, received) - BRIDGE_END_PIPELINE_MS));
}

/**
 * The caller's audio of a trace in the trace's format: every media payload in the order the
 * caller produced it (by `media.chunk` where a trace delivers frames out of order), timestamp
 * gaps as silence.
 */
export function traceInputAudio(result: ReplayResult): Uint8Array {
  if (traceCarrier(result.trace) !== 'twilio') return carrierInputAudio(result.trace);
  const format: AudioFormat = traceFormat(result.trace);
  // Streams in order of their `start`; within each, frames by chunk number.
  const streams: TraceMedia[][] = [[]];
  for (const frame of framesSent(result)) {
    if (frame.event === 'start') streams.push([]);
    else if (frame.event === 'media' && (frame.media as TraceMedia).track !== 'outbound')
      streams.at(-1)!.push(frame.media as TraceMedia);
  }
  const parts: Uint8Array[] = [];
  for (const stream of streams) {
    if (stream.every((m) => m.chunk !== undefined)) stream.sort((a, b) => Number(a.chunk) - Number(b.chunk));
    let last: { ts: number; ms: number } | undefined;
    for (const media of stream) {
      const payload = base64Decode(media.payload);
      const ts = media.timestamp === undefined ? undefined : Number(media.timestamp);
      if (ts !== undefined && last && ts >= last.ts) {
        const gap = ts - (last.ts + last.ms);
        if (gap >= 1) parts.push(silence(format, Math.min(gap, 10_000)));
      }
      if (ts !== undefined)
        last = { ts, ms: (payload.byteLength / (format.encoding === 'l16' ? 2 : 1) / format.sampleRate) * 1000 };
      parts.push(payload);
    }
  }
  return concatBytes(parts);
}

/**
 * The caller's audio of another carrier's trace, as its own protocol decoded the frames (binary
 * and text lines included; the replay read them with the adapter's `createProtocol()`): within
 * each stream in sequence order where every piece has a number, timestamp gaps as silence, all in
 * the format of the trace's first `start`.
 */
function carrierInputAudio(trace: ReplayResult['trace']): Uint8Array {
  const format = traceFormat(trace);
  const parts: Uint8Array[] = [];
  for (const stream of traceInputStreams(trace)) {
    const media = stream.media.every((m) => m.seq !== undefined)
      ? [...stream.media].sort((a, b) => a.seq! - b.seq!)
      : stream.media;
    let last: { ts: number; ms: number } | undefined;
    for (const m of media) {
      if (m.ts !== undefined && last && m.ts >= last.ts) {
        const gap = m.ts - (last.ts + last.ms);
        if (gap >= 1) parts.push(silence(format, Math.min(gap, 10_000)));
      }
      if (m.ts !== undefined) last = { ts: m.ts, ms: m.ms };
      parts.push(m.bytes);
    }
  }
  return concatBytes(parts);
}

/**
 * The audio the model must receive for a trace, converted the way the adapter converts (G.711
 * passes through): `exact` when it must match byte for byte.
 */
export function expectedModelInput(result: ReplayResult): { bytes: Uint8Array; exact: boolean } {
  const format = traceFormat(result.trace);
  const transcoder = inboundTranscoder(format);
  const converted = transcoder.convert(traceInputAudio(result)).slice();
  return { bytes: converted, exact: transcoder.passthrough && sameFormat(format, result.carrierFormat) };
}

/**
 * The caller's audio (at `rate`) without what a conversion to the model's higher `modelRate` and
 * back cannot carry: the top of its band, where a resampling filter rolls off. The model's audio
 * is compared at the caller's rate, so it went through both filters (the bridge's up, the
 * comparison's down); audio with energy up to its Nyquist frequency (wideband L16, or the
 * recorder's noise in place of a caller's voice) would otherwise differ there by design.
 */
function withinBothRates(samples: Int16Array, rate: number, modelRate: number): Int16Array {
  return modelRate > rate ? resampleAll(resampleAll(samples, rate, modelRate), modelRate, rate) : samples;
}

/** A verdict on the model's input, before excuses. */
type Comparison = { ok: boolean; detail: string };

/**
 * Compares what the model received with the trace's audio, without its first `skipMs` (early
 * media the transport dropped).
 */
function compareInput(result: ReplayResult, received: Uint8Array, skipMs = 0): Comparison {
  const model = result.model!;
  const traceFmt = traceFormat(result.trace);
  const expected = expectedModelInput(result);
  // The bridge ended the call: the model need only have got the caller's audio up to near the end.
  const floorMs = bridgeEndFloorMs(result);
  const ending = (gotMs: number, ofMs: number) =>
    `; the bridge ended the call: ${Math.max(0, ofMs - gotMs).toFixed(0)} ms the caller sent at the end did not reach the model`;
  if (expected.exact) {
    const skip = Math.min(expected.bytes.byteLength, Math.round(skipMs * bytesPerMs(traceFmt)));
    const all = expected.bytes.subarray(skip);
    const floor = floorMs === undefined ? all.byteLength : Math.round((floorMs - skipMs) * bytesPerMs(traceFmt));
    const bytes = floorMs !== undefined && received.byteLength >= floor ? all.subarray(0, received.byteLength) : all;
    const at = firstDifference(bytes, received);
    if (at === -1)
      return {
        ok: true,
        detail: `${received.byteLength} bytes${bytes.byteLength < all.byteLength ? ending(received.byteLength / bytesPerMs(traceFmt), all.byteLength / bytesPerMs(traceFmt)) : ''}`,
      };
    return {
      ok: false,
      detail: `expected ${bytes.byteLength} bytes, model got ${received.byteLength}; first difference at byte ${at}`,
    };
  }
  // Converted on the way (carrier format or resampling): the same sound, the same length.
  const actual = modelLinear(received, model.inputFormat.type);
  const all = withinBothRates(linearSamples(traceInputAudio(result), traceFmt), traceFmt.sampleRate, actual.sampleRate);
  const skipSamples = Math.min(all.length, Math.round((skipMs * traceFmt.sampleRate) / 1000));
  let original = { samples: all.subarray(skipSamples), sampleRate: traceFmt.sampleRate };
  let endNote = '';
  if (floorMs !== undefined) {
    // Compared as far as the model got, when that is at least the floor.
    const gotMs = (actual.samples.length * 1000) / actual.sampleRate;
    const ofMs = (original.samples.length * 1000) / original.sampleRate;
    if (gotMs < ofMs && gotMs >= floorMs - skipMs) {
      original = {
        samples: original.samples.subarray(0, Math.round((gotMs * original.sampleRate) / 1000)),
        sampleRate: original.sampleRate,
      };
      endNote = ending(gotMs, ofMs);
    }
  }
  const similarity = compareAudio(original, actual);
  const frameMs = largestPadding(result) / bytesPerMs(result.carrierFormat);
  if (Math.abs(similarity.actualMs - similarity.expectedMs) > similarity.expectedMs * LENGTH_TOLERANCE + frameMs) {
    return { ok: false, detail: `length differs: ${describeSimilarity(similarity)}` };
  }
  if (similarity.snrDb < MIN_SNR_DB)
    return { ok: false, detail: `audio differs: ${describeSimilarity(similarity)} (< ${MIN_SNR_DB} dB)` };
  return { ok: true, detail: `converted: ${describeSimilarity(similarity)}${endNote}` };
}

function metric(result: ReplayResult, name: string): number {
  const value = result.metrics?.[name];
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Whether `bytes` (model format) is silence, a resampler's first few ms aside. */
function isSilent(bytes: Uint8Array, format: AudioFormat): boolean {
  const samples = linearSamples(bytes, format);
  const from = Math.round((PAD_FILTER_TAIL_MS * format.sampleRate) / 1000);
  // A-law's quietest codes decode to ±8.
  for (let i = from; i < samples.length; i++) if (Math.abs(samples[i]!) > 8) return false;
  return true;
}

/**
 * Where the caller's audio stopped for at least the inactivity limit: its position in the call's audio (ms) and for how
 * long (real ms).
 */
function quietSpells(result: ReplayResult): Array<{ audioMs: number; realMs: number; end: boolean }> {
  const spells = result.carrier.pauses
    .filter((p) => p.realMs >= INACTIVITY_LIMIT_MS)
    .map((p) => ({ audioMs: p.audioMs, realMs: p.realMs, end: false }));
  // After its last frame the caller is quiet until the call has ended on the bridge.
  const last = result.carrier.lastMedia;
  if (last && result.callEndedAt !== undefined) {
    const realMs = (result.callEndedAt - last.at) / result.speed;
    if (realMs >= INACTIVITY_LIMIT_MS) spells.push({ audioMs: last.audioMs, realMs, end: true });
  }
  return spells;
}

type Excuses = {
  /** The model's input without the padding excused. */
  received: Uint8Array;
  /** Early media the transport dropped at its bound, ms (0 when none is excused). */
  droppedMs: number;
  /** What was excused, for the verdict. */
  notes: string[];
  /** Padding no quiet spell of the caller explains, for a failure's detail. */
  unexplained: string[];
};

/** What the transport did by design to the caller's audio, where the replay shows it was due. */
function excuses(result: ReplayResult): Excuses {
  const model = result.model!;
  const format = modelAudioFormat(model.inputFormat.type);
  const notes: string[] = [];
  const unexplained: string[] = [];

  let droppedMs = 0;
  const droppedBytes = metric(result, 'earlyMediaDroppedBytes');
  if (droppedBytes > 0) {
    const ms = durationMs(format, droppedBytes);
    const keptMs = durationMs(format, Math.max(0, metric(result, 'earlyMediaBytes') - droppedBytes));
    if (keptMs < EARLY_MEDIA_KEPT_MS - FRAME_SLACK_MS) {
      unexplained.push(
        `${ms.toFixed(0)} ms of early media dropped while only ${keptMs.toFixed(0)} ms were kept (at least ${EARLY_MEDIA_KEPT_MS} ms must be)`,
      );
    } else if (result.firstModelAudioAt === undefined || ms + keptMs > result.firstModelAudioAt + FRAME_SLACK_MS) {
      // All of it came before the model took any audio, on the replay's clock.
      unexplained.push(`${ms.toFixed(0)} ms of early media dropped, more than came before the model took audio`);
    } else {
      droppedMs = ms;
      notes.push(
        `${ms.toFixed(0)} ms of early media dropped beyond the ${keptMs.toFixed(0)} ms kept while the model connected (earlyMediaDroppedBytes)`,
      );
    }
  }

  let budget = metric(result, 'inactivityPaddedMs');
  const spells = quietSpells(result);
  const used = new Set<number>();
  const skip = new Set<number>();
  let position = 0;
  let padsBefore = 0;
  model.inputAudio.forEach((bytes, index) => {
    const ms = durationMs(format, bytes.byteLength);
    const startMs = position;
    position += ms;
    if (budget < INACTIVITY_PAD_MS || Math.abs(ms - INACTIVITY_PAD_MS) > 2 || !isSilent(bytes, format)) return;
    // Where the caller's audio stood: the model's position, less padding before it, plus the early media dropped.
    const at = startMs - padsBefore * INACTIVITY_PAD_MS + droppedMs;
    padsBefore++;
    budget -= INACTIVITY_PAD_MS;
    const spell = spells.findIndex((s, k) => !used.has(k) && Math.abs(s.audioMs - at) <= PAD_POSITION_SLACK_MS);
    if (spell === -1) {
      const near = result.carrier.pauses.filter((p) => Math.abs(p.audioMs - at) <= PAD_POSITION_SLACK_MS);
      const longest =
        near.length > 0 ? `${Math.max(...near.map((p) => p.realMs)).toFixed(0)} ms` : `under ${INACTIVITY_LIMIT_MS} ms`;
      unexplained.push(
        `${INACTIVITY_PAD_MS} ms of inactivity padding at ${at.toFixed(0)} ms of the call's audio, where the caller's audio kept coming (its longest pause there: ${longest} real)`,
      );
      return;
    }
    used.add(spell);
    skip.add(index);
    const s = spells[spell]!;
    notes.push(
      `${INACTIVITY_PAD_MS} ms of inactivity padding at ${at.toFixed(0)} ms of the call's audio, where the caller's audio ${s.end ? 'had ended' : 'stopped'} for ${s.realMs.toFixed(0)} ms real`,
    );
  });
  const received = concatBytes(model.inputAudio.filter((_, i) => !skip.has(i)));
  return { received, droppedMs, notes, unexplained };
}

export const inputLossless: ConformanceCheck = {
  id: 'input.lossless',
  title: 'caller audio reaches the model complete and in order',
  run(result): CheckOutcome {
    if (!result.model) return fail('the model was never connected');
    const plain = compareInput(result, concatBytes(result.model.inputAudio));
    if (plain.ok) return pass(plain.detail);
    if (metric(result, 'inactivityPaddedMs') === 0 && metric(result, 'earlyMediaDroppedBytes') === 0)
      return fail(plain.detail);
    const excused = excuses(result);
    if (excused.notes.length > 0 && excused.unexplained.length === 0) {
      const again = compareInput(result, excused.received, excused.droppedMs);
      if (again.ok) return pass(`${again.detail}; ${excused.notes.join('; ')}`);
    }
    const why = [...excused.unexplained, ...excused.notes.map((n) => `not enough: ${n}`)];
    return fail(why.length > 0 ? `${plain.detail}; ${why.join('; ')}` : plain.detail);
  },
};
