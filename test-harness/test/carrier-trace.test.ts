import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TelnyxMediaStreamProtocol } from '@switchboard/telnyx';
import { conformance as telnyx } from '@switchboard/telnyx/testing';
import { conformance as twilio } from '@switchboard/twilio/testing';
import { replayAndCheck } from '../src/run.js';
import { loadTrace, traceExpect, traceHazards } from '../src/trace.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'telnyx-capture.jsonl.gz');

describe('a trace recorded in Telnyx frames', () => {
  it('is read from gzip, and its facts come from the Telnyx protocol', async () => {
    const trace = await loadTrace(FIXTURE);
    expect(trace.header.carrier).toBe('telnyx');
    const facts = traceExpect(trace, { protocol: new TelnyxMediaStreamProtocol() });
    expect(facts.streamSids).toEqual(['32de0dea-53cb-4b21-89a4-9e1819c043bc']);
    expect(facts.customParameters).toEqual({ customer_id: 'customer_123' });
    expect(facts.dtmf).toEqual(['5']);
    expect(facts.utterances.length).toBe(1);
    expect(traceHazards(trace)).toEqual(expect.arrayContaining(['dtmf', 'out-of-order']));
  });

  it('replays frame for frame through the Telnyx adapter, and is n/a for every check through Twilio', async () => {
    const trace = await loadTrace(FIXTURE);
    const [own, other] = await Promise.all([replayAndCheck(telnyx, trace), replayAndCheck(twilio, trace)]);
    expect(own.result.failures).toEqual([]);
    expect(
      own.outcomes.filter((o) => o.outcome.status === 'fail').map((o) => `${o.check.id}: ${o.outcome.detail}`),
    ).toEqual([]);
    const status = Object.fromEntries(own.outcomes.map((o) => [o.check.id, o.outcome.status]));
    expect(status).toMatchObject({
      'input.lossless': 'pass',
      'metadata.first': 'pass',
      'dtmf.order': 'pass',
      'lifecycle.close': 'pass',
    });
    // The bridge got the recorded frames themselves, out of order as Telnyx delivered them.
    expect(own.result.carrier.framesSent).toBe(trace.frames.length);

    expect(other.result.notReplayed).toBe('a telnyx trace');
    expect(other.outcomes.map((o) => o.outcome)).toEqual(
      other.outcomes.map(() => ({ status: 'n/a', detail: 'a telnyx trace' })),
    );
  }, 120_000);
});
