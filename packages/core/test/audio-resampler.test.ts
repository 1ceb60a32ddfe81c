import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { Resampler, type ResamplerQuality } from '../src/audio/index.js';
import { prng } from '@switchboard/test-kit/random';

function sine(frequency: number, rate: number, length: number, amplitude = 10_000): Int16Array {
  return Int16Array.from({ length }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / rate)));
}

function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i]! * x[i]!;
  return Math.sqrt(sum / (to - from));
}

const db = (ratio: number) => 20 * Math.log10(ratio);

/** Amplitude of the component at `frequency` (Goertzel), over x[from, to). */
function toneAmplitude(x: ArrayLike<number>, frequency: number, rate: number, from = 0, to = x.length): number {
  const w = (2 * Math.PI * frequency) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = x[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(Math.max(power, 0))) / (to - from);
}

/** Frequency from the spacing of upward zero crossings (interpolated). */
function zeroCrossingFrequency(x: ArrayLike<number>, rate: number, from: number, to: number): number {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = from + 1; i < to; i++) {
    const a = x[i - 1]!;
    const b = x[i]!;
    if (a < 0 && b >= 0) {
      const t = i - 1 + a / (a - b);
      if (first < 0) first = t;
      last = t;
      count++;
    }
  }
  return ((count - 1) * rate) / (last - first);
}

