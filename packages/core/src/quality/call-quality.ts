import { bytesPerMs } from '../audio/pcm.js';
import type { Clock } from '../clock.js';
import type { CallMetrics } from '../metrics.js';
import type { AudioFormat } from '../types.js';
import { estimateMos } from './emodel.js';
import { Histogram, summarize, type LatencySummary } from './histogram.js';

/**
 * A difference in transit time beyond this is a new time base (a carrier that restarted its clock,
 * a counter that wrapped), not jitter: the frame starts the comparison afresh.
 */
const NEW_TIME_BASE_MS = 1000;
/**
 * Of the frames that go straight on to the model, one in this many has its forwarding delay
 * measured, standing for the others: that delay is the bridge's own processing time, and a clock
 * read on every frame would cost more than everything else measured here.
 */
const FORWARD_SAMPLE = 8;

/** The quality of one call's phone leg, as `transport.quality()` and the `call_end` event give it. */
export type CallQualityReport = {
  inbound: {
    /** Audio frames received from the carrier. */
    frames: number;
    /** Audio received, ms (the frames' own durations). */
    audioMs: number;
    /**
     * RFC 3550 interarrival jitter at the end of the call, ms: the smoothed difference between how
     * far apart frames arrived and how far apart they are in the media (the carrier's timestamps,
     * else its sequence numbers times the frame duration, else the frames' durations end to end).
     */
    jitterMs: number;
    /** The same running estimate, sampled at every frame. */
    jitter: LatencySummary;
    /** Frames that arrived after one with a higher sequence number (RFC 4737 reordering). */
    reorderedFrames: number;
    /**
     * Frames that arrived after their place in the stream had passed, and were dropped
     * (`metrics.lateFramesDropped`).
     */
    lateFrames: number;
    /** Frames that never arrived: sequence numbers skipped (`metrics.framesMissing`). */
    lostFrames: number;
    /**
     * Lost audio, percent of what the caller sent: the larger of the frames lost by their sequence
     * numbers (at the mean frame duration) and the holes in the stream (`gapsPaddedMs` +
     * `gapsUnpaddedMs`), against the audio used plus that; late frames count as lost.
     */
    lossPercent: number;
    /** Silence inserted for holes in the stream, ms (`metrics.gapsPaddedMs`). */
    gapsPaddedMs: number;
  };
  outbound: {
    /** Times the carrier ran out of audio in the middle of a response (by the playout clock). */
    underruns: number;
    /** How long the carrier had nothing to play in those underruns, ms. */
    underrunMs: number;
    /**
     * Audio the carrier still had to play when more of the same response left the bridge, ms
     * (0 for an underrun): how far output runs ahead of the caller's ear.
     */
    leadMs: LatencySummary;
  };
  forwarding: {
    /**
     * Carrier frame in (its audio event reaching the input path) to the audio appended to the
     * model socket, ms: reordering holds, transcoding and the append itself. A frame held for
     * reordering counts until the arrival that released it; of the frames that went straight on,
     * one in eight is timed and stands for eight.
     */
    delayMs: LatencySummary;
    /** Frames kept as early media while the model was not ready: not part of `delayMs`. */
    earlyFrames: number;
  };
  /** The model's `speech_stopped` to the first audio of the reply sent to the carrier, ms, per turn. */
  responseLatencyMs: LatencySummary;
  /** The ITU-T G.107 E-model estimate (see `estimateMos`). */
  mos: {
    /** Estimated MOS, 1 to 4.5. */
    score: number;
    rFactor: number;
    /**
     * The one-way delay the estimate assumes, ms: the mean forwarding delay, a jitter buffer of
     * twice the mean jitter, and one frame of packetisation. The network's own transit time is not
     * visible to the bridge and not included.
     */
    delayMs: number;
  };
};

/**
 * Measures a call's quality as its media passes: called by the input path for every carrier frame
 * and by the output path for every batch of audio sent. Each call is O(1) and allocates nothing;
 * percentiles come from fixed-bucket histograms. Counters it adds to are in `transport.metrics`.
 */
export class CallQuality {
  readonly #metrics: CallMetrics;
  readonly #now: () => number;

  // Inbound.
  #frames = 0;
  #audioMs = 0;
  #maxSeq = -Infinity;
  /** Transit time of the previous frame (arrival minus media time), ms; NaN before the first. */
  #lastTransit = NaN;
  /** Media time of the previous frame, and its sequence number and duration. */
  #lastMediaMs = 0;
  #lastSeq: number | undefined;
  #lastFrameMs = 0;
  #jitter = 0;
  readonly #jitterHistogram = new Histogram();

  // Forwarding.
  /** Arrival times by sequence number (a ring longer than the reorder window), and of the last frame. */
  readonly #arrivals: Float64Array;
  readonly #ringMask: number;
  #lastArrival = 0;
  #earlyFrames = 0;
  #sinceSample = 0;
  readonly #forwardHistogram = new Histogram();

  // Outbound.
  /** When the carrier will have played everything sent, by the playout clock. */
  #playoutEnd = -Infinity;
  #lastResponse: string | undefined;
  readonly #leadHistogram = new Histogram();

  constructor(metrics: CallMetrics, options: { now?: () => number; clock?: Clock; reorderWindow?: number } = {}) {
    this.#metrics = metrics;
    this.#now = options.now ?? (options.clock ? () => options.clock!.now() : monotonicNow());
    let size = 64;
    while (size < (options.reorderWindow ?? 0) + 2) size *= 2;
    this.#arrivals = new Float64Array(size);
    this.#ringMask = size - 1;
  }

