/**
 * The call audio recorder: what the caller said and what the caller heard, as a two-channel WAV.
 *
 * Left is the caller's audio as the carrier delivered it. Right is the agent's audio as the
 * caller heard it: every frame the transport sent goes on the playout schedule (it starts when it
 * was sent, or when the frame before it ends, whichever is later — the carrier plays its queue in
 * order), and a clear removes what was scheduled after it, since the caller never heard that. The
 * end of the call does the same to what was still queued. Both channels sit on the transport's
 * clock, as the bridge saw them: network latency either way is not in the recording.
 *
 * Memory is bounded however long the call: audio is written to the sink in blocks once it is
 * final (a second and a half behind the latest media), and only the window that may still change is
 * held. It is built on the transport's media observers and never throws into the call or waits
 * for a sink; a sink's failures are counted in `stats`.
 */
import { decodeALaw, decodeMuLaw } from '../audio/g711.js';
import { pcm16FromBytes, pcm16ToBytes } from '../audio/pcm.js';
import { Resampler } from '../audio/resampler.js';
import { SwitchboardError } from '../errors.js';
import { logger } from '../log.js';
import type { TelephonyRealtimeTransport } from '../transport.js';
import type { AudioFormat } from '../types.js';
import { StereoTimeline, type Channel } from './audio-timeline.js';
import { RECORDING_CHANNELS, wavHeader, WAV_HEADER_BYTES } from './audio-wav.js';
import {
  checkOptions,
  isThenable,
  usableRate,
  type CallAudioRecorderOptions,
  type CallAudioRecorderStats,
  type CallAudioRecording,
  type WavSink,
} from './audio-options.js';
import type { RecordingSink } from './sink.js';

export type { CallAudioRecorderOptions, CallAudioRecorderStats, CallAudioRecording, WavSink } from './audio-options.js';

const log = logger('core');

/**
 * Final audio is written once this far behind the latest media, ms: room for late caller frames,
 * and for taking back a gap that turns out to be a delay (a stall up to this long).
 */
const HOLD_MS = 1500;
/** Audio is written in blocks of at least this much, ms. */
const BLOCK_MS = 500;
/** A caller frame arriving this much later than the stream's end is placed after a gap (ms). */
const CALLER_SLACK_MS = 60;
const DEFAULT_MAX_HELD_MS = 60_000;
/** A `now` this far from the media's times is not the transport's clock (ms). */
const CLOCK_MISMATCH_MS = 60_000;
const FALLBACK_RATE = 16_000;
/** Most sample frames converted for one write (bounds a write after a long silence). */
const MAX_WRITE_SAMPLES = 48_000;
const STOPPED = 'stopped';
const RECORDED_EVENTS = new Set(['call_start', 'dtmf', 'call_end', 'injected_audio', 'machine_detection']);

/** Duration of `payload` in `format`, ms. */
function durationOf(payload: Uint8Array, format: AudioFormat): number {
  if (!usableRate(format.sampleRate)) return 0;
  return (payload.byteLength / (format.encoding === 'l16' ? 2 : 1) / format.sampleRate) * 1000;
}

