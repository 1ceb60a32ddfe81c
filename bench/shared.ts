/**
 * What the benchmarks that run in several processes share: starting a child process, waiting
 * for its messages, and reading its CPU per thread.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The bench's root folder, for paths relative to it. */
export const benchPath = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** A message between a benchmark's processes: a `type` and what goes with it. */
export type Message = { type: string; [key: string]: unknown };

export type ChildOptions = {
  /**
   * Load the Switchboard packages as published (their built `dist`, like any npm dependency),
   * not the workspace sources: tsx then reads a tsconfig with no path mapping.
   */
  dist?: boolean;
  /** Write a V8 CPU profile into this folder when the process exits. */
  cpuProfileDir?: string;
  /** Extra Node flags. */
  execArgv?: string[];
};

/**
 * Forks `file` (TypeScript, run through tsx) with an IPC channel, `--expose-gc`, and stdout and
 * stderr shared with this process.
 */
export function startChild(file: string, args: string[], options: ChildOptions = {}): ChildProcess {
  const execArgv = [
    '--import',
    'tsx',
    '--expose-gc',
    ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
    ...(options.execArgv ?? []),
  ];
  const env = options.dist ? { ...process.env, TSX_TSCONFIG_PATH: benchPath('./tsconfig.dist.json') } : process.env;
  return fork(file, args, { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** The next message of `type` from `child`; rejects if the child exits first. */
export function nextMessage<T extends Message = Message>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Message) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`${type}: process exited (${code}) first`));
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Resolves once `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * CPU time (user + system, ms) of this process's threads grouped by thread name, where the OS
 * tells it (Linux `/proc`): the main thread against V8's GC and compiler threads and libuv's pool.
 */
export function threadCpuMs(): Record<string, number> {
  const byName: Record<string, number> = {};
  try {
    const ticksPerMs = 100 / 1000; // USER_HZ
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name =
        tid === String(process.pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).trim();
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byName[name] = (byName[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
    }
  } catch {
    // not Linux: no breakdown
  }
  return byName;
}

/** A full collection, when the process runs with `--expose-gc`; false otherwise. */
export function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  gc();
  return true;
}
