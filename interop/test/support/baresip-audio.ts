/**
 * Audio measures for the baresip tests: linear samples of what the model sent or received, and
 * how much of the model's speech reached the other side intact and in order.
 */
import { concatBytes, decodeALaw, decodeMuLaw, pcm16FromBytes } from '@switchboard/core';
import type { SimulatorAudioFormat } from '@switchboard/conformance';

export type Linear = { samples: Int16Array; sampleRate: number };

/** Linear 16-bit samples of audio in a realtime API format. */
export function linearOf(chunks: Uint8Array[], format: SimulatorAudioFormat): Linear {
  const bytes = concatBytes(chunks);
  if (format.type === 'audio/pcmu') return { samples: decodeMuLaw(bytes), sampleRate: 8000 };
  if (format.type === 'audio/pcma') return { samples: decodeALaw(bytes), sampleRate: 8000 };
  return {
    samples: pcm16FromBytes(bytes.byteLength % 2 === 0 ? bytes : bytes.subarray(0, bytes.byteLength - 1)),
    sampleRate: 24000,
  };
}

function energy(samples: Int16Array, from: number, length: number): number {
  let sum = 0;
  for (let i = from; i < from + length; i++) sum += samples[i]! * samples[i]!;
  return sum;
}

function errorEnergy(a: Int16Array, aFrom: number, b: Int16Array, bFrom: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const d = a[aFrom + i]! - b[bFrom + i]!;
    sum += d * d;
  }
  return sum;
}

export type FrameMatch = {
  /** Frames of the expected audio with speech in them (above -40 dBFS). */
  speechFrames: number;
  /** Of those, the ones found in the actual audio, in order, at `minSnrDb` or better. */
  found: number;
  /** Where the first speech frame was found in the actual audio, ms (-1: nowhere). */
  firstAtMs: number;
  /** Frames baresip left out or padded (the positions skipped between found frames). */
  skipped: number;
};

/**
 * Finds the speech frames of `expected` (20 ms each) in `actual`, in order. Both are at the same
 * rate. A sender's jitter buffer may insert whole frames of silence (an underrun) or drop
 * frames (an overrun), so after the first frame each next one is looked for on the same 20 ms
 * grid, a little later or earlier than where it would follow.
 */
export function matchFrames(expected: Int16Array, actual: Int16Array, sampleRate: number, minSnrDb = 20): FrameMatch {
  const frame = Math.round(sampleRate / 50);
  const frames = Math.floor(expected.length / frame);
  const threshold = frame * 328 * 328; // -40 dBFS
  const speech: number[] = [];
  for (let f = 0; f < frames; f++) if (energy(expected, f * frame, frame) > threshold) speech.push(f);
  const result: FrameMatch = { speechFrames: speech.length, found: 0, firstAtMs: -1, skipped: 0 };
  if (speech.length === 0 || actual.length < frame) return result;
  const good = (e: number, a: number) => {
    const signal = energy(expected, e, frame);
    const noise = errorEnergy(expected, e, actual, a, frame);
    return noise === 0 || 10 * Math.log10(signal / noise) >= minSnrDb;
  };

  // The first speech frame that appears anywhere, at any offset: it fixes the grid.
  let anchor = -1;
  let anchorIndex = -1;
  for (let s = 0; s < speech.length && anchor < 0; s++) {
    const e = speech[s]! * frame;
    let best = -1;
    let bestError = Infinity;
    for (let a = 0; a + frame <= actual.length; a++) {
      const error = errorEnergy(expected, e, actual, a, frame);
      if (error < bestError) {
        bestError = error;
        best = a;
        if (error === 0) break;
      }
    }
    if (best >= 0 && good(e, best)) {
      anchor = best;
      anchorIndex = s;
    }
  }
  if (anchor < 0) return result;
  result.firstAtMs = (anchor * 1000) / sampleRate;
  result.found = 1;

  // Each later frame: on the grid, from just after the last one found, up to 2 s later.
  let last = anchor;
  let lastFrame = speech[anchorIndex]!;
  for (let s = anchorIndex + 1; s < speech.length; s++) {
    const f = speech[s]!;
    const e = f * frame;
    const ideal = last + (f - lastFrame) * frame;
    let hit = -1;
    for (let k = 0; k <= 100 && hit < 0; k++) {
      for (const candidate of k === 0 ? [ideal] : [ideal + k * frame, ideal - k * frame]) {
        if (candidate <= last || candidate + frame > actual.length) continue;
        if (good(e, candidate)) {
          hit = candidate;
          break;
        }
      }
    }
    if (hit < 0) continue;
    result.skipped += Math.abs((hit - ideal) / frame);
    result.found++;
    last = hit;
    lastFrame = f;
  }
  return result;
}
