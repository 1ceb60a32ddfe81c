import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConformanceAdapter } from '@switchboard/core';
import { runChecks, type CheckOptions, type CheckOutcome } from './checks.js';
import { DEFAULT_SPEED, replayTrace, type ReplayOptions, type ReplayResult } from './replay.js';
import type { Trace } from './trace.js';
import { turnDetectionModes, type TurnDetectionMode, type TurnDetectionSelection } from './turn-detection.js';

export type TraceReport = {
  trace: string;
  /** The turn detection the replay asked for (see `turnDetectionConfig`). */
  turnDetection: TurnDetectionMode;
  /** The turn detection the session set up, when it set one. */
  sessionTurnDetection?: TurnDetectionMode;
  outcomes: Array<{ id: string; title: string } & CheckOutcome>;
  /** Selected transport metrics (when the transport exposes them). */
  metrics: Record<string, unknown> | undefined;
  durationMs: number;
};

export type ConformanceReport = {
  adapter: string;
  speed: number;
  traces: TraceReport[];
  passed: boolean;
};

export type RunConformanceOptions = ReplayOptions & {
  checks?: Partial<CheckOptions>;
  /**
   * `runConformance`: the turn detection of the replays — `rotate` (the default: one mode per
   * trace, rotated across the traces), `all` (every trace in every mode), or one mode. A single
   * replay (`replayAndCheck`, `runTrace`) runs `turnDetection` (default `server_vad`).
   */
  turnDetectionModes?: TurnDetectionSelection;
  /** Called with each trace's replay (for custom assertions). */
  onReplay?: (result: ReplayResult) => void;
  /**
   * Replay a trace again while only timing checks fail (see `replayAndCheck`): `true` (the
   * default) allows up to {@link TIMING_REPLAYS} replays in all, a number that many, `false` one.
   */
  retryTiming?: boolean | number;
};

/**
 * Checks judged on the replay's clock. A replay runs faster than real time, so a moment's stall
 * of a loaded machine (its event loop, the loopback) counts several times over against them. A
 * stall can even move the caller's barge-in before the reply reached the carrier, which the three
 * barge-in checks report as a barge-in that never happened.
 */
export const TIMING_CHECKS: ReadonlySet<string> = new Set(['bargein.clear', 'bargein.truncate', 'bargein.cancel']);

/** Replays in all, at most, of a trace whose only failures are timing checks. */
export const TIMING_REPLAYS = 3;

/**
 * The speed of the `replay`-th replay of a trace (from 1): each replay after the first runs at
 * half the speed of the one before, down to real time (never faster than `speed`), so that the
 * stall of a loaded machine counts for less on the replay's clock each time.
 */
export function retrySpeed(speed: number, replay: number): number {
  if (replay <= 1) return speed;
  return Math.max(Math.min(speed, 1), speed / 2 ** (replay - 1));
}

export type CheckedReplay = {
  result: ReplayResult;
  outcomes: ReturnType<typeof runChecks>;
  /** How many times the trace was replayed (see {@link replayAndCheck}). */
  replays: number;
  /** The failures of each replay before the last (timing checks only), in order. */
  earlier: Array<{ replay: number; failed: Array<{ id: string; detail: string }> }>;
};

