import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformance } from '@switchboard/twilio/testing';
import {
  CHECKS,
  DEFAULT_CHECK_OPTIONS,
  bundledTracesDir,
  loadTrace,
  replayTrace,
  type ReplayResult,
} from '@switchboard/conformance';

const check = (result: ReplayResult) =>
  CHECKS.find((c) => c.id === 'metadata.first')!.run(result, DEFAULT_CHECK_OPTIONS);

describe('metadata.first on a bridge in another process', () => {
  it('allows its whole-millisecond clock one real millisecond, and a bridge in this process none', async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'dtmf.jsonl'));
    const result = await replayTrace(conformance, trace, { injectMalformed: false });
    expect(check(result).status).toBe('pass');
    const audioAt = result.firstModelAudioAt!;
    expect(audioAt).toBeDefined();
    /** The same call, its call_start stamped `afterMs` after the first audio reached the model. */
    const stamped = (afterMs: number, remote: boolean): ReplayResult => ({
      ...result,
      ...(remote ? { remoteBridge: true as const } : {}),
      emitted: result.emitted.map((e) => (e.name === 'call_start' ? { ...e, at: audioAt + afterMs } : e)),
    });
    // At 5×, a real millisecond is 5 stream ms.
    expect(result.speed).toBe(5);
    expect(check(stamped(4, true)).status).toBe('pass');
    expect(check(stamped(6, true))).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/came 6\.0 ms after/),
    });
    expect(check(stamped(1, false))).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/came 1\.0 ms after/),
    });
  }, 120_000);
});
