import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { plan, weigh, type Kind, type Weighed } from './plan.js';

const file = (name: string, seconds: number, kind: Kind, index: number): Weighed<string> => ({
  spec: name,
  index,
  seconds,
  kind,
});

describe('the order of the test files', () => {
  const files = [
    ...Array.from({ length: 40 }, (_, i) => file(`unit-${i}`, 2, 'cpu', i)),
    file('cli', 30, 'cpu', 40),
    file('broken-adapters', 60, 'replay', 41),
    ...Array.from({ length: 10 }, (_, i) => file(`conformance-${i}`, 66, 'replay', 42 + i)),
    file('pack-install', 200, 'background', 52),
  ];

  it('holds every file once', () => {
    expect(
      plan(files)
        .map((f) => f.spec)
        .sort(),
    ).toEqual(files.map((f) => f.spec).sort());
  });

  it('starts the background file, then every replay longest first, then the other files longest first', () => {
    const order = plan(files).map((f) => f.spec);
    expect(order.slice(0, 12)).toEqual([
      'pack-install',
      ...Array.from({ length: 10 }, (_, i) => `conformance-${i}`),
      'broken-adapters',
    ]);
    expect(order[12]).toBe('cli');
    expect(order.slice(13)).toEqual(Array.from({ length: 40 }, (_, i) => `unit-${i}`));
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
