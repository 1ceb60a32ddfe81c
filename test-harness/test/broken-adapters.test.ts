import { describe, expect, it } from 'vitest';
import { bundledTracesDir, loadTrace, runTrace, type TraceReport } from '@switchboard/conformance';
import { join } from 'node:path';
import { dropsEarlyMedia, neverClears, truncatesAtSent } from './fixtures/broken-adapters.js';

const status = (report: TraceReport, id: string) => report.outcomes.find((o) => o.id === id)?.status;

describe('the checks catch broken adapters', () => {
  it('an adapter that never sends clear fails the barge-in check', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'barge-in.jsonl'));
    const report = await runTrace(neverClears, trace);
    expect(status(report, 'bargein.clear')).toBe('fail');
    // What it does right still passes.
    expect(status(report, 'input.lossless')).toBe('pass');
    expect(status(report, 'metadata.first')).toBe('pass');
  }, 120_000);

  it('an adapter that drops early media fails input.lossless on the early-media trace', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'early-media.jsonl'));
    const report = await runTrace(dropsEarlyMedia, trace);
    expect(status(report, 'input.lossless')).toBe('fail');
  }, 120_000);

  it('an adapter that truncates at the audio sent instead of heard fails bargein.truncate', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'barge-in.jsonl'));
    const report = await runTrace(truncatesAtSent, trace);
    expect(status(report, 'bargein.truncate')).toBe('fail');
    expect(status(report, 'bargein.clear')).toBe('pass');
  }, 120_000);
});
