import { isTrustedBase64 } from '../audio/base64.js';
import { durationMs, silence } from '../audio/pcm.js';
import {
  inboundTranscoder,
  modelBytesPerMs,
  modelFormatFor,
  sameModelFormat,
  type ModelAudioFormat,
  type Transcoder,
} from '../codec.js';
import { systemClock } from '../clock.js';
import { logger } from '../log.js';
import type { CallMetrics } from '../metrics.js';
import type { CallQuality } from '../quality/call-quality.js';
import type { AudioFormat, CallEvent } from '../types.js';
import type { ResolvedOptions } from './options.js';

const log = logger('core');

type AudioEvent = Extract<CallEvent, { type: 'audio' }>;

/** Longest piece of silence padding sent at once, ms. */
const PAD_PIECE_MS = 1000;
/** Silence sent to the model when the caller's line goes quiet during speech, ms. */
export const INACTIVITY_SILENCE_MS = 1000;
/**
 * A timestamp further behind the stream's position than this is a new time base (a counter wrap,
 * a carrier that restarted its clock), not a late frame.
 */
const LATE_FRAME_MS = 1000;
/**
 * How far a frame may be ahead of real time (against the earliest frame seen so far) before its
 * timestamp is taken as wrong: a carrier cannot send audio before it was spoken.
 */
const AHEAD_OF_REAL_TIME_MS = 1000;

/** What the input path needs from the transport it belongs to. */
export interface InputHost {
  readonly metrics: CallMetrics;
  /** Measures jitter, reordering and the forwarding delay. */
  readonly quality?: CallQuality;
  /** The transport's time, ms: the stream's time (scaled in a replay faster than real time). */
  now(): number;
  /** True when audio may go to the model now (session configured, socket open). */
  modelReady(): boolean;
  /** Writes model-format audio to the model (throws when the socket is gone). */
  append(bytes: Uint8Array, base64?: string): void;
  emitError(error: unknown): void;
  /** True once the call ended. */
  ended(): boolean;
}

export type InputOptions = Pick<ResolvedOptions, 'earlyMediaMaxMs' | 'maxGapPadMs' | 'reorderWindow' | 'inactivityMs'>;

/**
 * Carrier audio on its way to the model: early media kept until the model session is ready,
 * reordering by sequence number, gap padding from timestamps (with resynchronisation when a
 * timestamp cannot be right), inactivity padding while the caller speaks, and transcoding.
 */
export class InputPath {
  readonly #host: InputHost;
  readonly #options: InputOptions;

  #format!: AudioFormat;
  #modelFormat!: ModelAudioFormat;
  #inbound!: Transcoder;

  // Reordering.
  #expectedSeq: number | undefined;
  #reorder = new Map<number, AudioEvent>();

  // Timeline.
  /** Added to the carrier's timestamps after a resynchronisation. */
  #tsOffset = 0;
  /** Where the next frame should start on the (resynchronised) timeline, ms. */
  #nextTs: number | undefined;
  /** The earliest any frame arrived relative to its timestamp: clock time minus timestamp, ms. */
  #arrivalLead: number | undefined;
  /** Duration of the last frame delivered, ms (what a lost frame is taken to have lasted). */
  #lastFrameMs = 0;
  /** When the last frame was delivered, on the transport's clock. */
  #lastDeliveredAt: number | undefined;

  // Early media.
  #early: Uint8Array[] = [];
  #earlyBytes = 0;

  // Inactivity padding.
  #speechActive = false;
  #inactivityTimer: unknown;
  #lastInboundAt = 0;
  /**
   * Silence sent while the carrier's audio stopped (inactivity padding) that no hole in the
   * timeline has matched yet, ms: a gap the timestamps show later is padded only beyond it.
   */
  #paddedAheadMs = 0;

  constructor(host: InputHost, options: InputOptions, format: AudioFormat) {
    this.#host = host;
    this.#options = options;
    this.setFormat(format);
  }

  get format(): AudioFormat {
    return this.#format;
  }

