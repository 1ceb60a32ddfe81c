import { ConfigError } from '../errors.js';

/**
 * Streaming sample-rate conversion by a rational factor up/down with a polyphase FIR.
 *
 * Conceptually the input is zero-stuffed by `up`, low-pass filtered at the rate
 * `fromRate × up` and decimated by `down`. Only the products that land on kept output samples
 * are computed: output n uses filter phase `(n × down) mod up`, one row of a precomputed table.
 * The filter is a Kaiser-windowed sinc whose passband, stopband edge (the Nyquist frequency of
 * the lower of the two rates) and attenuation depend on the quality; tables are built once per
 * (up, down, quality) and shared by every instance.
 */

export type ResamplerQuality = 'low' | 'medium' | 'high';

export interface ResamplerOptions {
  /** Filter quality; default 'medium'. */
  quality?: ResamplerQuality;
}

/**
 * Filter design per quality. Frequencies are fractions of the lower of the two rates; the
 * stopband starts at 0.5 (that rate's Nyquist frequency).
 * - low: 50 dB, flat to 0.40 (3.2 kHz at 8 kHz), about 2 ms of delay.
 * - medium: 80 dB, flat to 0.43 (3.44 kHz at 8 kHz), about 4.5 ms of delay.
 * - high: 100 dB, flat to 0.45 (3.6 kHz at 8 kHz), about 8 ms of delay.
 */
const DESIGNS: Record<ResamplerQuality, { attenuationDb: number; passband: number }> = {
  low: { attenuationDb: 50, passband: 0.4 },
  medium: { attenuationDb: 80, passband: 0.43 },
  high: { attenuationDb: 100, passband: 0.45 },
};

/** Largest reduced numerator or denominator of the rate ratio (bounds the table size). */
const MAX_FACTOR = 1024;
const MAX_RATE = 1_000_000;

interface Kernel {
  up: number;
  down: number;
  /** Taps per phase (a multiple of 4). */
  taps: number;
  /** `up` rows of `taps` coefficients; each row reversed so it runs oldest sample first. */
  coeffs: Float32Array;
  /** Phase of the next output after an output at phase p. */
  nextPhase: Int32Array;
  /** Input samples to advance after an output at phase p. */
  advance: Int32Array;
  /** Group delay at the zero-stuffed rate; a multiple of `down`. */
  delay: number;
}

const kernels = new Map<string, Kernel>();

function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

function kernel(up: number, down: number, quality: ResamplerQuality): Kernel {
  const key = `${up}/${down}/${quality}`;
  const cached = kernels.get(key);
  if (cached) return cached;

  const { attenuationDb: a, passband } = DESIGNS[quality];
  // Zero-stuffed samples per sample of the lower rate.
  const scale = Math.max(up, down);
  const cutoff = (passband + 0.5) / 2 / scale; // cycles per zero-stuffed sample
  const width = (0.5 - passband) / scale;
  const beta = a > 50 ? 0.1102 * (a - 8.7) : 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21);
  // Kaiser's length estimate, halved; the delay is rounded up to whole output samples (and
  // to whole input samples too when that costs little) so `delaySamples` is an integer.
  const minDelay = Math.ceil((a - 7.95) / (2.285 * 2 * Math.PI * width) / 2);
  const unit = up * down * 8 <= minDelay ? up * down : down;
  const delay = Math.ceil(minDelay / unit) * unit;
  const length = 2 * delay + 1;
  // Rows are padded with zero taps (on the oldest side) to a multiple of 4 for the unrolled loop.
  const taps = Math.ceil(Math.ceil(length / up) / 4) * 4;

  const h = new Float64Array(taps * up);
  const norm = besselI0(beta);
  let sum = 0;
  for (let j = 0; j < length; j++) {
    const t = j - delay;
    const r = t / delay;
    const window = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / norm;
    const ideal = t === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * t) / (Math.PI * t);
    const v = ideal * window;
    h[j] = v;
    sum += v;
  }
  // Unity gain at DC: the zero-stuffing divides the level by `up`.
  const gain = up / sum;
  const coeffs = new Float32Array(up * taps);
  const nextPhase = new Int32Array(up);
  const advance = new Int32Array(up);
  for (let p = 0; p < up; p++) {
    for (let k = 0; k < taps; k++) coeffs[p * taps + (taps - 1 - k)] = h[p + k * up]! * gain;
    nextPhase[p] = (p + down) % up;
    advance[p] = Math.floor((p + down) / up);
  }
  const built: Kernel = { up, down, taps, coeffs, nextPhase, advance, delay };
  kernels.set(key, built);
  return built;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function checkRate(name: string, rate: number): void {
  if (!Number.isInteger(rate) || rate <= 0 || rate > MAX_RATE) {
    throw new ConfigError(`Resampler: ${name} must be a positive integer number of Hz, got ${String(rate)}`);
  }
}

