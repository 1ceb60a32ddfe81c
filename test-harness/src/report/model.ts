/**
 * The report's data: one call drawn on one time axis (stream ms since the replay, or the
 * recording, began). Built from a replay (`timeline.ts`) or from a recorded trace alone
 * (`recording.ts`), drawn by `render.ts`.
 */
import type { ReplayResult } from '../replay.js';

/** One call of a conformance run: the replay and the verdict of every check on it. */
export type ReportCall = {
  adapter: string;
  trace: string;
  turnDetection: string;
  result: ReplayResult;
  outcomes: Array<{ id: string; title: string; status: 'pass' | 'fail' | 'n/a'; detail: string; at?: number }>;
};

/** Audio on the timeline's axis: 16-bit PCM whose first sample plays at `startMs`. */
export type PlacedAudio = { samples: Int16Array; sampleRate: number; startMs: number };

/** The rows of the timeline, top to bottom. */
export const LANES = ['checks', 'caller', 'model', 'agent', 'carrier', 'bridge'] as const;
export type Lane = (typeof LANES)[number];

/** Something that happened at one moment. `kind` picks the symbol and colour. */
export type TimelineMarker = {
  at: number;
  lane: Lane;
  kind:
    | 'start'
    | 'stop'
    | 'dtmf'
    | 'mark'
    | 'ack'
    | 'clear'
    | 'truncate'
    | 'cancel'
    | 'speech_started'
    | 'speech_stopped'
    | 'malformed'
    | 'error'
    | 'call_start'
    | 'call_end'
    | 'hangup'
    | 'failure'
    | 'event';
  label: string;
  detail?: string;
};

/** Something that lasted. */
export type TimelineSpan = {
  from: number;
  to: number;
  lane: Lane;
  kind: 'turn' | 'speech' | 'gap' | 'pause' | 'latency' | 'discarded' | 'injected';
  label: string;
  detail?: string;
  /** A turn's outcome (`completed`, `cancelled`, ...): cancelled turns are drawn hatched. */
  status?: string;
};

/** A check that failed: where on the timeline, when the check (or its subject) can say. */
export type TimelineFailure = { id: string; title: string; detail: string; at: number | undefined };

export type Verdict = { id: string; title: string; status: 'pass' | 'fail' | 'n/a'; detail: string };

export type CallTimeline = {
  /** `<adapter> · <trace> · <turn detection>`, or the file name of a recording. */
  title: string;
  adapter: string;
  trace: string;
  turnDetection: string;
  /** Free-form facts shown above the timeline (call sid, custom parameters, formats, metrics). */
  facts: Array<[string, string]>;
  durationMs: number;
  /** What the caller said, as it went to the bridge, placed where it went out. */
  caller: PlacedAudio;
  /** What the agent said, as the caller heard it (cut where a `clear` stopped it). */
  agent: PlacedAudio;
  markers: TimelineMarker[];
  spans: TimelineSpan[];
  verdicts: Verdict[];
  failures: TimelineFailure[];
};