function replayLimit(retry: RunConformanceOptions['retryTiming']): number {
  if (retry === false) return 1;
  if (retry === undefined || retry === true) return TIMING_REPLAYS;
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retryTiming must be a boolean or a whole number of replays >= 1, got ${retry}`);
  return retry;
}

/**
 * Replays a trace and runs every check. While the only failures are timing checks, the trace is
 * replayed again, up to {@link TIMING_REPLAYS} times in all, each time slower (see
 * {@link retrySpeed}), and the last replay's verdict stands, its detail naming the earlier
 * failures: a defect fails every time, a stall of the loaded machine seldom does twice in a row,
 * less so at a lower speed. Any other failure ends the replays at once.
 */
export async function replayAndCheck(adapter: ConformanceAdapter, trace: Trace, options: RunConformanceOptions = {}): Promise<CheckedReplay> {
  const limit = replayLimit(options.retryTiming);
  const base = options.speed ?? DEFAULT_SPEED;
  const once = async (replay: number) => {
    const result = await replayTrace(adapter, trace, { ...options, speed: retrySpeed(base, replay) });
    options.onReplay?.(result);
    return { result, outcomes: runChecks(result, options.checks) };
  };
  const earlier: { replay: number; failed: ReturnType<typeof runChecks> }[] = [];
  let replay = await once(1);
  let replays = 1;
  for (;;) {
    const failed = replay.outcomes.filter((o) => o.outcome.status === 'fail');
    if (replays >= limit || failed.length === 0 || !failed.every((o) => TIMING_CHECKS.has(o.check.id))) break;
    earlier.push({ replay: replays, failed });
    replays++;
    replay = await once(replays);
  }
  const earlierFailures = earlier.map(({ replay: n, failed }) => ({ replay: n, failed: failed.map((o) => ({ id: o.check.id, detail: o.outcome.detail })) }));
  if (earlier.length === 0) return { ...replay, replays, earlier: earlierFailures };
  const outcomes = replay.outcomes.map(({ check, outcome }) => {
    const before = earlier.flatMap(({ replay: n, failed }) => failed.filter((o) => o.check.id === check.id).map((o) => `replay ${n}: ${o.outcome.detail}`));
    if (before.length === 0) return { check, outcome };
    return { check, outcome: { ...outcome, detail: `${outcome.detail} (replay ${replays} of ${replays}; earlier failures: ${before.join('; ')})`.trim() } };
  });
  return { result: replay.result, outcomes, replays, earlier: earlierFailures };
}

export async function runTrace(adapter: ConformanceAdapter, trace: Trace, options: RunConformanceOptions = {}): Promise<TraceReport> {
  const { result, outcomes } = await replayAndCheck(adapter, trace, options);
  return {
    trace: trace.header.name,
    turnDetection: result.turnDetection,
    ...(result.sessionTurnDetection ? { sessionTurnDetection: result.sessionTurnDetection } : {}),
    outcomes: outcomes.map(({ check, outcome }) => ({ id: check.id, title: check.title, ...outcome })),
    metrics: result.metrics,
    durationMs: result.durationMs,
  };
}

/**
 * Replays every trace into the adapter, in the turn-detection modes `turnDetectionModes` selects
 * (by default one per trace, rotated), and runs every check on each replay.
 */
export async function runConformance(
  adapter: ConformanceAdapter,
  traces: Trace[],
  options: RunConformanceOptions = {},
): Promise<ConformanceReport> {
  const reports: TraceReport[] = [];
  const selection = options.turnDetectionModes ?? options.turnDetection ?? 'rotate';
  const names = traces.map((t) => t.header.name);
  try {
    for (const trace of traces) {
      for (const mode of turnDetectionModes(selection, adapter.name, trace.header.name, names)) {
        reports.push(await runTrace(adapter, trace, { ...options, turnDetection: mode }));
      }
    }
  } finally {
    await adapter.dispose?.();
  }
  return {
    adapter: adapter.name,
    speed: options.speed ?? DEFAULT_SPEED,
    traces: reports,
    passed: reports.every((r) => r.outcomes.every((o) => o.status !== 'fail')),
  };
}

const MARK: Record<CheckOutcome['status'], string> = { pass: 'pass', fail: 'FAIL', 'n/a': '–' };

/**
 * The report as a text table: one row per trace (and turn-detection mode), one column per check,
 * the mode last, then the failures.
 */
export function formatReport(report: ConformanceReport): string {
  const ids = report.traces[0]?.outcomes.map((o) => o.id) ?? [];
  const header = ['trace', ...ids, 'turn detection'];
  const mode = (t: TraceReport) => (t.sessionTurnDetection && t.sessionTurnDetection !== t.turnDetection ? `${t.sessionTurnDetection} (asked ${t.turnDetection})` : t.turnDetection);
  const rows = report.traces.map((t) => [t.trace, ...t.outcomes.map((o) => MARK[o.status]), mode(t)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const out = [`adapter: ${report.adapter}   speed: ${report.speed}x`, line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const failures = report.traces.flatMap((t) => t.outcomes.filter((o) => o.status === 'fail').map((o) => `  ${t.trace} / ${o.id} [${t.turnDetection}]: ${o.detail}`));
  out.push('');
  const replays = new Set(report.traces.map((t) => t.trace)).size === report.traces.length ? '' : ` (${report.traces.length} replays)`;
  out.push(failures.length === 0 ? `all checks passed on ${new Set(report.traces.map((t) => t.trace)).size} trace(s)${replays}` : `${failures.length} failure(s):\n${failures.join('\n')}`);
  return out.join('\n');
}

type AdapterExport = ConformanceAdapter | readonly ConformanceAdapter[];

function isAdapter(value: unknown): value is ConformanceAdapter {
  const candidate = value as ConformanceAdapter | undefined;
  return (
    !!candidate &&
    (typeof candidate.createTransport === 'function' || typeof candidate.startRemoteCall === 'function') &&
    typeof candidate.createPeerSimulator === 'function'
  );
}

/**
 * Loads the adapters of a module: its `conformance` export, or its default export (or the default
 * export's `conformance`). A package with several wire dialects (presets) exports an array.
 */
export async function loadAdapters(specifier: string, from: string = process.cwd()): Promise<ConformanceAdapter[]> {
  const mod = (await import(resolveFrom(specifier, from))) as { conformance?: AdapterExport; default?: AdapterExport | { conformance?: AdapterExport } };
  const candidate: unknown = mod.conformance ?? (mod.default as { conformance?: AdapterExport })?.conformance ?? mod.default;
  const list = Array.isArray(candidate) ? (candidate as unknown[]) : [candidate];
  if (list.length === 0 || !list.every(isAdapter)) {
    throw new Error(
      `${specifier} does not export a conformance adapter (an object with createPeerSimulator and createTransport or startRemoteCall, or an array of them, as \`conformance\` or default)`,
    );
  }
  return list;
}