  /** A carrier audio frame arrived (before reordering): jitter, reordering, and its arrival time. */
  frameIn(
    sequence: number | undefined,
    timestampMs: number | undefined,
    byteLength: number,
    format: AudioFormat,
  ): void {
    const now = this.#now();
    this.#lastArrival = now;
    const frameMs = byteLength / bytesPerMs(format);
    this.#frames++;
    this.#audioMs += frameMs;
    let mediaMs: number;
    if (timestampMs !== undefined && Number.isFinite(timestampMs)) mediaMs = timestampMs;
    else if (sequence !== undefined && this.#lastSeq !== undefined)
      mediaMs = this.#lastMediaMs + (sequence - this.#lastSeq) * this.#lastFrameMs;
    else mediaMs = this.#lastMediaMs + this.#lastFrameMs;
    if (sequence !== undefined) {
      this.#arrivals[sequence & this.#ringMask] = now;
      if (sequence < this.#maxSeq) this.#metrics.framesReordered++;
      else this.#maxSeq = sequence;
      this.#lastSeq = sequence;
    }
    this.#lastMediaMs = mediaMs;
    this.#lastFrameMs = frameMs;
    // RFC 3550 6.4.1: J += (|D| − J) / 16, D the change in transit time between consecutive arrivals.
    const transit = now - mediaMs;
    const d = Math.abs(transit - this.#lastTransit);
    this.#lastTransit = transit;
    if (!(d < NEW_TIME_BASE_MS)) return;
    this.#jitter += (d - this.#jitter) / 16;
    this.#jitterHistogram.record(this.#jitter);
  }

  /**
   * The frame with this sequence number (or, without one, the last frame in) left the input path:
   * appended to the model, or kept as early media (`appended` false).
   */
  forwarded(sequence: number | undefined, appended: boolean): void {
    if (!appended) {
      this.#earlyFrames++;
      return;
    }
    if (sequence !== undefined && sequence !== this.#lastSeq) {
      // A frame held for reordering, released by the frame that just arrived.
      this.#forwardHistogram.record(this.#lastArrival - this.#arrivals[sequence & this.#ringMask]!);
      return;
    }
    if (++this.#sinceSample < FORWARD_SAMPLE) return;
    this.#sinceSample = 0;
    this.#forwardHistogram.record(this.#now() - this.#lastArrival, FORWARD_SAMPLE);
  }

  /**
   * `ms` of audio left for the carrier, of `responseId` (undefined: not the model's, such as a
   * clip the application plays). Audio that follows earlier audio of the same response finds the
   * carrier's queue at `lead`; below zero the carrier ran dry (an underrun).
   */
  audioSent(ms: number, responseId: string | undefined): void {
    const now = this.#now();
    if (responseId !== undefined) {
      if (responseId === this.#lastResponse) {
        const lead = this.#playoutEnd - now;
        if (lead < 0) {
          this.#metrics.outputUnderruns++;
          this.#metrics.outputUnderrunMs += -lead;
        }
        this.#leadHistogram.record(Math.max(0, lead));
      }
      this.#lastResponse = responseId;
    }
    this.#playoutEnd = Math.max(this.#playoutEnd, now) + ms;
  }

  /** The carrier dropped what it had queued (a clear): its playout starts afresh. */
  cleared(): void {
    this.#playoutEnd = -Infinity;
    this.#lastResponse = undefined;
  }

  /** A new carrier stream: sequence numbers, timestamps and playout start afresh. */
  newStream(): void {
    this.#maxSeq = -Infinity;
    this.#lastTransit = NaN;
    this.#lastSeq = undefined;
    this.#lastMediaMs = 0;
    this.#lastFrameMs = 0;
    this.cleared();
  }

  /** The call's quality so far. */
  report(): CallQualityReport {
    const m = this.#metrics;
    const frames = this.#frames;
    const frameMs = frames > 0 ? this.#audioMs / frames : 0;
    // Frames a sequence number shows missing, and holes in the timeline, are mostly the same loss
    // seen twice (a missing frame leaves a hole): the larger of the two is taken.
    const lostMs = Math.max(m.framesMissing * frameMs, m.gapsPaddedMs + m.gapsUnpaddedMs);
    const usedMs = Math.max(0, this.#audioMs - m.lateFramesDropped * frameMs);
    const lossPercent = lostMs > 0 ? (100 * lostMs) / (usedMs + lostMs) : 0;
    const jitter = this.#jitterHistogram.summary();
    const forwarding = this.#forwardHistogram.summary();
    const delayMs = forwarding.mean + 2 * jitter.mean + frameMs;
    const { mos, rFactor } = estimateMos({ delayMs, lossPercent });
    return {
      inbound: {
        frames,
        audioMs: this.#audioMs,
        jitterMs: this.#jitter,
        jitter,
        reorderedFrames: m.framesReordered,
        lateFrames: m.lateFramesDropped,
        lostFrames: m.framesMissing,
        lossPercent,
        gapsPaddedMs: m.gapsPaddedMs,
      },
      outbound: {
        underruns: m.outputUnderruns,
        underrunMs: m.outputUnderrunMs,
        leadMs: this.#leadHistogram.summary(),
      },
      forwarding: { delayMs: forwarding, earlyFrames: this.#earlyFrames },
      responseLatencyMs: summarize(m.responseLatenciesMs),
      mos: { score: mos, rFactor, delayMs },
    };
  }
}

/** A monotonic ms clock where the runtime has one (sub-millisecond forwarding delays), else the wall clock. */
function monotonicNow(): () => number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  return perf && typeof perf.now === 'function' ? () => perf.now() : Date.now;
}
