import { afterAll, expect } from 'vitest';
import type { RunnerTask } from 'vitest';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { conformance as twilio } from '@switchboard/twilio/testing';
import { describeConformance } from '@switchboard/conformance/vitest';

// describeConformance reports a check that is n/a as skipped, with its reason, not as passed: here
// a Twilio adapter that declares no DTMF in, on a call without a barge-in.

const adapter: ConformanceAdapter = {
  ...twilio,
  name: 'twilio without dtmf in',
  capabilities: { ...twilio.capabilities, dtmfIn: false },
};
describeConformance(adapter, { only: ['no-stop'], turnDetectionModes: 'server_vad' });

function tests(task: RunnerTask): RunnerTask[] {
  return 'tasks' in task ? task.tasks.flatMap(tests) : [task];
}

// vitest reads the first parameter's pattern for fixtures: it must be a (here empty) destructuring.
// eslint-disable-next-line no-empty-pattern
afterAll(({}, suite) => {
  const all = tests(suite as RunnerTask);
  // The suite's filters (SWITCHBOARD_CONFORMANCE_TRACES, ..._ADAPTERS) may leave the trace out.
  if (!all.some((t) => t.name.startsWith('dtmf.order'))) return;
  const result = (id: string) => all.find((t) => t.name.startsWith(`${id}:`))?.result;
  expect(result('dtmf.order')).toMatchObject({ state: 'skip', note: 'n/a: the adapter declares dtmfIn: false' });
  expect(result('bargein.clear')).toMatchObject({ state: 'skip', note: 'n/a: no barge-in in this call' });
  expect(result('input.lossless')?.state).toBe('pass');
});
