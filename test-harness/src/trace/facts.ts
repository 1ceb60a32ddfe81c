/**
 * What a trace implies, derived from its frames alone: the ids and parameters of each `start`,
 * the digits, the caller's audio (bytes, gaps, where the caller speaks), the duration, and the
 * hazards the frames show. A declared `expect` block is checked against these facts.
 */
import type { AudioFormat, CallEvent, MediaStreamProtocol } from '@switchboard/core';
import { readTwilioFrame, TWILIO_FORMAT, twilioStreamSid } from '../twilio-frames.js';
import {
  inboundLines,
  traceCarrier,
  TraceParseError,
  type DeclaredTraceExpect,
  type Trace,
  type TraceExpect,
  type TraceStart,
  type TraceUtterance,
} from './format.js';
import { SpeechFinder } from './speech.js';

/**
 * How far a declared utterance boundary may sit from the detected one, ms. The detector works in
 * 20 ms windows and needs a window to be clearly louder than the line: a soft consonant at an
 * utterance's edge can sit in the window before or after (measured on the bundled corpus: within
 * 60 ms, see test/trace-facts.test.ts; twice that leaves room for other voices and lines). What relies on utterances
 * (the caller's reply gate, the barge-in traces) acts
 * on the start of a turn and tolerates far more: a turn is at least a second long, and the
 * simulator's VAD adds 300 ms of prefix padding and waits 500 ms of silence.
 */
export const UTTERANCE_TOLERANCE_MS = 120;

/** Hazards the frames can show by themselves. */
export const DERIVED_HAZARDS = [
  'dtmf',
  'second-start',
  'no-stop',
  'timestamp-gap',
  'out-of-order',
  'fragment',
] as const;

/** The caller's audio of one stream as the frames carry it, in arrival order. */
export type TraceInputStream = { format: AudioFormat; media: TraceMedia[] };

/** One piece of the caller's audio: when it arrived, its counters (when the carrier has them), its bytes and length. */
export type TraceMedia = { at: number; seq: number | undefined; ts: number | undefined; bytes: Uint8Array; ms: number };

type Facts = { expect: TraceExpect; hazards: string[]; input: TraceInputStream[] };

/** Facts per trace, with the protocol that read them (a protocol has state: it reads a trace once). */
const cache = new WeakMap<Trace, { facts: Facts; protocol: MediaStreamProtocol | undefined }>();

/**
 * What decodes a trace's frames into the core's events: Twilio's by the harness's own reader, others by the adapter's
 * protocol.
 */
type Decoder = (line: { data: string | Uint8Array; frame?: Record<string, unknown> }) => CallEvent[];

function decoderFor(trace: Trace, protocol?: MediaStreamProtocol): Decoder | undefined {
  if (traceCarrier(trace) === 'twilio') return (line) => (line.frame ? readTwilioFrame(line.frame) : []);
  if (!protocol) return undefined;
  let opened = false;
  return (line) => {
    const events: CallEvent[] = [];
    if (!opened) {
      opened = true;
      try {
        events.push(...(protocol.open?.() ?? []));
      } catch {
        // A protocol that cannot open without a connection: its frames still say what they say.
      }
    }
    try {
      events.push(...protocol.decode(line.data));
    } catch {
      // A frame the carrier's own protocol rejects carries no facts.
    }
    return events;
  };
}

/**
 * The facts a trace implies, derived from its frames (cached per trace). A trace of another
 * carrier than Twilio is read by that carrier's protocol (`protocol`, from the adapter's
 * `createProtocol()`); without one, its facts are those of a trace with no readable frame, unless
 * they were derived before with one.
 */
export function traceExpect(trace: Trace, options: { protocol?: MediaStreamProtocol } = {}): TraceExpect {
  return traceFacts(trace, options.protocol).expect;
}

/** The trace's hazards: those it declares, then those its frames show (see `DERIVED_HAZARDS`). */
export function traceHazards(trace: Trace, options: { protocol?: MediaStreamProtocol } = {}): string[] {
  const derived = traceFacts(trace, options.protocol).hazards;
  return [...new Set([...trace.header.hazards, ...derived])];
}

