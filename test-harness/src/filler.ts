/**
 * The filler the conformance agent's bridge injects while its slow tool runs, and how the harness
 * tells it apart from the model's audio in what the carrier got: two steady tones at once, which
 * speech never is. Injected audio goes out through the same framing and pacing as the model's, so
 * only its sound (and the bridge's `injected_audio` events) says which chunks are not the model's.
 */
import type { AudioFormat } from '@switchboard/core';
import { linearSamples } from './similarity.js';

/** The filler's two tones, Hz: whole cycles in every 20 ms (and 1 ms at 8 kHz and up), so its loop is seamless. */
export const FILLER_TONES_HZ: readonly [number, number] = [1000, 1500];

/** The filler clip's format: L16 at 8 kHz (the bridge converts it to the carrier's). */
export const FILLER_FORMAT: AudioFormat = { encoding: 'l16', sampleRate: 8000, channels: 1 };

/** The clip's length, ms (it loops while the tool runs). */
const FILLER_CLIP_MS = 200;

/** Each tone's peak, of full scale. */
const TONE_LEVEL = 0.2;

/** The name the filler plays under (`injected_audio` events). */
export const FILLER_NAME = 'conformance-filler';

/** How long the slow tool runs before the filler starts, stream ms (`playWhile`'s `delayMs`). */
export const FILLER_DELAY_MS = 300;

/** The filler clip: both tones, {@link FILLER_CLIP_MS} long, in {@link FILLER_FORMAT}. */
export function fillerClip(): Int16Array {
  const rate = FILLER_FORMAT.sampleRate;
  const out = new Int16Array((rate * FILLER_CLIP_MS) / 1000);
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (const hz of FILLER_TONES_HZ) v += Math.sin((2 * Math.PI * hz * i) / rate);
    out[i] = Math.round(v * TONE_LEVEL * 32767);
  }
  return out;
}

/** Below this RMS (of full scale) a chunk is silence (padding), not the filler. */
const SILENCE_RMS = 0.01;

/** The share of a chunk's energy both tones together must hold for it to be the filler. */
const FILLER_SHARE = 0.6;

/** The share each tone must hold on its own. */
const TONE_SHARE = 0.2;

/** The power of one frequency in `samples` (Goertzel), scaled so that a full sine of amplitude A gives A²/2 · n. */
function tonePower(samples: Int16Array, from: number, to: number, hz: number, rate: number): number {
  const w = (2 * Math.PI * hz) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = samples[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const n = to - from;
  return ((s1 * s1 + s2 * s2 - coeff * s1 * s2) * 2) / n;
}

/**
 * Whether a chunk the carrier got (in `format`) is the filler: not silence, and most of its energy
 * in the two tones, each holding a good part of it. A chunk that is partly silence (a padded last
 * frame) is judged on its sound.
 */
export function isFillerAudio(bytes: Uint8Array, format: AudioFormat): boolean {
  const samples = linearSamples(bytes, format);
  let from = 0;
  let to = samples.length;
  // Judge the part that sounds: padding with silence is neither tone nor speech.
  while (from < to && Math.abs(samples[from]!) < 64) from++;
  while (to > from && Math.abs(samples[to - 1]!) < 64) to--;
  const n = to - from;
  // Under 5 ms the tones cannot be told apart by frequency.
  if (n < format.sampleRate / 200) return false;
  let energy = 0;
  for (let i = from; i < to; i++) energy += samples[i]! * samples[i]!;
  if (Math.sqrt(energy / n) < SILENCE_RMS * 32768) return false;
  const shares = FILLER_TONES_HZ.map((hz) => tonePower(samples, from, to, hz, format.sampleRate) / energy);
  return shares.every((s) => s >= TONE_SHARE) && shares.reduce((a, b) => a + b, 0) >= FILLER_SHARE;
}
