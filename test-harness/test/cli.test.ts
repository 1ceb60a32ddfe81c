// The `switchboard-conformance` CLI as its users run it, in a working directory of their own. The
// commands run in this process (`runCli`, what the bin runs); the tests of an exit code of each
// kind (0, 1, 2) and of a TypeScript adapter (which only Node's own loader refuses) spawn the
// built bin. Build first (`pnpm build`, or `pnpm --filter @switchboard/conformance build`); the
// test command does. Replays use the two shortest traces and run concurrently.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess } from './cli-in-process.js';
import { spawnCli, type CliRun } from './cli-spawn.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = fileURLToPath(new URL('.', import.meta.url));
const dtmf = fileURLToPath(new URL('../traces/dtmf.jsonl', import.meta.url));
const noStop = fileURLToPath(new URL('../traces/no-stop.jsonl', import.meta.url));
const outsideAdapter = fileURLToPath(new URL('./outside-adapter/index.mjs', import.meta.url));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

type Run = CliRun;

// Runs at once (each may replay a trace), and the suite runs on loaded 2-core machines.
const MAX_RUNS = 3;
let running = 0;
const waiting: Array<() => void> = [];

async function limited(run: () => Promise<Run>): Promise<Run> {
  if (running >= MAX_RUNS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await run();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** The CLI's commands, run in this process. */
const cli = (args: string[], cwd = root): Promise<Run> => limited(() => cliInProcess(args, { cwd }));
/** The built bin, spawned. */
const bin = (args: string[], cwd = root): Promise<Run> => limited(() => spawnCli(args, { cwd, timeoutMs: 150_000 }));

/** A usage or setup error: exit code 2, one line on stderr naming the problem, no stack trace. */
function expectSetupError(run: Run, message: RegExp): void {
  expect(run.status, run.stderr).toBe(2);
  expect(run.stderr).toMatch(message);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stdout).toBe('');
}

type JsonReport = {
  adapter: string;
  passed: boolean;
  traces: Array<{
    trace: string;
    replays: number;
    earlier: unknown[];
    outcomes: Array<{ id: string; status: string }>;
  }>;
};

describe.concurrent('switchboard-conformance CLI', () => {
  let scratch = '';
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('runs the checks against a package and prints the table', async () => {
    const run = await cli(['run', '--adapter', '@switchboard/twilio', '--trace', dtmf]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/adapter: twilio/);
    expect(run.stdout).toMatch(/^dtmf\s+pass\s+pass/m);
    expect(run.stdout).toMatch(/all checks passed on 1 trace/);
  }, 240_000);

  it('runs every adapter of a module that exports several (a package with presets)', async () => {
    const several = fileURLToPath(new URL('./fixtures/two-adapters.mjs', import.meta.url));
    const run = await cli(['run', '--adapter', several, '--trace', dtmf, '--json', '--only', 'dtmf.order']);
    expect(run.status, run.stderr).toBe(0);
    const reports = JSON.parse(run.stdout) as Array<{ adapter: string; passed: boolean }>;
    expect(reports.map((r) => [r.adapter, r.passed])).toEqual([
      ['twilio', true],
      ['twilio-again', true],
    ]);
  }, 240_000);

  it('exits 1 when a check fails (the bin)', async () => {
    const claimsDtmf = fileURLToPath(new URL('./fixtures/claims-dtmf.mjs', import.meta.url));
    const run = await bin(['run', '--adapter', claimsDtmf, '--trace', dtmf]);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^dtmf\s.*FAIL/m);
    expect(run.stdout).toMatch(/dtmf \/ dtmf\.order \[\w+\]: expected 1 2 3 #, got none/);
  }, 240_000);

  it('prints the usage of every command with --help, and exits 0', async () => {
    const top = await cli(['--help']);
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/Usage: switchboard-conformance <command>/);
    const commands = [...top.stdout.matchAll(/^ {2}([a-z]+) {2,}\S/gm)].map((m) => m[1]!);
    expect(commands).toEqual(expect.arrayContaining(['run', 'simulator']));
    const runs = await Promise.all([
      cli([]),
      cli(['help', 'run']),
      ...commands.map((command) => cli([command, '--help'])),
    ]);
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/Usage:\s+switchboard-conformance/);
      expect(run.stderr).toBe('');
    }
    expect(runs[1]!.stdout).toMatch(/--adapter <module>/);
    expect(runs[1]!.stdout).toMatch(/--concurrency N/);
    expect(runs[1]!.stdout).toMatch(/--only <names>/);
  }, 240_000);

  it('prints its version (the bin)', { timeout: 240_000 }, async () => {
    const run = await bin(['--version']);
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });

  it('exits 2 with one line for usage errors', async () => {
    const [unknownCommand, unknownOption, missingAdapter, badConcurrency] = await Promise.all([
      cli(['bogus']),
      cli(['run', '--adapter', outsideAdapter, '--frobnicate']),
      cli(['run']),
      cli(['run', '--adapter', outsideAdapter, '--concurrency', '0']),
    ]);
    expectSetupError(unknownCommand, /unknown command "bogus"; commands: run, simulator/);
    expectSetupError(unknownOption, /Unknown option '--frobnicate'/);
    expectSetupError(missingAdapter, /--adapter is required/);
    expectSetupError(badConcurrency, /--concurrency must be a positive whole number/);
    expectSetupError(await cli(['simulator', '--bogus']), /unknown argument "--bogus"/);
  }, 240_000);

  it('exits 2 with one line for setup errors: adapter or trace not found, not an adapter, unreadable trace', async () => {
    const junk = join(scratch, 'junk.jsonl');
    writeFileSync(junk, 'this is not JSON\n');
    const notAnAdapter = join(scratch, 'not-an-adapter.mjs');
    writeFileSync(notAnAdapter, 'export const answer = 42;\n');
    const empty = join(scratch, 'no-traces');
    mkdirSync(empty);
    const [missingModule, missingPackage, notAdapter, missingTrace, badTrace, noTrace] = await Promise.all([
      cli(['run', '--adapter', './no-such-adapter.mjs'], scratch),
      cli(['run', '--adapter', '@acme/no-such-package'], scratch),
      cli(['run', '--adapter', notAnAdapter, '--trace', dtmf]),
      cli(['run', '--adapter', outsideAdapter, '--trace', join(scratch, 'missing.jsonl')]),
      cli(['run', '--adapter', outsideAdapter, '--trace', junk]),
      cli(['run', '--adapter', outsideAdapter, '--trace', empty]),
    ]);
    // A relative path is the working directory's, not the CLI's.
    expectSetupError(
      missingModule,
      new RegExp(
        `adapter module not found: \\./no-such-adapter\\.mjs \\(looked for ${escape(join(scratch, 'no-such-adapter.mjs'))}\\)`,
      ),
    );
    expectSetupError(missingPackage, /adapter package not found: @acme\/no-such-package/);
    expectSetupError(notAdapter, /does not export a conformance adapter/);
    expectSetupError(missingTrace, /trace not found: .*missing\.jsonl/);
    expectSetupError(badTrace, /cannot read the trace .*junk\.jsonl/);
    expectSetupError(noTrace, /no trace \(\.jsonl, \.jsonl\.gz\) in .*no-traces/);
  }, 240_000);

  it('explains a TypeScript source (the bin: Node without a TypeScript loader refuses it)', async () => {
    const ts = join(scratch, 'adapter.ts');
    writeFileSync(
      ts,
      "import type { ConformanceAdapter } from '@switchboard/core/protocol';\nexport const conformance: ConformanceAdapter | undefined = undefined;\n",
    );
    const typescript = await bin(['run', '--adapter', './adapter.ts'], scratch);
    expectSetupError(typescript, /adapter\.ts is TypeScript source.*build it.*node --import tsx/);
  }, 240_000);

  it('explains a directory that is not a package', async () => {
    const directory = await cli(['run', '--adapter', './fixtures'], testDir);
    expectSetupError(directory, /\.\/fixtures is a directory without a package\.json/);
  }, 240_000);

  it('takes a relative adapter path, or a package directory, from another working directory', async () => {
    const args = ['--trace', '../traces/dtmf.jsonl', '--only', 'dtmf.order,input.lossless'];
    const [file, directory] = await Promise.all([
      cli(['run', '--adapter', './outside-adapter/index.mjs', ...args], testDir),
      cli(['run', '--adapter', './outside-adapter', ...args], testDir),
    ]);
    for (const run of [file, directory]) {
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/adapter: larkline/);
      // Only the selected checks, as columns; DTMF is n/a for a carrier without DTMF in.
      expect(run.stdout).toMatch(/^trace\s+input\.lossless\s+dtmf\.order\s+turn detection\s*$/m);
      expect(run.stdout).toMatch(/^dtmf\s+pass\s+–\s/m);
    }
  }, 240_000);

  it('selects traces and checks with --only and --skip (comma-separated, repeatable) and refuses unknown names', async () => {
    const [selected, unknown] = await Promise.all([
      cli([
        'run',
        '--adapter',
        outsideAdapter,
        '--trace',
        dtmf,
        '--trace',
        noStop,
        '--only',
        'dtmf',
        '--only',
        'input.lossless,dtmf.order,no-stop',
        '--skip',
        'dtmf.order,no-stop',
        '--json',
      ]),
      cli(['run', '--adapter', outsideAdapter, '--trace', dtmf, '--only', 'dtmf,dtmf.ordre']),
    ]);
    expect(selected.status, selected.stderr).toBe(0);
    const report = JSON.parse(selected.stdout) as JsonReport;
    expect(report.traces.map((t) => t.trace)).toEqual(['dtmf']);
    expect(report.traces[0]!.outcomes.map((o) => o.id)).toEqual(['input.lossless']);
    expectSetupError(
      unknown,
      /--only: unknown trace or check "dtmf\.ordre"; traces: dtmf; checks: input\.lossless, .*dtmf\.order/,
    );
    expectSetupError(
      await cli(['run', '--adapter', outsideAdapter, '--trace', dtmf, '--skip', 'dtmf']),
      /nothing to run/,
    );
  }, 240_000);

  it('replays several traces at once with --concurrency; --json gives the replays of each trace', async () => {
    const run = await cli([
      'run',
      '--adapter',
      outsideAdapter,
      '--trace',
      noStop,
      '--trace',
      dtmf,
      '--concurrency',
      '2',
      '--only',
      'input.lossless',
      '--json',
    ]);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as JsonReport;
    // The report keeps the traces' order whichever replay ends first.
    expect(report.traces.map((t) => t.trace)).toEqual(['no-stop', 'dtmf']);
    for (const trace of report.traces) {
      expect(trace.replays).toBeGreaterThanOrEqual(1);
      expect(trace.earlier).toHaveLength(trace.replays - 1);
    }
  }, 240_000);

  it("finds a package's conformance subpath when its root export has no adapter, and a package from its own folder", async () => {
    // A package as an adapter author might publish it: the transport at the root, the adapter for
    // the harness under ./conformance.
    const pkg = join(scratch, 'project', 'node_modules', '@acme', 'carrier');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({
        name: '@acme/carrier',
        version: '1.0.0',
        type: 'module',
        exports: { '.': './index.mjs', './conformance': { import: './conformance.mjs' } },
      }),
    );
    writeFileSync(join(pkg, 'index.mjs'), 'export const transportName = "acme";\n');
    writeFileSync(
      join(pkg, 'conformance.mjs'),
      `export { conformance } from ${JSON.stringify(pathToFileURL(outsideAdapter).href)};\n`,
    );
    const project = join(scratch, 'project');
    // And the package an author is developing, named from its own folder (as Node's self-reference).
    const self = join(scratch, 'self');
    mkdirSync(self);
    writeFileSync(
      join(self, 'package.json'),
      JSON.stringify({ name: '@acme/self', version: '1.0.0', type: 'module', exports: { '.': './index.mjs' } }),
    );
    writeFileSync(
      join(self, 'index.mjs'),
      `export { conformance } from ${JSON.stringify(pathToFileURL(outsideAdapter).href)};\n`,
    );
    const args = ['--trace', dtmf, '--only', 'dtmf.order', '--json'];
    const runs = await Promise.all([
      cli(['run', '--adapter', '@acme/carrier', ...args], project),
      cli(['run', '--adapter', '@acme/self', ...args], self),
    ]);
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as JsonReport).adapter).toBe('larkline');
    }
  }, 240_000);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