/** The hazards the frames alone show. */
export function derivedHazards(trace: Trace, options: { protocol?: MediaStreamProtocol } = {}): string[] {
  return traceFacts(trace, options.protocol).hazards;
}

/**
 * The caller's audio as the frames carry it, stream by stream (each `start` opens one), in the
 * format its `start` announced, read like `traceExpect` (with `protocol` for another carrier's
 * trace).
 */
export function traceInputStreams(trace: Trace, options: { protocol?: MediaStreamProtocol } = {}): TraceInputStream[] {
  return traceFacts(trace, options.protocol).input;
}

function traceFacts(trace: Trace, protocol?: MediaStreamProtocol): Facts {
  const cached = cache.get(trace);
  if (cached && (traceCarrier(trace) === 'twilio' || !protocol || protocol === cached.protocol)) return cached.facts;
  const decode = decoderFor(trace, protocol);
  const facts = deriveFacts(trace, decode);
  const declared = trace.header.expect;
  if (declared && decode) {
    checkDeclared(declared, facts.expect, trace.path);
    // A synthesizer knows exactly where it placed the speech: its utterances, once they agree, stand.
    if (declared.utterances) facts.expect.utterances = declared.utterances.map((u) => ({ ...u }));
  }
  cache.set(trace, { facts, protocol });
  return facts;
}

function deriveFacts(trace: Trace, decode: Decoder | undefined): Facts {
  const lines = inboundLines(trace);
  const redactedParameters = trace.header.redacted?.includes('custom-parameters') ?? false;
  const starts: TraceStart[] = [];
  const dtmf: string[] = [];
  const streams: TraceInputStream[] = [];
  let format = TWILIO_FORMAT;
  let stopped = false;
  let inboundMediaBytes = 0;
  for (const line of lines) {
    for (const event of decode?.(line) ?? []) {
      if (event.type === 'call_start') {
        starts.push({
          t: line.t,
          streamSid: event.streamId,
          callSid: event.callId ?? '',
          customParameters: redactedParameters ? undefined : { ...event.customParameters },
          synthesized: false,
          format: event.format,
        });
        format = event.format;
        streams.push({ format, media: [] });
        continue;
      }
      if (starts.length === 0 && (event.type === 'audio' || event.type === 'dtmf')) {
        // A capture that begins mid-call: the replayer sends a `start` of its own first.
        starts.push({
          t: line.t,
          streamSid: (line.frame && twilioStreamSid(line.frame)) ?? '',
          callSid: '',
          customParameters: undefined,
          synthesized: true,
        });
        streams.push({ format, media: [] });
      }
      if (event.type === 'audio') {
        inboundMediaBytes += event.payload.byteLength;
        const ms = (event.payload.byteLength / (format.encoding === 'l16' ? 2 : 1) / format.sampleRate) * 1000;
        streams
          .at(-1)!
          .media.push({ at: line.t, seq: event.sequence, ts: event.timestampMs, bytes: event.payload, ms });
      } else if (event.type === 'dtmf') dtmf.push(event.digit);
      else if (event.type === 'call_end') stopped = true;
    }
  }

  // The caller's audio on the trace clock, stream by stream; gaps and late frames from the counters.
  const speech = new SpeechFinder();
  let gapMs = 0;
  let outOfOrder = false;
  for (const { format, media: stream } of streams) {
    const inOrder = stream.every((m) => m.seq !== undefined) ? [...stream].sort((a, b) => a.seq! - b.seq!) : stream;
    for (let k = 1; k < stream.length; k++) {
      if (stream[k]!.seq !== undefined && stream[k - 1]!.seq !== undefined && stream[k]!.seq! < stream[k - 1]!.seq!)
        outOfOrder = true;
    }
    // A frame never arrives before its audio was spoken: the earliest arrival against its timestamp anchors the stream.
    // A carrier without timestamps (raw audio) streams continuously: its audio's own length places each frame.
    const untimed = stream.every((m) => m.ts === undefined);
    const position = new Map<TraceMedia, number>();
    let played = 0;
    for (const m of untimed ? inOrder : []) {
      position.set(m, played);
      played += m.ms;
    }
    const placed = (m: TraceMedia) => (untimed ? position.get(m) : m.ts);
    let anchor = Infinity;
    for (const m of stream) {
      const at = placed(m);
      if (at !== undefined) anchor = Math.min(anchor, m.at - at);
    }
    let last: TraceMedia | undefined;
    for (const m of inOrder) {
      if (last?.ts !== undefined && m.ts !== undefined && m.ts >= last.ts) {
        const gap = m.ts - (last.ts + last.ms);
        if (gap >= 1) gapMs += Math.min(gap, 10_000);
      }
      last = m;
      const at = placed(m);
      speech.add(at !== undefined && Number.isFinite(anchor) ? anchor + at : m.at, m.bytes, format);
    }
  }

  const first = starts[0];
  const expect: TraceExpect = {
    dtmf,
    customParameters: first?.customParameters ?? {},
    callSid: first?.callSid ?? '',
    streamSids: starts.map((s) => s.streamSid),
    inboundMediaBytes,
    utterances: speech.utterances(),
    durationMs: lines.at(-1)?.t ?? 0,
    starts,
  };
  if (gapMs > 0) expect.gapMs = Math.round(gapMs);

  const hazards: string[] = [];
  if (decode) {
    if (dtmf.length > 0) hazards.push('dtmf');
    if (starts.filter((s) => !s.synthesized).length > 1) hazards.push('second-start');
    if (!stopped) hazards.push('no-stop');
    if (gapMs > 0) hazards.push('timestamp-gap');
    if (outOfOrder) hazards.push('out-of-order');
    if (first?.synthesized) hazards.push('fragment');
  }
  return { expect, hazards, input: streams };
}

