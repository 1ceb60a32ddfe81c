// Runs `switchboard-conformance` in this process, as the bin does (the same commands, exit codes
// and output), but without starting Node again: most CLI tests run this way, and a few spawn the
// built bin (cli-spawn.ts) to check what only a real process shows (its exit code, its streams,
// its ESM entry, Node's own module loader).
import { runCli } from '../src/cli/main.js';
import type { CliRun } from './cli-spawn.js';

/** Runs the CLI with `args` in `cwd` (default: this process's working directory) and collects what it printed. */
export async function cliInProcess(args: string[], options: { cwd?: string } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    cwd: options.cwd ?? process.cwd(),
  });
  return { status, stdout, stderr };
}
