/**
 * Trace format v2 of the conformance harness: a JSON Lines recording of what a carrier sent on its
 * media WebSocket (and, in recordings, what the bridge sent back). Parsing and writing only; the
 * facts a trace implies are derived in `facts.ts`. Works on strings: no file or Node API here.
 *
 * Line 1 may be a header `{"trace":{...}}` (every field optional); every other line is one frame:
 * `{"t", "frame"|"binary"|"text"}` from the carrier, `{"t", "sent"|"sentBinary"|"sentText"}` from
 * the bridge. See traces/README.md.
 */
import { base64Decode, base64Encode, type AudioFormat } from '@switchboard/core';
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
  'agent-hangup',
  'slow-tool',
] as const;

/** A span of caller speech on the trace clock (ms, the same clock as `TraceFrame.t`). */
export interface TraceUtterance {
  startMs: number;
  endMs: number;
}

/** One `start` of the call, as the frames give it. */
export interface TraceStart {
  /** `t` of the frame (of the first frame of a fragment that has no `start`). */
  t: number;
  /** The stream id; `""` when redacted or unknown. */
  streamSid: string;
  /** The call id; `""` when redacted or unknown. */
  callSid: string;
  /** Its custom parameters; undefined when unknown (no `start` in the trace, or redacted). */
  customParameters: Record<string, string> | undefined;
  /** True when the trace has no `start` here (a capture that begins mid-call): the replayer sends one of its own. */
  synthesized: boolean;
  /** The audio format it announces (absent for a synthesized start: Twilio's μ-law 8 kHz). */
  format?: AudioFormat;
}

/**
 * What a correct bridge must surface for a trace, derived from its frames (`traceExpect`). Ids a
 * recorder redacted are `""`, and the checks do not compare them.
 */
export interface TraceExpect {
  /** DTMF digits in the order the carrier sent them. */
  dtmf: string[];
  /** The first `start`'s custom parameters (`{}` when unknown). */
  customParameters: Record<string, string>;
  /** The call id of the first `start` (`""` when redacted or unknown). */
  callSid: string;
  /** Every stream id the call used, in order (more than one after a second `start`). */
  streamSids: string[];
  /** Total bytes of the caller's audio carried by all media frames. */
  inboundMediaBytes: number;
  /** Total ms of media missing from the stream (timestamp jumps), when the trace has a gap. */
  gapMs?: number;
  /** Where the caller really speaks. */
  utterances: TraceUtterance[];
  /** `t` of the last frame. */
  durationMs: number;
  /** Every `start`, with its own parameters (the declared `expect` block has no such field). */
  starts?: TraceStart[];
}

/** The `expect` block a header may declare: any subset of the facts, checked against the frames. */
export type DeclaredTraceExpect = Partial<Omit<TraceExpect, 'starts'>>;

export interface TraceHeader {
  /** Default: the file name without its extension. */
  name: string;
  description: string;
  /** How the trace was made (recorded, synthesized, with what). */
  source: string;
  /** Hazards the trace declares (see `traceHazards` for those derived from the frames as well). */
  hazards: string[];
  /** The wire dialect of the frames. Default `"twilio"`. */
  carrier?: string;
  /** When the call was recorded (ISO time). */
  recordedAt?: string;
  /** What the recorder redacted (`"phone-numbers"`, `"custom-parameters"`, `"audio:noise"`, ...). */
  redacted?: string[];
  /** Facts declared by the trace's author; optional, and checked against the frames when present. */
  expect?: DeclaredTraceExpect;
}

/** A JSON frame the carrier sent. */
export interface TraceFrame {
  /** ms since the recording began. */
  t: number;
  /** The carrier's message, exactly as sent. */
  frame: Record<string, unknown>;
}

/** One line of a trace after the header: a frame either way, JSON, binary or other text. */
export type TraceLine =
  | TraceFrame
  | { t: number; binary: Uint8Array }
  | { t: number; text: string }
  | { t: number; sent: Record<string, unknown> }
  | { t: number; sentBinary: Uint8Array }
  | { t: number; sentText: string };

