/**
 * Sample-rate conversion benchmark: speed and fidelity of the switchboard Resampler against
 * libsamplerate-js and a naive linear interpolator, on the telephony conversions. It prints
 * figures; it asserts nothing. README.md in this folder says what is measured and how.
 *
 *   cd bench && node --import tsx audio/run.ts      (or `pnpm bench:audio` at the root)
 *
 * Each method's speed is measured in a child process of its own (this script with
 * `--speed`), so that what the JIT compiled for one row cannot make another row faster or
 * slower; the quality figures are computed in this process.
 */
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ours, libsamplerate, linear, OURS_DEFAULT, type Converter, type Method } from './converters.js';
import { bandLimitedSpectrum, bestDelay, signalOf, spectrum, withoutBand, type Spectrum } from './fft.js';
import { looped, speechAtRates, sweep, type SpeechAtRate, concatSamples } from './signals.js';

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
  libsamplerate('SRC_ZERO_ORDER_HOLD'),
  linear,
];

/** Telephony framing: 20 ms chunks (160 samples at 8 kHz, 480 at 24 kHz). */
const CHUNK_MS = 20;
const TIMING_SECONDS = 32;
/** Untimed passes over the whole input before the timed ones. */
const WARMUP_PASSES = 1;
const RUNS = 5;
/** Signal lengths: 2^18 and 2^17 samples at 8 kHz, so every rate has an FFT-friendly length. */
const SPEECH_SECONDS = 2 ** 18 / 8000;
const SWEEP_SIGNAL_SECONDS = 2 ** 17 / 8000;
const SWEEP_DURATION = 10;
const SWEEP_FROM_HZ = 100;
/** The sweep ends, and the guard band starts, at this fraction of the lower rate. */
const TOP = 0.45;
/** Samples left out at both ends of every SNR window (streaming start-up, stream end). */
const EDGE_SECONDS = 0.125;
/** Differences of SNR this small count as equal in the verdict. */
const SNR_TOLERANCE_DB = 0.5;

interface Speed {
  realtime: number;
  nsPerSample: number;
  /** (slowest − fastest) / median of the timed passes. */
  spread: number;
}

interface Row extends Speed {
  method: Method;
  /** Time from an input sample to its output, in a stream. */
  latencyMs: number;
  snrSpeech: number;
  snrSpeechGuarded: number;
  snrSweep: number;
}

function chunksOf(x: Int16Array, rate: number): Int16Array[] {
  const size = (rate * CHUNK_MS) / 1000;
  const out: Int16Array[] = [];
  for (let at = 0; at < x.length; at += size) out.push(x.subarray(at, Math.min(at + size, x.length)));
  return out;
}

