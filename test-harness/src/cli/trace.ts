/**
 * `switchboard-conformance trace validate|inspect`: checks trace files against the format, and
 * says what a trace holds and which checks it can exercise, without replaying it.
 */
import { parseArgs } from 'node:util';
import { ConfigError, type MediaStreamProtocol } from '@switchboard/core';
import { loadAdapters } from '../load-adapter.js';
import {
  derivedHazards,
  loadTrace,
  traceCarrier,
  traceExpect,
  traceLines,
  TraceParseError,
  type Trace,
  type TraceExpect,
} from '../trace.js';
import { givenPath, processIo, type CliIo } from './io.js';

export const TRACE_USAGE = `Usage: switchboard-conformance trace <validate|inspect> <file...> [options]

  validate <file...> [--strict]
      Checks each trace (.jsonl or .jsonl.gz) against the trace format: every line, the header,
      and a declared expect block against the frames. Prints one line per file; an error names
      the file and the line. --strict also refuses unknown keys in the header, its expect block
      and on frame lines. Exits 0 when every file is valid, 1 when one is not, 2 on a usage error.

  inspect <file...> [--json]
      Says what each trace holds: carrier, duration, frames by event, call and stream ids, custom
      parameters per start, DTMF, where the caller speaks, gaps, hazards (declared and derived
      from the frames), and which checks it can exercise. --json prints the same as JSON (an
      array). Exits 0, or 1 when a file cannot be read as a trace.

  --adapter <module>   (both) read traces of another carrier than Twilio with the protocol of
                       the adapter whose traceCarrier is theirs (its createProtocol()): their
                       facts are derived, and a declared expect block is checked. Without it,
                       such a trace's frames are checked but its facts are not derived.
  --help               show this text.
`;

type Inspection = {
  name: string;
  path: string;
  carrier: string;
  durationMs: number;
  framesByEvent: Record<string, number>;
  sentByBridge: number;
  starts: Array<{
    streamSid: string;
    callSid: string;
    customParameters: Record<string, string> | null;
    synthesized: boolean;
  }>;
  dtmf: string[];
  inboundMediaBytes: number;
  utterances: Array<{ startMs: number; endMs: number }>;
  gapMs: number;
  hazards: { declared: string[]; derived: string[] };
  /** Check id → why the trace alone cannot exercise it (checks not listed can be exercised). */
  cannotExercise: Record<string, string>;
  canExercise: string[];
};

const CHECK_IDS = [
  'input.lossless',
  'output.lossless',
  'bargein.clear',
  'bargein.truncate',
  'bargein.cancel',
  'bargein.errors',
  'dtmf.order',
  'metadata.first',
  'lifecycle.close',
  'hangup.after_playback',
  'audio.injected',
  'errors.malformed',
  'events.schema',
  'carrier.frames',
  'carrier.pacing',
  'model.protocol',
];

/** Which checks a trace cannot exercise, whatever the adapter, and why. */
function notExercised(trace: Trace, facts: TraceExpect, readable: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (!readable) {
    for (const id of CHECK_IDS)
      out[id] = `a ${traceCarrier(trace)} trace: its adapter's protocol reads it when it is replayed`;
    return out;
  }
  if (facts.inboundMediaBytes === 0) out['input.lossless'] = 'no caller audio';
  if (facts.utterances.length === 0) {
    for (const id of ['output.lossless', 'carrier.frames']) out[id] = 'no caller speech, so no reply to carry';
  }
  if (!trace.header.hazards.includes('barge-in')) {
    for (const id of ['bargein.clear', 'bargein.truncate', 'bargein.cancel', 'bargein.errors']) {
      out[id] =
        facts.utterances.length < 2
          ? 'no barge-in: fewer than two caller utterances'
          : 'only if the caller speaks over a reply (no barge-in declared)';
    }
  }
  if (facts.dtmf.length === 0) out['dtmf.order'] = 'no DTMF';
  if (!trace.header.hazards.includes('agent-hangup'))
    out['hangup.after_playback'] = 'the agent does not hang up (no agent-hangup declared)';
  if (!trace.header.hazards.includes('slow-tool'))
    out['audio.injected'] = 'no slow tool plays filler (no slow-tool declared)';
  out['carrier.pacing'] = 'only for an adapter that declares pacing';
  return out;
}

