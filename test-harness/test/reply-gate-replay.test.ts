import { describe, expect, it } from 'vitest';
import { bundledTracesDir, loadTrace, runTrace } from '@switchboard/conformance';
import { join } from 'node:path';
import { conformance as twilio } from '@switchboard/twilio/testing';

describe('a barge-in trace on a machine too slow for its timing', () => {
  it('still barges in: the caller waits for the reply before it speaks over it', async () => {
    // The model answers 2.5 s after the question, later than the caller's next utterance is due
    // (1.8 s after the question), as on a starved machine: the caller holds it until the reply
    // reaches the carrier, and the barge-in the trace declares happens. The model's delay is on the
    // replay's clock, so a slower replay (the timing checks' retry on a loaded machine) is as late:
    // without the gate every replay would miss the barge-in.
    const trace = await loadTrace(join(bundledTracesDir(), 'barge-in.jsonl'));
    const report = await runTrace(twilio, trace, { simulator: { responseLatencyMs: 2500 } });
    for (const id of ['bargein.clear', 'bargein.truncate']) {
      const outcome = report.outcomes.find((o) => o.id === id)!;
      expect(outcome.status, `${id}: ${outcome.detail}`).toBe('pass');
    }
    expect(report.outcomes.find((o) => o.id === 'input.lossless')!.status).toBe('pass');
  }, 120_000);
});
