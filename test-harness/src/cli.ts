/**
 * switchboard-conformance: run the conformance checks against an adapter, or start the realtime
 * simulator for offline development. Each subcommand lives in its own module under `cli/`.
 */
import { runSimulatorCommand } from './simulator/cli.js';
import { runCommand, USAGE } from './cli/run.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'simulator') {
    await runSimulatorCommand(rest);
    return 0;
  }
  if (command === 'run') return runCommand(rest);
  console.log(USAGE);
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error((error as Error)?.stack ?? error);
    process.exitCode = 1;
  },
);
