/**
 * `describeConformance()`: the conformance checks as a vitest suite, one `describe` per trace and
 * one `it` per check. An adapter's own tests call it with the adapter's `conformance` export.
 *
 * Each trace replays under one turn detection (see `turn-detection.ts`): by default the modes
 * rotate across the traces, the mode named in the suite (`barge-in [semantic_vad]`).
 *
 * Environment variables serve runs of many suites at once (the repository's stress run):
 * `SWITCHBOARD_CONFORMANCE_TRACES` and `SWITCHBOARD_CONFORMANCE_ADAPTERS` (comma-separated names)
 * narrow the suite to those traces and adapters; `SWITCHBOARD_CONFORMANCE_TURN_DETECTION` picks the
 * modes (`rotate`, `all`, or one mode for every trace); `SWITCHBOARD_CONFORMANCE_REPORT` names a
 * file to which one JSON line per replayed trace and mode is appended once its checks ran (see
 * {@link ConformanceReportLine}).
 */
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { CHECKS, type runChecks } from './checks.js';
import { bundledTracesDir, loadTraces, traceExpect, type Trace } from './trace.js';
import { DEFAULT_SPEED } from './replay.js';
import { replayAndCheck, type RunConformanceOptions } from './run.js';
import {
  turnDetectionFromEnv,
  turnDetectionModes,
  type TurnDetectionMode,
  type TurnDetectionSelection,
} from './turn-detection.js';

export type DescribeConformanceOptions = RunConformanceOptions & {
  /** Trace files or directories; default: the bundled corpus. */
  traces?: string | string[];
  /** Only these trace names. */
  only?: string[];
  /** How many traces replay at once. Default 3. */
  concurrency?: number;
  /**
   * The replay speed of each trace (1 is real time), where traces need different speeds. Default:
   * `speed` (5×) for every trace. Each replay after the first of a trace whose only failures are
   * timing checks runs at half the speed of the one before (see `retrySpeed`).
   */
  traceSpeed?: (trace: Trace) => number;
  /**
   * The turn detection of the replays: `rotate` (the default: one mode per trace, rotated), `all`
   * (every trace in every mode: three times the replays), or one mode for every trace.
   * `SWITCHBOARD_CONFORMANCE_TURN_DETECTION` overrides it.
   */
  turnDetectionModes?: TurnDetectionSelection;
};

/** One line of the `SWITCHBOARD_CONFORMANCE_REPORT` file: how one trace went for one adapter. */
export type ConformanceReportLine = {
  adapter: string;
  trace: string;
  /** The turn detection the replays asked for, and the one the session set up (when it differs). */
  turnDetection: TurnDetectionMode;
  sessionTurnDetection?: TurnDetectionMode;
  /** The speed of the trace's first replay (see `traceSpeed`). */
  speed: number;
  /** Replays in all (more than one when only timing checks failed, see `replayAndCheck`). */
  replays: number;
  /** The checks failed by the last replay, with their detail. */
  failed: Array<{ id: string; detail: string }>;
  /** The failures of the replays before it. */
  earlier: Array<{ replay: number; failed: Array<{ id: string; detail: string }>; lagMs?: number }>;
  /** Wall time of all its replays, ms; stream time of the last one, ms. */
  wallMs: number;
  streamMs: number;
  /** The transport's metrics after the last replay, when it exposes them. */
  metrics?: Record<string, unknown>;
};

/** A comma-separated list from the environment, or undefined when the variable is unset or empty. */
function envList(name: string): string[] | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env[name];
  const list = value
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return list && list.length > 0 ? list : undefined;
}

