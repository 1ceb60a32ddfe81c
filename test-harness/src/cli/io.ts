/**
 * Where a command of `switchboard-conformance` writes and which directory it reads relative paths
 * against: the process's own streams and working directory when it runs as the bin, others when
 * the commands run inside another program (`runCli` in `main.ts`).
 */
import { isAbsolute, resolve } from 'node:path';

export interface CliIo {
  stdout: { write(text: string): unknown };
  /** `isTTY`: progress lines are redrawn in place on a terminal. */
  stderr: { write(text: string): unknown; isTTY?: boolean };
  /** The working directory: relative paths given on the command line are read against it. */
  cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
}

/**
 * A path given on the command line, as the command opens it: as given when the commands run in
 * the directory of `io` (so that messages name it as the user typed it), else resolved against it.
 */
export function givenPath(io: CliIo, path: string): string {
  return isAbsolute(path) || resolve(io.cwd) === process.cwd() ? path : resolve(io.cwd, path);
}
