/**
 * switchboard-conformance: run the conformance checks against an adapter, or start the realtime
 * simulator for offline development. The commands are in `cli/main.ts`; this entry runs them with
 * the process's arguments and streams, and sets the exit code (0 success, 1 a failed check, 2 a
 * usage or setup error).
 */
import { runCli } from './cli/main.js';

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
