import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { plan, weigh, type Kind, type Weighed } from './plan.js';

const file = (name: string, seconds: number, kind: Kind, index: number): Weighed<string> => ({
  spec: name,
  index,
  seconds,
  kind,
});

/** Plays an order through `workers` workers that each take the next file when free; when each file starts. */
function starts(order: Array<Weighed<string>>, workers: number): Map<string, number> {
  const running: Array<{ end: number; kind: Kind }> = [];
  const at = new Map<string, number>();
  let now = 0;
  for (const f of order) {
    if (running.length >= workers) {
      running.sort((a, b) => a.end - b.end);
      now = running.shift()!.end;
    }
    at.set(f.spec, now);
    running.push({ end: now + f.seconds, kind: f.kind });
  }
  return at;
}

describe('the order of the test files', () => {
  const files = [
    ...Array.from({ length: 40 }, (_, i) => file(`unit-${i}`, 2, 'cpu', i)),
    file('cli', 30, 'cpu', 40),
    ...Array.from({ length: 10 }, (_, i) => file(`conformance-${i}`, 66, 'replay', 41 + i)),
    file('pack-install', 200, 'background', 51),
  ];

  it('holds every file once', () => {
    const order = plan(files, 7, 4);
    expect(order.map((f) => f.spec).sort()).toEqual(files.map((f) => f.spec).sort());
  });

  it('starts the background file and as many replays as allowed first, then the longest other files', () => {
    const order = plan(files, 7, 4).map((f) => f.spec);
    expect(order.slice(0, 5)).toEqual([
      'pack-install',
      'conformance-0',
      'conformance-1',
      'conformance-2',
      'conformance-3',
    ]);
    expect(order[5]).toBe('cli');
  });

  it('runs no more replays at once than allowed while other files wait, and the rest once they are all started', () => {
    const workers = 7;
    const order = plan(files, workers, 4);
    const at = starts(order, workers);
    const lastOther = Math.max(...files.filter((f) => f.kind === 'cpu').map((f) => at.get(f.spec)!));
    for (const moment of new Set(at.values())) {
      if (moment >= lastOther) continue;
      const replaysRunning = files.filter(
        (f) => f.kind === 'replay' && at.get(f.spec)! <= moment && moment < at.get(f.spec)! + f.seconds,
      );
      expect(replaysRunning.length, `at ${moment} s`).toBeLessThanOrEqual(4);
    }
    // The other files run beside the replays: all of them start before the replays are done.
    const replaysEnd = Math.max(...files.filter((f) => f.kind === 'replay').map((f) => at.get(f.spec)! + f.seconds));
    expect(lastOther).toBeLessThan(replaysEnd);
  });

  it('knows the conformance files and the npm install as what they are, and other files as using the CPU', () => {
    const root = new URL('../', import.meta.url);
    expect(weigh(new URL('packages/telnyx/test/conformance.test.ts', root).pathname).kind).toBe('replay');
    expect(weigh(new URL('interop/test/pack-install.test.ts', root).pathname).kind).toBe('background');
    expect(weigh(new URL('test/plan.test.ts', root).pathname)).toEqual({ seconds: 2, kind: 'cpu' });
  });

  it('runs this file, one that uses the CPU, at a lower CPU priority (test/setup-priority.ts)', () => {
    expect(getPriority()).toBeGreaterThanOrEqual(5);
  });
});
