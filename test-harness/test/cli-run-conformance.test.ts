// runConformance's options behind the CLI's --concurrency, --only and --skip.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { CHECKS, loadTraces, replayAndCheck, runConformance, selectTraces, type Trace } from '../src/index.js';
import { conformance as fixtures } from './fixtures/two-adapters.mjs';

const trace = (name: string) => fileURLToPath(new URL(`../traces/${name}.jsonl`, import.meta.url));
const adapter = fixtures[0]!;

async function shortTraces(): Promise<Trace[]> {
  return [...(await loadTraces(trace('no-stop'))), ...(await loadTraces(trace('dtmf')))];
}

describe('runConformance options', () => {
  it('replays `concurrency` traces at once and reports them in trace order', async () => {
    const traces = await shortTraces();
    let created = 0;
    const counted: ConformanceAdapter = {
      ...adapter,
      createTransport: (options) => (created++, adapter.createTransport!(options)),
    };
    const createdWhenChecked: number[] = [];
    const report = await runConformance(counted, traces, {
      concurrency: 2,
      only: ['input.lossless', 'dtmf.order'],
      onChecked: () => createdWhenChecked.push(created),
    });
    // Both calls were under way before the first one was checked.
    expect(createdWhenChecked[0]).toBe(2);
    expect(report.traces.map((t) => t.trace)).toEqual(['no-stop', 'dtmf']);
    expect(report.traces.map((t) => t.outcomes.map((o) => o.id))).toEqual([
      ['input.lossless', 'dtmf.order'],
      ['input.lossless', 'dtmf.order'],
    ]);
    expect(report.traces.every((t) => t.replays >= 1 && t.earlier.length === t.replays - 1)).toBe(true);
    expect(report.passed).toBe(true);
  }, 120_000);

  it('selects traces by name and leaves out skipped ones; refuses names that are neither a trace nor a check', async () => {
    const traces = await shortTraces();
    expect(selectTraces(traces, {}).map((t) => t.header.name)).toEqual(['no-stop', 'dtmf']);
    expect(selectTraces(traces, { only: ['dtmf', 'dtmf.order'] }).map((t) => t.header.name)).toEqual(['dtmf']);
    expect(selectTraces(traces, { only: ['dtmf.order'] }).map((t) => t.header.name)).toEqual(['no-stop', 'dtmf']);
    expect(selectTraces(traces, { skip: ['dtmf'] }).map((t) => t.header.name)).toEqual(['no-stop']);
    expect(() => selectTraces(traces, { skip: ['dtmf-order'] })).toThrow(ConfigError);
    expect(() => selectTraces(traces, { only: ['nope'] })).toThrow(
      /only: unknown trace or check "nope"; traces: no-stop, dtmf; checks: input\.lossless, /,
    );
    let disposed = false;
    await expect(
      runConformance({ ...adapter, dispose: async () => void (disposed = true) }, traces, { only: ['nope'] }),
    ).rejects.toThrow(ConfigError);
    expect(disposed).toBe(true);
    await expect(runConformance(adapter, traces, { concurrency: 0 })).rejects.toThrow(
      /concurrency must be a whole number >= 1/,
    );
  });

  it('leaves replayAndCheck reporting every check (describeConformance looks each one up)', async () => {
    const [dtmf] = await loadTraces(trace('dtmf'));
    const checked = await replayAndCheck(adapter, dtmf!, { only: ['dtmf'], skip: ['dtmf.order'] });
    expect(checked.outcomes.map((o) => o.check.id)).toEqual(CHECKS.map((c) => c.id));
  }, 120_000);
});
