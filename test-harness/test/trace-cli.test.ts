// `switchboard-conformance trace validate|inspect` as its users run it. The command runs in this
// process (`runCli`, what the bin runs); the test of a failed validation spawns the built bin
// (exit code 1, the errors on its stderr). Build first (`pnpm --filter @switchboard/conformance
// build`); the test command does.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bundledTracesDir } from '../src/trace.js';
import { realCaptures } from './captures.js';
import { cliInProcess } from './cli-in-process.js';
import { spawnCli, type CliRun } from './cli-spawn.js';

const telnyx = fileURLToPath(new URL('./fixtures/telnyx-capture.jsonl.gz', import.meta.url));
const corpus = (name: string) => {
  const plain = join(bundledTracesDir(), `${name}.jsonl`);
  return existsSync(plain) ? plain : `${plain}.gz`;
};

type Run = CliRun;

/** The command, run in this process. */
const cli = (args: string[]): Promise<Run> => cliInProcess(args);
/** The built bin, spawned. */
const bin = (args: string[]): Promise<Run> => spawnCli(args);

const scratch = mkdtempSync(join(tmpdir(), 'switchboard-trace-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.concurrent('switchboard-conformance trace', () => {
  it('validate passes bundled, compressed and carrier traces and captures without expect', async () => {
    const fragment = (await realCaptures())[0]!;
    const file = join(scratch, 'fragment.jsonl');
    writeFileSync(file, fragment.text);
    const run = await cli(['trace', 'validate', corpus('two-turn'), telnyx, file]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(3);
    expect(run.stdout).toMatch(/^ok .*two-turn.*twilio, 804 frame line\(s\), 16\.02 s$/m);
    expect(run.stdout).toMatch(/telnyx-capture, telnyx/);
  });

  it('validate names the file and the line of each error, and exits 1 (the bin)', async () => {
    const bad = join(scratch, 'bad.jsonl');
    writeFileSync(bad, '{"trace":{}}\n{"t":0,"frame":{"event":"connected"}}\n{"t":-5,"frame":{"event":"stop"}}\n');
    const contradicted = join(scratch, 'contradicted.jsonl');
    writeFileSync(contradicted, '{"trace":{"expect":{"dtmf":["1"]}}}\n{"t":0,"frame":{"event":"connected"}}\n');
    const run = await bin(['trace', 'validate', bad, contradicted, join(scratch, 'missing.jsonl')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${bad}: line 3: t must be a number >= 0`);
    expect(run.stderr).toContain(`${contradicted}: line 1: expect.dtmf: declared ["1"], but the frames give []`);
    expect(run.stderr).toContain('missing.jsonl: no such file');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('validate --strict refuses unknown keys that a plain validate lets through', async () => {
    const extra = join(scratch, 'extra.jsonl');
    writeFileSync(extra, '{"trace":{}}\n{"t":0,"frame":{"event":"connected"},"dir":"in"}\n');
    expect((await cli(['trace', 'validate', extra])).status).toBe(0);
    const strict = await cli(['trace', 'validate', extra, '--strict']);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain('line 2: unknown key(s) on a frame line: dir');
  });

  it('inspect summarizes a trace, and --json says the same as data', async () => {
    const text = await cli(['trace', 'inspect', corpus('dtmf')]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/dtmf +1, 2, 3, #/);
    expect(text.stdout).toMatch(/hazards +declared: dtmf; from the frames: dtmf/);
    const json = await cli(['trace', 'inspect', '--json', corpus('second-start')]);
    expect(json.status, json.stderr).toBe(0);
    const [report] = JSON.parse(json.stdout) as Array<{
      name: string;
      starts: unknown[];
      canExercise: string[];
      cannotExercise: Record<string, string>;
      hazards: { derived: string[] };
    }>;
    expect(report!.name).toBe('second-start');
    expect(report!.starts).toHaveLength(2);
    expect(report!.hazards.derived).toEqual(['second-start']);
    expect(report!.canExercise).toContain('metadata.first');
    expect(report!.cannotExercise['dtmf.order']).toBe('no DTMF');
    expect(report!.cannotExercise['hangup.after_playback']).toMatch(/the agent does not hang up/);
    const hangup = await cli(['trace', 'inspect', '--json', corpus('agent-hangup'), corpus('slow-tool')]);
    expect(hangup.status, hangup.stderr).toBe(0);
    const [ends, slow] = JSON.parse(hangup.stdout) as Array<{ canExercise: string[] }>;
    expect(ends!.canExercise).toContain('hangup.after_playback');
    expect(ends!.canExercise).not.toContain('audio.injected');
    expect(slow!.canExercise).toContain('audio.injected');
  });

  it("inspect --adapter reads another carrier's trace with that adapter's protocol", async () => {
    const bare = await cli(['trace', 'inspect', telnyx, '--json']);
    expect(bare.status, bare.stderr).toBe(0);
    expect((JSON.parse(bare.stdout) as Array<{ canExercise: string[] }>)[0]!.canExercise).toEqual([]);
    const read = await cli(['trace', 'inspect', telnyx, '--adapter', '@switchboard/telnyx']);
    expect(read.status, read.stderr).toBe(0);
    expect(read.stdout).toMatch(/dtmf +5$/m);
    expect(read.stdout).toMatch(/parameters customer_id=customer_123/);
    expect(read.stdout).toMatch(/from the frames: dtmf, out-of-order/);
  });

  it('answers a usage error with exit code 2, and --help with the usage', async () => {
    const none = await cli(['trace', 'validate']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/give at least one trace file/);
    expect((await cli(['trace', 'frobnicate', 'x'])).status).toBe(2);
    expect((await cli(['trace', 'inspect', '--bogus', 'x'])).status).toBe(2);
    const help = await cli(['trace', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: switchboard-conformance trace <validate\|inspect>/);
  });
});