/** Loads a module's adapter; the first one when the module exports several. */
export async function loadAdapter(specifier: string, from: string = process.cwd()): Promise<ConformanceAdapter> {
  return (await loadAdapters(specifier, from))[0]!;
}

/**
 * Resolves a package name as the project in `from` sees it (not as this package does), preferring
 * the package's ESM entry; paths and URLs pass through.
 */
function resolveFrom(specifier: string, from: string): string {
  if (/^(file|node|data):/.test(specifier)) return specifier;
  const require = createRequire(join(from, 'package.json'));
  try {
    const manifestPath = require.resolve(`${specifier}/package.json`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      exports?: Record<string, unknown> | string;
      module?: string;
      main?: string;
    };
    const root = typeof manifest.exports === 'object' ? (manifest.exports['.'] ?? manifest.exports) : manifest.exports;
    const entry = esmEntry(root) ?? manifest.module ?? manifest.main;
    if (entry) return pathToFileURL(join(dirname(manifestPath), entry)).href;
  } catch {
    // Not a package name with a readable manifest: try plain resolution.
  }
  try {
    return pathToFileURL(require.resolve(specifier)).href;
  } catch {
    return specifier;
  }
}

function esmEntry(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (!target || typeof target !== 'object') return undefined;
  const conditions = target as Record<string, unknown>;
  for (const key of ['import', 'node', 'default']) {
    const found = esmEntry(conditions[key]);
    if (found) return found;
  }
  return undefined;
}
