/**
 * Reading Twilio Media Streams frames for the timeline: what the carrier sent (starts, the
 * caller's audio, DTMF, mark echoes, stop, timestamp gaps) and what a bridge sent it (audio,
 * marks, clears), each with its time. Nothing here throws on a malformed frame: it is skipped.
 */
import { base64Decode, type AudioFormat } from '@switchboard/core';
import { TWILIO_FORMAT, readTwilioFrame } from '../twilio-frames.js';
import { decodeCarrierAudio } from './audio.js';
import type { TimelineMarker, TimelineSpan } from './model.js';

export type TimedFrame = { at: number; frame: Record<string, unknown> };

type Media = { payload?: unknown; track?: unknown; timestamp?: unknown };

const record = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const text = (value: unknown): string =>
  typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value);

function decodeBase64(payload: unknown): Uint8Array | undefined {
  if (typeof payload !== 'string') return undefined;
  try {
    return base64Decode(payload);
  } catch {
    return undefined;
  }
}

/** The format a `start` frame announces, or undefined when it announces none we read. */
export function startFormat(frame: Record<string, unknown>): AudioFormat | undefined {
  for (const event of readTwilioFrame(frame)) if (event.type === 'call_start') return event.format;
  return undefined;
}

/** What the carrier sent, read for the timeline. */
export type CarrierSide = {
  audio: Array<{ at: number; samples: Int16Array; sampleRate: number }>;
  markers: TimelineMarker[];
  spans: TimelineSpan[];
  facts: Array<[string, string]>;
  /** The first format announced (the default Twilio one when none is). */
  format: AudioFormat;
};

/**
 * The carrier's frames (Twilio JSON), as they went to the bridge. `marks`: whether to show the
 * carrier's `mark` echoes (a replay logs its acknowledgements itself).
 */
export function readCarrierFrames(frames: TimedFrame[], options: { marks: boolean } = { marks: true }): CarrierSide {
  let format: AudioFormat | undefined;
  let current: AudioFormat = TWILIO_FORMAT;
  const out: CarrierSide = { audio: [], markers: [], spans: [], facts: [], format: TWILIO_FORMAT };
  let last: { ts: number; ms: number; at: number } | undefined;
  /** Each audio piece's media timestamp (NaN without one), parallel to `out.audio`. */
  const stamps: number[] = [];
  for (const { at, frame } of frames) {
    const event = frame.event;
    if (event === 'start') {
      const start = record(frame.start);
      current = startFormat(frame) ?? current;
      format ??= current;
      last = undefined;
      const params = record(start.customParameters);
      out.markers.push({
        at,
        lane: 'carrier',
        kind: 'start',
        label: 'start',
        detail: `stream ${text(start.streamSid ?? frame.streamSid)} · call ${text(start.callSid)} · ${current.encoding}/${current.sampleRate}`,
      });
      out.facts.push(['stream', text(start.streamSid ?? frame.streamSid)]);
      if (start.callSid !== undefined) out.facts.push(['call', text(start.callSid)]);
      for (const [key, value] of Object.entries(params)) out.facts.push([`parameter ${key}`, text(value)]);
    } else if (event === 'media') {
      const media = record(frame.media) as Media;
      if (media.track === 'outbound') continue;
      const bytes = decodeBase64(media.payload);
      if (!bytes) continue;
      const ms = (bytes.byteLength / (current.encoding === 'l16' ? 2 : 1) / current.sampleRate) * 1000;
      out.audio.push({ at, samples: decodeCarrierAudio(current, bytes), sampleRate: current.sampleRate });
      const ts = Number(media.timestamp);
      stamps.push(media.timestamp === undefined ? NaN : ts);
      if (media.timestamp !== undefined && Number.isFinite(ts)) {
        const gap = last && ts > last.ts ? ts - (last.ts + last.ms) : 0;
        if (last && gap >= 1) {
          out.spans.push({
            from: last.at,
            to: Math.max(at, last.at + 1),
            lane: 'caller',
            kind: 'gap',
            label: `gap ${Math.round(gap)} ms`,
            detail: `media timestamps jump by ${Math.round(gap)} ms`,
          });
        }
        if (!last || ts >= last.ts) last = { ts, ms, at };
      }
    } else if (event === 'dtmf') {
      const digit = text(record(frame.dtmf).digit);
      out.markers.push({
        at,
        lane: 'carrier',
        kind: 'dtmf',
        label: `DTMF ${digit}`,
        detail: `the caller pressed ${digit}`,
      });
    } else if (event === 'mark' && options.marks) {
      const name = text(record(frame.mark).name);
      out.markers.push({ at, lane: 'carrier', kind: 'ack', label: 'ack', detail: `mark ${name} played` });
    } else if (event === 'stop') {
      out.markers.push({ at, lane: 'carrier', kind: 'stop', label: 'stop', detail: 'the carrier ended the stream' });
    }
  }
  out.format = format ?? TWILIO_FORMAT;
  placeByTimestamp(out.audio, stamps);
  return out;
}

/**
 * Moves each piece of audio to where its media timestamp puts it: a frame sent late, or in a burst
 * after a stall, is drawn where it belongs in the caller's speech, not stacked on its neighbours.
 * The offset from timestamp to time is the smallest one from that frame on, so a pause that holds
 * the rest of the call (or a new stream whose timestamps restart) moves what follows, and only that.
 */
function placeByTimestamp(audio: CarrierSide['audio'], stamps: number[]): void {
  let offset = Infinity;
  for (let i = audio.length - 1; i >= 0; i--) {
    const ts = stamps[i]!;
    if (!Number.isFinite(ts)) continue;
    offset = Math.min(offset, audio[i]!.at - ts);
    audio[i]!.at = ts + offset;
  }
}

/** What a bridge sent a Twilio carrier (a recording's `sent` lines), read for the timeline. */
export type BridgeSide = {
  /** Audio chunks in the order sent. */
  chunks: Array<{ at: number; bytes: Uint8Array }>;
  marks: Array<{ at: number; name: string }>;
  clears: number[];
  other: TimelineMarker[];
};

export function readBridgeFrames(frames: TimedFrame[]): BridgeSide {
  const out: BridgeSide = { chunks: [], marks: [], clears: [], other: [] };
  for (const { at, frame } of frames) {
    if (frame.event === 'media') {
      const bytes = decodeBase64(record(frame.media).payload);
      if (bytes) out.chunks.push({ at, bytes });
    } else if (frame.event === 'mark') out.marks.push({ at, name: text(record(frame.mark).name) });
    else if (frame.event === 'clear') out.clears.push(at);
    else
      out.other.push({
        at,
        lane: 'bridge',
        kind: 'event',
        label: text(frame.event) || 'frame',
        detail: JSON.stringify(frame).slice(0, 300),
      });
  }
  return out;
}
