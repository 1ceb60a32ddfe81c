/**
 * What the audio checks (input and output) share: how audio in the model's formats reads as linear
 * PCM, how much a resampler delays it, and how a comparison is told.
 */
import { Resampler, type AudioFormat } from '@switchboard/core';
import { linearSamples, type Similarity } from './similarity.js';

/**
 * Where the carrier's wire format differs from the trace's (the peer converted the trace's μ-law
 * into, say, L16 16 kHz) or the model's differs from the carrier's, audio cannot match byte for
 * byte. It must then match as sound: the same length within {@link LENGTH_TOLERANCE} (plus one
 * frame), and at least {@link MIN_SNR_DB} dB signal-to-noise ratio against the original once
 * aligned (resampling filters delay audio by a few ms).
 */
export const LENGTH_TOLERANCE = 0.01;
export const MIN_SNR_DB = 20;

export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.encoding === b.encoding && a.sampleRate === b.sampleRate;
}

/** The carrier-style format of a model audio format type (`audio/pcm` at `rate`, G.711 at 8 kHz). */
export function modelAudioFormat(type: string, rate = 24000): AudioFormat {
  if (type === 'audio/pcmu') return { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
  if (type === 'audio/pcma') return { encoding: 'pcma', sampleRate: 8000, channels: 1 };
  return { encoding: 'l16', sampleRate: rate, channels: 1 };
}

/** Linear PCM of audio in the model's format. */
export function modelLinear(
  bytes: Uint8Array,
  type: string,
  rate = 24000,
): { samples: Int16Array; sampleRate: number } {
  const format = modelAudioFormat(type, rate);
  return { samples: linearSamples(bytes, format), sampleRate: format.sampleRate };
}

/** The delay a resampling filter from `from` to `to` Hz adds, ms (0 for equal rates). */
export function resamplerDelayMs(from: number, to: number): number {
  return from === to ? 0 : (new Resampler(from, to).delaySamples * 1000) / to;
}

export function describeSimilarity(s: Similarity): string {
  return `${s.actualMs.toFixed(0)} of ${s.expectedMs.toFixed(0)} ms, SNR ${Number.isFinite(s.snrDb) ? s.snrDb.toFixed(1) : '∞'} dB at lag ${s.lagMs.toFixed(2)} ms`;
}

/**
 * Index of the first byte where `a` and `b` differ (the shorter length when one is a prefix of the other), -1 when
 * equal.
 */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