  get modelFormat(): ModelAudioFormat {
    return this.#modelFormat;
  }

  /** Bytes of carrier audio (in the model's format) waiting for the model session. */
  get earlyBytes(): number {
    return this.#earlyBytes;
  }

  /**
   * The carrier's format. Returns true when the model's format changed: early audio kept until
   * now was decoded for the other format and is dropped (counted).
   */
  setFormat(format: AudioFormat): boolean {
    const model = modelFormatFor(format);
    const changed = this.#modelFormat !== undefined && !sameModelFormat(this.#modelFormat, model);
    this.#format = format;
    this.#modelFormat = model;
    this.#inbound = inboundTranscoder(format);
    if (changed) this.dropEarly();
    return changed;
  }

  /** A new stream: its sequence numbers and timestamps start afresh. */
  newStream(): void {
    this.flushReorder();
    this.#expectedSeq = undefined;
    this.#nextTs = undefined;
    this.#tsOffset = 0;
    this.#arrivalLead = undefined;
    this.#lastFrameMs = 0;
    this.#lastDeliveredAt = undefined;
    this.#paddedAheadMs = 0;
    this.#host.quality?.newStream();
  }

  onAudio(event: AudioEvent): void {
    const seq = event.sequence;
    this.#host.quality?.frameIn(seq, event.timestampMs, event.payload.byteLength, this.#format);
    if (seq === undefined) {
      this.#deliver(event);
      return;
    }
    const expected = this.#expectedSeq;
    if (expected === undefined || seq === expected) {
      this.#expectedSeq = seq + 1;
      this.#deliver(event);
      if (this.#reorder.size > 0) this.#drainReorder();
      return;
    }
    if (seq < expected) {
      this.#host.metrics.lateFramesDropped++;
      return;
    }
    this.#reorder.set(seq, event);
    if (this.#reorder.size > this.#options.reorderWindow) {
      // Give up on the missing frames: they are lost.
      let first = Infinity;
      for (const key of this.#reorder.keys()) if (key < first) first = key;
      this.#giveUp(first - expected, this.#reorder.get(first)!);
      this.#expectedSeq = first;
      this.#drainReorder();
    }
  }

  /** Delivers every held frame in order (at the end of a stream). */
  flushReorder(): void {
    if (this.#reorder.size === 0) return;
    const seqs = [...this.#reorder.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      const event = this.#reorder.get(seq)!;
      if (this.#expectedSeq !== undefined && seq > this.#expectedSeq) this.#giveUp(seq - this.#expectedSeq, event);
      this.#deliver(event);
      this.#expectedSeq = seq + 1;
    }
    this.#reorder.clear();
  }

  /** Sends the audio kept while the model was not ready. */
  flushEarly(): void {
    if (this.#early.length === 0) return;
    const chunks = this.#early;
    this.#early = [];
    this.#earlyBytes = 0;
    log('sending %d early media chunks', chunks.length);
    for (let i = 0; i < chunks.length; i++) {
      try {
        this.#host.append(chunks[i]!);
      } catch (error) {
        // The model socket failed under us: count what could not be sent.
        for (const rest of chunks.slice(i)) this.#host.metrics.earlyMediaDroppedBytes += rest.byteLength;
        this.#host.emitError(error);
        return;
      }
    }
  }

  /** Drops the early audio (counted). */
  dropEarly(): void {
    this.#host.metrics.earlyMediaDroppedBytes += this.#earlyBytes;
    this.#early = [];
    this.#earlyBytes = 0;
  }

  speechStarted(): void {
    this.#speechActive = true;
    this.#armInactivity(this.#options.inactivityMs ?? 0);
  }

  speechStopped(): void {
    this.#speechActive = false;
    this.disarmInactivity();
  }

  disarmInactivity(): void {
    if (this.#inactivityTimer !== undefined) {
      systemClock.clearTimeout(this.#inactivityTimer);
      this.#inactivityTimer = undefined;
    }
  }

  /** The call ended: nothing more goes to the model. Early audio never sent is counted. */
  end(): void {
    this.disarmInactivity();
    this.#reorder.clear();
    this.dropEarly();
  }

  #drainReorder(): void {
    let next = this.#expectedSeq!;
    let event = this.#reorder.get(next);
    while (event) {
      this.#reorder.delete(next);
      this.#deliver(event);
      next++;
      event = this.#reorder.get(next);
    }
    this.#expectedSeq = next;
  }

  /**
   * `missing` frames before `next` never came. They are counted; where the carrier gives no
   * timestamps (which would show the hole and pad it), their time is filled with silence of the
   * last frame's length, so the model's timeline keeps the caller's.
   */
  #giveUp(missing: number, next: AudioEvent): void {
    const metrics = this.#host.metrics;
    metrics.framesMissing += missing;
    if (next.timestampMs !== undefined || this.#lastFrameMs <= 0) return;
    // No more silence than the real time since the last frame allows (a counter that jumps is
    // not seconds of lost audio); the rest is counted as unpadded.
    const lostMs = missing * this.#lastFrameMs;
    const sinceLast =
      this.#lastDeliveredAt === undefined ? lostMs : this.#host.now() - this.#lastDeliveredAt + AHEAD_OF_REAL_TIME_MS;
    const padMs = Math.min(lostMs, Math.max(0, sinceLast));
    if (lostMs > padMs) metrics.gapsUnpaddedMs += lostMs - padMs;
    if (padMs >= 1) this.#padGap(padMs);
  }

  #deliver(event: AudioEvent): void {
    const payload = event.payload;
    const metrics = this.#host.metrics;
    metrics.audioBytesIn += payload.byteLength;
    const frameMs = durationMs(this.#format, payload.byteLength);
    if (event.timestampMs !== undefined && Number.isFinite(event.timestampMs))
      this.#placeOnTimeline(event.timestampMs, frameMs);
    const early = this.#inbound.passthrough
      ? this.#forward(payload, trustedBase64(event.payloadBase64, payload))
      : this.#forward(this.#inbound.convert(payload));
    this.#host.quality?.forwarded(event.sequence, !early);
    this.#lastFrameMs = frameMs;
    this.#lastDeliveredAt = this.#host.now();
    this.#lastInboundAt = systemClock.now();
    if (this.#speechActive && this.#inactivityTimer === undefined) this.#armInactivity(this.#options.inactivityMs ?? 0);
  }

  /**
   * Puts a frame on the stream's timeline: a hole before it is padded with silence, unless that
   * silence was already sent (inactivity padding). A timestamp that cannot be right — far behind
   * the stream's position, or ahead of what real time allows — does not become the reference: the
   * timeline is resynchronised (counted) and the frame taken as following the previous one.
   */
  #placeOnTimeline(timestampMs: number, frameMs: number): void {
    const metrics = this.#host.metrics;
    const arrivedAt = this.#host.now();
    let ts = timestampMs + this.#tsOffset;
    const next = this.#nextTs;
    if (next !== undefined) {
      const jump = ts - next;
      const lead = arrivedAt - ts;
      if (
        jump <= -LATE_FRAME_MS ||
        (jump >= 1 && this.#arrivalLead !== undefined && lead < this.#arrivalLead - AHEAD_OF_REAL_TIME_MS)
      ) {
        log('timestamp %d ms does not follow the stream (%d ms off): resynchronising', timestampMs, Math.round(jump));
        metrics.timestampResyncs++;
        this.#tsOffset += next - ts;
        ts = next;
      } else if (jump < 0) {
        // A late frame (or one that overlaps the last a little): it is sent, and the stream's
        // position moves only as far as it reaches past it.
        this.#nextTs = Math.max(next, ts + frameMs);
        return;
      } else if (jump >= 1) {
        // Silence the model already has for this hole counts towards it.
        const covered = Math.min(jump, this.#paddedAheadMs);
        this.#paddedAheadMs -= covered;
        if (jump - covered >= 1) this.#padGap(jump - covered);
      }
    }
    const lead = arrivedAt - ts;
    if (this.#arrivalLead === undefined || lead < this.#arrivalLead) this.#arrivalLead = lead;
    this.#nextTs = ts + frameMs;
  }

  #padGap(gapMs: number): void {
    const metrics = this.#host.metrics;
    const padMs = Math.min(gapMs, this.#options.maxGapPadMs);
    metrics.gapsPaddedMs += padMs;
    if (gapMs > padMs) metrics.gapsUnpaddedMs += gapMs - padMs;
    // In pieces of at most a second: a long hole is no single multi-megabyte allocation and append.
    for (let left = padMs; left > 0; left -= PAD_PIECE_MS) {
      this.#forward(this.#inbound.convert(silence(this.#format, Math.min(left, PAD_PIECE_MS))));
    }
  }

  /**
   * Sends model-format audio to the model, or keeps it while the model session is not ready.
   * `base64` is the same audio already encoded, when the carrier sent it so. True when kept.
   */
  #forward(bytes: Uint8Array, base64?: string): boolean {
    if (bytes.byteLength === 0 || this.#host.ended()) return false;
    if (this.#host.modelReady()) {
      this.#host.append(bytes, base64);
      return false;
    }
    const metrics = this.#host.metrics;
    this.#early.push(bytes.slice());
    this.#earlyBytes += bytes.byteLength;
    metrics.earlyMediaBytes += bytes.byteLength;
    const max = this.#options.earlyMediaMaxMs * modelBytesPerMs(this.#modelFormat);
    while (this.#earlyBytes > max && this.#early.length > 0) {
      const dropped = this.#early.shift()!;
      this.#earlyBytes -= dropped.byteLength;
      metrics.earlyMediaDroppedBytes += dropped.byteLength;
    }
    return true;
  }

  /**
   * While the caller is speaking, a line that goes quiet for `inputAudioInactivityTimeoutMs` gets
   * one second of silence, so the model's turn detection can end the turn. One timer per quiet
   * spell: frames only record when they arrived.
   */
  #armInactivity(delayMs: number): void {
    const limit = this.#options.inactivityMs;
    if (limit === null) return;
    this.disarmInactivity();
    // On the wall clock (the timer and the quiet time alike), whatever clock the transport keeps:
    // it guards against a carrier that went quiet in real time, and a replay's scaled clock would
    // turn ordinary scheduling delays into silence.
    this.#inactivityTimer = systemClock.setTimeout(() => {
      this.#inactivityTimer = undefined;
      if (!this.#speechActive || this.#host.ended() || !this.#host.modelReady()) return;
      const quietFor = systemClock.now() - this.#lastInboundAt;
      if (quietFor < limit) {
        this.#armInactivity(limit - quietFor);
        return;
      }
      // A timer that fires late fires before the frames that arrived meanwhile are read (timers
      // run before I/O): look once more after them, so a stall of this process is not taken for
      // a quiet line.
      this.#inactivityTimer = systemClock.setTimeout(() => {
        this.#inactivityTimer = undefined;
        if (!this.#speechActive || this.#host.ended() || !this.#host.modelReady()) return;
        const quiet = systemClock.now() - this.#lastInboundAt;
        if (quiet < limit) {
          this.#armInactivity(limit - quiet);
          return;
        }
        const pad = this.#inbound.convert(silence(this.#format, INACTIVITY_SILENCE_MS));
        this.#host.metrics.inactivityPaddedMs += INACTIVITY_SILENCE_MS;
        this.#paddedAheadMs += INACTIVITY_SILENCE_MS;
        try {
          this.#host.append(pad);
        } catch (error) {
          this.#host.emitError(error);
        }
      }, 0);
    }, delayMs);
  }
}

/**
 * A protocol's base64 form of a payload, when it is strict base64 of exactly that payload: it is
 * written into the model's JSON as is, so nothing else may pass. The protocol's own decode of it
 * (the usual case) already read every character: that text is not read again.
 */
function trustedBase64(text: string | undefined, payload: Uint8Array): string | undefined {
  return text !== undefined && isTrustedBase64(text, payload) ? text : undefined;
}