/** Records a call's audio, both ways, as a two-channel WAV; see the module comment. */
export class CallAudioRecorder {
  /** Resolves when the recording is over (the call ended, or `stop()`); never rejects. */
  readonly done: Promise<CallAudioRecording>;
  readonly #stats: CallAudioRecorderStats = {
    bytesWritten: 0,
    recordedMs: 0,
    eventsWritten: 0,
    clears: 0,
    cutMs: 0,
    droppedMs: 0,
    maxHeldMs: 0,
    writeErrors: 0,
    backpressuredWrites: 0,
  };
  readonly #options: CallAudioRecorderOptions;
  readonly #transport: TelephonyRealtimeTransport;
  readonly #detach: Array<() => void> = [];
  readonly #failed = new Set<unknown>();
  #resolve!: (recording: CallAudioRecording) => void;
  #rate: number | undefined;
  #timeline: StereoTimeline | undefined;
  #resamplers: [Resampler | undefined, Resampler | undefined] = [undefined, undefined];
  /** Silence put in the caller's channel where its audio stopped and resumed, still held (samples). */
  #gaps: Array<{ start: number; length: number }> = [];
  /** Transport time of the recording's first sample. */
  #t0: number | undefined;
  /** Latest transport time seen. */
  #latest = -Infinity;
  /** The transport's clock, when given (and when it turned out to be the transport's). */
  #clock: (() => number) | undefined;
  #headerWritten = false;
  #dataBytes = 0;
  #ended = false;

  constructor(transport: TelephonyRealtimeTransport, options: CallAudioRecorderOptions) {
    checkOptions(options);
    this.#options = options;
    this.#transport = transport;
    this.#rate = options.sampleRate;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.#clock = options.now;
    if (this.#clock) this.#t0 = this.#latest = this.#clock();
    this.#line({ at: 0, type: 'recording_start', channels: ['caller', 'agent'], startedAt: new Date().toISOString() });
    if (transport.endReason !== undefined) {
      this.#finish(transport.endReason, this.#latest);
      return;
    }
    const onEvent = (event: { type?: unknown }) => {
      try {
        if (event && typeof event.type === 'string' && RECORDED_EVENTS.has(event.type)) {
          this.#onEvent(event as { type: string; [key: string]: unknown });
        }
      } catch (error) {
        log('call audio recorder: event not recorded: %s', (error as Error)?.message);
      }
    };
    transport.on('*', onEvent);
    this.#detach.push(() => transport.off('*', onEvent));
    this.#detach.push(
      transport.observeMedia({
        callerAudio: (payload, format, at) => this.#audio(0, payload, format, at),
        agentAudio: (payload, format, at) => this.#audio(1, payload, format, at),
        cleared: (at) => this.#cleared(at),
        ended: (reason, at) => this.#finish(reason, at),
      }),
    );
  }

  /** What was written, held and lost so far. */
  get stats(): Readonly<CallAudioRecorderStats> {
    return this.#stats;
  }

  /** The WAV's sample rate, once known (the option, or the first audio's). */
  get sampleRate(): number | undefined {
    return this.#rate;
  }

  /** True once the recording is over. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Ends the recording now (the call goes on): writes what it holds and ends the sinks. */
  stop(): void {
    this.#finish(STOPPED, this.#now(), true);
  }

  #now(): number {
    const now = this.#clock;
    return now ? Math.max(now(), this.#latest) : this.#latest;
  }

  /** Position of transport time `t` in the recording, samples. */
  #position(t: number): number {
    return Math.round(((t - (this.#t0 ?? t)) * this.#rate!) / 1000);
  }

  /**
   * Fixes the rate and the timeline at the first audio. Without a clock the recording starts
   * where that audio does: as it was sent (agent), or as its first sample was spoken (caller).
   */
  #begin(channel: Channel, payload: Uint8Array, format: AudioFormat, at: number): StereoTimeline {
    if (this.#timeline) return this.#timeline;
    if (this.#clock && Math.abs(at - this.#clock()) > CLOCK_MISMATCH_MS) {
      // Not the transport's clock: placing audio by it would fill the file with silence.
      log('call audio recorder: the `now` given is not the transport clock; placing by the media instead');
      this.#clock = undefined;
      this.#t0 = undefined;
      this.#latest = -Infinity;
    }
    if (this.#t0 === undefined) this.#t0 = channel === 0 ? at - durationOf(payload, format) : at;
    // A carrier's rate the recording cannot have (none does): 16 kHz, the audio resampled to it.
    this.#rate ??= usableRate(format.sampleRate) ? format.sampleRate : FALLBACK_RATE;
    this.#timeline ??= new StereoTimeline((this.#rate * (this.#options.maxHeldMs ?? DEFAULT_MAX_HELD_MS)) / 1000);
    return this.#timeline;
  }

  #audio(channel: Channel, payload: Uint8Array, format: AudioFormat, at: number): void {
    if (this.#ended) return;
    const timeline = this.#begin(channel, payload, format, at);
    this.#advance(at);
    let samples: Int16Array;
    try {
      samples = this.#convert(channel, payload, format);
    } catch (error) {
      this.#stats.droppedMs += durationOf(payload, format);
      log('call audio recorder: audio not converted: %s', (error as Error)?.message);
      return;
    }
    let start: number;
    const end = timeline.end(channel);
    if (channel === 0) {
      // The frame arrived as its last sample was spoken; a stream arriving on time runs on without
      // gaps (jitter is no gap), and a stream that stopped resumes where the new audio belongs.
      const ideal = this.#position(at) - samples.length;
      if (ideal > end + this.#slack()) {
        this.#gaps.push({ start: end, length: ideal - end });
        start = ideal;
      } else start = end;
    } else {
      start = Math.max(this.#position(at), end);
    }
    const dropped = timeline.put(channel, start, samples);
    if (dropped > 0) this.#stats.droppedMs += (dropped * 1000) / this.#rate!;
    if (channel === 0) this.#takeBackGaps(timeline, at);
    this.#noteHeld(timeline);
  }

  /** Samples of lateness a caller frame may have without being taken for a gap. */
  #slack(): number {
    return (CALLER_SLACK_MS * this.#rate!) / 1000;
  }

  /**
   * No one speaks after their audio arrived: a caller stream that now runs past the time of its
   * latest frame came in a burst after a delay, and the silence put in where it stopped was no
   * loss. Takes that silence back (the part still held), latest first, so that the caller's
   * audio stays where it was spoken.
   */
  #takeBackGaps(timeline: StereoTimeline, at: number): void {
    let over = Math.floor(timeline.end(0) - this.#position(at));
    const gaps = this.#gaps;
    while (gaps.length > 0 && gaps[0]!.start + gaps[0]!.length <= timeline.base) gaps.shift();
    while (over > 0 && gaps.length > 0) {
      const gap = gaps[gaps.length - 1]!;
      const gapEnd = gap.start + gap.length;
      const n = Math.min(over, gapEnd - Math.max(gap.start, timeline.base));
      if (n <= 0) break;
      timeline.remove(0, gapEnd - n, n);
      gap.length -= n;
      over -= n;
      if (gap.length === 0) gaps.pop();
    }
  }

  /** Caller or agent audio as 16-bit samples at the recording's rate. */
  #convert(channel: Channel, payload: Uint8Array, format: AudioFormat): Int16Array {
    const samples =
      format.encoding === 'pcmu'
        ? decodeMuLaw(payload)
        : format.encoding === 'pcma'
          ? decodeALaw(payload)
          : pcm16FromBytes(payload);
    if (format.sampleRate === this.#rate) return samples;
    let resampler = this.#resamplers[channel];
    if (resampler?.fromRate !== format.sampleRate) {
      resampler = new Resampler(format.sampleRate, this.#rate!, { quality: 'low' });
      this.#resamplers[channel] = resampler;
    }
    return resampler.process(samples);
  }

  #cleared(at: number): void {
    if (this.#ended) return;
    this.#stats.clears++;
    let cutMs = 0;
    const timeline = this.#timeline;
    if (timeline) {
      this.#advance(at);
      cutMs = this.#cut(timeline, at);
      this.#resamplers[1]?.reset();
    } else this.#latest = Math.max(this.#latest, at);
    this.#line({ at: this.#ms(at), type: 'clear', cutMs });
  }

  /** Removes the agent audio scheduled after `at` (the caller never heard it); returns how much, ms. */
  #cut(timeline: StereoTimeline, at: number, heard = false): number {
    const ms = (timeline.cut(1, this.#position(at)) * 1000) / this.#rate!;
    if (!heard) this.#stats.cutMs += ms;
    return ms;
  }

  /** Writes what is final at time `at`, a block at a time. */
  #advance(at: number): void {
    if (at > this.#latest) this.#latest = at;
    const timeline = this.#timeline!;
    const final = this.#position(this.#latest - HOLD_MS);
    if (final - timeline.base >= (BLOCK_MS * this.#rate!) / 1000) this.#writeUntil(timeline, final);
  }

  #writeUntil(timeline: StereoTimeline, until: number): void {
    while (timeline.base < until) {
      const samples = timeline.take(Math.min(until - timeline.base, MAX_WRITE_SAMPLES));
      // A fresh array each time: the sink may keep it.
      this.#writeAudio(pcm16ToBytes(samples));
      this.#stats.recordedMs = (timeline.base * 1000) / this.#rate!;
    }
  }

  #noteHeld(timeline: StereoTimeline): void {
    const held = ((timeline.heldEnd - timeline.base) * 1000) / this.#rate!;
    if (held > this.#stats.maxHeldMs) this.#stats.maxHeldMs = held;
  }

  #writeAudio(bytes: Uint8Array): void {
    if (!this.#headerWritten) {
      this.#headerWritten = true;
      this.#write(this.#options.sink, wavHeader(this.#rate!, RECORDING_CHANNELS), WAV_HEADER_BYTES);
    }
    this.#dataBytes += bytes.byteLength;
    this.#write(this.#options.sink, bytes, bytes.byteLength);
  }

  /** Position of transport time `t` in the recording, ms. */
  #ms(t: number): number {
    return this.#t0 === undefined ? 0 : Math.max(0, Math.round(t - this.#t0));
  }

  #onEvent(event: { type: string; [key: string]: unknown }): void {
    if (this.#ended) return;
    const line: Record<string, unknown> = { at: this.#ms(this.#now()), type: event.type };
    for (const [key, value] of Object.entries(event)) {
      if (key !== 'type' && key !== 'raw' && key !== 'at') line[key] = value;
    }
    this.#line(line);
  }

  #line(line: Record<string, unknown>): void {
    const sink = this.#options.events;
    if (!sink) return;
    let text: string;
    try {
      text = `${JSON.stringify(line)}\n`;
    } catch {
      text = `${JSON.stringify({ at: line['at'], type: line['type'] })}\n`;
    }
    this.#stats.eventsWritten++;
    this.#write(sink, text, 0);
  }

  #write(sink: WavSink | RecordingSink, data: Uint8Array | string, bytes: number): void {
    this.#stats.bytesWritten += bytes;
    try {
      const result = (sink.write as (data: Uint8Array | string) => unknown)(data);
      if (result === false) this.#stats.backpressuredWrites++;
      else if (isThenable(result)) result.then(undefined, (error: unknown) => this.#fail(sink, error));
    } catch (error) {
      this.#fail(sink, error);
    }
  }

  #fail(sink: unknown, error: unknown): void {
    this.#stats.writeErrors++;
    if (this.#failed.has(sink)) return;
    this.#failed.add(sink);
    try {
      this.#options.onError?.(
        new SwitchboardError(
          'recording_failed',
          `The call audio recording's sink failed: ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        ),
      );
    } catch {
      // The recording's error report must not reach the call either.
    }
  }

  /** Ends the recording once: cuts what was never heard, writes the rest, ends the sinks. */
  #finish(reason: string, at: number, stopped = false): void {
    if (this.#ended) return;
    for (const detach of this.#detach.splice(0)) detach();
    const timeline = this.#timeline;
    if (timeline) {
      if (at > this.#latest) this.#latest = at;
      // Past the end of the call nothing is heard; past `stop()` nothing is recorded.
      this.#cut(timeline, this.#latest, stopped);
      this.#writeUntil(timeline, Math.max(timeline.heldEnd, this.#position(this.#latest)));
    }
    this.#ended = true;
    const carrierRate = this.#transport.carrierFormat?.sampleRate;
    this.#rate ??= carrierRate !== undefined && usableRate(carrierRate) ? carrierRate : 8000;
    if (!this.#headerWritten) this.#writeAudio(new Uint8Array(0));
    const durationMs = this.#dataBytes / (RECORDING_CHANNELS * 2) / (this.#rate / 1000);
    const stats = { ...this.#stats };
    this.#line({ at: Math.round(durationMs), type: 'recording_end', reason, sampleRate: this.#rate, ...stats });
    if (this.#options.endSinks ?? true) {
      for (const sink of [this.#options.sink, this.#options.events]) {
        if (!sink || typeof sink.end !== 'function') continue;
        try {
          const result = sink.end();
          if (isThenable(result)) result.then(undefined, (error: unknown) => this.#fail(sink, error));
        } catch (error) {
          this.#fail(sink, error);
        }
      }
    }
    this.#resolve({
      header: wavHeader(this.#rate, RECORDING_CHANNELS, this.#dataBytes),
      sampleRate: this.#rate,
      durationMs,
      reason,
      stats: { ...this.#stats },
    });
  }
}
