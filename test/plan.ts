/**
 * The order in which vitest runs the test files, and what each file is (vitest.config.ts's
 * sequencer and test/setup-priority.ts read it). The suite's length is set by the files that
 * replay the conformance corpus (a minute each, mostly waiting on the replay's clock): they start
 * first, four at a time, and the files that use the CPU follow, at a lower CPU priority, while
 * the static checks of the test command use the CPU the replays leave.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * What a file mostly does while it runs. A `replay` file waits on calls replayed faster than real
 * time (a conformance file keeps a core about 25 % busy for a minute); `background` work runs in
 * child processes at a lower CPU priority and holds its worker only to wait for them; every other
 * file uses the CPU most of the time it runs.
 */
export type Kind = 'replay' | 'background' | 'cpu';

/**
 * Seconds a test file takes on a busy 2-core machine, roughly, for the files that take long
 * (from the JSON report of a whole run: `endTime - startTime` per file, plus what it does before
 * its first test). The plan below reads them; they need not be exact.
 */
export const SLOW_FILES: Array<[RegExp, number, Kind]> = [
  // npm pack and install, two type checks of the Agents SDK with skipLibCheck off (all niced), two calls.
  [/^interop\/test\/pack-install\.test\.ts$/, 200, 'background'],
  // Replays of the corpus into adapters that break one rule each.
  [/^test-harness\/test\/broken-adapters\.test\.ts$/, 62, 'replay'],
  [/^test-harness\/test\/broken-adapters-retry\.test\.ts$/, 52, 'replay'],
  [/^test-harness\/test\/cli\.test\.ts$/, 30, 'cpu'],
  [/^packages\/sip\/test\/endpoint-sipp\.test\.ts$/, 26, 'cpu'],
  [/^test-harness\/test\/captures\.test\.ts$/, 23, 'cpu'],
  [/^packages\/core\/test\/recorder-carriers-e2e\.test\.ts$/, 23, 'cpu'],
  [/^test-harness\/test\/faults\//, 20, 'cpu'],
  [/^test-harness\/test\/trace-cli\.test\.ts$/, 8, 'cpu'],
  [/^packages\/core\/test\/recorder-e2e\.test\.ts$/, 14, 'cpu'],
  [/^test-harness\/test\/(report|view)[^/]*\.test\.ts$/, 13, 'cpu'],
  [/^packages\/cloudflare\/test\/conformance-[^/]+\.test\.ts$/, 12, 'cpu'],
  [/^examples\/[^/]+\/test\/shutdown\.test\.ts$/, 12, 'cpu'],
  [
    /^packages\/sip\/test\/endpoint-(session-timer|call-features|transactions|rtp-timeout|sipp-features)\.test\.ts$/,
    10,
    'cpu',
  ],
  // Offline calls through the realtime simulator and the fake Twilio, at eight times real time.
  [/^examples\/(outbound-reminder|twilio-warm-transfer)\/test\//, 9, 'cpu'],
  // Two runs of scripts/api-report.mjs: each loads TypeScript twice (the check and API Extractor).
  [/^test\/api-report\.test\.ts$/, 8, 'cpu'],
];

/** A file that replays the whole bundled corpus into an adapter (`describeConformance` without `only`). */
const CONFORMANCE_FILE_SECONDS = 66;
/** Any other file, roughly (most take 1-3 s). */
const OTHER_FILE_SECONDS = 2;

export function weigh(file: string): { seconds: number; kind: Kind } {
  const path = relative(root, file).split('\\').join('/');
  for (const [pattern, seconds, kind] of SLOW_FILES) if (pattern.test(path)) return { seconds, kind };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { seconds: OTHER_FILE_SECONDS, kind: 'cpu' };
  }
  if (/describeConformance\(/.test(text) && !/\bonly:/.test(text))
    return { seconds: CONFORMANCE_FILE_SECONDS, kind: 'replay' };
  return { seconds: OTHER_FILE_SECONDS, kind: 'cpu' };
}

export type Weighed<T> = { spec: T; index: number; seconds: number; kind: Kind };

/**
 * The order in which the workers take the files (vitest gives the next file in this order to the
 * next free worker): the background files, then the replay files, then the other files, each
 * group longest first. The replay files, which set the length of the run, fill every other worker
 * from the first second; the files that use the CPU follow in the workers the replays free (in
 * the last wave of replays, beside them). A plan that held some replays back for files that use
 * the CPU would start them late whenever those files run slower than expected, as on a busy
 * machine: the replays would then end the run.
 */
export function plan<T>(files: Array<Weighed<T>>): Array<Weighed<T>> {
  const longestFirst = (a: Weighed<T>, b: Weighed<T>) => b.seconds - a.seconds || a.index - b.index;
  const of = (kind: Kind) => files.filter((f) => f.kind === kind).sort(longestFirst);
  return [...of('background'), ...of('replay'), ...of('cpu')];
}
