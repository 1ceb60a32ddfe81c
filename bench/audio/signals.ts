import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeWav } from '@switchboard/core';
import { bandLimited, spectrum, type Spectrum } from './fft.js';

const AGENT_ASSETS = new URL('../../test-harness/assets/agent/', import.meta.url);
const REPLIES = ['reply-1.wav', 'reply-2.wav', 'reply-3.wav', 'reply-4.wav', 'reply-5.wav'];

/** Silence around each test signal, so the streaming start-up and the FFT wrap-around stay out of the way. */
export const PAD_SECONDS = 0.25;

/** The samples of `parts`, joined into one array. */
export function concatSamples(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function toInt16(x: ArrayLike<number>): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(x[i]!)));
  return out;
}

/** The agent's recorded replies (24 kHz, 16-bit), one after another. */
export function agentSpeech24k(): Int16Array {
  const parts = REPLIES.map((name) => {
    const { sampleRate, samples } = decodeWav(readFileSync(fileURLToPath(new URL(name, AGENT_ASSETS))));
    if (sampleRate !== 24000) throw new Error(`${name}: expected 24 kHz, got ${sampleRate} Hz`);
    return samples;
  });
  return concatSamples(parts);
}

export interface SpeechAtRate {
  samples: Int16Array;
  spectrum: Spectrum;
  /** Index just past the last speech sample (silence follows). */
  speechEnd: number;
}

/**
 * The same speech at 8, 16 and 24 kHz, each `seconds` long: PAD_SECONDS of silence, the
 * replies, silence to the end. The 8 and 16 kHz versions are the 24 kHz one band-limited
 * exactly (brick-wall below their Nyquist frequency) and rounded to 16 bits, as a properly
 * filtered telephone feed would be. Also returns each version's spectrum for the references.
 */
export function speechAtRates(seconds: number): Map<number, SpeechAtRate> {
  const speech = agentSpeech24k();
  const n24 = Math.round(seconds * 24000);
  const padded = new Int16Array(n24);
  const start = Math.round(PAD_SECONDS * 24000);
  if (start + speech.length + start > n24) throw new Error('speech does not fit');
  padded.set(speech, start);
  const spec24 = spectrum(padded, n24);
  const speechSeconds = (start + speech.length) / 24000;
  const out = new Map<number, SpeechAtRate>();
  out.set(24000, { samples: padded, spectrum: spec24, speechEnd: start + speech.length });
  for (const rate of [8000, 16000]) {
    const samples = toInt16(bandLimited(spec24, Math.round(seconds * rate)));
    const speechEnd = Math.ceil(speechSeconds * rate);
    out.set(rate, { samples, spectrum: spectrum(samples, samples.length), speechEnd });
  }
  return out;
}

/**
 * A linear sine sweep from `f0` to `f1` Hz over `duration` seconds, starting PAD_SECONDS in,
 * with 50 ms raised-cosine fades so that it stays band-limited at its ends. `at(t)` is the
 * exact value at time t (seconds); `render(rate, length, delay)` evaluates it at the times of
 * samples 0 … length − 1 at `rate`, shifted later by `delay` samples; `sample` is `render`
 * rounded to 16 bits.
 */
export function sweep(f0: number, f1: number, duration: number, amplitude = 16000) {
  const fade = 0.05;
  const at = (time: number): number => {
    const t = time - PAD_SECONDS;
    if (t <= 0 || t >= duration) return 0;
    const phase = 2 * Math.PI * (f0 * t + ((f1 - f0) * t * t) / (2 * duration));
    const edge = Math.min(t, duration - t);
    const gain = edge >= fade ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * edge) / fade);
    return amplitude * gain * Math.sin(phase);
  };
  const render = (rate: number, length: number, delay = 0): Float64Array =>
    Float64Array.from({ length }, (_, i) => at((i - delay) / rate));
  return { at, render, sample: (rate: number, length: number) => toInt16(render(rate, length)) };
}

/** `length` samples of `source` looped (the speech with its leading silence), for the timing runs. */
export function looped(source: Int16Array, length: number): Int16Array {
  const out = new Int16Array(length);
  for (let at = 0; at < length; at += source.length)
    out.set(source.subarray(0, Math.min(source.length, length - at)), at);
  return out;
}
