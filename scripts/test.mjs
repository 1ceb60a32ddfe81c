#!/usr/bin/env node
// The whole test suite, as CI runs it: build every package, typecheck, run vitest across the
// workspace (unit tests and the conformance suite), then check the packages as npm ships them.
// Ends with one summary line: "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pnpm = process.env.npm_execpath && process.env.npm_execpath.includes('pnpm') ? [process.execPath, process.env.npm_execpath] : ['npx', '-y', 'pnpm@10'];
const run = (label, cmd, args) => {
  console.log(`\n▶ ${label}`);
  const result = spawnSync(cmd, args, { stdio: 'inherit', env: process.env });
  return result.status === 0;
};
const pnpmRun = (label, script) => run(label, pnpm[0], [...pnpm.slice(1), 'run', script]);

const steps = { passed: 0, failed: 0 };
const step = (ok) => (ok ? steps.passed++ : steps.failed++);

if (!pnpmRun('build', 'build')) {
  console.log('\nbuild failed: 0 passed, 1 failed');
  process.exit(1);
}
step(true);
step(pnpmRun('typecheck', 'typecheck'));

const report = join(mkdtempSync(join(tmpdir(), 'switchboard-test-')), 'vitest.json');
const vitestOk = run('vitest', join('node_modules', '.bin', 'vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);
let tests = { passed: 0, failed: 0, skipped: 0 };
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  tests = { passed: json.numPassedTests, failed: json.numFailedTests, skipped: json.numPendingTests + (json.numTodoTests ?? 0) };
} catch {
  tests.failed += 1;
}
if (!vitestOk && tests.failed === 0) tests.failed = 1;

step(pnpmRun('package checks (publint, attw)', 'lint:packages'));

const passed = tests.passed + steps.passed;
const failed = tests.failed + steps.failed;
console.log(`\n${tests.passed} tests passed, ${tests.failed} failed; ${steps.passed} of ${steps.passed + steps.failed} build/typecheck/package steps ok`);
console.log(`${passed} passed, ${failed} failed${tests.skipped ? `, ${tests.skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
