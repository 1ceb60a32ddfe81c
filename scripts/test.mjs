#!/usr/bin/env node
// The whole test suite, as CI runs it: build every package, then typecheck and check the packages
// as npm ships them (publint, attw) while vitest runs across the workspace (unit tests and the
// conformance suite). The suite mostly waits on replays that run in real time, so the static
// checks run beside it rather than after it; their output is printed once vitest is done.
// Ends with one summary line: "N passed, N failed".
//
// How the suite keeps its time (well under 10 minutes on a 2-core machine, from a clean clone):
// - The build (scripts/build.mjs) writes every package's declarations from one TypeScript program
//   rather than fifteen (48 CPU-seconds instead of 200); eslint and prettier, which read the
//   sources only, run beside it. Each step runs its script in a shell, not through a pnpm process
//   of its own (`background`).
// - Every published package is packed once, right after the build, as `pnpm publish` packs it
//   (scripts/pack.mjs): the package checks and the npm install test read those tarballs, rather
//   than each packing its own (`npm pack` cost two CPU-seconds a package).
// - The static checks run beside vitest at a lower CPU priority, as the test files that use the
//   CPU do: they use the CPU the replays leave idle and never stall a replay's clock.
// - vitest runs more files at once than there are cores (vitest.config.ts `maxWorkers`), in the
//   order test/plan.ts gives them: the npm install test, then the files that replay the whole
//   corpus (`describeConformance`), which set the length of the run, four at a time from the first
//   second, while the static checks use the CPU they leave; then the files that use the CPU, at a
//   lower CPU priority (test/setup-priority.ts). A new file that takes more than ~10 s belongs in
//   `SLOW_FILES` there; better, make it take seconds.
// - `describeConformance` replays three traces at once, at 5x, the longest first; a trace whose
//   only failures are timing checks is replayed again, slower. Each conformance file lasts as long
//   as its longest replay, `long-call` (310 s of stream: 62 s); faster, a stall of a busy machine
//   delays a reply into the caller's next utterance often enough to fail more than the timing
//   checks (at 10x, three adapters at once beside a busy machine, every one failed that way).
// The times of the steps are printed; vitest's JSON report (kept in the temp directory named at
// the end) has each file's startTime and endTime.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAll, runCommand } from './build.mjs';
import { PACKED_DIR_ENV, packPackages, pnpmCommand, writePackedIndex } from './pack.mjs';
import { publishedPackages } from './release-checks.mjs';

const pnpm = pnpmCommand();
/**
 * Lowers a background step's priority before it starts its own processes (they inherit it): the
 * replays first. The test files that use the CPU run at the same niceness (test/setup-priority.ts),
 * so that the steps keep pace with vitest rather than wait for its end to get the CPU.
 */
const lower = (child) => {
  try {
    if (child.pid !== undefined) setPriority(child.pid, 5);
  } catch {
    // Not permitted here: the step runs at the usual priority.
  }
};

/**
 * Starts one of the root's scripts in the background; its output is kept and printed by
 * `report()`. The script runs in a shell with the `.bin` folders on the PATH, as `pnpm run` runs
 * it, but without a pnpm process (about a second of CPU each); through pnpm where there is no `sh`.
 */
const background = (label, name) => {
  const text = JSON.parse(readFileSync('package.json', 'utf8')).scripts?.[name];
  const [cmd, args] =
    process.platform === 'win32' || typeof text !== 'string'
      ? [pnpm[0], [...pnpm.slice(1), 'run', name]]
      : ['sh', ['-c', text]];
  const done = runCommand(cmd, args, process.cwd(), lower);
  return {
    async report() {
      const { ok, output, seconds } = await done;
      console.log(`\n▶ ${label} (${seconds.toFixed(0)} s, in the background)`);
      process.stdout.write(output);
      if (!ok) console.log(`${label}: failed`);
      return ok;
    },
  };
};

const steps = { passed: 0, failed: 0 };
const step = (ok) => (ok ? steps.passed++ : steps.failed++);