/**
 * Converts 16-bit mono audio from `fromRate` to `toRate`, chunk by chunk. Chunked processing
 * gives exactly the samples of processing everything at once. Output is delayed by
 * `delaySamples` (the filter's group delay); `flush()` emits the tail still held in the filter.
 *
 * Any pair of integer rates whose reduced ratio has numerator and denominator ≤ 1024 works
 * (8, 16, 24, 48 kHz and also 11.025/22.05/44.1 kHz); others throw a ConfigError.
 * Equal rates pass samples through unchanged.
 */
export class Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  readonly quality: ResamplerQuality;
  /** Group delay of the filter, in output samples (0 for pass-through). */
  readonly delaySamples: number;

  readonly #kernel: Kernel | null;
  /** Samples of history kept before each chunk: taps - 1. */
  readonly #history: number;
  /** History followed by the current chunk, as float samples. */
  #buf: Float32Array;
  /** Filter phase of the next output. */
  #phase = 0;
  /** Input index (relative to the start of the next chunk) of the newest sample the next output uses. */
  #next = 0;
  /** Whether any input arrived since the last reset. */
  #dirty = false;

  constructor(fromRate: number, toRate: number, options: ResamplerOptions = {}) {
    checkRate('fromRate', fromRate);
    checkRate('toRate', toRate);
    const quality = options.quality ?? 'medium';
    if (!Object.prototype.hasOwnProperty.call(DESIGNS, quality)) {
      throw new ConfigError(`Resampler: unknown quality ${JSON.stringify(quality)}`);
    }
    this.fromRate = fromRate;
    this.toRate = toRate;
    this.quality = quality;
    if (fromRate === toRate) {
      this.#kernel = null;
      this.#history = 0;
      this.#buf = new Float32Array(0);
      this.delaySamples = 0;
      return;
    }
    const g = gcd(fromRate, toRate);
    const up = toRate / g;
    const down = fromRate / g;
    if (up > MAX_FACTOR || down > MAX_FACTOR) {
      throw new ConfigError(`Resampler: unsupported rate ratio ${fromRate} -> ${toRate} Hz`);
    }
    const k = kernel(up, down, quality);
    this.#kernel = k;
    this.#history = k.taps - 1;
    this.#buf = new Float32Array(this.#history + 2048);
    this.delaySamples = k.delay / down;
  }

  /** Resample one chunk. Returns the output samples it completes (a new array). */
  process(input: Int16Array): Int16Array {
    const k = this.#kernel;
    if (k === null) return input.slice();
    const n = input.length;
    if (n === 0) return new Int16Array(0);
    this.#dirty = true;
    const buf = this.#reserve(n);
    buf.set(input, this.#history);
    return this.#run(n, n * k.up);
  }

  /**
   * Emit the outputs still held in the filter, as if the input went on with silence for the
   * filter's length (`delaySamples` outputs), then reset.
   */
  flush(): Int16Array {
    const k = this.#kernel;
    if (k === null || !this.#dirty) {
      this.reset();
      return new Int16Array(0);
    }
    const zeros = Math.floor((k.delay - 1) / k.up) + 1;
    const buf = this.#reserve(zeros);
    buf.fill(0, this.#history, this.#history + zeros);
    const out = this.#run(zeros, k.delay);
    this.reset();
    return out;
  }

  /** Forget all state: the next chunk starts a new stream. */
  reset(): void {
    this.#buf.fill(0);
    this.#phase = 0;
    this.#next = 0;
    this.#dirty = false;
  }

  /** The working buffer, grown if needed to hold the history plus `n` new samples. */
  #reserve(n: number): Float32Array {
    const need = this.#history + n;
    if (this.#buf.length < need) {
      const grown = new Float32Array(Math.max(need, this.#buf.length * 2));
      grown.set(this.#buf.subarray(0, this.#history));
      this.#buf = grown;
    }
    return this.#buf;
  }

  /**
   * Compute outputs from the history plus the `n` samples just placed after it, stopping at
   * the end of the chunk or once the output position (at the zero-stuffed rate, relative to
   * the chunk start) reaches `limit`; then keep the newest samples as history.
   */
  #run(n: number, limit: number): Int16Array {
    const k = this.#kernel!;
    const { up, down, taps, coeffs, nextPhase, advance } = k;
    const buf = this.#buf;
    let phase = this.#phase;
    let next = this.#next;
    const position = next * up + phase;
    const count = position < limit ? Math.ceil((limit - position) / down) : 0;
    const out = new Int16Array(count);
    for (let o = 0; o < count; o++) {
      // With `taps - 1` samples of history in front, the oldest sample this output uses sits
      // at index `next`.
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let j = 0, c = phase * taps; j < taps; j += 4, c += 4) {
        const x = next + j;
        a0 += coeffs[c]! * buf[x]!;
        a1 += coeffs[c + 1]! * buf[x + 1]!;
        a2 += coeffs[c + 2]! * buf[x + 2]!;
        a3 += coeffs[c + 3]! * buf[x + 3]!;
      }
      const acc = a0 + a1 + a2 + a3;
      out[o] = acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : ((acc + 32768.5) | 0) - 32768;
      next += advance[phase]!;
      phase = nextPhase[phase]!;
    }
    this.#phase = phase;
    this.#next = next - n;
    buf.copyWithin(0, n, n + this.#history);
    return out;
  }
}
