import { ConfigError } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { CHECKS, runChecks, type CheckOptions, type CheckOutcome } from './checks.js';
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
  /** How many times the trace was replayed (more than one when only timing checks failed). */
  replays: number;
  /**
   * The failures of each replay before the last (timing checks only, or any of a starved replay,
   * with `lagMs`: see {@link STARVED_REPLAY_MS}), in order.
   */
  earlier: Array<{ replay: number; failed: Array<{ id: string; detail: string }>; lagMs?: number }>;
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
  /**
   * `runConformance`: trace names and check ids to run, and no others: a trace name narrows the
   * traces, a check id the checks (left out of the report). Default: everything. A name that is
   * neither is refused (a `ConfigError` listing the known ones).
   */
  only?: readonly string[];
  /** `runConformance`: trace names and check ids to leave out (after `only`). Default: none. */
  skip?: readonly string[];
  /**
   * `runConformance`: how many replays (traces, or trace × turn-detection mode) run at once.
   * Default 1. The report keeps the traces' order whatever the concurrency.
   */
  concurrency?: number;
  /** `runConformance`: called with each trace's checked replay, in the order they finish. */
  onChecked?: (report: TraceReport, checked: CheckedReplay, trace: Trace) => void;
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
 * How far behind the trace's clock the replayer's sending may fall (real ms) before the replay
 * counts as starved: the bridge was not given the call the trace holds (the caller's audio went out
 * late, then in a burst), so any failure of it is replayed again, as a timing check's is.
 */
export const STARVED_REPLAY_MS = 50;

/** How far, in real ms, the replayer's sending fell behind the trace's clock. */
export function replayerLagMs(result: Pick<ReplayResult, 'carrier' | 'speed'>): number {
  return result.carrier.maxBehindMs / result.speed;
}

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
  /**
   * The failures of each replay before the last, in order: timing checks only, or any check of a
   * starved replay (`lagMs`: how far the replayer fell behind, real ms; see {@link STARVED_REPLAY_MS}).
   */
  earlier: Array<{ replay: number; failed: Array<{ id: string; detail: string }>; lagMs?: number }>;
};

function replayLimit(retry: RunConformanceOptions['retryTiming']): number {
  if (retry === false) return 1;
  if (retry === undefined || retry === true) return TIMING_REPLAYS;
  if (!Number.isInteger(retry) || retry < 1)
    throw new RangeError(`retryTiming must be a boolean or a whole number of replays >= 1, got ${retry}`);
  return retry;
}

/**
 * Replays a trace and runs every check. While the only failures are timing checks, or the replay
 * was starved (the replayer fell {@link STARVED_REPLAY_MS} or more behind the trace's clock, so the
 * bridge never got the call the trace holds), the trace is replayed again, up to
 * {@link TIMING_REPLAYS} times in all, each time slower (see {@link retrySpeed}), and the last
 * replay's verdict stands, its detail naming the earlier failures: a defect fails every time, a
 * stall of the loaded machine seldom does twice in a row, less so at a lower speed. Any other
 * failure ends the replays at once.
 */
export async function replayAndCheck(
  adapter: ConformanceAdapter,
  trace: Trace,
  options: RunConformanceOptions = {},
): Promise<CheckedReplay> {
  return checkedReplay(adapter, trace, options, () => true);
}

/** {@link replayAndCheck} with only the checks `keep` selects: the others are neither reported nor retried for. */
async function checkedReplay(
  adapter: ConformanceAdapter,
  trace: Trace,
  options: RunConformanceOptions,
  keep: (id: string) => boolean,
): Promise<CheckedReplay> {
  const limit = replayLimit(options.retryTiming);
  const base = options.speed ?? DEFAULT_SPEED;
  const once = async (replay: number) => {
    const result = await replayTrace(adapter, trace, { ...options, speed: retrySpeed(base, replay) });
    options.onReplay?.(result);
    return { result, outcomes: runChecks(result, options.checks).filter((o) => keep(o.check.id)) };
  };
  const earlier: { replay: number; failed: ReturnType<typeof runChecks>; lagMs?: number }[] = [];
  let replay = await once(1);
  let replays = 1;
  for (;;) {
    const failed = replay.outcomes.filter((o) => o.outcome.status === 'fail');
    if (replays >= limit || failed.length === 0) break;
    const lagMs = replayerLagMs(replay.result);
    const starved = lagMs >= STARVED_REPLAY_MS;
    if (!starved && !failed.every((o) => TIMING_CHECKS.has(o.check.id))) break;
    earlier.push({ replay: replays, failed, ...(starved ? { lagMs: Math.round(lagMs) } : {}) });
    replays++;
    replay = await once(replays);
  }
  const earlierFailures = earlier.map(({ replay: n, failed, lagMs }) => ({
    replay: n,
    failed: failed.map((o) => ({ id: o.check.id, detail: o.outcome.detail })),
    ...(lagMs !== undefined ? { lagMs } : {}),
  }));
  if (earlier.length === 0) return { ...replay, replays, earlier: earlierFailures };
  const outcomes = replay.outcomes.map(({ check, outcome }) => {
    const before = earlier.flatMap(({ replay: n, failed, lagMs }) =>
      failed
        .filter((o) => o.check.id === check.id)
        .map((o) => `replay ${n}${lagMs === undefined ? '' : ` (replayer ${lagMs} ms behind)`}: ${o.outcome.detail}`),
    );
    if (before.length === 0) return { check, outcome };
    return {
      check,
      outcome: {
        ...outcome,
        detail: `${outcome.detail} (replay ${replays} of ${replays}; earlier failures: ${before.join('; ')})`.trim(),
      },
    };
  });
  return { result: replay.result, outcomes, replays, earlier: earlierFailures };
}