const buildStarted = performance.now();
// Lint and format read the sources only: they run beside the build, in the CPU its steps leave.
const style = background('lint and format (eslint, prettier --check)', 'check:style');
console.log('\n▶ build');
if (!(await buildAll())) {
  const styleOk = await style.report();
  console.log(`\nbuild failed: ${styleOk ? 1 : 0} passed, ${styleOk ? 1 : 2} failed`);
  process.exit(1);
}
step(true);
console.log(`\n▶ build done in ${((performance.now() - buildStarted) / 1000).toFixed(0)} s`);

// Every published package packed once, as `pnpm publish` packs it, for the package checks and the
// pack-and-install test (scripts/pack.mjs): they wait for the tarballs, the other steps and vitest
// start at once.
const packedDir = mkdtempSync(join(tmpdir(), 'switchboard-packed-'));
process.env[PACKED_DIR_ENV] = packedDir;
const packStarted = performance.now();
const packed = packPackages(process.cwd(), publishedPackages(process.cwd()), packedDir, { onSpawn: lower }).then(
  (tarballs) => {
    writePackedIndex(packedDir, { tarballs });
    return { ok: true, seconds: (performance.now() - packStarted) / 1000 };
  },
  (error) => {
    const message = String(error?.message ?? error);
    writePackedIndex(packedDir, { error: message });
    return { ok: false, message };
  },
);

// The static checks read only the built packages and the sources: they do not disturb vitest.
const typecheck = background('typecheck', 'typecheck');
const packageChecks = background('package checks (publint, attw)', 'lint:packages');
const readmeSnippets = background('README code blocks (docs:check)', 'docs:check');

const reportFile = join(mkdtempSync(join(tmpdir(), 'switchboard-test-')), 'vitest.json');
// Arguments after the script's name go to vitest (`pnpm test --no-isolate`, `pnpm test packages/core`).
const vitestArgs = process.argv.slice(2).filter((a) => a !== '--');
const vitest = spawn(
  join('node_modules', '.bin', 'vitest'),
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...vitestArgs],
  { stdio: 'inherit', env: process.env },
);
console.log('\n▶ vitest');
const vitestStarted = performance.now();
const vitestOk = await new Promise((resolve) => {
  vitest.on('error', () => resolve(false));
  vitest.on('close', (code) => resolve(code === 0));
});
let tests = { passed: 0, failed: 0, skipped: 0 };
try {
  const json = JSON.parse(readFileSync(reportFile, 'utf8'));
  tests = {
    passed: json.numPassedTests,
    failed: json.numFailedTests,
    skipped: json.numPendingTests + (json.numTodoTests ?? 0),
  };
  const files = json.testResults.map((f) => ({
    file: f.name.startsWith(process.cwd()) ? f.name.slice(process.cwd().length + 1) : f.name,
    ms: f.endTime - f.startTime,
  }));
  files.sort((a, b) => b.ms - a.ms);
  console.log(
    `\n▶ vitest: ${((performance.now() - vitestStarted) / 1000).toFixed(0)} s; the longest files (report: ${reportFile}):`,
  );
  for (const { file, ms } of files.slice(0, 8)) console.log(`${(ms / 1000).toFixed(0).padStart(5)} s  ${file}`);
} catch {
  tests.failed += 1;
}
if (!vitestOk && tests.failed === 0) tests.failed = 1;

const pack = await packed;
console.log(pack.ok ? `\n▶ pack: ${pack.seconds.toFixed(0)} s` : `\n▶ pack\n${pack.message}\npack: failed`);
step(pack.ok);
step(await typecheck.report());
step(await packageChecks.report());
step(await readmeSnippets.report());
step(await style.report());

rmSync(packedDir, { recursive: true, force: true });

const passed = tests.passed + steps.passed;
const failed = tests.failed + steps.failed;
console.log(
  `\n${tests.passed} tests passed, ${tests.failed} failed; ${steps.passed} of ${steps.passed + steps.failed} build/typecheck/package steps ok`,
);
console.log(`${passed} passed, ${failed} failed${tests.skipped ? `, ${tests.skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
