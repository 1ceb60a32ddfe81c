/**
 * Audio for the report: decoding what a carrier or the model carried to 16-bit PCM, placing
 * pieces of it on the timeline, the min/max envelope a waveform is drawn from, and WAV files.
 */
import { decodeALaw, decodeMuLaw, pcm16FromBytes, type AudioFormat } from '@switchboard/core';
import type { SimulatorAudioFormat } from '../simulator/index.js';
import type { PlacedAudio } from './model.js';

/** 16-bit PCM of bytes in a carrier's format. */
export function decodeCarrierAudio(format: AudioFormat, bytes: Uint8Array): Int16Array {
  if (format.encoding === 'pcmu') return decodeMuLaw(bytes);
  if (format.encoding === 'pcma') return decodeALaw(bytes);
  return pcm16FromBytes(bytes.byteLength % 2 === 0 ? bytes : bytes.subarray(0, bytes.byteLength - 1));
}

/** 16-bit PCM of bytes in the model's format, and its rate. */
export function decodeModelAudio(
  format: SimulatorAudioFormat,
  bytes: Uint8Array,
): { samples: Int16Array; sampleRate: number } {
  if (format.type === 'audio/pcmu') return { samples: decodeMuLaw(bytes), sampleRate: 8000 };
  if (format.type === 'audio/pcma') return { samples: decodeALaw(bytes), sampleRate: 8000 };
  return {
    samples: pcm16FromBytes(bytes.byteLength % 2 === 0 ? bytes : bytes.subarray(0, bytes.byteLength - 1)),
    sampleRate: format.rate,
  };
}

/**
 * Pieces of audio (PCM at one rate) placed at their times, over `[0, endMs)`; later pieces overwrite earlier ones where
 * they overlap.
 */
export function placeAudio(
  pieces: Array<{ at: number; samples: Int16Array }>,
  sampleRate: number,
  endMs: number,
): PlacedAudio {
  const out = new Int16Array(Math.max(0, Math.ceil((endMs * sampleRate) / 1000)));
  for (const piece of pieces) {
    const start = Math.max(0, Math.round((piece.at * sampleRate) / 1000));
    const n = Math.max(0, Math.min(piece.samples.length, out.length - start));
    if (n > 0) out.set(piece.samples.subarray(0, n), start);
  }
  return { samples: out, sampleRate, startMs: 0 };
}

/** Concatenates PCM pieces. */
export function concatPcm(pieces: Int16Array[]): Int16Array {
  const out = new Int16Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/**
 * The envelope of `audio` over `[0, durationMs)` in `columns` columns: for each, the lowest and
 * highest sample, scaled to [-1, 1] (0 where there is no audio).
 */
export function audioPeaks(
  audio: PlacedAudio,
  durationMs: number,
  columns: number,
): { min: Float32Array; max: Float32Array } {
  const min = new Float32Array(columns);
  const max = new Float32Array(columns);
  if (durationMs <= 0 || columns <= 0) return { min, max };
  const { samples, sampleRate, startMs } = audio;
  const msPerColumn = durationMs / columns;
  for (let c = 0; c < columns; c++) {
    const from = Math.max(0, Math.floor(((c * msPerColumn - startMs) * sampleRate) / 1000));
    const to = Math.min(samples.length, Math.ceil((((c + 1) * msPerColumn - startMs) * sampleRate) / 1000));
    let lo = 0;
    let hi = 0;
    for (let i = from; i < to; i++) {
      const s = samples[i]!;
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    min[c] = lo / 32768;
    max[c] = hi / 32767;
  }
  return { min, max };
}

/** A WAV file (RIFF, 16-bit PCM, mono) of `samples`. */
export function wavFile(samples: Int16Array, sampleRate: number): Uint8Array {
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const ascii = (at: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + i * 2, samples[i]!, true);
  return out;
}
