/**
 * Format plumbing of the simulator: model audio (PCM16 24 kHz) to the session's output format,
 * and appended input audio back to samples for the VAD.
 */
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw, pcm16ToBytes, Resampler } from '@switchboard/core';
import type { SimulatorAudioFormat } from './schemas.js';

export const PCM_24K: SimulatorAudioFormat = { type: 'audio/pcm', rate: 24000 };

/** Sample rate of a GA format. */
export function formatRate(format: SimulatorAudioFormat): number {
  return format.type === 'audio/pcm' ? 24000 : 8000;
}

/** Bytes per millisecond of audio in a GA format. */
export function formatBytesPerMs(format: SimulatorAudioFormat): number {
  return format.type === 'audio/pcm' ? 48 : 8;
}

/** Milliseconds of audio in `byteLength` bytes of a GA format. */
export function formatDurationMs(format: SimulatorAudioFormat, byteLength: number): number {
  return byteLength / formatBytesPerMs(format);
}

/**
 * The byte size of each audio delta of a reply `totalBytes` long: `deltaMs` of audio each, or,
 * for a list, its sizes in turn, cycled. Every size is whole samples, at least one.
 */
export function deltaSizes(
  deltaMs: number | readonly number[],
  format: SimulatorAudioFormat,
  totalBytes: number,
): number[] {
  const pattern = typeof deltaMs === 'number' ? [deltaMs] : deltaMs;
  const sampleBytes = format.type === 'audio/pcm' ? 2 : 1;
  const samplesPerMs = formatRate(format) / 1000;
  const sizes: number[] = [];
  for (let left = totalBytes, i = 0; left > 0; i++) {
    const ms = pattern[i % pattern.length]!;
    const size = Math.min(left, Math.max(1, Math.round(ms * samplesPerMs)) * sampleBytes);
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

/**
 * 24 kHz PCM resampled to 8 kHz with the filter delay removed, so sample i of the result
 * lines up with sample 3i of the input.
 */
function downsampleTo8k(samples: Int16Array): Int16Array {
  const resampler = new Resampler(24000, 8000);
  const head = resampler.process(samples);
  const tail = resampler.flush();
  const all = new Int16Array(head.length + tail.length);
  all.set(head, 0);
  all.set(tail, head.length);
  const delay = Math.round(resampler.delaySamples);
  return all.slice(delay, delay + Math.ceil(samples.length / 3));
}

const rendered = new WeakMap<Int16Array, Map<string, Uint8Array>>();

/**
 * Model audio (PCM16 mono 24 kHz) as the bytes the simulator streams in `format`.
 * G.711 output is resampled to 8 kHz and then encoded. Results are cached per input array.
 */
export function renderTurnAudio(audio: Int16Array, format: SimulatorAudioFormat): Uint8Array {
  let byFormat = rendered.get(audio);
  if (!byFormat) {
    byFormat = new Map();
    rendered.set(audio, byFormat);
  }
  const cached = byFormat.get(format.type);
  if (cached) return cached;
  let bytes: Uint8Array;
  if (format.type === 'audio/pcm') {
    bytes = pcm16ToBytes(audio).slice();
  } else {
    const narrow = downsampleTo8k(audio);
    bytes = format.type === 'audio/pcmu' ? encodeMuLaw(narrow) : encodeALaw(narrow);
  }
  byFormat.set(format.type, bytes);
  return bytes;
}

/**
 * Decodes appended input audio to samples. PCM16 bytes may split a sample between appends: the
 * odd byte is returned as `carry` and must be passed back with the next chunk.
 */
export function decodeInput(
  bytes: Uint8Array,
  format: SimulatorAudioFormat,
  carry: Uint8Array,
): { samples: Int16Array; carry: Uint8Array } {
  if (format.type === 'audio/pcmu') return { samples: decodeMuLaw(bytes), carry: new Uint8Array(0) };
  if (format.type === 'audio/pcma') return { samples: decodeALaw(bytes), carry: new Uint8Array(0) };
  let data = bytes;
  if (carry.length > 0) {
    data = new Uint8Array(carry.length + bytes.length);
    data.set(carry, 0);
    data.set(bytes, carry.length);
  }
  const count = data.length >> 1;
  const samples = new Int16Array(count);
  for (let i = 0, j = 0; i < count; i++, j += 2) {
    samples[i] = ((data[j + 1]! << 24) >> 16) | data[j]!;
  }
  return { samples, carry: data.slice(count * 2) };
}
