/**
 * switchboard-conformance: run the conformance checks against an adapter, or start the realtime
 * simulator for offline development. Each subcommand lives in its own module under `cli/` and is
 * one entry of `COMMANDS`.
 *
 * Exit codes: 0 success, 1 a failed check, 2 a usage or setup error. A subcommand reports a usage
 * or setup error by throwing a `ConfigError` (or a `TraceParseError`): it is printed as one line,
 * without a stack, and the exit code is 2. `--help` (or `-h`) after any subcommand prints its
 * usage.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@switchboard/core';
import { parseSimulatorArgs, runSimulatorCommand, SIMULATOR_USAGE } from './simulator/cli.js';
import { runCommand, RUN_USAGE } from './cli/run.js';
import { viewCommand, VIEW_USAGE } from './cli/view.js';
import { traceCommand, TRACE_USAGE } from './cli/trace.js';
import { TraceParseError } from './trace.js';

type Command = { summary: string; usage: string; run(argv: string[]): Promise<number> };

const COMMANDS: Record<string, Command> = {
  run: { summary: 'replay traces into an adapter and print the table of checks', usage: RUN_USAGE, run: runCommand },
  simulator: {
    summary: 'start the realtime simulator (an offline stand-in for the OpenAI Realtime API)',
    usage: SIMULATOR_USAGE,
    run: simulatorCommand,
  },
  trace: {
    summary: 'check trace files against the format (validate), or say what a trace holds (inspect)',
    usage: TRACE_USAGE,
    run: traceCommand,
  },
  view: {
    summary: 'draw one recorded call (a trace or recording) as an HTML page, without a replay',
    usage: VIEW_USAGE,
    run: viewCommand,
  },
};

async function simulatorCommand(argv: string[]): Promise<number> {
  try {
    parseSimulatorArgs(argv);
  } catch (error) {
    throw new ConfigError((error as Error).message.split('\n')[0]!);
  }
  await runSimulatorCommand(argv);
  return 0;
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'Usage: switchboard-conformance <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
    '',
    '  switchboard-conformance <command> --help   the options of a command',
    '  switchboard-conformance --version          the version of @switchboard/conformance',
    '',
    'Exit codes: 0 success, 1 a check failed, 2 a usage or setup error.',
    '',
  ].join('\n');
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

const isHelp = (arg: string) => arg === '--help' || arg === '-h';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || isHelp(name)) {
    process.stdout.write(usage());
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (name === 'help') {
    const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
    if (rest[0] !== undefined && !topic)
      throw new ConfigError(
        `unknown command ${JSON.stringify(rest[0])}; commands: ${Object.keys(COMMANDS).join(', ')}`,
      );
    process.stdout.write(topic ? ensureNewline(topic.usage) : usage());
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    throw new ConfigError(
      `unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')} (switchboard-conformance --help)`,
    );
  }
  const end = rest.indexOf('--');
  if ((end < 0 ? rest : rest.slice(0, end)).some(isHelp)) {
    process.stdout.write(ensureNewline(command.usage));
    return 0;
  }
  return command.run(rest);
}

const ensureNewline = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

/** A usage or setup error: said in one line, exit code 2. */
function isSetupError(error: unknown): error is Error {
  return (
    error instanceof ConfigError ||
    error instanceof TraceParseError ||
    (error as { code?: unknown })?.code === 'config_error'
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (isSetupError(error)) {
      process.stderr.write(`switchboard-conformance: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    console.error((error as Error)?.stack ?? error);
    process.exitCode = 1;
  },
);