function run(resampler: Resampler, input: Int16Array, chunkSizes: () => number): Int16Array {
  const parts: Int16Array[] = [];
  for (let at = 0; at < input.length;) {
    const size = Math.min(chunkSizes(), input.length - at);
    parts.push(resampler.process(input.subarray(at, at + size)));
    at += size;
  }
  parts.push(resampler.flush());
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const RATES = [8000, 16000, 24000, 48000];
const PAIRS = RATES.flatMap((from) => RATES.filter((to) => to !== from).map((to) => [from, to] as const));

describe('Resampler', () => {
  it('upsamples a 1 kHz tone from 8 to 24 kHz keeping its frequency and level', () => {
    const input = sine(1000, 8000, 8000);
    const output = new Resampler(8000, 24000).process(input);
    expect(output.length).toBe(24000);
    const from = 1000;
    const to = output.length - 1000;
    expect(zeroCrossingFrequency(output, 24000, from, to)).toBeCloseTo(1000, 0);
    const at1k = toneAmplitude(output, 1000, 24000, from, to);
    expect(at1k).toBeGreaterThan(100 * toneAmplitude(output, 900, 24000, from, to));
    expect(at1k).toBeGreaterThan(100 * toneAmplitude(output, 1100, 24000, from, to));
    expect(Math.abs(db(rms(output, from, to) / rms(input, 500, 7500)))).toBeLessThan(0.5);
  });

  it('downsamples a 1 kHz tone from 24 to 8 kHz keeping its frequency and level', () => {
    const input = sine(1000, 24000, 24000);
    const output = new Resampler(24000, 8000).process(input);
    expect(output.length).toBe(8000);
    expect(zeroCrossingFrequency(output, 8000, 500, 7500)).toBeCloseTo(1000, 0);
    expect(Math.abs(db(rms(output, 500, 7500) / rms(input, 1500, 22500)))).toBeLessThan(0.5);
  });

  it('filters out a 6 kHz tone when downsampling to 8 kHz instead of aliasing it to 2 kHz', () => {
    const input = sine(6000, 24000, 24000, 30_000);
    const output = new Resampler(24000, 8000).process(input);
    const level = rms(output, 500, 7500) / rms(input);
    expect(db(level)).toBeLessThan(-40);
    expect(toneAmplitude(output, 2000, 8000, 500, 7500)).toBeLessThan(30_000 / 100);
  });

  it.each(['low', 'medium', 'high'] as const)(
    'attenuates content above the lower Nyquist frequency at %s quality',
    (quality: ResamplerQuality) => {
      const minimum = { low: 40, medium: 60, high: 60 }[quality];
      for (const [from, to] of [
        [16000, 8000],
        [48000, 8000],
        [48000, 16000],
        [24000, 16000],
      ] as const) {
        const input = sine(0.55 * to, from, from, 30_000);
        const output = new Resampler(from, to, { quality }).process(input);
        expect(db(rms(output, 1000, output.length - 1000) / rms(input)), `${from} -> ${to}`).toBeLessThan(-minimum);
      }
    },
  );

  it('suppresses the spectral image when upsampling', () => {
    // A 3 kHz tone at 8 kHz, upsampled naively, would also appear at 8 - 3 = 5 kHz.
    const output = new Resampler(8000, 24000).process(sine(3000, 8000, 8000, 20_000));
    const wanted = toneAmplitude(output, 3000, 24000, 1000, 23000);
    const image = toneAmplitude(output, 5000, 24000, 1000, 23000);
    expect(db(wanted / 20_000)).toBeGreaterThan(-0.5);
    expect(db(image / wanted)).toBeLessThan(-60);
  });

  it.each(PAIRS)('converts %i Hz to %i Hz with high fidelity in the speech band', (from, to) => {
    const tones = [
      [300, 3000, 0.1],
      [700, 2500, 1.3],
      [1234, 2000, 2.2],
      [2100, 1500, 0.7],
      [3300, 1000, 0.4],
    ] as const;
    const signal = (t: number) => tones.reduce((s, [f, a, p]) => s + a * Math.sin(2 * Math.PI * f * t + p), 0);
    const input = Int16Array.from({ length: from / 2 }, (_, i) => Math.round(signal(i / from)));
    const resampler = new Resampler(from, to);
    const output = resampler.process(input);
    expect(output.length).toBe(to / 2);
    let error = 0;
    let power = 0;
    for (let m = to / 20; m < output.length - to / 20; m++) {
      const reference = signal((m - resampler.delaySamples) / to);
      error += (output[m]! - reference) ** 2;
      power += reference * reference;
    }
    expect(10 * Math.log10(power / error)).toBeGreaterThan(40);
  });

  it('reports its group delay: an impulse comes out delaySamples late', () => {
    for (const [from, to] of PAIRS) {
      const resampler = new Resampler(from, to);
      const input = new Int16Array(from / 100);
      const at = from / 200; // 5 ms in
      input[at] = 30_000;
      const output = run(resampler, input, () => 64);
      let peak = 0;
      for (let i = 1; i < output.length; i++) if (output[i]! > output[peak]!) peak = i;
      expect(peak, `${from} -> ${to}`).toBe((at * to) / from + resampler.delaySamples);
      expect(Number.isInteger(resampler.delaySamples)).toBe(true);
    }
  });

  it.each(['low', 'medium', 'high'] as const)(
    'gives the same samples in random chunks as in one call (%s quality)',
    (quality: ResamplerQuality) => {
      const random = prng(quality.length * 7919);
      for (const [from, to] of [...PAIRS, [44100, 48000] as const, [8000, 11025] as const]) {
        const input = Int16Array.from({ length: 5000 }, () => Math.round((random() * 2 - 1) * 20_000));
        const whole = run(new Resampler(from, to, { quality }), input, () => input.length);
        const chunked = run(new Resampler(from, to, { quality }), input, () => Math.floor(random() * 300));
        expect(chunked.length).toBe(whole.length);
        let mismatch = -1;
        for (let i = 0; i < whole.length && mismatch < 0; i++) if (whole[i] !== chunked[i]) mismatch = i;
        expect(mismatch, `${from} -> ${to}`).toBe(-1);
      }
    },
  );

  it('emits input length × ratio, plus the delay on flush', () => {
    const random = prng(99);
    for (const [from, to] of PAIRS) {
      const resampler = new Resampler(from, to);
      let consumed = 0;
      let produced = 0;
      for (let i = 0; i < 200; i++) {
        const size = 1 + Math.floor(random() * 500);
        produced += resampler.process(new Int16Array(size)).length;
        consumed += size;
        expect(Math.abs(produced - (consumed * to) / from)).toBeLessThan(1);
      }
      produced += resampler.flush().length;
      expect(produced).toBe(Math.ceil((consumed * to) / from) + resampler.delaySamples);
    }
  });

  it('flushes the tail of the last samples', () => {
    const input = sine(500, 8000, 800);
    const resampler = new Resampler(8000, 24000);
    const body = resampler.process(input);
    const tail = resampler.flush();
    expect(tail.length).toBe(resampler.delaySamples);
    // The tail still carries the end of the tone, not silence.
    expect(rms(tail)).toBeGreaterThan(1000);
    expect(body.length + tail.length).toBe(2400 + resampler.delaySamples);
  });

  it('starts over after flush and after reset', () => {
    const random = prng(5);
    const input = Int16Array.from({ length: 1000 }, () => Math.round((random() * 2 - 1) * 10_000));
    const fresh = new Resampler(16000, 24000).process(input);
    const reused = new Resampler(16000, 24000);
    reused.process(sine(440, 16000, 777));
    reused.flush();
    expect(Array.from(reused.process(input))).toEqual(Array.from(fresh));
    reused.process(sine(440, 16000, 333));
    reused.reset();
    expect(Array.from(reused.process(input))).toEqual(Array.from(fresh));
  });

  it('returns nothing for an empty chunk and for a flush with no input', () => {
    const resampler = new Resampler(24000, 8000);
    expect(resampler.process(new Int16Array(0)).length).toBe(0);
    expect(resampler.flush().length).toBe(0);
  });

  it('clamps overshoot to the 16-bit range instead of wrapping', () => {
    // A full-scale square wave rings past full scale after low-pass filtering.
    const input = Int16Array.from({ length: 4800 }, (_, i) => (Math.floor(i / 24) % 2 === 0 ? 32767 : -32768));
    const resampler = new Resampler(48000, 16000);
    const output = resampler.process(input);
    const d = resampler.delaySamples;
    // Inside each half period (8 samples at 16 kHz), away from the edges, the sign must hold.
    for (let period = 20; period < 90; period++) {
      for (let k = 2; k <= 5; k++) {
        expect(output[d + period * 16 + k]!).toBeGreaterThan(20_000);
        expect(output[d + period * 16 + 8 + k]!).toBeLessThan(-20_000);
      }
    }
    expect(Math.max(...output)).toBe(32767);
    expect(Math.min(...output)).toBe(-32768);
  });

  it('passes samples through, copied, when the rates are equal', () => {
    const input = Int16Array.of(1, -2, 3, 32767, -32768);
    const resampler = new Resampler(16000, 16000);
    const output = resampler.process(input);
    expect(Array.from(output)).toEqual(Array.from(input));
    expect(output.buffer).not.toBe(input.buffer);
    expect(resampler.delaySamples).toBe(0);
    expect(resampler.flush().length).toBe(0);
  });

  it('exposes its rates', () => {
    const resampler = new Resampler(8000, 48000, { quality: 'high' });
    expect(resampler.fromRate).toBe(8000);
    expect(resampler.toRate).toBe(48000);
  });

  it.each([
    [0, 8000],
    [-8000, 16000],
    [8000.5, 16000],
    [Number.NaN, 16000],
    [8000, Number.POSITIVE_INFINITY],
    [8000, 8001],
  ])('rejects the rates %s -> %s with a ConfigError', (from, to) => {
    expect(() => new Resampler(from, to)).toThrow(ConfigError);
  });

  it('rejects an unknown quality with a ConfigError', () => {
    expect(() => new Resampler(8000, 16000, { quality: 'best' as ResamplerQuality })).toThrow(ConfigError);
  });
});