export interface Trace {
  header: TraceHeader;
  /** The carrier's JSON frames, in order (what most of the harness reads). */
  frames: TraceFrame[];
  /** Every line after the header, in order, when the trace came from a file (binary, text and sent frames included). */
  lines?: TraceLine[];
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

export type ParseTraceOptions = {
  /** Unknown keys (in the header, its `expect`, or on a frame line) are errors. Default false. */
  strict?: boolean;
  /** The name when the header gives none (`loadTrace` passes the file name without extension). */
  defaultName?: string;
};

/** The carrier whose frames the trace holds (`"twilio"` unless its header says otherwise). */
export function traceCarrier(trace: Trace): string {
  return trace.header.carrier ?? 'twilio';
}

/** Every line of a trace (its `lines`, or its frames for a trace built by hand). */
export function traceLines(trace: Trace): TraceLine[] {
  return trace.lines ?? trace.frames;
}

/** The carrier's frames of a trace in order, binary and non-JSON text included. */
export function inboundLines(
  trace: Trace,
): Array<{ t: number; data: string | Uint8Array; frame?: Record<string, unknown> }> {
  const out: Array<{ t: number; data: string | Uint8Array; frame?: Record<string, unknown> }> = [];
  for (const line of traceLines(trace)) {
    if ('frame' in line) out.push({ t: line.t, data: JSON.stringify(line.frame), frame: line.frame });
    else if ('binary' in line) out.push({ t: line.t, data: line.binary });
    else if ('text' in line) out.push({ t: line.t, data: line.text });
  }
  return out;
}

const ms = z.number().int().nonnegative();

function expectSchema(strict: boolean) {
  const shape = {
    dtmf: z.array(z.string()).optional(),
    customParameters: z.record(z.string(), z.string()).optional(),
    callSid: z.string().optional(),
    streamSids: z.array(z.string()).optional(),
    inboundMediaBytes: ms.optional(),
    gapMs: ms.optional(),
    utterances: z
      .array(
        z
          .strictObject({ startMs: ms, endMs: ms })
          .refine((u) => u.endMs > u.startMs, 'utterance endMs must be after startMs'),
      )
      .optional(),
    durationMs: ms.optional(),
  };
  return strict ? z.strictObject(shape) : z.object(shape);
}

function headerSchema(strict: boolean) {
  const shape = {
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    source: z.string().optional(),
    hazards: z.array(z.string().min(1)).optional(),
    carrier: z.string().min(1).optional(),
    recordedAt: z
      .string()
      .refine((s) => !Number.isNaN(Date.parse(s)), 'recordedAt must be an ISO time')
      .optional(),
    redacted: z.array(z.string()).optional(),
    expect: expectSchema(strict).optional(),
  };
  return strict ? z.strictObject(shape) : z.object(shape);
}

const LINE_KINDS = ['frame', 'binary', 'text', 'sent', 'sentBinary', 'sentText'] as const;

/**
 * The key a recorder adds to the last line of a recording it cut short at its size limit:
 * `"truncated":{"framesDropped":…,"bytesDropped":…}`. Known to `strict` parsing, on the last line only.
 */
const TRUNCATED_KEY = 'truncated';
const truncatedSchema = z.strictObject({ framesDropped: ms, bytesDropped: ms });

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

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function decodeBase64(value: unknown, key: string, line: number, path?: string): Uint8Array {
  if (typeof value !== 'string') throw new TraceParseError(`${key} must be a base64 string`, line, path);
  try {
    return base64Decode(value);
  } catch {
    throw new TraceParseError(`${key} is not valid base64`, line, path);
  }
}

/** One frame line, or a `TraceParseError` naming what is wrong with it. */
function parseLine(value: unknown, carrier: string, strict: boolean, line: number, path?: string): TraceLine {
  if (!isObject(value)) throw new TraceParseError('a frame line must be a JSON object', line, path);
  const t = value.t;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0)
    throw new TraceParseError('t must be a number >= 0 (ms)', line, path);
  const kinds = LINE_KINDS.filter((k) => k in value);
  if (kinds.length !== 1) {
    throw new TraceParseError(
      kinds.length === 0
        ? `a frame line needs one of ${LINE_KINDS.join(', ')}`
        : `a frame line has exactly one of ${kinds.join(', ')}`,
      line,
      path,
    );
  }
  if (strict) {
    const extra = Object.keys(value).filter((k) => k !== 't' && k !== kinds[0] && k !== TRUNCATED_KEY);
    if (extra.length > 0) throw new TraceParseError(`unknown key(s) on a frame line: ${extra.join(', ')}`, line, path);
    if (TRUNCATED_KEY in value) {
      const result = truncatedSchema.safeParse(value[TRUNCATED_KEY]);
      if (!result.success)
        throw new TraceParseError(`bad ${TRUNCATED_KEY}: ${describeIssues(result.error)}`, line, path);
    }
  }
  const kind = kinds[0]!;
  switch (kind) {
    case 'frame':
    case 'sent': {
      const frame = value[kind];
      if (!isObject(frame)) throw new TraceParseError(`${kind} must be a JSON object`, line, path);
      if (kind === 'frame' && carrier === 'twilio' && typeof frame.event !== 'string') {
        throw new TraceParseError('frame.event must be a string (a Twilio Media Streams message)', line, path);
      }
      return kind === 'frame' ? { t, frame } : { t, sent: frame };
    }
    case 'binary':
      return { t, binary: decodeBase64(value.binary, 'binary', line, path) };
    case 'sentBinary':
      return { t, sentBinary: decodeBase64(value.sentBinary, 'sentBinary', line, path) };
    case 'text':
    case 'sentText': {
      const raw = value[kind];
      if (typeof raw !== 'string') throw new TraceParseError(`${kind} must be a string`, line, path);
      return kind === 'text' ? { t, text: raw } : { t, sentText: raw };
    }
  }
}

