// Spawns the built `switchboard-conformance` bin as its users run it, and collects what it printed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type CliRun = { status: number | null; stdout: string; stderr: string };

const bin = fileURLToPath(new URL('../bin/switchboard-conformance.js', import.meta.url));

/** Runs the CLI with `args` in `cwd`; a run past `timeoutMs` is killed. Build first (the test command does). */
export function spawnCli(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  if (!existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)))) {
    throw new Error('the CLI is not built: run `pnpm build` first (the test command does)');
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