function inspect(trace: Trace, protocol: MediaStreamProtocol | undefined): Inspection {
  const readable = traceCarrier(trace) === 'twilio' || protocol !== undefined;
  const facts = traceExpect(trace, protocol ? { protocol } : {});
  const framesByEvent: Record<string, number> = {};
  let sentByBridge = 0;
  for (const line of traceLines(trace)) {
    const kind =
      'frame' in line
        ? typeof line.frame.event === 'string'
          ? line.frame.event
          : '(no event)'
        : 'binary' in line
          ? '(binary)'
          : 'text' in line
            ? '(text)'
            : undefined;
    if (kind === undefined) sentByBridge++;
    else framesByEvent[kind] = (framesByEvent[kind] ?? 0) + 1;
  }
  const cannotExercise = notExercised(trace, facts, readable);
  return {
    name: trace.header.name,
    path: trace.path ?? '',
    carrier: traceCarrier(trace),
    durationMs: facts.durationMs,
    framesByEvent,
    sentByBridge,
    starts: (facts.starts ?? []).map((s) => ({
      streamSid: s.streamSid,
      callSid: s.callSid,
      customParameters: s.customParameters ?? null,
      synthesized: s.synthesized,
    })),
    dtmf: facts.dtmf,
    inboundMediaBytes: facts.inboundMediaBytes,
    utterances: facts.utterances,
    gapMs: facts.gapMs ?? 0,
    hazards: { declared: trace.header.hazards, derived: derivedHazards(trace, protocol ? { protocol } : {}) },
    cannotExercise,
    canExercise: CHECK_IDS.filter((id) => !(id in cannotExercise)),
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const orDash = (items: string[]) => (items.length > 0 ? items.join(', ') : '—');

function describe(i: Inspection): string {
  const rows: Array<[string, string]> = [
    ['carrier', i.carrier],
    ['duration', seconds(i.durationMs)],
    [
      'frames',
      `${Object.values(i.framesByEvent).reduce((a, b) => a + b, 0)} from the carrier (${Object.entries(i.framesByEvent)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}), ${i.sentByBridge} sent by the bridge`,
    ],
    ...i.starts.map((s, k): [string, string] => [
      `start ${k + 1}`,
      `${s.synthesized ? '(none in the trace: the replayer sends one) ' : ''}stream ${s.streamSid || '(redacted)'}, call ${s.callSid || '(redacted)'}, parameters ${
        s.customParameters === null
          ? '(unknown)'
          : orDash(Object.entries(s.customParameters).map(([key, v]) => `${key}=${v}`))
      }`,
    ]),
    ['caller audio', `${i.inboundMediaBytes} bytes`],
    ['dtmf', orDash(i.dtmf)],
    [
      'utterances',
      i.utterances.length === 0
        ? '—'
        : `${i.utterances.length}: ${i.utterances.map((u) => `${seconds(u.startMs)}–${seconds(u.endMs)}`).join(', ')}`,
    ],
    ['gaps', i.gapMs > 0 ? `${i.gapMs} ms of media missing` : '—'],
    ['hazards', `declared: ${orDash(i.hazards.declared)}; from the frames: ${orDash(i.hazards.derived)}`],
    ['exercises', orDash(i.canExercise)],
    ...Object.entries(i.cannotExercise).map(([id, why]): [string, string] => [`  not ${id}`, why]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`${i.name} (${i.path})`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n') + '\n';
}

/** One line for a file that is not a valid trace. */
function problem(file: string, error: unknown): string {
  if (error instanceof TraceParseError) return error.path ? error.message : `${file}: ${error.message}`;
  const code = (error as { code?: string })?.code;
  if (code === 'ENOENT') return `${file}: no such file`;
  if (code === 'EISDIR') return `${file}: a directory, not a trace file`;
  return `${file}: ${(error as Error)?.message ?? String(error)}`;
}

export async function traceCommand(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(TRACE_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'validate' && sub !== 'inspect')
    throw new ConfigError(
      `trace: unknown subcommand ${JSON.stringify(sub)}; use validate or inspect (switchboard-conformance trace --help)`,
    );
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        strict: { type: 'boolean' },
        json: { type: 'boolean' },
        adapter: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new ConfigError(`trace ${sub}: ${(error as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(TRACE_USAGE);
    return 0;
  }
  if (positionals.length === 0)
    throw new ConfigError(`trace ${sub}: give at least one trace file (switchboard-conformance trace --help)`);
  if (sub === 'validate' && values.json) throw new ConfigError('trace validate: --json is an option of inspect');
  if (sub === 'inspect' && values.strict) throw new ConfigError('trace inspect: --strict is an option of validate');

  const adapters = values.adapter === undefined ? [] : await loadAdapters(values.adapter, io.cwd);
  /** A decoder of a trace's frames, where the adapter speaks its carrier (Twilio traces need none). */
  const protocolFor = (trace: Trace): MediaStreamProtocol | undefined => {
    const carrier = traceCarrier(trace);
    if (carrier === 'twilio') return undefined;
    return adapters
      .find((a) => (a.traceCarrier ?? (a.twilioFrames ? 'twilio' : undefined)) === carrier)
      ?.createProtocol?.();
  };
  let bad = 0;
  const inspections: Inspection[] = [];
  for (const file of positionals) {
    let trace: Trace;
    try {
      trace = await loadTrace(givenPath(io, file), { strict: values.strict === true });
      const protocol = protocolFor(trace);
      // A carrier trace's declared expect is checked once its carrier's protocol reads it.
      if (protocol) traceExpect(trace, { protocol });
    } catch (error) {
      bad++;
      io.stderr.write(`${sub === 'validate' ? 'invalid ' : ''}${problem(file, error)}\n`);
      continue;
    }
    if (sub === 'validate') {
      const frames = traceLines(trace).length;
      io.stdout.write(
        `ok ${file}: ${trace.header.name}, ${traceCarrier(trace)}, ${frames} frame line(s), ${seconds(traceExpect(trace).durationMs)}\n`,
      );
    } else if (values.json) inspections.push(inspect(trace, protocolFor(trace)));
    else io.stdout.write(describe(inspect(trace, protocolFor(trace))));
  }
  if (sub === 'inspect' && values.json) io.stdout.write(`${JSON.stringify(inspections, null, 2)}\n`);
  return bad > 0 ? 1 : 0;
}
