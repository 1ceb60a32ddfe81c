#!/usr/bin/env node
// The whole test suite, as CI runs it: build every package, then typecheck and check the packages
// as npm ships them (publint, attw) while vitest runs across the workspace (unit tests and the
// conformance suite). The suite mostly waits on replays that run in real time, so the static
// checks run beside it rather than after it; their output is printed once vitest is done.
// Ends with one summary line: "N passed, N failed".
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pnpm = process.env.npm_execpath && process.env.npm_execpath.includes('pnpm') ? [process.execPath, process.env.npm_execpath] : ['npx', '-y', 'pnpm@10'];
const run = (label, cmd, args) => {
  console.log(`\n▶ ${label}`);
  const result = spawnSync(cmd, args, { stdio: 'inherit', env: process.env });
  return result.status === 0;
};

/** Starts a step in the background; its output is kept and printed by `report()`. */
const background = (label, script) => {
  const started = performance.now();
  const child = spawn(pnpm[0], [...pnpm.slice(1), 'run', script], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (chunk) => output.push(chunk));
  child.stderr.on('data', (chunk) => output.push(chunk));
  const done = new Promise((resolve) => {
    child.on('error', (error) => {
      output.push(Buffer.from(`${error.message}\n`));
      resolve(false);
    });
    child.on('close', (code) => resolve(code === 0));
  });
  return {
    async report() {
      const ok = await done;
      console.log(`\n▶ ${label} (${((performance.now() - started) / 1000).toFixed(0)} s, beside vitest)`);
      process.stdout.write(Buffer.concat(output));
      if (!ok) console.log(`${label}: failed`);
      return ok;
    },
  };
};

const steps = { passed: 0, failed: 0 };
const step = (ok) => (ok ? steps.passed++ : steps.failed++);

if (!run('build', pnpm[0], [...pnpm.slice(1), 'run', 'build'])) {
  console.log('\nbuild failed: 0 passed, 1 failed');
  process.exit(1);
}
step(true);

// The static checks read only the built packages and the sources: they do not disturb vitest.
const typecheck = background('typecheck', 'typecheck');
const packageChecks = background('package checks (publint, attw)', 'lint:packages');

const reportFile = join(mkdtempSync(join(tmpdir(), 'switchboard-test-')), 'vitest.json');
const vitest = spawn(join('node_modules', '.bin', 'vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`], { stdio: 'inherit', env: process.env });
console.log('\n▶ vitest');
const vitestOk = await new Promise((resolve) => {
  vitest.on('error', () => resolve(false));
  vitest.on('close', (code) => resolve(code === 0));
});
let tests = { passed: 0, failed: 0, skipped: 0 };
try {
  const json = JSON.parse(readFileSync(reportFile, 'utf8'));
  tests = { passed: json.numPassedTests, failed: json.numFailedTests, skipped: json.numPendingTests + (json.numTodoTests ?? 0) };
} catch {
  tests.failed += 1;
}
if (!vitestOk && tests.failed === 0) tests.failed = 1;

step(await typecheck.report());
step(await packageChecks.report());

const passed = tests.passed + steps.passed;
const failed = tests.failed + steps.failed;
console.log(`\n${tests.passed} tests passed, ${tests.failed} failed; ${steps.passed} of ${steps.passed + steps.failed} build/typecheck/package steps ok`);
console.log(`${passed} passed, ${failed} failed${tests.skipped ? `, ${tests.skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
