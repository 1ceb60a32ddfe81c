/**
 * A fixed-bucket histogram of non-negative values (milliseconds in this package): constant memory
 * however many values it records, O(1) and allocation-free per value, for the percentiles of a
 * call that may last hours.
 *
 * Buckets are logarithmic, {@link BUCKETS_PER_OCTAVE} to each doubling from {@link MIN_VALUE} up to
 * {@link MIN_VALUE}·2^{@link OCTAVES} (about 18 minutes in ms); below the first bound is one bucket
 * (reported as 0), above the last the values share the top bucket. A percentile is the geometric
 * middle of the bucket that holds it, so it is within ±2.2% of a recorded value (and never outside
 * the smallest and largest value recorded, which are kept exactly, as are the count and the sum).
 */

/** The smallest value told apart from zero: 1 µs, in ms. */
export const MIN_VALUE = 0.001;
export const BUCKETS_PER_OCTAVE = 16;
export const OCTAVES = 30;
const BUCKETS = 1 + BUCKETS_PER_OCTAVE * OCTAVES;

/** A distribution's summary, in the unit of its values (ms). All zero when nothing was recorded. */
export type LatencySummary = {
  /** Values recorded. */
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
};

export class Histogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  get count(): number {
    return this.#count;
  }

  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  get max(): number {
    return this.#count === 0 ? 0 : this.#max;
  }

  get min(): number {
    return this.#count === 0 ? 0 : this.#min;
  }

  /**
   * Records one value, `weight` times (a sample that stands for others); a negative or non-finite
   * value is ignored.
   */
  record(value: number, weight = 1): void {
    if (!(value >= 0 && value < Infinity)) return;
    this.#counts[bucketOf(value)]! += weight;
    this.#count += weight;
    this.#sum += value * weight;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  /**
   * The value at quantile `q` (0..1) by the nearest-rank method: the smallest bucket that holds at
   * least `ceil(q·count)` values, as its geometric middle, kept within the recorded range.
   */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.#count));
    if (rank >= this.#count) return this.#max;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, middleOf(i)));
    }
    return this.#max;
  }

  summary(): LatencySummary {
    return {
      count: this.#count,
      mean: this.mean,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      max: this.max,
    };
  }
}

/** The summary of a short list of values (exact percentiles, nearest rank), for per-turn figures. */
export function summarize(values: readonly number[]): LatencySummary {
  const sorted = values.filter((v) => v >= 0 && v < Infinity).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const at = (q: number) => sorted[Math.min(n, Math.max(1, Math.ceil(q * n))) - 1]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: n, mean: sum / n, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[n - 1]! };
}

function bucketOf(value: number): number {
  if (value < MIN_VALUE) return 0;
  const index = 1 + Math.floor(Math.log2(value / MIN_VALUE) * BUCKETS_PER_OCTAVE);
  return index < BUCKETS ? index : BUCKETS - 1;
}

/** The geometric middle of bucket `index` (0 for the bucket below the first bound). */
function middleOf(index: number): number {
  if (index === 0) return 0;
  return MIN_VALUE * 2 ** ((index - 0.5) / BUCKETS_PER_OCTAVE);
}
