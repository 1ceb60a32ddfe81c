import LibSampleRate from '@alexanderolsen/libsamplerate-js';
import { Resampler, type ResamplerQuality } from '@switchboard/core';

/** One streaming converter: 16-bit chunks in, 16-bit samples out, state kept between chunks. */
export interface Converter {
  process(chunk: Int16Array): Int16Array;
  close(): void;
}

export interface Method {
  /** Implementation, for the table. */
  name: string;
  /** Quality setting, for the table. */
  setting: string;
  create(fromRate: number, toRate: number): Promise<Converter>;
}

/** The quality a `Resampler` gets when none is asked for. */
export const OURS_DEFAULT: ResamplerQuality = new Resampler(8000, 16000).quality;

export function ours(quality: ResamplerQuality): Method {
  return {
    name: 'switchboard Resampler',
    setting: quality === OURS_DEFAULT ? `${quality} (default)` : quality,
    create: async (fromRate, toRate) => {
      const resampler = new Resampler(fromRate, toRate, { quality });
      return { process: (chunk) => resampler.process(chunk), close: () => resampler.reset() };
    },
  };
}

type ConverterTypeName = keyof typeof LibSampleRate.ConverterType;

/**
 * libsamplerate-js through its streaming (`full`) API, as an application holding 16-bit
 * telephony audio has to use it: convert each chunk to floats in [-1, 1), resample, convert
 * the result back to 16 bits. Both conversions count in its time. Buffers are reused across
 * chunks (the library copies its output into the array passed as `dataOut`).
 */
export function libsamplerate(type: ConverterTypeName): Method {
  return {
    name: 'libsamplerate-js',
    setting: type.replace(/^SRC_/, ''),
    create: async (fromRate, toRate) => {
      const src = await LibSampleRate.create(1, fromRate, toRate, { converterType: LibSampleRate.ConverterType[type] });
      const ratio = toRate / fromRate;
      let input = new Float32Array(0);
      let output = new Float32Array(0);
      const written = { frames: 0 };
      return {
        process: (chunk) => {
          const n = chunk.length;
          if (input.length !== n) {
            input = new Float32Array(n);
            // Room for more than the nominal count: a call may release samples held back earlier.
            output = new Float32Array(Math.ceil(n * ratio) + 64);
          }
          for (let i = 0; i < n; i++) input[i] = chunk[i]! / 32768;
          src.full(input, output, written);
          const frames = written.frames;
          if (frames < 0 || frames >= output.length)
            throw new Error(`libsamplerate-js: unexpected output count ${frames}`);
          const out = new Int16Array(frames);
          for (let i = 0; i < frames; i++) {
            const v = output[i]! * 32768;
            out[i] = v >= 32767 ? 32767 : v <= -32768 ? -32768 : Math.round(v);
          }
          return out;
        },
        close: () => src.destroy(),
      };
    },
  };
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * The naive converter: straight-line interpolation between the two input samples around each
 * output time, with no filtering at all. Output j is the input at time j / toRate exactly
 * (no delay); it needs the input sample after that time, so the last sample of each chunk is
 * kept for the next one.
 */
class LinearInterpolator implements Converter {
  /** Output step and input step: output j sits at input position j × down / up. */
  readonly #up: number;
  readonly #down: number;
  /** Last sample of the previous chunk, at index -1 of the current chunk. */
  #previous = 0;
  /** Position of the next output, in 1/up input samples, counted from index -1. */
  #position: number;

  constructor(fromRate: number, toRate: number) {
    const g = gcd(fromRate, toRate);
    this.#up = toRate / g;
    this.#down = fromRate / g;
    this.#position = this.#up;
  }

  process(chunk: Int16Array): Int16Array {
    const n = chunk.length;
    if (n === 0) return new Int16Array(0);
    const up = this.#up;
    const down = this.#down;
    // An output at index i (from -1) also needs i + 1, so i may go up to n - 1.
    const end = n * up;
    let position = this.#position;
    const count = position < end ? Math.ceil((end - position) / down) : 0;
    const out = new Int16Array(count);
    for (let o = 0; o < count; o++, position += down) {
      const i = Math.floor(position / up);
      const fraction = (position - i * up) / up;
      const a = i === 0 ? this.#previous : chunk[i - 1]!;
      const b = chunk[i]!;
      out[o] = Math.round(a + (b - a) * fraction);
    }
    this.#position = position - end;
    this.#previous = chunk[n - 1]!;
    return out;
  }

  close(): void {}
}

export const linear: Method = {
  name: 'linear (bench)',
  setting: '-',
  create: async (fromRate, toRate) => new LinearInterpolator(fromRate, toRate),
};
