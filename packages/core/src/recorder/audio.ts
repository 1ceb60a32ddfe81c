/**
 * Masking the caller's audio in a recording: silence, or noise that keeps the speech's timing.
 *
 * The noise follows the original's short-term energy (one RMS value per 10 ms block), so the
 * recording still has utterances where the caller spoke — an energy detector such as the
 * conformance harness's finds them — while the words, the voice and its pitch are gone.
 */
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw } from '../audio/g711.js';
import { silenceByte } from '../audio/pcm.js';
import type { AudioFormat } from '../types.js';

/** What the recorder does with the caller's audio: keep it, replace it by shaped noise, or by silence. */
export type AudioRedaction = 'keep' | 'noise' | 'silence';

/** Length of one energy block, ms: the envelope the noise follows. */
const BLOCK_MS = 10;

/** Linear samples of `bytes` in `format` (L16 read little-endian, the core's order). */
function toSamples(bytes: Uint8Array, format: AudioFormat): Int16Array {
  if (format.encoding === 'pcmu') return decodeMuLaw(bytes);
  if (format.encoding === 'pcma') return decodeALaw(bytes);
  const samples = new Int16Array(bytes.byteLength >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = ((bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16) >> 16;
  return samples;
}

/** `samples` as bytes in `format` (L16 little-endian), `length` bytes long (an odd L16 tail byte stays 0). */
function fromSamples(samples: Int16Array, format: AudioFormat, length: number): Uint8Array {
  if (format.encoding === 'pcmu') return encodeMuLaw(samples);
  if (format.encoding === 'pcma') return encodeALaw(samples);
  const out = new Uint8Array(length);
  for (let i = 0; i < samples.length; i++) {
    out[2 * i] = samples[i]! & 0xff;
    out[2 * i + 1] = (samples[i]! >> 8) & 0xff;
  }
  return out;
}

/**
 * Audio of the same length and format as `bytes` (L16 little-endian) with the content replaced:
 * all silence, or uniform noise whose RMS matches the original's in every 10 ms block.
 */
export function maskAudio(
  bytes: Uint8Array,
  format: AudioFormat,
  mode: 'noise' | 'silence',
  random: () => number = Math.random,
): Uint8Array {
  if (mode === 'silence') return new Uint8Array(bytes.byteLength).fill(silenceByte(format));
  const samples = toSamples(bytes, format);
  const block = Math.max(1, Math.round((format.sampleRate * BLOCK_MS) / 1000));
  const noise = new Int16Array(samples.length);
  for (let start = 0; start < samples.length; start += block) {
    const end = Math.min(samples.length, start + block);
    let sum = 0;
    for (let i = start; i < end; i++) sum += samples[i]! * samples[i]!;
    const rms = Math.sqrt(sum / (end - start));
    // Uniform noise on [-a, a] has an RMS of a / sqrt(3).
    const amplitude = rms * Math.sqrt(3);
    for (let i = start; i < end; i++) {
      const value = Math.round((random() * 2 - 1) * amplitude);
      noise[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
    }
  }
  return fromSamples(noise, format, bytes.byteLength);
}

/** Swaps the bytes of each 16-bit sample (a copy). */
export function swapped(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i + 1 < bytes.byteLength; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  if (bytes.byteLength % 2 === 1) out[bytes.byteLength - 1] = bytes[bytes.byteLength - 1]!;
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array, offset = 0): boolean {
  if (offset + b.byteLength > a.byteLength) return false;
  for (let i = 0; i < b.byteLength; i++) if (a[offset + i] !== b[i]) return false;
  return true;
}

/**
 * Where the carrier's audio sits in the frame, in the frame's own byte order, given the decoded
 * payload: `'same'` when the frame holds the payload's bytes, `'swapped'` when it holds them with
 * each 16-bit sample's bytes swapped (big-endian L16), undefined when neither.
 */
export function byteOrderOf(
  frameBytes: Uint8Array,
  payload: Uint8Array,
  offset: number,
  format: AudioFormat,
): 'same' | 'swapped' | undefined {
  if (sameBytes(frameBytes, payload, offset)) return 'same';
  if (format.encoding === 'l16' && sameBytes(frameBytes, swapped(payload), offset)) return 'swapped';
  return undefined;
}

/** Masked audio for `payload` (decoded, core order), in the order the frame holds it. */
export function maskedInOrder(
  payload: Uint8Array,
  format: AudioFormat,
  mode: 'noise' | 'silence',
  order: 'same' | 'swapped',
  random?: () => number,
): Uint8Array {
  const masked = maskAudio(payload, format, mode, random);
  return order === 'swapped' ? swapped(masked) : masked;
}
