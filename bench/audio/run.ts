/**
 * Sample-rate conversion benchmark: speed and fidelity of the switchboard Resampler against
 * libsamplerate-js and a naive linear interpolator, on the telephony conversions. It prints
 * figures; it asserts nothing. See README.md in this folder for what is measured and how.
 *
 *   cd bench && node --import tsx audio/run.ts      (or `pnpm bench:audio` at the root)
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { ours, libsamplerate, linear, OURS_DEFAULT, type Converter, type Method } from './converters.js';
import { bandLimited, bestDelay, spectrum } from './fft.js';
import { looped, speechAtRates, sweep, type SpeechAtRate } from './signals.js';

const CONVERSIONS = [
  [8000, 24000],
  [24000, 8000],
  [24000, 16000],
  [16000, 24000],
] as const;

const METHODS: Method[] = [
  ours('low'),
  ours('medium'),
  ours('high'),
  libsamplerate('SRC_SINC_FASTEST'),
  libsamplerate('SRC_SINC_MEDIUM_QUALITY'),
  libsamplerate('SRC_SINC_BEST_QUALITY'),
  libsamplerate('SRC_LINEAR'),
  linear,
];

/** Telephony framing: 20 ms chunks (160 samples at 8 kHz, 480 at 24 kHz). */
const CHUNK_MS = 20;
const TIMING_SECONDS = 32;
const WARMUP_SECONDS = 8;
const RUNS = 5;
/** Signal lengths: 2^18 and 2^17 samples at 8 kHz, so every rate has an FFT-friendly length. */
const SPEECH_SECONDS = 2 ** 18 / 8000;
const SWEEP_SIGNAL_SECONDS = 2 ** 17 / 8000;
const SWEEP_DURATION = 10;
const SWEEP_FROM_HZ = 100;
/** Samples left out at both ends of every SNR window (streaming start-up, stream end). */
const EDGE_SECONDS = 0.125;
/** Differences of SNR this small count as equal in the verdict. */
const SNR_TOLERANCE_DB = 0.5;

interface Row {
  method: Method;
  realtime: number;
  nsPerSample: number;
  delayMs: number;
  snrSpeech: number;
  snrSweep: number;
}

function chunksOf(x: Int16Array, rate: number): Int16Array[] {
  const size = (rate * CHUNK_MS) / 1000;
  const out: Int16Array[] = [];
  for (let at = 0; at < x.length; at += size) out.push(x.subarray(at, Math.min(at + size, x.length)));
  return out;
}

function stream(converter: Converter, chunks: Int16Array[]): Int16Array {
  const parts = chunks.map((c) => converter.process(c));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Throughput on `input` in 20 ms chunks: one warm-up pass, then the median CPU time of RUNS passes. */
async function measureSpeed(method: Method, from: number, to: number, input: Int16Array) {
  const chunks = chunksOf(input, from);
  const converter = await method.create(from, to);
  const warmup = chunks.slice(0, (WARMUP_SECONDS * 1000) / CHUNK_MS);
  for (const c of warmup) converter.process(c);
  const cpu: number[] = [];
  let outputs = 0;
  for (let run = 0; run < RUNS; run++) {
    outputs = 0;
    const start = process.cpuUsage();
    for (const c of chunks) outputs += converter.process(c).length;
    const used = process.cpuUsage(start);
    cpu.push((used.user + used.system) / 1e6);
  }
  converter.close();
  const seconds = median(cpu);
  return { realtime: input.length / from / seconds, nsPerSample: (seconds * 1e9) / outputs };
}

/** 10·log10(Σ ref² / Σ (y − ref)²) over [from, to). */
function snrDb(y: Int16Array, reference: ArrayLike<number>, from: number, to: number): number {
  let signal = 0;
  let noise = 0;
  for (let i = from; i < to; i++) {
    const r = reference[i]!;
    const e = (y[i] ?? 0) - r;
    signal += r * r;
    noise += e * e;
  }
  return 10 * Math.log10(signal / noise);
}

interface QualityCase {
  speech: SpeechAtRate;
  /** The ideal output: the source band-limited below the lower Nyquist frequency, at the output rate, delayed by d. */
  speechReference: (delay: number) => Float64Array;
  speechReferenceSpectrum: ReturnType<typeof spectrum>;
  speechLength: number;
  sweepInput: Int16Array;
  /** The exact sweep at the output sample times, delayed by d. */
  sweepReference: (delay: number) => Float64Array;
  sweepReferenceSpectrum: ReturnType<typeof spectrum>;
  sweepLength: number;
}

function qualityCase(speech: Map<number, SpeechAtRate>, from: number, to: number): QualityCase {
  const source = speech.get(from)!;
  const speechLength = Math.round(SPEECH_SECONDS * to);
  const speechReference = (delay: number) => bandLimited(source.spectrum, speechLength, delay);
  const s = sweep(SWEEP_FROM_HZ, 0.45 * Math.min(from, to), SWEEP_DURATION);
  const sweepLength = Math.round(SWEEP_SIGNAL_SECONDS * to);
  const sweepReference = (delay: number) => s.render(to, sweepLength, delay);
  return {
    speech: source,
    speechReference,
    speechReferenceSpectrum: spectrum(speechReference(0), speechLength),
    speechLength,
    sweepInput: s.sample(from, Math.round(SWEEP_SIGNAL_SECONDS * from)),
    sweepReference,
    sweepReferenceSpectrum: spectrum(sweepReference(0), sweepLength),
    sweepLength,
  };
}

/**
 * SNR of one method's output against the ideal output, after finding the method's delay
 * (integer and fractional) as the peak of the cross-correlation with the reference.
 */
async function measureSnr(
  method: Method,
  from: number,
  to: number,
  input: Int16Array,
  length: number,
  referenceSpectrum: ReturnType<typeof spectrum>,
  reference: (delay: number) => Float64Array,
) {
  const converter = await method.create(from, to);
  const y = stream(converter, chunksOf(input, from));
  converter.close();
  const delay = bestDelay(spectrum(y, length), referenceSpectrum, -Math.round(0.01 * to), Math.round(0.05 * to));
  const edge = Math.round(EDGE_SECONDS * to);
  return { delay, snr: snrDb(y, reference(delay), edge, length - edge) };
}

const fmt = {
  rt: (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1)),
  ns: (x: number) => x.toFixed(1),
  db: (x: number) => x.toFixed(1),
  ms: (x: number) => x.toFixed(2),
};

