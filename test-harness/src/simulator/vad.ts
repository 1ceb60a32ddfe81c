/**
 * An energy voice-activity detector that runs in stream time: every position it reports is
 * derived from the number of samples it has been fed, never from the wall clock, so audio
 * replayed at any speed yields the same speech boundaries.
 */

export interface VadOptions {
  /** A 20 ms window counts as speech when its RMS level is above this (dBFS). Default -45. */
  thresholdDbfs?: number;
  /** Speech must accumulate this long before `speech_started` fires. Default 120. */
  minSpeechMs?: number;
  /** Silence this long after speech fires `speech_stopped`. Default 500. */
  silenceMs?: number;
  /** `audio_start_ms` is moved this far before the detected onset (not below 0). Default 300. */
  prefixPaddingMs?: number;
}

export type ResolvedVadOptions = Required<VadOptions>;

export const DEFAULT_VAD_OPTIONS: ResolvedVadOptions = {
  thresholdDbfs: -45,
  minSpeechMs: 120,
  silenceMs: 500,
  prefixPaddingMs: 300,
};

export type VadEvent =
  { type: 'speech_started'; audioStartMs: number; onsetMs: number } | { type: 'speech_stopped'; audioEndMs: number };

export const VAD_WINDOW_MS = 20;

/**
 * While waiting for speech, a candidate onset survives dips shorter than this; a longer quiet
 * stretch discards it. Speech has short pauses between syllables that should not restart the
 * count towards `minSpeechMs`.
 */
const CANDIDATE_GAP_MS = 60;

/** Level of a window in dBFS (full scale = 32768); -Infinity for digital silence. */
export function windowDbfs(samples: Int16Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) {
    const s = samples[i]!;
    sum += s * s;
  }
  const count = end - start;
  if (count <= 0 || sum === 0) return Number.NEGATIVE_INFINITY;
  return 20 * Math.log10(Math.sqrt(sum / count) / 32768);
}

export class EnergyVad {
  readonly options: ResolvedVadOptions;
  #rate = 0;
  #windowSamples = 0;
  /** Samples of an incomplete window carried over to the next push. */
  #pending: Int16Array = new Int16Array(0);
  /** Stream time of the start of the next window, in ms. */
  #positionMs = 0;
  #speaking = false;
  #candidateOnsetMs: number | null = null;
  #candidateSpeechMs = 0;
  #candidateGapMs = 0;
  #silenceRunMs = 0;
  #lastSpeechEndMs = 0;

  constructor(options: VadOptions = {}) {
    this.options = { ...DEFAULT_VAD_OPTIONS, ...stripUndefined(options) };
  }

  /** Stream time consumed so far (complete windows only), in ms. */
  get positionMs(): number {
    return this.#positionMs;
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Changes the silence and padding settings, e.g. after a session.update. */
  configure(options: Partial<Pick<ResolvedVadOptions, 'silenceMs' | 'prefixPaddingMs'>>): void {
    Object.assign(this.options, stripUndefined(options));
  }

  /**
   * Feeds samples at `sampleRate`. A rate change (a new input format) drops any incomplete
   * window of the old rate and continues at the same stream position.
   */
  push(samples: Int16Array, sampleRate: number): VadEvent[] {
    if (sampleRate !== this.#rate) {
      this.#rate = sampleRate;
      this.#windowSamples = Math.round((sampleRate * VAD_WINDOW_MS) / 1000);
      this.#pending = new Int16Array(0);
    }
    let buffer = samples;
    if (this.#pending.length > 0) {
      buffer = new Int16Array(this.#pending.length + samples.length);
      buffer.set(this.#pending, 0);
      buffer.set(samples, this.#pending.length);
    }
    const events: VadEvent[] = [];
    const n = this.#windowSamples;
    let offset = 0;
    for (; offset + n <= buffer.length; offset += n) {
      const isSpeech = windowDbfs(buffer, offset, offset + n) > this.options.thresholdDbfs;
      const event = this.#step(isSpeech);
      if (event) events.push(event);
      this.#positionMs += VAD_WINDOW_MS;
    }
    this.#pending = buffer.slice(offset);
    return events;
  }

  /** Forgets any speech in progress (input_audio_buffer.clear or commit). */
  reset(): void {
    this.#speaking = false;
    this.#candidateOnsetMs = null;
    this.#candidateSpeechMs = 0;
    this.#candidateGapMs = 0;
    this.#silenceRunMs = 0;
  }

  #step(isSpeech: boolean): VadEvent | null {
    const start = this.#positionMs;
    const end = start + VAD_WINDOW_MS;
    if (!this.#speaking) {
      if (isSpeech) {
        if (this.#candidateOnsetMs === null) {
          this.#candidateOnsetMs = start;
          this.#candidateSpeechMs = 0;
        }
        this.#candidateSpeechMs += VAD_WINDOW_MS;
        this.#candidateGapMs = 0;
        if (this.#candidateSpeechMs >= this.options.minSpeechMs) {
          const onsetMs = this.#candidateOnsetMs;
          this.#speaking = true;
          this.#silenceRunMs = 0;
          this.#lastSpeechEndMs = end;
          this.#candidateOnsetMs = null;
          return {
            type: 'speech_started',
            onsetMs,
            audioStartMs: Math.max(0, onsetMs - this.options.prefixPaddingMs),
          };
        }
      } else if (this.#candidateOnsetMs !== null) {
        this.#candidateGapMs += VAD_WINDOW_MS;
        if (this.#candidateGapMs > CANDIDATE_GAP_MS) {
          this.#candidateOnsetMs = null;
          this.#candidateSpeechMs = 0;
          this.#candidateGapMs = 0;
        }
      }
      return null;
    }
    if (isSpeech) {
      this.#silenceRunMs = 0;
      this.#lastSpeechEndMs = end;
      return null;
    }
    this.#silenceRunMs += VAD_WINDOW_MS;
    if (this.#silenceRunMs >= this.options.silenceMs) {
      this.#speaking = false;
      this.#silenceRunMs = 0;
      return { type: 'speech_stopped', audioEndMs: this.#lastSpeechEndMs };
    }
    return null;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
