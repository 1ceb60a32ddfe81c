/**
 * How alike two recordings of the same audio are, after conversions that change bytes but not
 * sound (μ-law ↔ linear, resampling): both go to linear PCM at the lower of the two rates, the
 * small delay resampling filters add is found by cross-correlation, and the difference is
 * measured as a signal-to-noise ratio.
 */
import { Resampler, decodeALaw, decodeMuLaw, pcm16FromBytes, type AudioFormat } from '@switchboard/core';

/** Linear 16-bit samples of audio in a carrier format. */
export function linearSamples(bytes: Uint8Array, format: AudioFormat): Int16Array {
  if (format.encoding === 'pcmu') return decodeMuLaw(bytes);
  if (format.encoding === 'pcma') return decodeALaw(bytes);
  return pcm16FromBytes(bytes.byteLength % 2 === 0 ? bytes : bytes.subarray(0, bytes.byteLength - 1));
}

/** The whole of `samples` at another rate, filter tail included, with the filter's delay removed. */
export function resampleAll(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return samples;
  const resampler = new Resampler(from, to);
  const head = resampler.process(samples);
  const tail = resampler.flush();
  const all = new Int16Array(head.length + tail.length);
  all.set(head);
  all.set(tail, head.length);
  const delay = Math.round(resampler.delaySamples);
  return all.subarray(delay, delay + Math.round((samples.length * to) / from));
}

export type Similarity = {
  /** Rate both signals were compared at, Hz. */
  sampleRate: number;
  /** Delay of `actual` against `expected`, ms (positive: actual is late). */
  lagMs: number;
  /** Energy of `expected` over energy of the difference, dB, over the compared span (Infinity when identical). */
  snrDb: number;
  /** Compared span, ms: the overlap of the two after alignment. */
  comparedMs: number;
  expectedMs: number;
  actualMs: number;
};

/**
 * Compares `actual` with `expected` (linear PCM, each at its own rate). The delay is searched
 * within ±`maxLagMs` on the first `alignMs` of audio.
 */
export function compareAudio(
  expected: { samples: Int16Array; sampleRate: number },
  actual: { samples: Int16Array; sampleRate: number },
  options: { maxLagMs?: number; alignMs?: number } = {},
): Similarity {
  const rate = Math.min(expected.sampleRate, actual.sampleRate);
  const e = resampleAll(expected.samples, expected.sampleRate, rate);
  const a = resampleAll(actual.samples, actual.sampleRate, rate);
  const maxLag = Math.round(((options.maxLagMs ?? 20) * rate) / 1000);
  const alignLength = Math.min(e.length, a.length, Math.round(((options.alignMs ?? 5000) * rate) / 1000));

  // The lag with the smallest difference energy over the alignment window.
  let bestLag = 0;
  let bestError = Infinity;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let error = 0;
    const from = Math.max(0, -lag);
    const to = Math.min(alignLength, a.length - lag);
    if (to - from < alignLength / 2) continue;
    for (let i = from; i < to; i++) {
      const d = e[i]! - a[i + lag]!;
      error += d * d;
    }
    error /= to - from;
    if (error < bestError) {
      bestError = error;
      bestLag = lag;
    }
  }

  let signal = 0;
  let noise = 0;
  const from = Math.max(0, -bestLag);
  const to = Math.min(e.length, a.length - bestLag);
  for (let i = from; i < to; i++) {
    const s = e[i]!;
    const d = s - a[i + bestLag]!;
    signal += s * s;
    noise += d * d;
  }
  return {
    sampleRate: rate,
    lagMs: (bestLag * 1000) / rate,
    snrDb: noise === 0 ? Infinity : 10 * Math.log10(Math.max(signal, 1) / noise),
    comparedMs: (Math.max(0, to - from) * 1000) / rate,
    expectedMs: (e.length * 1000) / rate,
    actualMs: (a.length * 1000) / rate,
  };
}
