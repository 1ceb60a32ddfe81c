/**
 * Trace format of the conformance harness: a JSONL recording of what a carrier (Twilio) sent on a
 * Media Streams WebSocket.
 *
 * Line 1: `{"trace":{"name","description","source","hazards":[...],"expect":{...}}}`
 * Line 2+: `{"t": <ms since the first frame>, "frame": <the carrier's JSON message, verbatim>}`
 *
 * Node only (reads files); the format itself is documented in traces/README.md.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Hazards used by the bundled corpus; a trace may declare others. */
export const TRACE_HAZARDS = [
  'barge-in',
  'dtmf',
  'timestamp-gap',
  'marks-after-clear',
  'no-stop',
  'early-media',
  'second-start',
  'long-call',
  'out-of-order',
  'clear-without-echo',
  'uneven-deltas',
  'long-reply',
  'no-mark-acks',
] as const;

/** A span of caller speech on the trace clock (ms, the same clock as `TraceFrame.t`). */
export interface TraceUtterance {
  startMs: number;
  endMs: number;
}

/** What a correct bridge must surface for this trace. */
export interface TraceExpect {
  /** DTMF digits in the order the carrier sent them. */
  dtmf: string[];
  /** `start.customParameters` of the call. */
  customParameters: Record<string, string>;
  callSid: string;
  /** Every stream id the call used, in order (more than one after a second `start`). */
  streamSids: string[];
  /** Total bytes of μ-law carried by all media frames. */
  inboundMediaBytes: number;
  /** Total ms of media missing from the stream (timestamp jumps), when the trace has a gap. */
  gapMs?: number;
  /** Where the caller really speaks. */
  utterances: TraceUtterance[];
  /** `t` of the last frame. */
  durationMs: number;
}

export interface TraceHeader {
  name: string;
  description: string;
  /** How the trace was made (recorded, synthesized, with what). */
  source: string;
  hazards: string[];
  expect: TraceExpect;
}

export interface TraceFrame {
  /** ms since the first frame. */
  t: number;
  /** The carrier's message, exactly as sent. */
  frame: Record<string, unknown>;
}

export interface Trace {
  header: TraceHeader;
  frames: TraceFrame[];
  /** The file it was read from, when it came from a file. */
  path?: string;
}

/** A trace that does not follow the format; `line` is 1-based. */
export class TraceParseError extends Error {
  readonly line: number;
  readonly path: string | undefined;

  constructor(message: string, line: number, path?: string) {
    super(`${path ? `${path}: ` : ''}line ${line}: ${message}`);
    this.name = 'TraceParseError';
    this.line = line;
    this.path = path;
  }
}

const msSchema = z.number().int().nonnegative();

const expectSchema = z.strictObject({
  dtmf: z.array(z.string()),
  customParameters: z.record(z.string(), z.string()),
  callSid: z.string().min(1),
  streamSids: z.array(z.string().min(1)).min(1),
  inboundMediaBytes: msSchema,
  gapMs: msSchema.optional(),
  utterances: z.array(
    z
      .strictObject({ startMs: msSchema, endMs: msSchema })
      .refine((u) => u.endMs > u.startMs, 'utterance endMs must be after startMs'),
  ),
  durationMs: msSchema,
});

const headerSchema = z.strictObject({
  trace: z.strictObject({
    name: z.string().min(1),
    description: z.string(),
    source: z.string(),
    hazards: z.array(z.string().min(1)),
    expect: expectSchema,
  }),
});

const frameLineSchema = z.strictObject({
  t: z.number().int().nonnegative(),
  frame: z.record(z.string(), z.unknown()).refine((f) => typeof f.event === 'string', {
    message: 'frame.event must be a string',
  }),
});

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

function parseJsonLine(text: string, line: number, path?: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TraceParseError(`invalid JSON (${(err as Error).message})`, line, path);
  }
}

/**
 * Parses a JSONL trace. Throws `TraceParseError` naming the line on a malformed header or frame,
 * or when `t` decreases. Blank lines are ignored.
 */
