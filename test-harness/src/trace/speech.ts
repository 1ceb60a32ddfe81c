/**
 * Where a caller speaks in a trace, found from the audio alone: an energy detector over 20 ms
 * windows of the decoded audio, placed on the trace clock. Speech is loud against the line's
 * floor and modulated (syllables); comfort noise, hum and steady tones are not, so a capture of
 * non-speech audio has no utterances.
 */
import { decodeALaw, decodeMuLaw, pcm16FromBytes, type AudioFormat } from '@switchboard/core';
import type { TraceUtterance } from './format.js';

/** The detector's window, ms. */
export const SPEECH_WINDOW_MS = 20;

/** A window is speech only above this level, dBFS (the corpus's quiet parts are at about -60). */
const MIN_SPEECH_DBFS = -45;
/** ... and this far above the line's floor (its 10th-percentile window level), dB. */
const ABOVE_FLOOR_DB = 12;
/** Quiet shorter than this inside speech (pauses between words) does not end an utterance, ms. */
const HANGOVER_MS = 360;
/** Shorter runs of loud windows are clicks, not speech, ms. */
const MIN_UTTERANCE_MS = 100;
/**
 * Speech rises and falls with its syllables: the spread (standard deviation) of an utterance's
 * window levels is well above this, dB. Steady noise and tones stay below it.
 */
const MIN_MODULATION_DB = 3;

/** Accumulates audio placed on the trace clock, then finds the utterances in it. */
export class SpeechFinder {
  /** Window index (position / 20 ms) → level, dBFS. */
  readonly #levels = new Map<number, number>();

  /** Adds decoded audio that plays from `atMs` on the trace clock. */
  add(atMs: number, bytes: Uint8Array, format: AudioFormat): void {
    const samples =
      format.encoding === 'pcmu'
        ? decodeMuLaw(bytes)
        : format.encoding === 'pcma'
          ? decodeALaw(bytes)
          : pcm16FromBytes(bytes.byteLength % 2 === 0 ? bytes : bytes.subarray(0, bytes.byteLength - 1));
    const perWindow = Math.max(1, Math.round((format.sampleRate * SPEECH_WINDOW_MS) / 1000));
    const first = Math.round(atMs / SPEECH_WINDOW_MS);
    for (let k = 0, i = 0; i < samples.length; k++, i += perWindow) {
      const end = Math.min(samples.length, i + perWindow);
      if (end - i < perWindow / 2 && k > 0) break;
      let sum = 0;
      for (let j = i; j < end; j++) sum += samples[j]! * samples[j]!;
      const level = sum === 0 ? -120 : 20 * Math.log10(Math.sqrt(sum / (end - i)) / 32768);
      const index = first + k;
      this.#levels.set(index, Math.max(level, this.#levels.get(index) ?? -Infinity));
    }
  }

  /**
   * The utterances, in order: `[startMs, endMs)` on the trace clock. Audio missing from the trace (a gap) splits one.
   */
  utterances(): TraceUtterance[] {
    if (this.#levels.size === 0) return [];
    const indices = [...this.#levels.keys()].sort((a, b) => a - b);
    const levels = indices.map((i) => this.#levels.get(i)!).sort((a, b) => a - b);
    const floor = levels[Math.floor(levels.length * 0.1)]!;
    const threshold = Math.max(MIN_SPEECH_DBFS, floor + ABOVE_FLOOR_DB);
    const hangover = Math.round(HANGOVER_MS / SPEECH_WINDOW_MS);
    const out: TraceUtterance[] = [];
    let run: number[] = [];
    const close = () => {
      if (run.length === 0) return;
      const firstIndex = run[0]!;
      const lastIndex = run.at(-1)!;
      const span: number[] = [];
      for (let i = firstIndex; i <= lastIndex; i++) span.push(this.#levels.get(i)!);
      const loud = span.filter((l) => l > threshold);
      const mean = loud.reduce((a, b) => a + b, 0) / loud.length;
      const spread = Math.sqrt(span.reduce((a, b) => a + (b - mean) ** 2, 0) / span.length);
      if ((lastIndex - firstIndex + 1) * SPEECH_WINDOW_MS >= MIN_UTTERANCE_MS && spread >= MIN_MODULATION_DB) {
        out.push({ startMs: firstIndex * SPEECH_WINDOW_MS, endMs: (lastIndex + 1) * SPEECH_WINDOW_MS });
      }
      run = [];
    };
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      // Audio missing here: what came before cannot run on across the hole.
      if (k > 0 && index !== indices[k - 1]! + 1) close();
      if (this.#levels.get(index)! <= threshold) continue;
      if (run.length > 0 && index - run.at(-1)! > hangover) close();
      run.push(index);
    }
    close();
    return out;
  }
}
