/**
 * A recorded call (a trace, or a recording with the bridge's `sent` lines) as a timeline, with no
 * replay: the carrier's frames give the caller's audio, starts, DTMF, mark echoes and gaps; the
 * bridge's frames give the agent's audio (played back to back as the carrier would, cut at each
 * clear), marks and clears. Reads trace format v2 leniently: a line it cannot read is counted and
 * skipped, `.gz` files are read transparently.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { bytesPerMs } from '@switchboard/core';
import { decodeCarrierAudio, placeAudio } from './audio.js';
import { readBridgeFrames, readCarrierFrames, type TimedFrame } from './frames.js';
import type { CallTimeline, TimelineMarker, TimelineSpan } from './model.js';

export type Recording = {
  name: string;
  header: Record<string, unknown>;
  carrier: TimedFrame[];
  bridge: TimedFrame[];
  /** Binary or non-JSON frames, either way (drawn as plain events). */
  raw: Array<{ at: number; dir: 'carrier' | 'bridge'; bytes: number }>;
  /** Lines that were neither a header nor a frame. */
  unreadLines: number[];
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

/** Parses a trace or recording's text (JSON Lines). */
export function parseRecording(text: string, name: string): Recording {
  const out: Recording = { name, header: {}, carrier: [], bridge: [], raw: [], unreadLines: [] };
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      out.unreadLines.push(i + 1);
      return;
    }
    if (!isObject(value)) return void out.unreadLines.push(i + 1);
    if (i === 0 && isObject(value.trace)) {
      out.header = value.trace;
      if (typeof value.trace.name === 'string' && value.trace.name) out.name = value.trace.name;
      return;
    }
    const t = value.t;
    if (typeof t !== 'number' || !Number.isFinite(t)) return void out.unreadLines.push(i + 1);
    if (isObject(value.frame)) out.carrier.push({ at: t, frame: value.frame });
    else if (isObject(value.sent)) out.bridge.push({ at: t, frame: value.sent });
    else if (typeof value.binary === 'string' || typeof value.text === 'string')
      out.raw.push({ at: t, dir: 'carrier', bytes: String(value.binary ?? value.text).length });
    else if (typeof value.sentBinary === 'string' || typeof value.sentText === 'string')
      out.raw.push({ at: t, dir: 'bridge', bytes: String(value.sentBinary ?? value.sentText).length });
    else out.unreadLines.push(i + 1);
  });
  // The first line need not be at 0.
  const origin = Math.min(...out.carrier.map((f) => f.at), ...out.bridge.map((f) => f.at), ...out.raw.map((f) => f.at));
  if (Number.isFinite(origin) && origin !== 0) {
    for (const list of [out.carrier, out.bridge, out.raw]) for (const entry of list) entry.at -= origin;
  }
  return out;
}

/** Reads a trace or recording file (`.jsonl`, or gzip-compressed). */
export async function readRecording(path: string): Promise<Recording> {
  const bytes = await readFile(path);
  const text = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  return parseRecording(text, basename(path).replace(/\.jsonl(\.gz)?$|\.gz$/, ''));
}