/**
 * Parses a trace (format v2; v1 traces are valid v2). Throws `TraceParseError` naming the line on
 * a malformed header or frame line, when `t` decreases, or when there is no carrier frame. Blank
 * lines are ignored; a first `t` above 0 shifts every line so that the first is at 0.
 * The declared `expect` is checked against the frames by `checkDeclaredExpect` (`parseTrace` in
 * the package root does both).
 */
export function parseTraceLines(text: string, path?: string, options: ParseTraceOptions = {}): Trace {
  const strict = options.strict ?? false;
  const rows = text.split(/\r?\n/);
  let first = 0;
  while (first < rows.length && (rows[first] ?? '').trim() === '') first++;
  let header: TraceHeader = { name: options.defaultName ?? 'trace', description: '', source: '', hazards: [] };
  let body = first;
  if (first < rows.length) {
    const value = parseJsonLine(rows[first]!, first + 1, path);
    if (isObject(value) && 'trace' in value) {
      if (strict && Object.keys(value).length > 1)
        throw new TraceParseError('the header line holds only "trace"', first + 1, path);
      const result = headerSchema(strict).safeParse(value.trace);
      if (!result.success)
        throw new TraceParseError(`bad trace header: ${describeIssues(result.error)}`, first + 1, path);
      const h = result.data;
      header = {
        name: h.name ?? options.defaultName ?? 'trace',
        description: h.description ?? '',
        source: h.source ?? '',
        hazards: h.hazards ?? [],
      };
      if (h.carrier !== undefined) header.carrier = h.carrier;
      if (h.recordedAt !== undefined) header.recordedAt = h.recordedAt;
      if (h.redacted !== undefined) header.redacted = h.redacted;
      if (h.expect !== undefined) header.expect = pickExpect(h.expect);
      body = first + 1;
    }
  }
  const carrier = header.carrier ?? 'twilio';

  const lines: TraceLine[] = [];
  const lineNumbers: number[] = [];
  let lastT = -Infinity;
  /** The line with the recorder's `truncated` key, once one had it. */
  let truncatedAt: number | undefined;
  for (let i = body; i < rows.length; i++) {
    const raw = rows[i] ?? '';
    if (raw.trim() === '') continue;
    const lineNo = i + 1;
    const value = parseJsonLine(raw, lineNo, path);
    if (strict && truncatedAt !== undefined)
      throw new TraceParseError(`${TRUNCATED_KEY} is for the last line only`, truncatedAt, path);
    if (isObject(value) && TRUNCATED_KEY in value) truncatedAt = lineNo;
    const parsed = parseLine(value, carrier, strict, lineNo, path);
    if (parsed.t < lastT) throw new TraceParseError(`t goes backwards (${parsed.t} after ${lastT})`, lineNo, path);
    lastT = parsed.t;
    lines.push(parsed);
    lineNumbers.push(lineNo);
  }
  const inbound = lines.filter((l) => 'frame' in l || 'binary' in l || 'text' in l);
  if (inbound.length === 0) throw new TraceParseError('trace has no carrier frames', Math.max(1, rows.length), path);
  const shift = lines[0]!.t;
  if (shift > 0) for (const line of lines) line.t -= shift;

  const trace: Trace = { header, frames: lines.filter((l): l is TraceFrame => 'frame' in l), lines };
  if (path !== undefined) trace.path = path;
  return trace;
}

