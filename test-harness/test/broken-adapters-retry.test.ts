import { describe, expect, it } from 'vitest';
import { bundledTracesDir, loadTrace, runTrace, type TraceReport } from '@switchboard/conformance';
import { join } from 'node:path';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { conformance } from '@switchboard/twilio/testing';
import { losesAudioMidCall, truncatesAtSentFor } from './fixtures/broken-adapters.js';

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
    expect(truncate.detail).toMatch(
      /replay 2 of 2; earlier failures: replay 1( \(replayer \d+ ms behind\))?: item .* truncated at/,
    );
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
    expect(failed.detail).toMatch(/replay 3 of 3; earlier failures: replay 1[^:]*: .*; replay 2[^:]*: /);
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

  it('any failure of a starved replay is replayed: the bridge never got the call the trace holds', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'barge-in.jsonl'));
    /**
     * Loses the model's audio after its first second (a defect no stall explains) on its first
     * `failing` calls, and on those holds the whole process `stallMs` once mid-call, so that the
     * replayer falls behind the trace's clock.
     */
    const losesAudioFor = (failing: number, stallMs: number): ConformanceAdapter & { calls: number } => {
      const adapter = {
        ...conformance,
        name: `twilio-starved-loses-audio-${failing}-${stallMs}`,
        calls: 0,
        createTransport: (options: Parameters<NonNullable<ConformanceAdapter['createTransport']>>[0]) => {
          if (adapter.calls++ >= failing) return conformance.createTransport!(options);
          const transport = losesAudioMidCall.createTransport!(options);
          // Mid-call, as the model's audio starts going out: the process is starved once.
          const socket = options.connection as unknown as { send: (...args: unknown[]) => void };
          const send = socket.send.bind(socket);
          let sent = 0;
          socket.send = (...args: unknown[]) => {
            if (++sent === 10) {
              const until = performance.now() + stallMs;
              while (performance.now() < until) {
                // Starved.
              }
            }
            send(...args);
          };
          return transport;
        },
      };
      return adapter;
    };
    const lossless = (report: TraceReport) => report.outcomes.find((o) => o.id === 'output.lossless')!;
    // Starved once: replayed, and the second replay's verdict stands, naming the first.
    const once = losesAudioFor(1, 400);
    const report = await runTrace(once, trace);
    expect(lossless(report).status).toBe('pass');
    // Replayed once (more only if the machine starved the good replays too).
    expect(once.calls).toBe(1 + report.earlier.length);
    expect(report.earlier[0]).toMatchObject({
      replay: 1,
      failed: expect.arrayContaining([expect.objectContaining({ id: 'output.lossless' })]),
    });
    expect(report.earlier[0]!.lagMs).toBeGreaterThanOrEqual(50);
    // A defect with no stall of its own is replayed only where the machine starved the replay,
    // and still fails: broken-adapters.test.ts ('a failure outside the timing checks ...').
  }, 600_000);
});
