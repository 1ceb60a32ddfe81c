import type { AudioFormat } from '../types.js';
import { ALAW_SILENCE, MULAW_SILENCE } from './g711.js';

/** True when the platform stores multi-byte typed-array elements little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * 16-bit little-endian PCM bytes as samples. A trailing odd byte is ignored. The result is a
 * view of the same memory when the bytes are 2-byte aligned (and the platform is
 * little-endian), otherwise a copy.
 */
export function pcm16FromBytes(bytes: Uint8Array): Int16Array {
  const count = bytes.length >> 1;
  if (LITTLE_ENDIAN && (bytes.byteOffset & 1) === 0) {
    return new Int16Array(bytes.buffer, bytes.byteOffset, count);
  }
  const out = new Int16Array(count);
  for (let i = 0, j = 0; i < count; i++, j += 2) {
    out[i] = ((bytes[j + 1]! << 24) >> 16) | bytes[j]!;
  }
  return out;
}

/** Samples as 16-bit little-endian PCM bytes: a view of the same memory where possible. */
export function pcm16ToBytes(samples: Int16Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = new Uint8Array(samples.length * 2);
  for (let i = 0, j = 0; i < samples.length; i++, j += 2) {
    const s = samples[i]!;
    out[j] = s & 0xff;
    out[j + 1] = (s >> 8) & 0xff;
  }
  return out;
}

/**
 * Swaps the two bytes of every 16-bit sample, into a new array: big-endian L16 (RTP's network
 * byte order) to the little-endian PCM the core works in, and back. A trailing odd byte is copied
 * as it is.
 */
export function swapBytes16(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  const even = bytes.byteLength & ~1;
  for (let i = 0; i < even; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  if (even < bytes.byteLength) out[even] = bytes[even]!;
  return out;
}

/** Bytes per sample: 1 for G.711 (pcmu, pcma), 2 for 16-bit linear (l16). */
export function bytesPerSample(format: AudioFormat): number {
  return format.encoding === 'l16' ? 2 : 1;
}

/** Bytes per millisecond of audio (may be fractional for rates that are not whole kHz). */
export function bytesPerMs(format: AudioFormat): number {
  return (format.sampleRate / 1000) * bytesPerSample(format);
}

/** The byte that encodes silence: 0xff for μ-law, 0xd5 for A-law, 0 for l16. */
export function silenceByte(format: AudioFormat): number {
  switch (format.encoding) {
    case 'pcmu':
      return MULAW_SILENCE;
    case 'pcma':
      return ALAW_SILENCE;
    default:
      return 0;
  }
}

/** `ms` milliseconds of silence, rounded to whole samples. */
export function silence(format: AudioFormat, ms: number): Uint8Array {
  const samples = ms > 0 ? Math.round((format.sampleRate * ms) / 1000) : 0;
  const out = new Uint8Array(samples * bytesPerSample(format));
  const fill = silenceByte(format);
  if (fill !== 0) out.fill(fill);
  return out;
}

/** Duration in milliseconds of `byteLength` bytes (whole samples only). */
export function durationMs(format: AudioFormat, byteLength: number): number {
  const samples = Math.floor(byteLength / bytesPerSample(format));
  return (samples * 1000) / format.sampleRate;
}

/** The bytes of `parts`, joined into one array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