const show = (value: unknown) => JSON.stringify(value);

function sortedEntries(record: Record<string, string>): string {
  return show(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function utterancesAgree(declared: TraceUtterance[], derived: TraceUtterance[]): boolean {
  if (declared.length !== derived.length) return false;
  return declared.every(
    (u, i) =>
      Math.abs(u.startMs - derived[i]!.startMs) <= UTTERANCE_TOLERANCE_MS &&
      Math.abs(u.endMs - derived[i]!.endMs) <= UTTERANCE_TOLERANCE_MS,
  );
}

/** Throws a `TraceParseError` (header line) naming the first declared field the frames contradict, with both values. */
export function checkDeclared(declared: DeclaredTraceExpect, derived: TraceExpect, path?: string): void {
  const contradiction = (field: string, declaredValue: unknown, derivedValue: unknown, note = '') => {
    throw new TraceParseError(
      `expect.${field}: declared ${show(declaredValue)}, but the frames give ${show(derivedValue)}${note}`,
      1,
      path,
    );
  };
  if (declared.dtmf && show(declared.dtmf) !== show(derived.dtmf)) contradiction('dtmf', declared.dtmf, derived.dtmf);
  if (
    declared.customParameters &&
    sortedEntries(declared.customParameters) !== sortedEntries(derived.customParameters)
  ) {
    contradiction('customParameters', declared.customParameters, derived.customParameters);
  }
  if (declared.callSid !== undefined && declared.callSid !== derived.callSid)
    contradiction('callSid', declared.callSid, derived.callSid);
  if (declared.streamSids && show(declared.streamSids) !== show(derived.streamSids))
    contradiction('streamSids', declared.streamSids, derived.streamSids);
  if (declared.inboundMediaBytes !== undefined && declared.inboundMediaBytes !== derived.inboundMediaBytes) {
    contradiction('inboundMediaBytes', declared.inboundMediaBytes, derived.inboundMediaBytes);
  }
  if (declared.gapMs !== undefined && declared.gapMs !== (derived.gapMs ?? 0))
    contradiction('gapMs', declared.gapMs, derived.gapMs ?? 0);
  if (declared.durationMs !== undefined && declared.durationMs !== derived.durationMs)
    contradiction('durationMs', declared.durationMs, derived.durationMs);
  if (declared.utterances && !utterancesAgree(declared.utterances, derived.utterances)) {
    contradiction(
      'utterances',
      declared.utterances,
      derived.utterances,
      ` (each boundary may differ by ${UTTERANCE_TOLERANCE_MS} ms)`,
    );
  }
}
