/**
 * `switchboard-conformance run`: replays traces into an adapter and prints the table of checks.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { formatReport, loadAdapters, runConformance } from '../run.js';
import { DEFAULT_SPEED } from '../replay.js';
import { bundledTracesDir, loadTraces } from '../trace.js';
import { parseTurnDetectionSelection, turnDetectionFromEnv, type TurnDetectionSelection } from '../turn-detection.js';

export const USAGE = `Usage:
  switchboard-conformance run --adapter <module> [--trace <file|dir>] [--speed N]
                             [--turn-detection rotate|all|server_vad|server_vad_interrupt|semantic_vad] [--json]
  switchboard-conformance simulator [--port 8787] [--host 127.0.0.1] [--speed 1]

run        replays the trace corpus (default: the bundled Twilio traces) into the adapter and
           prints a table of checks; exits 1 when a check fails.
           <module> is a package name or a path to a module exporting \`conformance\`
           (createTransport + createPeerSimulator).
           --turn-detection: the session's turn detection per trace; default rotate (one
           mode per trace, in turn), all (every trace in every mode), or one mode. Default
           from SWITCHBOARD_CONFORMANCE_TURN_DETECTION when set.
simulator  starts the realtime simulator: an offline stand-in for the OpenAI Realtime API.`;

export async function runCommand(rest: string[]): Promise<number> {
  const { values } = parseArgs({
    args: rest,
    options: {
      adapter: { type: 'string' },
      trace: { type: 'string', multiple: true },
      speed: { type: 'string' },
      'turn-detection': { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (!values.adapter) {
    console.error('--adapter is required\n');
    console.error(USAGE);
    return 2;
  }
  const speed = values.speed === undefined ? DEFAULT_SPEED : Number(values.speed);
  if (!(speed > 0)) {
    console.error('--speed must be a positive number');
    return 2;
  }
  let turnDetectionModes: TurnDetectionSelection;
  try {
    const given = values['turn-detection'];
    turnDetectionModes = given !== undefined ? parseTurnDetectionSelection(given) : (turnDetectionFromEnv() ?? 'rotate');
  } catch (error) {
    console.error(`--turn-detection: ${(error as Error).message}`);
    return 2;
  }
  const local = resolve(values.adapter);
  const specifier = existsSync(local) ? pathToFileURL(local).href : values.adapter;
  const adapters = await loadAdapters(specifier);
  const traces = [];
  for (const source of values.trace ?? [bundledTracesDir()]) traces.push(...(await loadTraces(source)));
  const tty = process.stderr.isTTY && !values.json && !values.quiet;
  let lastTrace = '';
  const reports = [];
  for (const adapter of adapters) {
    const progress = (line: string) => {
      if (tty) process.stderr.write(`\r${`${adapter.name} ${line}`.padEnd(50)}`);
      else if (!values.quiet && !values.json) {
        const name = line.slice(0, line.indexOf(':'));
        if (name !== lastTrace) process.stderr.write(`replaying ${name} (${adapter.name})\n`);
        lastTrace = name;
      }
    };
    const report = await runConformance(adapter, traces, { speed, turnDetectionModes, onProgress: progress });
    if (tty) process.stderr.write(`\r${' '.repeat(50)}\r`);
    reports.push(report);
    if (!values.json) console.log(`${formatReport(report)}\n`);
  }
  // One adapter: its report, as before; several (a package with presets): an array of them.
  if (values.json) console.log(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
  return reports.every((r) => r.passed) ? 0 : 1;
}

