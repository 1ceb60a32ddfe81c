/**
 * Run before each test file (vitest.config.ts `setupFiles`): a file that uses the CPU most of the
 * time it runs (see test/plan.ts) lowers its worker's CPU priority, and with it that of the
 * processes it starts. The replays beside it, a minute each on the replay's clock, then get the
 * CPU first when they wake up: a replay stalled behind a type check or a fuzz loop counts the
 * stall several times over against its timing checks. The files that use the CPU take the same
 * CPU time either way, in the time the replays leave.
 */
import { getPriority, setPriority } from 'node:os';
import { expect } from 'vitest';
import { weigh } from './plan.js';

/** The niceness of a worker that runs a file of kind `cpu` (0 is the usual; 19 the lowest). */
const CPU_FILE_NICENESS = 5;

const file = expect.getState().testPath;
if (file && weigh(file).kind === 'cpu') {
  try {
    // Only lower: a worker that ran such a file already (files share workers in the `unit` project) stays as it is.
    if (getPriority() < CPU_FILE_NICENESS) setPriority(CPU_FILE_NICENESS);
  } catch {
    // Not permitted here: the file runs at the usual priority.
  }
}
