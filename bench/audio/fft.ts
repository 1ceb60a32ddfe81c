/**
 * Exact band-limited resampling in the frequency domain, used only to build the speech
 * references and to find each method's delay. It treats the whole signal as one period
 * (signals are padded with silence so the wrap-around is harmless) and keeps only the bins
 * strictly below the lower of the two Nyquist frequencies: a brick-wall filter no streaming
 * converter can build, which is what makes it the reference.
 *
 * Lengths are 2^k or 3 × 2^k, which covers 8, 16 and 24 kHz signals of the same duration
 * (m, 2m and 3m samples with m a power of two).
 */

export interface Spectrum {
  re: Float64Array;
  im: Float64Array;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** In-place iterative radix-2 transform (forward, no scaling). */
function radix2(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  const cos = new Float64Array(n >> 1);
  const sin = new Float64Array(n >> 1);
  for (let k = 0; k < n >> 1; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = -Math.sin((2 * Math.PI * k) / n);
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0, t = 0; k < half; k++, t += step) {
        const a = start + k;
        const b = a + half;
        const xr = re[b]! * cos[t]! - im[b]! * sin[t]!;
        const xi = re[b]! * sin[t]! + im[b]! * cos[t]!;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

/** Forward DFT of a length 2^k or 3 × 2^k, in place. */
function forward(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (isPowerOfTwo(n)) return radix2(re, im);
  const m = n / 3;
  if (!Number.isInteger(m) || !isPowerOfTwo(m)) throw new RangeError(`fft: unsupported length ${n}`);
  // One radix-3 step: transform the three interleaved sub-sequences, then combine.
  const parts = [0, 1, 2].map((r) => {
    const pr = new Float64Array(m);
    const pi = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      pr[j] = re[3 * j + r]!;
      pi[j] = im[3 * j + r]!;
    }
    radix2(pr, pi);
    return { pr, pi };
  });
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let r = 0; r < 3; r++) {
      const { pr, pi } = parts[r]!;
      const angle = (-2 * Math.PI * r * k) / n;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const ar = pr[k % m]!;
      const ai = pi[k % m]!;
      sr += ar * c - ai * s;
      si += ar * s + ai * c;
    }
    re[k] = sr;
    im[k] = si;
  }
}

/** Inverse DFT (scaled by 1/n), in place. */
function inverse(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 0; i < n; i++) im[i] = -im[i]!;
  forward(re, im);
  for (let i = 0; i < n; i++) {
    re[i] = re[i]! / n;
    im[i] = -im[i]! / n;
  }
}

/** Spectrum of `x` zero-padded (or cut) to `n` samples. */
export function spectrum(x: ArrayLike<number>, n: number): Spectrum {
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const count = Math.min(n, x.length);
  for (let i = 0; i < count; i++) re[i] = x[i]!;
  forward(re, im);
  return { re, im };
}

/**
 * Spectrum of the signal whose spectrum is `spec`, resampled to `nOut` samples over the same
 * duration, keeping only frequencies strictly below the lower Nyquist frequency, and delayed
 * by `delay` output samples (any real number: a pure phase shift).
 */
export function bandLimitedSpectrum(spec: Spectrum, nOut: number, delay = 0): Spectrum {
  const nIn = spec.re.length;
  const keep = Math.min(nIn, nOut) / 2; // bins with |k| < keep survive
  const re = new Float64Array(nOut);
  const im = new Float64Array(nOut);
  const scale = nOut / nIn;
  for (let k = -Math.ceil(keep) + 1; k < keep; k++) {
    const from = k < 0 ? nIn + k : k;
    const to = k < 0 ? nOut + k : k;
    const angle = (-2 * Math.PI * k * delay) / nOut;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const xr = spec.re[from]! * scale;
    const xi = spec.im[from]! * scale;
    re[to] = xr * c - xi * s;
    im[to] = xr * s + xi * c;
  }
  return { re, im };
}

/** The (real) signal of a spectrum. */
export function signalOf(spec: Spectrum): Float64Array {
  const re = Float64Array.from(spec.re);
  const im = Float64Array.from(spec.im);
  inverse(re, im);
  return re;
}

/** `bandLimitedSpectrum` as a signal. */
export function bandLimited(spec: Spectrum, nOut: number, delay = 0): Float64Array {
  return signalOf(bandLimitedSpectrum(spec, nOut, delay));
}

/**
 * `a − b` (or `a` alone when `b` is null), with the bins between `fromHz` and `toHz` (both
 * signs) set to zero; `rate` is the sample rate the spectra belong to.
 */
export function withoutBand(a: Spectrum, b: Spectrum | null, rate: number, fromHz: number, toHz: number): Spectrum {
  const n = a.re.length;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const hz = (Math.min(k, n - k) * rate) / n;
    if (hz >= fromHz && hz < toHz) continue;
    re[k] = a.re[k]! - (b === null ? 0 : b.re[k]!);
    im[k] = a.im[k]! - (b === null ? 0 : b.im[k]!);
  }
  return { re, im };
}

/**
 * The delay, in samples (real, may be fractional), by which `y` best matches `reference`
 * delayed, searched in [minLag, maxLag]: the peak of their band-limited cross-correlation,
 * which is where the energy of `y − reference(t − delay)` is smallest. Both spectra have the
 * same length; only the bins where the reference has content count.
 */
export function bestDelay(y: Spectrum, reference: Spectrum, minLag: number, maxLag: number): number {
  const n = y.re.length;
  // Cross-spectrum Y · conj(R): its inverse is the circular cross-correlation at integer lags.
  const pr = new Float64Array(n);
  const pi = new Float64Array(n);
  const bins: number[] = [];
  for (let k = 0; k < n; k++) {
    const rr = reference.re[k]!;
    const ri = reference.im[k]!;
    if (rr === 0 && ri === 0) continue;
    pr[k] = y.re[k]! * rr + y.im[k]! * ri;
    pi[k] = y.im[k]! * rr - y.re[k]! * ri;
    bins.push(k);
  }
  const cr = Float64Array.from(pr);
  const ci = Float64Array.from(pi);
  inverse(cr, ci);
  let lag = minLag;
  for (let l = minLag; l <= maxLag; l++) if (cr[(l + n) % n]! > cr[(lag + n) % n]!) lag = l;

  // Refine between the neighbouring integer lags: golden-section search on the correlation
  // at fractional lags, evaluated directly from the cross-spectrum.
  const correlation = (d: number): number => {
    let sum = 0;
    for (const k of bins) {
      const signed = k < n / 2 ? k : k - n;
      const angle = (2 * Math.PI * signed * d) / n;
      sum += pr[k]! * Math.cos(angle) - pi[k]! * Math.sin(angle);
    }
    return sum;
  };
  const golden = (Math.sqrt(5) - 1) / 2;
  let lo = lag - 1;
  let hi = lag + 1;
  let a = hi - golden * (hi - lo);
  let b = lo + golden * (hi - lo);
  let fa = correlation(a);
  let fb = correlation(b);
  while (hi - lo > 1e-4) {
    if (fa > fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - golden * (hi - lo);
      fa = correlation(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + golden * (hi - lo);
      fb = correlation(b);
    }
  }
  return (lo + hi) / 2;
}