/** The timeline of a recorded call. */
export function recordingTimeline(recording: Recording): CallTimeline {
  const header = recording.header;
  const carrierName = typeof header.carrier === 'string' ? header.carrier : 'twilio';
  const twilio = carrierName === 'twilio';
  const markers: TimelineMarker[] = [];
  const spans: TimelineSpan[] = [];
  const carrier = twilio ? readCarrierFrames(recording.carrier) : readCarrierFrames([]);
  const bridge = twilio ? readBridgeFrames(recording.bridge) : readBridgeFrames([]);
  const format = carrier.format;
  const perMs = bytesPerMs(format);

  // The carrier plays the bridge's audio back to back from when it arrives; a clear stops it.
  const played: Array<{ at: number; samples: Int16Array }> = [];
  const events = [
    ...bridge.chunks.map((c) => ({ at: c.at, chunk: c })),
    ...bridge.clears.map((at) => ({ at, chunk: undefined })),
  ].sort((a, b) => a.at - b.at);
  let queueEnd = 0;
  let sinceClear: Array<{ startAt: number; ms: number; index: number }> = [];
  for (const event of events) {
    if (event.chunk) {
      const startAt = Math.max(event.at, queueEnd);
      const ms = event.chunk.bytes.byteLength / perMs;
      queueEnd = startAt + ms;
      played.push({ at: startAt, samples: decodeCarrierAudio(format, event.chunk.bytes) });
      sinceClear.push({ startAt, ms, index: played.length - 1 });
      continue;
    }
    let heard = 0;
    let discarded = 0;
    for (const c of sinceClear) {
      const kept = Math.min(c.ms, Math.max(0, event.at - c.startAt));
      heard += kept;
      discarded += c.ms - kept;
      const piece = played[c.index]!;
      piece.samples = piece.samples.subarray(0, Math.round((kept * format.sampleRate) / 1000));
    }
    markers.push({
      at: event.at,
      lane: 'agent',
      kind: 'clear',
      label: 'clear',
      detail: `the caller had heard ${Math.round(heard)} ms of the audio since the last clear; ${Math.round(discarded)} ms discarded`,
    });
    if (discarded > 0)
      spans.push({
        from: event.at,
        to: event.at + discarded,
        lane: 'agent',
        kind: 'discarded',
        label: `${Math.round(discarded)} ms discarded`,
      });
    sinceClear = [];
    queueEnd = event.at;
  }
  for (const mark of bridge.marks)
    markers.push({
      at: mark.at,
      lane: 'carrier',
      kind: 'mark',
      label: 'mark',
      detail: `the bridge sent mark ${mark.name}`,
    });
  markers.push(...carrier.markers, ...bridge.other);
  spans.push(...carrier.spans);
  for (const raw of recording.raw)
    markers.push({
      at: raw.at,
      lane: raw.dir === 'carrier' ? 'carrier' : 'bridge',
      kind: 'event',
      label: 'raw frame',
      detail: `a binary or non-JSON frame (${raw.bytes} characters)`,
    });

  const end = Math.max(
    0,
    ...recording.carrier.map((f) => f.at),
    ...recording.bridge.map((f) => f.at),
    queueEnd,
    ...recording.raw.map((f) => f.at),
  );
  const rate = format.sampleRate;
  const facts: Array<[string, string]> = [
    ['recording', recording.name],
    ...(['description', 'source', 'recordedAt'] as const)
      .filter((k) => typeof header[k] === 'string' && header[k])
      .map((k): [string, string] => [k, String(header[k])]),
    ['carrier', carrierName],
    ...(Array.isArray(header.hazards) && header.hazards.length > 0
      ? ([['hazards', header.hazards.map(String).join(', ')]] as Array<[string, string]>)
      : []),
    ...(Array.isArray(header.redacted) && header.redacted.length > 0
      ? ([['redacted', header.redacted.map(String).join(', ')]] as Array<[string, string]>)
      : []),
    ['carrier format', `${format.encoding}/${format.sampleRate}`],
    ...carrier.facts,
    [
      'frames',
      `${recording.carrier.length} from the carrier, ${recording.bridge.length} from the bridge${recording.bridge.length === 0 ? ' (a trace: the bridge side was not recorded)' : ''}`,
    ],
  ];
  if (!twilio) facts.push(['note', `frames in the ${carrierName} dialect are counted, not drawn`]);
  if (recording.unreadLines.length > 0)
    facts.push([
      'unread lines',
      recording.unreadLines.slice(0, 20).join(', ') + (recording.unreadLines.length > 20 ? ', …' : ''),
    ]);
  return {
    title: recording.name,
    adapter: 'recording',
    trace: recording.name,
    turnDetection: '',
    facts,
    durationMs: end,
    caller: placeAudio(
      carrier.audio.map((a) => ({ at: a.at, samples: a.samples })),
      rate,
      end,
    ),
    agent: placeAudio(played, rate, end),
    markers: markers.sort((a, b) => a.at - b.at),
    spans,
    verdicts: [],
    failures: [],
  };
}