function report(line: ConformanceReportLine): void {
  const file = process.env.SWITCHBOARD_CONFORMANCE_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/**
 * The conformance suite for an adapter, or for each of several (a package's presets). Traces of
 * all adapters share one concurrency limit.
 */
export function describeConformance(
  adapter: ConformanceAdapter | readonly ConformanceAdapter[],
  options: DescribeConformanceOptions = {},
): void {
  const adapters = Array.isArray(adapter)
    ? (adapter as readonly ConformanceAdapter[])
    : [adapter as ConformanceAdapter];
  const limit = Math.max(1, options.concurrency ?? 3);
  let running = 0;
  const queue: Array<() => void> = [];
  const slot = () =>
    running < limit
      ? (running++, Promise.resolve())
      : new Promise<void>((resolve) => queue.push(() => (running++, resolve())));
  const release = () => {
    running--;
    queue.shift()?.();
  };
  const { speed } = options;
  const traceSpeed = options.traceSpeed ?? (() => speed ?? DEFAULT_SPEED);
  const only = envList('SWITCHBOARD_CONFORMANCE_ADAPTERS');
  for (const one of adapters) {
    if (only && !only.includes(one.name))
      describe.skip(`conformance: ${one.name}`, () => it('not selected', () => undefined));
    else describeOne(one, options, traceSpeed, slot, release);
  }
}

function describeOne(
  adapter: ConformanceAdapter,
  options: DescribeConformanceOptions,
  traceSpeed: (trace: Trace) => number,
  slot: () => Promise<void>,
  release: () => void,
): void {
  const sources =
    options.traces === undefined
      ? [bundledTracesDir()]
      : Array.isArray(options.traces)
        ? options.traces
        : [options.traces];
  describe(`conformance: ${adapter.name}`, async () => {
    const traces: Trace[] = [];
    for (const source of sources) traces.push(...(await loadTraces(source)));
    const fromEnv = envList('SWITCHBOARD_CONFORMANCE_TRACES');
    const selected = traces.filter(
      (t) => (!options.only || options.only.includes(t.header.name)) && (!fromEnv || fromEnv.includes(t.header.name)),
    );
    // Modes rotate over the whole corpus, so that a filter leaves each trace its mode.
    const selection = turnDetectionFromEnv() ?? options.turnDetectionModes ?? 'rotate';
    const names = traces.map((t) => t.header.name);
    // Traces replay a few at a time (each has its own simulator and bridge), longest first; every
    // check awaits its trace. More at once would crowd the event loop and blur the timing checks.
    const replays = new Map<string, Promise<ReturnType<typeof runChecks>>>();
    const replayOf = (trace: Trace, mode: TurnDetectionMode) => {
      const key = `${trace.header.name}\u0000${mode}`;
      let pending = replays.get(key);
      if (!pending) {
        pending = slot()
          .then(async () => {
            const started = performance.now();
            const speed = traceSpeed(trace);
            let checked: Awaited<ReturnType<typeof replayAndCheck>>;
            try {
              checked = await replayAndCheck(adapter, trace, { ...options, speed, turnDetection: mode });
            } catch (error) {
              const detail = `the replay failed: ${(error as Error)?.message ?? String(error)}`;
              report({
                adapter: adapter.name,
                trace: trace.header.name,
                turnDetection: mode,
                speed,
                replays: 1,
                failed: [{ id: 'replay', detail }],
                earlier: [],
                wallMs: Math.round(performance.now() - started),
                streamMs: 0,
              });
              throw error;
            }
            // A starved replay's failures are replayed away when the next replay passes: they are
            // said here, so that a run on a busy machine still shows what a stall did.
            for (const { replay, failed, lagMs } of checked.earlier) {
              if (lagMs === undefined) continue;
              const what = failed.map((f) => `${f.id}: ${f.detail}`).join('; ');
              console.warn(
                `${adapter.name} × ${trace.header.name} [${mode}]: replay ${replay} starved (replayer ${lagMs} ms behind), replayed again; it failed ${what}`,
              );
            }
            const session = checked.result.sessionTurnDetection;
            report({
              adapter: adapter.name,
              trace: trace.header.name,
              turnDetection: mode,
              ...(session && session !== mode ? { sessionTurnDetection: session } : {}),
              speed,
              replays: checked.replays,
              failed: checked.outcomes
                .filter((o) => o.outcome.status === 'fail')
                .map((o) => ({ id: o.check.id, detail: o.outcome.detail })),
              earlier: checked.earlier,
              wallMs: Math.round(performance.now() - started),
              streamMs: Math.round(checked.result.durationMs),
              ...(checked.result.metrics ? { metrics: checked.result.metrics } : {}),
            });
            return checked.outcomes;
          })
          .finally(release);
        replays.set(key, pending);
      }
      return pending;
    };
    afterAll(async () => {
      await adapter.dispose?.();
    }, 60_000);
    const runs = selected.flatMap((trace) =>
      turnDetectionModes(selection, adapter.name, trace.header.name, names).map((mode) => ({ trace, mode })),
    );
    beforeAll(() => {
      const longestFirst = [...runs].sort((a, b) => traceExpect(b.trace).durationMs - traceExpect(a.trace).durationMs);
      for (const { trace, mode } of longestFirst) void replayOf(trace, mode).catch(() => undefined);
    });
    // A file whose every trace was filtered out still holds a test, so that vitest reports it as skipped.
    if (runs.length === 0) it.skip('no selected trace', () => undefined);
    for (const { trace, mode } of runs) {
      describe(`${trace.header.name} [${mode}]`, () => {
        for (const check of CHECKS) {
          it(`${check.id}: ${check.title}`, async (context) => {
            const outcomes = await replayOf(trace, mode);
            const outcome = outcomes.find((o) => o.check.id === check.id)!.outcome;
            // A check the trace or the adapter's capabilities do not exercise proves nothing: skipped, not passed.
            if (outcome.status === 'n/a') context.skip(`n/a: ${outcome.detail}`);
            expect(outcome.status, outcome.detail).not.toBe('fail');
          }, 600_000);
        }
      });
    }
  });
}