/** The known fields of a declared expect block, in the canonical order. */
function pickExpect(e: DeclaredTraceExpect): DeclaredTraceExpect {
  const out: DeclaredTraceExpect = {};
  if (e.dtmf !== undefined) out.dtmf = e.dtmf;
  if (e.customParameters !== undefined) out.customParameters = e.customParameters;
  if (e.callSid !== undefined) out.callSid = e.callSid;
  if (e.streamSids !== undefined) out.streamSids = e.streamSids;
  if (e.inboundMediaBytes !== undefined) out.inboundMediaBytes = e.inboundMediaBytes;
  if (e.gapMs !== undefined) out.gapMs = e.gapMs;
  if (e.utterances !== undefined) out.utterances = e.utterances.map((u) => ({ startMs: u.startMs, endMs: u.endMs }));
  if (e.durationMs !== undefined) out.durationMs = e.durationMs;
  return out;
}

/** Writes a trace back as JSON Lines, header first, one frame per line, with a trailing newline. */
export function serializeTrace(trace: Trace): string {
  const h = trace.header;
  const header: Record<string, unknown> = {
    name: h.name,
    description: h.description,
    source: h.source,
    hazards: h.hazards,
  };
  if (h.carrier !== undefined) header.carrier = h.carrier;
  if (h.recordedAt !== undefined) header.recordedAt = h.recordedAt;
  if (h.redacted !== undefined) header.redacted = h.redacted;
  if (h.expect !== undefined) header.expect = pickExpect(h.expect);
  const out = [JSON.stringify({ trace: header })];
  for (const line of traceLines(trace)) {
    if ('frame' in line) out.push(JSON.stringify({ t: line.t, frame: line.frame }));
    else if ('binary' in line) out.push(JSON.stringify({ t: line.t, binary: base64Encode(line.binary) }));
    else if ('text' in line) out.push(JSON.stringify({ t: line.t, text: line.text }));
    else if ('sent' in line) out.push(JSON.stringify({ t: line.t, sent: line.sent }));
    else if ('sentBinary' in line) out.push(JSON.stringify({ t: line.t, sentBinary: base64Encode(line.sentBinary) }));
    else out.push(JSON.stringify({ t: line.t, sentText: line.sentText }));
  }
  return out.join('\n') + '\n';
}