/** The ids of the checks a run selects with `only` and `skip` (names that are not check ids are trace names). */
function checkSelection(options: Pick<RunConformanceOptions, 'only' | 'skip'>): (id: string) => boolean {
  const ids = new Set(CHECKS.map((c) => c.id));
  const only = (options.only ?? []).filter((name) => ids.has(name));
  const skip = new Set(options.skip ?? []);
  return (id) => (only.length === 0 || only.includes(id)) && !skip.has(id);
}

function traceReport(trace: Trace, checked: CheckedReplay): TraceReport {
  const { result, outcomes } = checked;
  return {
    trace: trace.header.name,
    turnDetection: result.turnDetection,
    ...(result.sessionTurnDetection ? { sessionTurnDetection: result.sessionTurnDetection } : {}),
    outcomes: outcomes.map(({ check, outcome }) => ({ id: check.id, title: check.title, ...outcome })),
    metrics: result.metrics,
    durationMs: result.durationMs,
    replays: checked.replays,
    earlier: checked.earlier,
  };
}

export async function runTrace(
  adapter: ConformanceAdapter,
  trace: Trace,
  options: RunConformanceOptions = {},
): Promise<TraceReport> {
  return traceReport(trace, await replayAndCheck(adapter, trace, options));
}

/**
 * The traces `only` and `skip` select (names that are not trace names are check ids). Throws a
 * `ConfigError` for a name that is neither a trace's name nor a check's id, listing both.
 */
export function selectTraces(traces: readonly Trace[], options: Pick<RunConformanceOptions, 'only' | 'skip'>): Trace[] {
  const traceNames = [...new Set(traces.map((t) => t.header.name))];
  const checkIds = CHECKS.map((c) => c.id);
  for (const [flag, names] of [
    ['only', options.only],
    ['skip', options.skip],
  ] as const) {
    const unknown = (names ?? []).filter((name) => !traceNames.includes(name) && !checkIds.includes(name));
    if (unknown.length > 0) {
      throw new ConfigError(
        `${flag}: unknown trace or check ${unknown.map((n) => JSON.stringify(n)).join(', ')}; traces: ${traceNames.join(', ') || '(none)'}; checks: ${checkIds.join(', ')}`,
      );
    }
  }
  const only = (options.only ?? []).filter((name) => traceNames.includes(name));
  const skip = new Set(options.skip ?? []);
  return traces.filter((t) => (only.length === 0 || only.includes(t.header.name)) && !skip.has(t.header.name));
}

/**
 * Runs `jobs` with at most `limit` at once; the results keep the jobs' order. After a job throws,
 * no new job starts, and the error is thrown once the jobs under way have settled.
 */
async function pool<T>(jobs: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < jobs.length) {
      const index = next++;
      try {
        results[index] = await jobs[index]!();
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(Math.max(1, limit), jobs.length) }, worker));
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
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
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new ConfigError(`concurrency must be a whole number >= 1, got ${concurrency}`);
  let reports: TraceReport[];
  const selection = options.turnDetectionModes ?? options.turnDetection ?? 'rotate';
  // The rotation of turn-detection modes goes by the whole corpus, so a trace keeps its mode when `only` leaves out
  // others.
  const names = traces.map((t) => t.header.name);
  try {
    const selected = selectTraces(traces, options);
    const keep = checkSelection(options);
    const jobs = selected.flatMap((trace) =>
      turnDetectionModes(selection, adapter.name, trace.header.name, names).map((mode) => async () => {
        const checked = await checkedReplay(adapter, trace, { ...options, turnDetection: mode }, keep);
        const report = traceReport(trace, checked);
        options.onChecked?.(report, checked, trace);
        return report;
      }),
    );
    reports = await pool(jobs, concurrency);
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
  const mode = (t: TraceReport) =>
    t.sessionTurnDetection && t.sessionTurnDetection !== t.turnDetection
      ? `${t.sessionTurnDetection} (asked ${t.turnDetection})`
      : t.turnDetection;
  const rows = report.traces.map((t) => [t.trace, ...t.outcomes.map((o) => MARK[o.status]), mode(t)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const out = [
    `adapter: ${report.adapter}   speed: ${report.speed}x`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  const failures = report.traces.flatMap((t) =>
    t.outcomes
      .filter((o) => o.status === 'fail')
      .map((o) => `  ${t.trace} / ${o.id} [${t.turnDetection}]: ${o.detail}`),
  );
  out.push('');
  const replays =
    new Set(report.traces.map((t) => t.trace)).size === report.traces.length
      ? ''
      : ` (${report.traces.length} replays)`;
  out.push(
    failures.length === 0
      ? `all checks passed on ${new Set(report.traces.map((t) => t.trace)).size} trace(s)${replays}`
      : `${failures.length} failure(s):\n${failures.join('\n')}`,
  );
  return out.join('\n');
}

export { isAdapter, loadAdapter, loadAdapters } from './load-adapter.js';
