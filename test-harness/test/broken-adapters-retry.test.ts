import { describe, expect, it } from 'vitest';
import { bundledTracesDir, loadTrace, runTrace, type TraceReport } from '@switchboard/conformance';
import { join } from 'node:path';
import { truncatesAtSentFor } from './fixtures/broken-adapters.js';

const status = (report: TraceReport, id: string) => report.outcomes.find((o) => o.id === id)?.status;

// The replays of a timing failure, apart from the other broken adapters: this one test replays a
// trace eight times, some at a fraction of the usual speed, and runs beside them in its own file.
describe('the checks catch broken adapters', () => {
  it('a failure of timing checks alone is replayed: a defect fails every time, a one-off failure only once', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'barge-in.jsonl'));
    const once = truncatesAtSentFor(1);
    const report = await runTrace(once, trace);
    expect(once.calls).toBe(2);
    const truncate = report.outcomes.find((o) => o.id === 'bargein.truncate')!;
    expect(truncate.status).toBe('pass');
    expect(truncate.detail).toMatch(/replay 2 of 2; earlier failures: replay 1: item .* truncated at/);
    // Two stalls in a row still pass on the third replay; a defect that lasts fails all three.
    const twice = truncatesAtSentFor(2);
    expect(status(await runTrace(twice, trace), 'bargein.truncate')).toBe('pass');
    expect(twice.calls).toBe(3);
    const always = truncatesAtSentFor(Infinity);
    const speeds: number[] = [];
    const failed = (await runTrace(always, trace, { onReplay: (result) => speeds.push(result.speed) })).outcomes.find(
      (o) => o.id === 'bargein.truncate',
    )!;
    expect(failed.status).toBe('fail');
    expect(failed.detail).toMatch(/replay 3 of 3; earlier failures: replay 1: .*; replay 2: /);
    expect(always.calls).toBe(3);
    // Each replay after the first runs at half the speed of the one before: a stall counts for less.
    expect(speeds).toEqual([5, 2.5, 1.25]);
    // With retries turned off, the first verdict stands; a number sets the replays in all.
    const strict = truncatesAtSentFor(1);
    expect(status(await runTrace(strict, trace, { retryTiming: false }), 'bargein.truncate')).toBe('fail');
    expect(strict.calls).toBe(1);
    const two = truncatesAtSentFor(2);
    expect(status(await runTrace(two, trace, { retryTiming: 2 }), 'bargein.truncate')).toBe('fail');
    expect(two.calls).toBe(2);
    await expect(runTrace(truncatesAtSentFor(1), trace, { retryTiming: 0 })).rejects.toThrow(RangeError);
  }, 600_000);
});
