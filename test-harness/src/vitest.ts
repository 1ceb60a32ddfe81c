/**
 * `describeConformance()`: the conformance checks as a vitest suite, one `describe` per trace and
 * one `it` per check. An adapter's own tests call it with the adapter's `conformance` export.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConformanceAdapter } from '@switchboard/core';
import { CHECKS, type runChecks } from './checks.js';
import { bundledTracesDir, loadTraces, type Trace } from './trace.js';
import { replayAndCheck, type RunConformanceOptions } from './run.js';

export type DescribeConformanceOptions = RunConformanceOptions & {
  /** Trace files or directories; default: the bundled corpus. */
  traces?: string | string[];
  /** Only these trace names. */
  only?: string[];
  /** How many traces replay at once. Default 3. */
  concurrency?: number;
};

/**
 * The conformance suite for an adapter, or for each of several (a package's presets). Traces of
 * all adapters share one concurrency limit.
 */
export function describeConformance(adapter: ConformanceAdapter | readonly ConformanceAdapter[], options: DescribeConformanceOptions = {}): void {
  const adapters = Array.isArray(adapter) ? (adapter as readonly ConformanceAdapter[]) : [adapter as ConformanceAdapter];
  const limit = Math.max(1, options.concurrency ?? 3);
  let running = 0;
  const queue: Array<() => void> = [];
  const slot = () => (running < limit ? (running++, Promise.resolve()) : new Promise<void>((resolve) => queue.push(() => (running++, resolve()))));
  const release = () => {
    running--;
    queue.shift()?.();
  };
  for (const one of adapters) describeOne(one, options, slot, release);
}

function describeOne(adapter: ConformanceAdapter, options: DescribeConformanceOptions, slot: () => Promise<void>, release: () => void): void {
  const sources = options.traces === undefined ? [bundledTracesDir()] : Array.isArray(options.traces) ? options.traces : [options.traces];
  describe(`conformance: ${adapter.name}`, async () => {
    const traces: Trace[] = [];
    for (const source of sources) traces.push(...(await loadTraces(source)));
    const selected = options.only ? traces.filter((t) => options.only!.includes(t.header.name)) : traces;
    // Traces replay a few at a time (each has its own simulator and bridge), longest first; every
    // check awaits its trace. More at once would crowd the event loop and blur the timing checks.
    const replays = new Map<string, Promise<ReturnType<typeof runChecks>>>();
    const replayOf = (trace: Trace) => {
      let pending = replays.get(trace.header.name);
      if (!pending) {
        pending = slot()
          .then(() => replayAndCheck(adapter, trace, options))
          .then(({ outcomes }) => outcomes)
          .finally(release);
        replays.set(trace.header.name, pending);
      }
      return pending;
    };
    afterAll(async () => {
      await adapter.dispose?.();
    }, 60_000);
    beforeAll(() => {
      const longestFirst = [...selected].sort((a, b) => b.header.expect.durationMs - a.header.expect.durationMs);
      for (const trace of longestFirst) void replayOf(trace).catch(() => undefined);
    });
    for (const trace of selected) {
      describe(trace.header.name, () => {
        for (const check of CHECKS) {
          it(`${check.id}: ${check.title}`, async () => {
            const outcomes = await replayOf(trace);
            const outcome = outcomes.find((o) => o.check.id === check.id)!.outcome;
            expect(outcome.status, outcome.detail).not.toBe('fail');
          }, 600_000);
        }
      });
    }
  });
}
