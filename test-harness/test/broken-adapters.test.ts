import { describe, expect, it } from 'vitest';
import { STARVED_REPLAY_MS, bundledTracesDir, loadTrace, runTrace, type TraceReport } from '@switchboard/conformance';
import { join } from 'node:path';
import { conformance as twilio } from '@switchboard/twilio/testing';
import { conformance as vonage } from '@switchboard/vonage/testing';
import {
  claimsPacingButFloods,
  dropsEarlyMedia,
  ignoresFrameOrder,
  losesAudioMidCall,
  neverClears,
  truncatesAtSent,
} from './fixtures/broken-adapters.js';

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

  it('a failure outside the timing checks is not replayed, unless the machine starved the replay', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'early-media.jsonl'));
    let calls = 0;
    const counted = {
      ...dropsEarlyMedia,
      createTransport: (o: Parameters<NonNullable<typeof dropsEarlyMedia.createTransport>>[0]) => (
        calls++,
        dropsEarlyMedia.createTransport!(o)
      ),
    };
    const report = await runTrace(counted, trace);
    expect(status(report, 'input.lossless')).toBe('fail');
    // On a quiet machine, one replay; a replay the machine starved is replayed (see STARVED_REPLAY_MS).
    expect(calls).toBe(1 + report.earlier.length);
    for (const replay of report.earlier) expect(replay.lagMs).toBeGreaterThanOrEqual(STARVED_REPLAY_MS);
  }, 120_000);

  it('an adapter without a reorder window fails input.lossless on the out-of-order trace', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'out-of-order.jsonl'));
    const report = await runTrace(ignoresFrameOrder, trace);
    expect(status(report, 'input.lossless')).toBe('fail');
    expect(status(report, 'output.lossless')).toBe('pass');
  }, 120_000);

  it('an adapter that declares pacing but floods the carrier fails carrier.pacing on the long reply', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'long-reply-no-acks.jsonl'));
    const report = await runTrace(claimsPacingButFloods, trace);
    const pacing = report.outcomes.find((o) => o.id === 'carrier.pacing')!;
    expect(pacing.status).toBe('fail');
    expect(pacing.detail).toMatch(/more than the 1000 ms lead/);
    // Its own playout clock still truncates right without a single mark acknowledged.
    expect(status(report, 'bargein.truncate')).toBe('pass');
  }, 120_000);

  it('judges each barge-in on the audio of its own generation when the carrier echoes no marks', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'clear-without-echo.jsonl'));
    // A stall of a loaded machine can move a barge-in on the replay's clock: the timing checks get
    // their usual slower replays, and the last one is judged.
    const report = await runTrace(twilio, trace);
    const truncate = report.outcomes.find((o) => o.id === 'bargein.truncate')!;
    expect(truncate.status, truncate.detail).toBe('pass');
    expect(truncate.detail).toMatch(/over 2 truncation\(s\)/);
    expect(report.outcomes.find((o) => o.id === 'bargein.clear')!.detail).toMatch(/^2 barge-in\(s\)/);
  }, 120_000);

  it('an adapter that stops forwarding the model’s audio while the call goes on fails output.lossless', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'two-turn.jsonl'));
    const report = await runTrace(losesAudioMidCall, trace);
    const output = report.outcomes.find((o) => o.id === 'output.lossless')!;
    expect(output.status).toBe('fail');
    expect(output.detail).toMatch(/model sent \d+ bytes, carrier got \d+/);
  }, 120_000);

  it('a caller who hangs up during a paced reply is no loss: the rest of the reply is excused', async () => {
    // The model generates the long reply at once, the bridge holds all but a second of it, and the
    // caller sends its stop 4 s into it. In real time: at the usual replay speed those 4 s are under
    // a second, and a starved machine may not have generated the reply by then (then nothing is
    // held back, the carrier gets all the model sent, and there is nothing to excuse).
    const long = await loadTrace(join(bundledTracesDir(), 'long-reply-no-acks.jsonl'));
    const stop = long.frames.at(-1)!;
    const hungUp = {
      ...long,
      header: { ...long.header, hazards: ['long-reply', 'no-mark-acks'] },
      frames: [...long.frames.filter((f) => f.t <= 7000 && f.frame.event !== 'stop'), { t: 7000, frame: stop.frame }],
    };
    const report = await runTrace(vonage, hungUp, { retryTiming: false, speed: 1, simulator: { generationSpeed: 50 } });
    const output = report.outcomes.find((o) => o.id === 'output.lossless')!;
    expect(output.status, output.detail).toBe('pass');
    expect(output.detail).toMatch(/cut short by the end of the call/);
    expect(status(report, 'lifecycle.close')).toBe('pass');
  }, 120_000);
});
