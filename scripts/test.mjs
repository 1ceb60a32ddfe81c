#!/usr/bin/env node
// The whole test suite, as CI runs it: build every package, then typecheck and check the packages
// as npm ships them (publint, attw) while vitest runs across the workspace (unit tests and the
// conformance suite). The suite mostly waits on replays that run in real time, so the static
// checks run beside it rather than after it; their output is printed once vitest is done.
// Ends with one summary line: "N passed, N failed".
//
// How the suite keeps its time (under 10 minutes on a 2-core machine, from a clean clone):
// - The build runs in levels of the packages' dependencies (`buildLevels`), not in the longer
//   chain `pnpm -r` makes of their dev dependencies.
// - The static checks run beside vitest at a lower CPU priority: they use the CPU the replays
//   leave idle and never stall a replay's clock.
// - vitest runs several files at once (vitest.config.ts `maxWorkers`: the replays mostly wait)
//   and the longest files first (`SLOW_FILES` there, and every file that replays the whole corpus
//   with `describeConformance`), so that no long file starts last. A new file that takes more than
//   ~15 s belongs in `SLOW_FILES`; better, make it take seconds.
// - `describeConformance` replays three traces at once, at 5x; a trace whose only failures are
//   timing checks is replayed again, slower. Each conformance file lasts as long as its longest
//   replay, `long-call` (310 s of stream: 62 s); faster, a stall of a busy machine delays a reply
//   into the caller's next utterance often enough to fail more than the timing checks.
// The times of the steps are printed; vitest's JSON report (kept in the temp directory named at
// the end) has each file's startTime and endTime.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';

const pnpm =
  process.env.npm_execpath && process.env.npm_execpath.includes('pnpm')
    ? [process.execPath, process.env.npm_execpath]
    : ['npx', '-y', 'pnpm@10'];
/** Runs a step in the foreground; its output is printed only when it fails (a build prints hundreds of lines). */
const run = (label, cmd, args) => {
  console.log(`\n▶ ${label}`);
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env, maxBuffer: 1 << 30 });
  if (result.status !== 0) {
    process.stdout.write(result.stdout ?? '');
    process.stdout.write(result.stderr ?? '');
    if (result.error) console.log(result.error.message);
  }
  return result.status === 0;
};

/** Starts a step in the background; its output is kept and printed by `report()`. */
const background = (label, script) => {
  const started = performance.now();
  const child = spawn(pnpm[0], [...pnpm.slice(1), 'run', script], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Lower priority before the step starts its own processes (they inherit it): the replays first.
  try {
    if (child.pid !== undefined) setPriority(child.pid, 10);
  } catch {
    // Not permitted here: the step runs at the usual priority.
  }
  const output = [];
  let finished;
  child.stdout.on('data', (chunk) => output.push(chunk));
  child.stderr.on('data', (chunk) => output.push(chunk));
  const done = new Promise((resolve) => {
    child.on('error', (error) => {
      output.push(Buffer.from(`${error.message}\n`));
      resolve(false);
    });
    child.on('close', (code) => {
      finished = performance.now();
      resolve(code === 0);
    });
  });
  return {
    async report() {
      const ok = await done;
      console.log(`\n▶ ${label} (${(((finished ?? performance.now()) - started) / 1000).toFixed(0)} s, beside vitest)`);
      process.stdout.write(Buffer.concat(output));
      if (!ok) console.log(`${label}: failed`);
      return ok;
    },
  };
};

/**
 * The packages `pnpm build` builds (packages/* and test-harness), in levels: a package builds once
 * the packages it imports (its dependencies and peer dependencies) are built. `pnpm -r` would also
 * wait for dev dependencies (every carrier package has the conformance harness as one, for its
 * tests), which puts five packages in a row; in levels they build side by side.
 */
function buildLevels() {
  const dirs = [...readdirSync('packages').map((d) => join('packages', d)), 'test-harness'].filter((d) =>
    existsSync(join(d, 'package.json')),
  );
  const manifests = dirs
    .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter((m) => m.json.scripts?.build);
  const names = new Set(manifests.map((m) => m.json.name));
  const needs = new Map(
    manifests.map((m) => [
      m.json.name,
      Object.keys({ ...m.json.dependencies, ...m.json.peerDependencies, ...m.json.optionalDependencies }).filter((n) =>
        names.has(n),
      ),
    ]),
  );
  const built = new Set();
  const levels = [];
  while (built.size < manifests.length) {
    const level = manifests.filter((m) => !built.has(m.json.name) && needs.get(m.json.name).every((n) => built.has(n)));
    if (level.length === 0) return undefined; // a cycle: let pnpm order it
    for (const m of level) built.add(m.json.name);
    levels.push(level.map((m) => `./${m.dir}`));
  }
  return levels;
}

function build() {
  const levels = buildLevels();
  if (!levels) return run('build', pnpm[0], [...pnpm.slice(1), 'run', 'build']);
  return levels.every((level, i) =>
    run(`build ${i + 1}/${levels.length}: ${level.map((d) => d.split('/').pop()).join(', ')}`, pnpm[0], [
      ...pnpm.slice(1),
      '-r',
      '--no-sort',
      ...level.flatMap((d) => ['--filter', d]),
      'run',
      'build',
    ]),
  );
}

const steps = { passed: 0, failed: 0 };
const step = (ok) => (ok ? steps.passed++ : steps.failed++);

const buildStarted = performance.now();
if (!build()) {
  console.log('\nbuild failed: 0 passed, 1 failed');
  process.exit(1);
}
step(true);
console.log(`\n▶ build done in ${((performance.now() - buildStarted) / 1000).toFixed(0)} s`);

// The static checks read only the built packages and the sources: they do not disturb vitest.
const typecheck = background('typecheck', 'typecheck');
const packageChecks = background('package checks (publint, attw)', 'lint:packages');
const readmeSnippets = background('README code blocks (docs:check)', 'docs:check');
const style = background('lint and format (eslint, prettier --check)', 'check:style');

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

step(await typecheck.report());
step(await packageChecks.report());
step(await readmeSnippets.report());
step(await style.report());

const passed = tests.passed + steps.passed;
const failed = tests.failed + steps.failed;
console.log(
  `\n${tests.passed} tests passed, ${tests.failed} failed; ${steps.passed} of ${steps.passed + steps.failed} build/typecheck/package steps ok`,
);
console.log(`${passed} passed, ${failed} failed${tests.skipped ? `, ${tests.skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
