/**
 * `switchboard-conformance run`: replays traces into an adapter and prints the table of checks.
 *
 * Usage and setup errors throw a `ConfigError` (exit code 2, see `cli.ts`); a failed check
 * returns 1. New options go in `RUN_OPTIONS` and `RUN_USAGE`; what is done with the reports once
 * the runs are over goes after them in `runCommand`.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError } from '@switchboard/core';
import { formatReport, loadAdapters, runConformance, selectTraces, type ConformanceReport } from '../run.js';
import { DEFAULT_SPEED } from '../replay.js';
import { reportSink } from '../report/sink.js';
import { bundledTracesDir, loadTraces, type Trace } from '../trace.js';
import { parseTurnDetectionSelection, turnDetectionFromEnv, type TurnDetectionSelection } from '../turn-detection.js';
import { givenPath, processIo, type CliIo } from './io.js';

/** Traces replayed at once per adapter unless `--concurrency` says otherwise: one core left free, at most 4. */
export function defaultConcurrency(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export const RUN_USAGE = `Usage: switchboard-conformance run --adapter <module> [options]

Replays recorded calls (traces) into an adapter against the realtime simulator and prints a
table of checks (adapter × trace × check). Exits 0 when every check passed, 1 when one failed,
2 on a usage or setup error.

  --adapter <module>     the adapter: a path to a module (relative to the working directory),
                         a package directory, a package name or subpath as this project sees
                         it (@acme/carrier, found at @acme/carrier/testing or
                         @acme/carrier/conformance when its root export has no adapter).
                         The module exports \`conformance\` (or a default export): { name,
                         capabilities, createTransport | startRemoteCall,
                         createPeerSimulator }, or an array of them. Required.
  --trace <file|dir>     a trace (.jsonl, .jsonl.gz) or a directory of them; repeatable.
                         Default: the bundled corpus.
  --only <names>         run only these traces and checks (trace names, check ids;
                         comma-separated, repeatable). Checks left out are left out of the table.
  --skip <names>         leave out these traces and checks (comma-separated, repeatable).
  --speed N              replay speed, N × real time (default ${DEFAULT_SPEED}).
  --concurrency N        traces replayed at once per adapter (default ${defaultConcurrency()} here:
                         max(1, min(4, CPUs - 1))).
  --turn-detection M     rotate (default: one mode per trace, in turn), all (every trace in
                         every mode), or server_vad | server_vad_interrupt | semantic_vad.
                         Default from SWITCHBOARD_CONFORMANCE_TURN_DETECTION when set.
  --json                 print the full report as JSON (an array for several adapters), with
                         each trace's replays and earlier timing failures.
  --html <file>          also write the calls as one self-contained HTML page: per trace and
                         adapter, the verdicts and a timeline of the call (both voices, turns,
                         marks, clears, truncations, DTMF, gaps, latency, failed checks).
  --dump <dir>           also write per call (adapter/trace/turn detection) both audio tracks
                         as WAV, the timeline as JSON and the frames each side sent (JSONL).
  --quiet                no progress lines on stderr.
  --help                 show this text.

Examples:
  switchboard-conformance run --adapter @switchboard/twilio
  switchboard-conformance run --adapter ./dist/adapter.js --trace ./traces --only dtmf,dtmf.order
  node --import tsx ./node_modules/.bin/switchboard-conformance run --adapter ./src/adapter.ts
`;

export const RUN_OPTIONS = {
  adapter: { type: 'string' },
  trace: { type: 'string', multiple: true },
  only: { type: 'string', multiple: true },
  skip: { type: 'string', multiple: true },
  speed: { type: 'string' },
  concurrency: { type: 'string' },
  'turn-detection': { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  html: { type: 'string' },
  dump: { type: 'string' },
} as const;

function parseRunArgs(rest: string[]) {
  try {
    return parseArgs({ args: rest, options: RUN_OPTIONS, allowPositionals: false }).values;
  } catch (error) {
    // node:util's messages are one sentence plus advice; the first line is the point.
    throw new ConfigError(`run: ${(error as Error).message.split('\n')[0]} (switchboard-conformance run --help)`);
  }
}

/** `a,b` `--flag c` → [a, b, c]. */
function names(values: string[] | undefined): string[] | undefined {
  const list = (values ?? [])
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return list.length > 0 ? list : undefined;
}

function positiveNumber(flag: string, given: string | undefined, fallback: number, integer = false): number {
  if (given === undefined) return fallback;
  const value = Number(given);
  if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new ConfigError(
      `--${flag} must be a positive ${integer ? 'whole ' : ''}number, got ${JSON.stringify(given)}`,
    );
  }
  return value;
}

async function readTraces(sources: string[], io: CliIo): Promise<Trace[]> {
  const traces: Trace[] = [];
  for (const source of sources) {
    const path = givenPath(io, source);
    if (!existsSync(path)) throw new ConfigError(`trace not found: ${source}`);
    try {
      traces.push(...(await loadTraces(path)));
    } catch (error) {
      throw new ConfigError(`cannot read the trace ${source}: ${(error as Error).message.split('\n')[0]}`, {
        cause: error,
      });
    }
  }
  return traces;
}

export async function runCommand(rest: string[], io: CliIo = processIo()): Promise<number> {
  const values = parseRunArgs(rest);
  if (!values.adapter) throw new ConfigError('run: --adapter is required (switchboard-conformance run --help)');
  const speed = positiveNumber('speed', values.speed, DEFAULT_SPEED);
  const concurrency = positiveNumber('concurrency', values.concurrency, defaultConcurrency(), true);
  let turnDetectionModes: TurnDetectionSelection;
  try {
    const given = values['turn-detection'];
    turnDetectionModes =
      given !== undefined ? parseTurnDetectionSelection(given) : (turnDetectionFromEnv() ?? 'rotate');
  } catch (error) {
    throw new ConfigError(`--turn-detection: ${(error as Error).message}`);
  }
  const only = names(values.only);
  const skip = names(values.skip);
  const sources = values.trace ?? [bundledTracesDir()];
  const traces = await readTraces(sources, io);
  if (traces.length === 0) throw new ConfigError(`no trace (.jsonl, .jsonl.gz) in ${sources.join(', ')}`);
  let selected: Trace[];
  try {
    selected = selectTraces(traces, { only, skip });
  } catch (error) {
    throw new ConfigError(`--${(error as Error).message}`); // the option as the user typed it
  }
  if (selected.length === 0) throw new ConfigError('nothing to run: no trace is left after --only and --skip');
  const adapters = await loadAdapters(values.adapter, io.cwd);

  const tty = io.stderr.isTTY === true && !values.json && !values.quiet;
  const reports: ConformanceReport[] = [];
  const sink = reportSink({
    html: values.html === undefined ? undefined : givenPath(io, values.html),
    dump: values.dump === undefined ? undefined : givenPath(io, values.dump),
  });
  for (const adapter of adapters) {
    const announced = new Set<string>();
    const progress = (line: string) => {
      if (tty) io.stderr.write(`\r${`${adapter.name} ${line}`.slice(0, 78).padEnd(50)}`);
      else if (!values.quiet && !values.json) {
        const name = line.slice(0, line.indexOf(':'));
        if (!announced.has(name)) io.stderr.write(`replaying ${name} (${adapter.name})\n`);
        announced.add(name);
      }
    };
    const report = await runConformance(adapter, traces, {
      speed,
      turnDetectionModes,
      concurrency,
      only,
      skip,
      onProgress: progress,
      onChecked: sink.onChecked(adapter.name),
    });
    if (tty) io.stderr.write(`\r${' '.repeat(78)}\r`);
    reports.push(report);
    if (!values.json) io.stdout.write(`${formatReport(report)}\n\n`);
  }
  for (const path of await sink.finish()) if (!values.quiet) io.stderr.write(`wrote ${path}\n`);
  // One adapter: its report, as before; several (a package with presets): an array of them.
  if (values.json) io.stdout.write(`${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n`);
  return reports.every((r) => r.passed) ? 0 : 1;
}