export function parseTrace(text: string, path?: string): Trace {
  const lines = text.split(/\r?\n/);
  const first = lines[0] ?? '';
  if (first.trim() === '') throw new TraceParseError('missing trace header', 1, path);
  const headerResult = headerSchema.safeParse(parseJsonLine(first, 1, path));
  if (!headerResult.success) {
    throw new TraceParseError(`bad trace header: ${describeIssues(headerResult.error)}`, 1, path);
  }
  const header: TraceHeader = headerResult.data.trace;

  const frames: TraceFrame[] = [];
  let lastT = -1;
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '') continue;
    const lineNo = i + 1;
    const result = frameLineSchema.safeParse(parseJsonLine(raw, lineNo, path));
    if (!result.success) {
      throw new TraceParseError(`bad frame line: ${describeIssues(result.error)}`, lineNo, path);
    }
    const { t, frame } = result.data;
    if (frames.length === 0 && t !== 0) {
      throw new TraceParseError(`the first frame must have t 0, got ${t}`, lineNo, path);
    }
    if (t < lastT) {
      throw new TraceParseError(`t goes backwards (${t} after ${lastT})`, lineNo, path);
    }
    lastT = t;
    frames.push({ t, frame });
  }
  if (frames.length === 0) throw new TraceParseError('trace has no frames', lines.length, path);

  const trace: Trace = { header, frames };
  if (path !== undefined) trace.path = path;
  return trace;
}

/** Reads and parses one trace file. */
export async function loadTrace(path: string): Promise<Trace> {
  const abs = resolve(path);
  return parseTrace(await readFile(abs, 'utf8'), abs);
}

/** Loads one trace file, or every `*.jsonl` in a directory sorted by file name. */
export async function loadTraces(pathOrDir: string): Promise<Trace[]> {
  const abs = resolve(pathOrDir);
  const info = await stat(abs);
  if (!info.isDirectory()) return [await loadTrace(abs)];
  const names = (await readdir(abs)).filter((n) => n.endsWith('.jsonl')).sort();
  const traces: Trace[] = [];
  for (const name of names) traces.push(await loadTrace(join(abs, name)));
  return traces;
}

function moduleDir(): string {
  // ESM (and CJS built with import.meta shims) has import.meta.url; plain CJS has __dirname.
  const url: string | undefined = import.meta.url;
  if (typeof url === 'string' && url.length > 0) return dirname(fileURLToPath(url));
  if (typeof __dirname === 'string') return __dirname;
  return process.cwd();
}

let bundledDir: string | undefined;

/**
 * Absolute path of the corpus shipped with this package (its `traces/` folder). Found by walking up
 * from this module, which lives in `src/` when run from source and in `dist/` when built.
 */
export function bundledTracesDir(): string {
  if (bundledDir) return bundledDir;
  const start = moduleDir();
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'traces');
    if (existsSync(join(candidate, 'two-turn.jsonl'))) {
      bundledDir = candidate;
      return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`bundled traces not found above ${start} (looked for traces/two-turn.jsonl)`);
    }
    dir = parent;
  }
}

/** Writes a trace back as JSONL, header first, one frame per line, with a trailing newline. */
export function serializeTrace(trace: Trace): string {
  const h = trace.header;
  const e = h.expect;
  const expect: Record<string, unknown> = {
    dtmf: e.dtmf,
    customParameters: e.customParameters,
    callSid: e.callSid,
    streamSids: e.streamSids,
    inboundMediaBytes: e.inboundMediaBytes,
  };
  if (e.gapMs !== undefined) expect.gapMs = e.gapMs;
  expect.utterances = e.utterances.map((u) => ({ startMs: u.startMs, endMs: u.endMs }));
  expect.durationMs = e.durationMs;
  const header = {
    trace: {
      name: h.name,
      description: h.description,
      source: h.source,
      hazards: h.hazards,
      expect,
    },
  };
  const lines = [JSON.stringify(header)];
  for (const f of trace.frames) lines.push(JSON.stringify({ t: f.t, frame: f.frame }));
  return lines.join('\n') + '\n';
}
