/**
 * `switchboard-conformance simulator`: runs the realtime simulator in the foreground so a
 * transport under development can talk to it instead of the OpenAI Realtime API.
 */
import { RealtimeSimulator } from './server.js';

export const SIMULATOR_USAGE = `Usage: switchboard-conformance simulator [--port N] [--host H] [--speed X]

Runs a local stand-in for the OpenAI Realtime API (GA protocol) until Ctrl-C.

  --port N    TCP port (default 8787; 0 picks a free one)
  --host H    interface to bind (default 127.0.0.1)
  --speed X   pacing multiplier: 2 replies twice as fast as real time (default 1)
  --help      show this text
`;

export interface SimulatorCommandOptions {
  port: number;
  host: string;
  speed: number;
}

/** Parses the simulator command's arguments; throws an Error with a usage hint when invalid. */
export function parseSimulatorArgs(argv: string[]): SimulatorCommandOptions | 'help' {
  const options: SimulatorCommandOptions = { port: 8787, host: '127.0.0.1', speed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    if (name !== '--port' && name !== '--host' && name !== '--speed') {
      throw new Error(`unknown argument ${JSON.stringify(arg)}\n\n${SIMULATOR_USAGE}`);
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i += 1;
    }
    if (value === undefined || value === '') throw new Error(`${name} needs a value\n\n${SIMULATOR_USAGE}`);
    if (name === '--host') {
      options.host = value;
    } else if (name === '--port') {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a TCP port: ${value}`);
      options.port = port;
    } else {
      const speed = Number(value);
      if (!Number.isFinite(speed) || speed <= 0) throw new Error(`--speed: not a positive number: ${value}`);
      options.speed = speed;
    }
  }
  return options;
}

/** Starts the simulator, prints how to reach it, and resolves once SIGINT or SIGTERM stopped it. */
export async function runSimulatorCommand(argv: string[]): Promise<void> {
  const parsed = parseSimulatorArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(SIMULATOR_USAGE);
    return;
  }
  const simulator = new RealtimeSimulator({ speed: parsed.speed });
  const { url, port } = await simulator.start({ port: parsed.port, host: parsed.host });
  const shownUrl = `${url}?model=gpt-realtime`;
  simulator.on('session', (session) => {
    process.stdout.write(`session ${session.id} connected (${session.connection.url})\n`);
    void session.closed.then(() => {
      const violations = session.violations.length;
      process.stdout.write(
        `session ${session.id} closed: ${session.responses.length} responses, ${violations} protocol violation${violations === 1 ? '' : 's'}\n`,
      );
      for (const v of session.violations) process.stdout.write(`  - [${v.code}] ${v.issues}\n`);
    });
  });
  process.stdout.write(
    [
      `Realtime simulator listening on ${url} (port ${port}, speed ${parsed.speed}x)`,
      '',
      'Point a transport at it with any API key, for example:',
      `  new OpenAIRealtimeWebSocket({ url: '${shownUrl}' })`,
      `  await session.connect({ apiKey: 'test', url: '${shownUrl}' })`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.write(`\n${signal}: stopping the simulator\n`);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await simulator.stop();
}