function printTable(from: number, to: number, rows: Row[]): void {
  console.log(`\n### ${from / 1000} kHz → ${to / 1000} kHz\n`);
  console.log('| method | quality | × real time | ns / output sample | delay ms | SNR speech dB | SNR sweep dB |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.method.name} | ${r.method.setting} | ${fmt.rt(r.realtime)} | ${fmt.ns(r.nsPerSample)} | ${fmt.ms(r.delayMs)} | ${fmt.db(r.snrSpeech)} | ${fmt.db(r.snrSweep)} |`,
    );
  }
}

/** Is `a` at least as good as `b` on both signals (within the tolerance)? */
function snrAtLeast(a: Row, b: Row): boolean {
  return a.snrSpeech >= b.snrSpeech - SNR_TOLERANCE_DB && a.snrSweep >= b.snrSweep - SNR_TOLERANCE_DB;
}

function verdict(from: number, to: number, rows: Row[]): string[] {
  const isOurs = (r: Row) => r.method.name.startsWith('switchboard');
  const mine = rows.filter(isOurs);
  const fallback = mine.find((r) => r.method.setting.startsWith(OURS_DEFAULT))!;
  const lines: string[] = [];
  for (const theirs of rows.filter((r) => r.method.name === 'libsamplerate-js' && r.method.setting.startsWith('SINC'))) {
    const speed = fallback.realtime / theirs.realtime;
    const dSpeech = fallback.snrSpeech - theirs.snrSpeech;
    const dSweep = fallback.snrSweep - theirs.snrSweep;
    const holds = speed > 1 && snrAtLeast(fallback, theirs);
    const sign = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(1);
    let line =
      `${from / 1000}→${to / 1000} kHz vs ${theirs.method.setting}: default ${speed.toFixed(1)}× its speed, ` +
      `SNR ${sign(dSpeech)} dB speech, ${sign(dSweep)} dB sweep → ${holds ? 'HOLDS' : 'does not hold'}`;
    if (!holds) {
      const better = mine.filter((r) => r.realtime > theirs.realtime && snrAtLeast(r, theirs));
      line += better.length
        ? ` (holds with quality ${better.map((r) => r.method.setting.split(' ')[0]).join(', ')})`
        : ' (no quality of ours is both faster and as good)';
    }
    lines.push(line);
  }
  return lines;
}

function environment(): void {
  const require = createRequire(import.meta.url);
  const lsr = require('@alexanderolsen/libsamplerate-js/package.json') as { version: string };
  const cpus = os.cpus();
  console.log('## Environment\n');
  console.log(`- node ${process.version} (V8 ${process.versions.v8}), ${process.platform}/${process.arch}`);
  console.log(`- CPU: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length}`);
  console.log(`- @alexanderolsen/libsamplerate-js ${lsr.version}`);
  console.log(
    `- timing: ${TIMING_SECONDS} s of speech per run in ${CHUNK_MS} ms chunks, ${WARMUP_SECONDS} s warm-up, ` +
      `median of ${RUNS} runs of process CPU time (user + system)`,
  );
}

async function main(): Promise<void> {
  console.log('# Sample-rate conversion benchmark\n');
  environment();
  const speech = speechAtRates(SPEECH_SECONDS);
  const verdicts: string[] = [];
  for (const [from, to] of CONVERSIONS) {
    const q = qualityCase(speech, from, to);
    const timingInput = looped(q.speech.samples.subarray(0, q.speech.speechEnd), TIMING_SECONDS * from);
    const rows: Row[] = [];
    for (const method of METHODS) {
      const speed = await measureSpeed(method, from, to, timingInput);
      const s = await measureSnr(method, from, to, q.speech.samples, q.speechLength, q.speechReferenceSpectrum, q.speechReference);
      const w = await measureSnr(method, from, to, q.sweepInput, q.sweepLength, q.sweepReferenceSpectrum, q.sweepReference);
      rows.push({ method, ...speed, delayMs: (s.delay / to) * 1000, snrSpeech: s.snr, snrSweep: w.snr });
    }
    printTable(from, to, rows);
    verdicts.push(...verdict(from, to, rows));
  }
  console.log(
    `\n## Target: faster than libsamplerate-js at equal or better SNR (default quality '${OURS_DEFAULT}'; ` +
      `SNR within ${SNR_TOLERANCE_DB} dB counts as equal)\n`,
  );
  for (const line of verdicts) console.log(`- ${line}`);
}

await main();
