import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/switchboard-conformance.js', import.meta.url));
const trace = fileURLToPath(new URL('../traces/dtmf.jsonl', import.meta.url));
const broken = fileURLToPath(new URL('./fixtures/never-clears.mjs', import.meta.url));

function cli(args: string[]) {
  if (!existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)))) {
    throw new Error('the CLI is not built: run `pnpm build` first (the test command does)');
  }
  return spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
}

describe('switchboard-conformance CLI', () => {
  it('runs the checks against a package and prints the table', () => {
    const run = cli(['run', '--adapter', '@switchboard/twilio', '--trace', trace]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/adapter: twilio/);
    expect(run.stdout).toMatch(/^dtmf\s+pass\s+pass/m);
    expect(run.stdout).toMatch(/all checks passed on 1 trace/);
  }, 120_000);

  it('prints JSON with --json', () => {
    const run = cli(['run', '--adapter', '@switchboard/twilio', '--trace', trace, '--json']);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { passed: boolean; traces: Array<{ trace: string; outcomes: Array<{ id: string; status: string }> }> };
    expect(report.passed).toBe(true);
    expect(report.traces[0]!.outcomes.find((o) => o.id === 'dtmf.order')!.status).toBe('pass');
  }, 120_000);

  it('runs every adapter of a module that exports several (a package with presets)', () => {
    const several = fileURLToPath(new URL('./fixtures/two-adapters.mjs', import.meta.url));
    const run = cli(['run', '--adapter', several, '--trace', trace, '--json']);
    expect(run.status, run.stderr).toBe(0);
    const reports = JSON.parse(run.stdout) as Array<{ adapter: string; passed: boolean }>;
    expect(reports.map((r) => [r.adapter, r.passed])).toEqual([
      ['twilio', true],
      ['twilio-again', true],
    ]);
  }, 240_000);

  it('exits non-zero when an adapter module fails a check', () => {
    const barge = fileURLToPath(new URL('../traces/barge-in.jsonl', import.meta.url));
    const run = cli(['run', '--adapter', broken, '--trace', barge]);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/barge-in \/ bargein\.clear/);
  }, 120_000);

  it('explains its usage and rejects a missing adapter', () => {
    expect(cli(['--help']).stdout).toMatch(/switchboard-conformance run --adapter/);
    const missing = cli(['run']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--adapter is required/);
  });
});