function stream(converter: Converter, chunks: Int16Array[]): Int16Array {
  return concatSamples(chunks.map((c) => converter.process(c)));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Speed of every method on one conversion. Each method runs in a child process of its own
 * (a fresh JIT), which takes the input once, warms up on it, then times one
 * pass over all of it each time it is asked. The passes are interleaved (round r times every
 * method once before round r + 1 starts), so that a change in the machine's load during the
 * benchmark hits every method alike; each method's figure is the median of its RUNS passes.
 */
async function measureSpeeds(from: number, to: number, input: Int16Array): Promise<Speed[]> {
  const script = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  const ask = <T>(child: ChildProcess, message: unknown) =>
    new Promise<T>((resolve, reject) => {
      const failed = (code: number | null) => reject(new Error(`speed child exited with code ${String(code)}`));
      child.once('exit', failed);
      child.once('message', (reply) => {
        child.off('exit', failed);
        resolve(reply as T);
      });
      child.send(message as Serializable);
    });
  try {
    // One at a time, so that no warm-up competes with another for the CPU.
    for (const index of METHODS.keys()) {
      const child = fork(script, ['--speed', String(index), String(from), String(to)], { serialization: 'advanced' });
      children.push(child);
      await ask(child, input);
    }
    const passes: Pass[][] = children.map(() => []);
    for (let run = 0; run < RUNS; run++) {
      for (const [i, child] of children.entries()) passes[i]!.push(await ask<Pass>(child, 'run'));
    }
    return passes.map((list) => {
      const times = list.map((p) => p.seconds);
      const seconds = median(times);
      return {
        realtime: input.length / from / seconds,
        nsPerSample: (seconds * 1e9) / list[0]!.outputs,
        spread: (Math.max(...times) - Math.min(...times)) / seconds,
      };
    });
  } finally {
    for (const child of children) child.kill();
  }
}

interface Pass {
  /** Process CPU time (user + system) of the pass. */
  seconds: number;
  outputs: number;
}

/** Child side of `measureSpeeds`: `--speed <method index> <from> <to>`. */
async function speedChild([index, from, to]: number[]): Promise<void> {
  const input = await new Promise<Int16Array>((resolve) => process.once('message', (m) => resolve(m as Int16Array)));
  const chunks = chunksOf(input, from!);
  const converter = await METHODS[index!]!.create(from!, to!);
  for (let pass = 0; pass < WARMUP_PASSES; pass++) for (const c of chunks) converter.process(c);
  process.on('message', () => {
    let outputs = 0;
    const start = process.cpuUsage();
    for (const c of chunks) outputs += converter.process(c).length;
    const used = process.cpuUsage(start);
    process.send!({ seconds: (used.user + used.system) / 1e6, outputs } satisfies Pass);
  });
  process.send!('ready');
}

/** 10·log10(Σ reference² / Σ error²) over [from, to). */
function snrDb(reference: ArrayLike<number>, error: ArrayLike<number>, from: number, to: number): number {
  let signal = 0;
  let noise = 0;
  for (let i = from; i < to; i++) {
    signal += reference[i]! ** 2;
    noise += error[i]! ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

/** SNR of `y` against `reference` (missing samples of `y` count as silence). */
function snrOfOutput(y: Int16Array, reference: Float64Array, from: number, to: number): number {
  const error = reference.map((r, i) => (y[i] ?? 0) - r);
  return snrDb(reference, error, from, to);
}

interface QualityCase {
  speech: SpeechAtRate;
  speechLength: number;
  /** Spectrum of the ideal output, undelayed: the source band-limited below the lower Nyquist frequency. */
  speechReference: Spectrum;
  sweepInput: Int16Array;
  sweepLength: number;
  /** The exact sweep at the output sample times, delayed by d. */
  sweepReference: (delay: number) => Float64Array;
  sweepReferenceSpectrum: Spectrum;
}

function qualityCase(speech: Map<number, SpeechAtRate>, from: number, to: number): QualityCase {
  const source = speech.get(from)!;
  const speechLength = Math.round(SPEECH_SECONDS * to);
  const s = sweep(SWEEP_FROM_HZ, TOP * Math.min(from, to), SWEEP_DURATION);
  const sweepLength = Math.round(SWEEP_SIGNAL_SECONDS * to);
  const sweepReference = (delay: number) => s.render(to, sweepLength, delay);
  return {
    speech: source,
    speechLength,
    speechReference: bandLimitedSpectrum(source.spectrum, speechLength),
    sweepInput: s.sample(from, Math.round(SWEEP_SIGNAL_SECONDS * from)),
    sweepLength,
    sweepReference,
    sweepReferenceSpectrum: spectrum(sweepReference(0), sweepLength),
  };
}

async function convert(method: Method, from: number, to: number, input: Int16Array): Promise<Int16Array> {
  const converter = await method.create(from, to);
  const y = stream(converter, chunksOf(input, from));
  converter.close();
  return y;
}

/** Delays searched, in output samples: −10 ms to +50 ms. */
const lagRange = (to: number) => [-Math.round(0.01 * to), Math.round(0.05 * to)] as const;

/**
 * Speech SNRs of one method. Its delay (integer and fractional) is where its output best
 * correlates with the ideal output; the ideal output, delayed by that much, is the reference.
 * - full: every frequency counts;
 * - guarded: the band from 0.45 to 0.55 of the lower rate is left out of both the error and
 *   the signal (the transition band every realisable filter needs, and its image).
 */
async function speechSnr(method: Method, from: number, to: number, q: QualityCase) {
  const y = await convert(method, from, to, q.speech.samples);
  const spec = spectrum(y, q.speechLength);
  const delay = bestDelay(spec, q.speechReference, ...lagRange(to));
  const reference = bandLimitedSpectrum(q.speech.spectrum, q.speechLength, delay);
  const edge = Math.round(EDGE_SECONDS * to);
  const end = q.speechLength - edge;
  const full = snrOfOutput(y, signalOf(reference), edge, end);
  const [guardFrom, guardTo] = [TOP * Math.min(from, to), (1 - TOP) * Math.min(from, to)];
  const guardedError = signalOf(withoutBand(spec, reference, to, guardFrom, guardTo));
  const guardedReference = signalOf(withoutBand(reference, null, to, guardFrom, guardTo));
  const guarded = snrDb(guardedReference, guardedError, edge, end);
  // A converter may also hold samples back (emit fewer than the input's length × ratio so far)
  // instead of delaying its output: both add to the latency of a stream.
  const heldBack = (q.speech.samples.length * to) / from - y.length;
  return { latencyMs: ((delay + heldBack) / to) * 1000, full, guarded };
}

/** Sweep SNR of one method against the exact sweep, after the same delay search. */
async function sweepSnr(method: Method, from: number, to: number, q: QualityCase) {
  const y = await convert(method, from, to, q.sweepInput);
  const delay = bestDelay(spectrum(y, q.sweepLength), q.sweepReferenceSpectrum, ...lagRange(to));
  const edge = Math.round(EDGE_SECONDS * to);
  return snrOfOutput(y, q.sweepReference(delay), edge, q.sweepLength - edge);
}

const fmt = {
  rt: (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1)),
  ns: (x: number) => x.toFixed(1),
  db: (x: number) => x.toFixed(1),
  pct: (x: number) => `${(100 * x).toFixed(0)} %`,
  ms: (x: number) => (Math.abs(x) < 0.005 ? 0 : x).toFixed(2),
};

function printTable(from: number, to: number, rows: Row[]): void {
  console.log(`\n### ${from / 1000} kHz → ${to / 1000} kHz\n`);
  console.log(
    '| method | quality | × real time | ns / output sample | spread of runs | latency ms | SNR speech dB | SNR speech, guard band out, dB | SNR sweep dB |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.method.name} | ${r.method.setting} | ${fmt.rt(r.realtime)} | ${fmt.ns(r.nsPerSample)} | ${fmt.pct(r.spread)} | ${fmt.ms(r.latencyMs)} | ` +
        `${fmt.db(r.snrSpeech)} | ${fmt.db(r.snrSpeechGuarded)} | ${fmt.db(r.snrSweep)} |`,
    );
  }
}

/** Is `a` at least as good as `b` on the speech and the sweep (within the tolerance)? */
function snrAtLeast(a: Row, b: Row): boolean {
  return a.snrSpeech >= b.snrSpeech - SNR_TOLERANCE_DB && a.snrSweep >= b.snrSweep - SNR_TOLERANCE_DB;
}

function verdict(from: number, to: number, rows: Row[]): string[] {
  const mine = rows.filter((r) => r.method.name.startsWith('switchboard'));
  const standard = mine.find((r) => r.method.setting.startsWith(OURS_DEFAULT))!;
  const quality = (r: Row) => r.method.setting.split(' ')[0]!;
  const sign = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(1);
  const compare = (a: Row, b: Row) =>
    `${quality(a)} runs at ${(a.realtime / b.realtime).toFixed(2)}× its speed, SNR ${sign(a.snrSpeech - b.snrSpeech)} dB speech ` +
    `(${sign(a.snrSpeechGuarded - b.snrSpeechGuarded)} with the guard band out), ${sign(a.snrSweep - b.snrSweep)} dB sweep`;
  const holds = (a: Row, b: Row) => a.realtime > b.realtime && snrAtLeast(a, b);
  const lines: string[] = [];
  for (const theirs of rows.filter((r) => r.method.name === 'libsamplerate-js')) {
    let line = `${from / 1000}→${to / 1000} kHz vs ${theirs.method.setting}: ${compare(standard, theirs)}`;
    if (holds(standard, theirs)) {
      line += ' → holds';
    } else {
      line += ' → does NOT hold';
      const others = mine.filter((r) => r !== standard);
      const better = others.filter((r) => holds(r, theirs));
      if (better.length > 0) line += `; holds with quality ${better.map(quality).join(', ')}`;
      else {
        // The best quality of ours that is still faster, to show what is missing.
        const closest = others.filter((r) => r.realtime > theirs.realtime).pop();
        line += closest ? `; best faster alternative: ${compare(closest, theirs)}` : '; none of ours is faster';
      }
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
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
  console.log(`- CPU: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length}; load average at start ${load} (1 / 5 / 15 min)`);
  console.log(`- @alexanderolsen/libsamplerate-js ${lsr.version}`);
  console.log(
    `- speed: ${TIMING_SECONDS} s of speech per run in ${CHUNK_MS} ms chunks, ${WARMUP_PASSES} untimed warm-up run, ` +
      `median of ${RUNS} interleaved runs of process CPU time (user + system), each method in a fresh process`,
  );
  console.log(
    `- SNR: speech against the ideal (brick-wall) conversion; sweep ${SWEEP_FROM_HZ} Hz → ${TOP} × the lower rate ` +
      `over ${SWEEP_DURATION} s against the exact sweep; each after the method's own delay; ${EDGE_SECONDS * 1000} ms edges left out`,
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
    const speeds = await measureSpeeds(from, to, timingInput);
    const rows: Row[] = [];
    for (const [index, method] of METHODS.entries()) {
      const speed = speeds[index]!;
      const s = await speechSnr(method, from, to, q);
      const snrSweep = await sweepSnr(method, from, to, q);
      rows.push({ method, ...speed, latencyMs: s.latencyMs, snrSpeech: s.full, snrSpeechGuarded: s.guarded, snrSweep });
    }
    printTable(from, to, rows);
    verdicts.push(...verdict(from, to, rows));
  }
  console.log(
    `\n## Target: faster than libsamplerate-js at equal or better SNR on speech and sweep ` +
      `(our default quality '${OURS_DEFAULT}'; SNR within ${SNR_TOLERANCE_DB} dB counts as equal)\n`,
  );
  for (const line of verdicts) console.log(`- ${line}`);
}

const at = process.argv.indexOf('--speed');
if (at >= 0) await speedChild(process.argv.slice(at + 1, at + 4).map(Number));
else await main();
