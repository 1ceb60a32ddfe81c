import { Resampler } from './audio/resampler.js';
import { pcm16FromBytes, pcm16ToBytes } from './audio/pcm.js';
import { ConfigError } from './errors.js';
import type { AudioFormat } from './types.js';

/** The model-side audio format, as the Realtime API names it. */
export type ModelAudioFormat = { type: 'audio/pcmu' } | { type: 'audio/pcma' } | { type: 'audio/pcm'; rate: 24000 };

const MODEL_PCM_RATE = 24000;

/**
 * The model format for a carrier format: G.711 at 8 kHz passes through untouched; linear PCM at
 * any rate goes to PCM16 24 kHz through the resampler.
 */
export function modelFormatFor(format: AudioFormat): ModelAudioFormat {
  if (format.encoding === 'pcmu' && format.sampleRate === 8000) return { type: 'audio/pcmu' };
  if (format.encoding === 'pcma' && format.sampleRate === 8000) return { type: 'audio/pcma' };
  if (format.encoding === 'l16') return { type: 'audio/pcm', rate: MODEL_PCM_RATE };
  throw new ConfigError(`Unsupported carrier audio format ${format.encoding}@${format.sampleRate}`);
}

export function sameModelFormat(a: ModelAudioFormat | undefined, b: ModelAudioFormat): boolean {
  return a !== undefined && a.type === b.type;
}

/** Bytes per ms of a model-format stream. */
export function modelBytesPerMs(format: ModelAudioFormat): number {
  return format.type === 'audio/pcm' ? (format.rate / 1000) * 2 : 8;
}

/** Converts audio one way between a carrier format and the model format, keeping filter state across chunks. */
export interface Transcoder {
  /** True when the formats are identical and bytes pass through untouched. */
  readonly passthrough: boolean;
  convert(bytes: Uint8Array): Uint8Array;
  /** The audio still inside the filter, at the end of a stream of audio; resets the state. */
  flush(): Uint8Array;
  reset(): void;
}

const EMPTY = new Uint8Array(0);
const PASSTHROUGH: Transcoder = { passthrough: true, convert: (b) => b, flush: () => EMPTY, reset: () => {} };

class PcmResampling implements Transcoder {
  readonly passthrough = false;
  readonly #resampler: Resampler;
  constructor(from: number, to: number) {
    this.#resampler = new Resampler(from, to);
  }
  convert(bytes: Uint8Array): Uint8Array {
    return pcm16ToBytes(this.#resampler.process(pcm16FromBytes(bytes)));
  }
  flush(): Uint8Array {
    return pcm16ToBytes(this.#resampler.flush());
  }
  reset(): void {
    this.#resampler.reset();
  }
}

/** Carrier → model. */
export function inboundTranscoder(format: AudioFormat): Transcoder {
  const model = modelFormatFor(format);
  if (model.type !== 'audio/pcm' || format.sampleRate === model.rate) return PASSTHROUGH;
  return new PcmResampling(format.sampleRate, model.rate);
}

/** Model → carrier. */
export function outboundTranscoder(format: AudioFormat): Transcoder {
  const model = modelFormatFor(format);
  if (model.type !== 'audio/pcm' || format.sampleRate === model.rate) return PASSTHROUGH;
  return new PcmResampling(model.rate, format.sampleRate);
}
