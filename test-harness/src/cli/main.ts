/**
 * The commands of `switchboard-conformance`, from its arguments to its exit code. Each subcommand
 * lives in its own module beside this one and is one entry of `COMMANDS`; `cli.ts`, the bin's
 * entry, runs `runCli` with the process's streams.
 *
 * Exit codes: 0 success, 1 a failed check, 2 a usage or setup error. A subcommand reports a usage
 * or setup error by throwing a `ConfigError` (or a `TraceParseError`): it is printed as one line,
 * without a stack, and the exit code is 2. `--help` (or `-h`) after any subcommand prints its
 * usage.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { ConfigError } from '@switchboard/core';
import { parseSimulatorArgs, runSimulatorCommand, SIMULATOR_USAGE } from '../simulator/cli.js';
import { TraceParseError } from '../trace.js';
import { processIo, type CliIo } from './io.js';
import { runCommand, RUN_USAGE } from './run.js';
import { traceCommand, TRACE_USAGE } from './trace.js';
import { viewCommand, VIEW_USAGE } from './view.js';

type Command = { summary: string; usage: string; run(argv: string[], io: CliIo): Promise<number> };

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

/** The simulator runs in the foreground until the process is stopped: it writes to the process's own streams. */
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

/** The package's version: its package.json is one folder up from the built CLI, two from this source file. */
function version(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (manifest.name === '@switchboard/conformance') return manifest.version;
    } catch {
      // not this folder
    }
  }
  throw new Error('the package.json of @switchboard/conformance was not found');
}

const isHelp = (arg: string) => arg === '--help' || arg === '-h';

async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || isHelp(name)) {
    io.stdout.write(usage());
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  if (name === 'help') {
    const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
    if (rest[0] !== undefined && !topic)
      throw new ConfigError(
        `unknown command ${JSON.stringify(rest[0])}; commands: ${Object.keys(COMMANDS).join(', ')}`,
      );
    io.stdout.write(topic ? ensureNewline(topic.usage) : usage());
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
    io.stdout.write(ensureNewline(command.usage));
    return 0;
  }
  return command.run(rest, io);
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

/**
 * Runs `switchboard-conformance` with `argv` (the arguments after the bin's name), writing to the
 * streams of `io`; resolves with the exit code. A usage or setup error is one line on stderr and
 * exit code 2; anything else that goes wrong, its stack and exit code 1.
 */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await main(argv, io);
  } catch (error) {
    if (isSetupError(error)) {
      io.stderr.write(`switchboard-conformance: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`${(error as Error | undefined)?.stack ?? inspect(error)}\n`);
    return 1;
  }
}
