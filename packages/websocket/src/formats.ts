import {
  ConfigError,
  Resampler,
  bytesPerMs,
  bytesPerSample,
  decodeALaw,
  decodeMuLaw,
  encodeALaw,
  encodeMuLaw,
  pcm16FromBytes,
  pcm16ToBytes,
  type AudioFormat,
} from '@switchboard/core';

/** Sample rates of 16-bit linear PCM (little-endian) on a raw WebSocket. */
export const L16_RATES: readonly number[] = [8000, 16000, 24000, 48000];

export const L16_8K: AudioFormat = { encoding: 'l16', sampleRate: 8000, channels: 1 };
export const L16_16K: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };
export const MULAW_8K: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

/** `l16@16000`, `pcmu@8000`: a format as it appears in messages. */
export function formatName(format: AudioFormat): string {
  return `${format.encoding}@${format.sampleRate}`;
}

/** True for the formats this package carries: L16 at 8/16/24/48 kHz, μ-law and A-law at 8 kHz. */
export function isSupportedFormat(format: AudioFormat): boolean {
  if (format.encoding === 'l16') return L16_RATES.includes(format.sampleRate);
  return (format.encoding === 'pcmu' || format.encoding === 'pcma') && format.sampleRate === 8000;
}

/** A copy of `format`, or a ConfigError naming `what` when this package cannot carry it. */
export function checkFormat(format: AudioFormat | undefined, what: string): AudioFormat {
  if (
    typeof format !== 'object' ||
    format === null ||
    typeof format.encoding !== 'string' ||
    typeof format.sampleRate !== 'number' ||
    (format.channels !== undefined && format.channels !== 1) ||
    !isSupportedFormat(format)
  ) {
    throw new ConfigError(
      `${what} must be L16 at ${L16_RATES.join('/')} Hz, or pcmu/pcma at 8000 Hz (mono); got ${safeJson(format)}.`,
    );
  }
  return { encoding: format.encoding, sampleRate: format.sampleRate, channels: 1 };
}

/** Bytes of `ms` of audio in `format`, rounded down to whole samples (at least one sample). */
export function frameBytes(format: AudioFormat, ms: number): number {
  const sample = bytesPerSample(format);
  return Math.max(sample, Math.floor((ms * bytesPerMs(format)) / sample) * sample);
}

/** `bytes` cut into consecutive pieces of at most `size` bytes (views, no copies). */
export function splitBytes(bytes: Uint8Array, size: number): Uint8Array[] {
  if (bytes.byteLength <= size) return bytes.byteLength === 0 ? [] : [bytes];
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.byteLength; offset += size) out.push(bytes.subarray(offset, offset + size));
  return out;
}

function toPcm16(bytes: Uint8Array, format: AudioFormat): Int16Array {
  switch (format.encoding) {
    case 'pcmu':
      return decodeMuLaw(bytes);
    case 'pcma':
      return decodeALaw(bytes);
    default:
      return pcm16FromBytes(bytes);
  }
}

function fromPcm16(samples: Int16Array, format: AudioFormat): Uint8Array {
  switch (format.encoding) {
    case 'pcmu':
      return encodeMuLaw(samples);
    case 'pcma':
      return encodeALaw(samples);
    default:
      return pcm16ToBytes(samples);
  }
}

/**
 * Converts a stream of audio from one format to another, chunk by chunk, keeping the
 * resampler's state between chunks (so chunked audio converts exactly like the whole).
 */
export class AudioConverter {
  readonly from: AudioFormat;
  readonly to: AudioFormat;
  readonly #resampler: Resampler | undefined;
  readonly #identity: boolean;

  constructor(from: AudioFormat, to: AudioFormat) {
    this.from = from;
    this.to = to;
    this.#identity = from.encoding === to.encoding && from.sampleRate === to.sampleRate;
    this.#resampler = from.sampleRate === to.sampleRate ? undefined : new Resampler(from.sampleRate, to.sampleRate);
  }

  convert(bytes: Uint8Array): Uint8Array {
    if (this.#identity) return bytes;
    let samples = toPcm16(bytes, this.from);
    if (this.#resampler) samples = this.#resampler.process(samples);
    return fromPcm16(samples, this.to);
  }

  /** Forget the resampler's state: the next chunk starts a new stream. */
  reset(): void {
    this.#resampler?.reset();
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
