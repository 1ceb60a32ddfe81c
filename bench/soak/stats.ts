/** The soak's memory figures: first, last, min, max and the late-run slope of each series. */
import type { Sample } from './common.js';

export const SERIES = ['heapUsed', 'heapTotal', 'rss', 'external', 'arrayBuffers'] as const;
export type SeriesName = (typeof SERIES)[number];

export type SeriesSummary = {
  firstMb: number;
  lastMb: number;
  minMb: number;
  maxMb: number;
  /** Least-squares slope over the second half of the run, MB per minute. */
  slopeMbPerMin: number;
};

export type MemorySummary = {
  series: Record<SeriesName, SeriesSummary>;
  /** Samples the slopes were fitted to (those in the second half of the run, calls live). */
  slopeSamples: number;
  /** Calls completed per minute over the second half. */
  callsPerMin: number;
  /** Heap-used slope divided by the call rate: what each call would leave behind, KB. */
  heapKbPerCall: number;
};

/** A slope under these, MB per minute over the second half, counts as flat. */
export const FLAT_HEAP_MB_PER_MIN = 0.5;
export const FLAT_RSS_MB_PER_MIN = 1;

const MB = 1e6;

/** Least-squares slope of `ys` over `xs`; 0 with fewer than two points. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Summarises the samples taken while calls ran (`at` ≤ `runMs`); the slopes use those from `runMs / 2` on. */
export function summarise(samples: Sample[], runMs: number): MemorySummary {
  const during = samples.filter((s) => s.at <= runMs + 1000);
  const late = during.filter((s) => s.at >= runMs / 2);
  const minutes = late.map((s) => s.at / 60_000);
  const series = {} as Record<SeriesName, SeriesSummary>;
  for (const name of SERIES) {
    const values = during.map((s) => s[name] / MB);
    series[name] = {
      firstMb: values[0] ?? NaN,
      lastMb: values.at(-1) ?? NaN,
      minMb: Math.min(...values),
      maxMb: Math.max(...values),
      slopeMbPerMin: slope(
        minutes,
        late.map((s) => s[name] / MB),
      ),
    };
  }
  const callsPerMin = slope(
    minutes,
    late.map((s) => s.callsCompleted),
  );
  return {
    series,
    slopeSamples: late.length,
    callsPerMin,
    heapKbPerCall: callsPerMin > 0 ? (series.heapUsed.slopeMbPerMin * 1000) / callsPerMin : NaN,
  };
}

export function isFlat(summary: MemorySummary): boolean {
  return (
    summary.series.heapUsed.slopeMbPerMin <= FLAT_HEAP_MB_PER_MIN &&
    summary.series.rss.slopeMbPerMin <= FLAT_RSS_MB_PER_MIN
  );
}

const clock = (ms: number) => {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** One sample as a line of the progress log. */
export function sampleLine(s: Sample): string {
  const mb = (bytes: number) => (bytes / MB).toFixed(1).padStart(6);
  return (
    `[soak ${clock(s.at).padStart(5)}] heapUsed ${mb(s.heapUsed)} MB  heapTotal ${mb(s.heapTotal)}  rss ${mb(s.rss)}  ` +
    `external ${mb(s.external)}  arrayBuffers ${mb(s.arrayBuffers)}  live ${String(s.liveCalls).padStart(3)}  ` +
    `completed ${String(s.callsCompleted).padStart(4)}  cpu ${(s.cpu * 100).toFixed(0).padStart(3)}%  loop p99 ${s.loopDelayP99Ms.toFixed(0)} ms`
  );
}

/** The memory summary as a table. */
export function formatSummary(summary: MemorySummary, baseline: Sample, afterHangUp: Sample): string {
  const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  const rows = SERIES.map((name) => {
    const s = summary.series[name];
    return [
      name,
      f(s.firstMb),
      f(s.lastMb),
      f(s.minMb),
      f(s.maxMb),
      f(s.slopeMbPerMin, 3),
      f(baseline[name] / MB),
      f(afterHangUp[name] / MB),
    ];
  });
  const header = [
    'series (MB)',
    'first',
    'last',
    'min',
    'max',
    'slope MB/min (2nd half)',
    'before calls',
    'after hang-up',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    `slopes over ${summary.slopeSamples} samples; ${f(summary.callsPerMin)} calls completed per minute; heap-used slope per completed call ${f(summary.heapKbPerCall, 2)} KB`,
  ].join('\n');
}
