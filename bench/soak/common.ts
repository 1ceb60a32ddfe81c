/** What the soak benchmark's processes share: the carrier adapter, the messages, a seeded PRNG. */
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { loadAdapters } from '@switchboard/conformance';
import { benchPath } from '../shared.js';

/**
 * The conformance adapter of `spec`: a package name under `@switchboard/` (`twilio`, `telnyx`, ...)
 * or a full specifier, then optionally `:<adapter name>` for a package with several dialects
 * (`websocket:asterisk`). Resolved from the repository root, as the built packages.
 */
export async function loadCarrier(spec: string): Promise<ConformanceAdapter> {
  const [pkg, name] = spec.split(':') as [string, string | undefined];
  const specifier = pkg.includes('/') ? pkg : `@switchboard/${pkg}`;
  const adapters = await loadAdapters(specifier, benchPath('..'));
  const adapter =
    name === undefined ? adapters[0] : adapters.find((a) => a.name === name || a.name.endsWith(`/${name}`));
  if (!adapter)
    throw new Error(
      `soak: ${specifier} has no adapter named ${name} (it has ${adapters.map((a) => a.name).join(', ')})`,
    );
  if (!adapter.createTransport)
    throw new Error(
      `soak: the ${adapter.name} adapter runs its bridge out of process (no createTransport); the soak needs one in Node`,
    );
  return adapter;
}

/** mulberry32: a small seeded PRNG, so that a run's calls can be replayed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One memory sample of the bridge. Bytes; `at` is ms since the run started. */
export type Sample = {
  at: number;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  liveCalls: number;
  callsCompleted: number;
  /** Whether a full collection ran just before the sample. */
  afterGc: boolean;
  /** Bridge CPU (user + system) since the previous sample, as a share of one core. */
  cpu: number;
  /** Event-loop delay p99 since the previous sample, ms. */
  loopDelayP99Ms: number;
};

/** What the callers did, summed over every call. */
export type CarrierTotals = {
  callsStarted: number;
  callsCompleted: number;
  /** Calls that could not connect, or that the bridge closed before the caller hung up. */
  connectFailures: number;
  closedByBridge: number;
  mediaFramesSent: number;
  mediaBytesSent: number;
  utterances: number;
  /** Utterances started while the bridge's audio was playing. */
  bargeIns: number;
  dtmfDigitsSent: number;
  audioBytesReceived: number;
  audioMsReceived: number;
  marksReceived: number;
  acksSent: number;
  clearsReceived: number;
  /** Frames from the bridge that the carrier would refuse (its peer's `decodeOutbound` threw). */
  framesRejected: number;
  /** Marks still waiting for their audio to play when the call closed. */
  marksUnacknowledged: number;
  /** Frames from the bridge that arrived after the caller's stop, in the closing handshake. */
  framesAfterHangUp: number;
  /** Calls hung up while the bridge's audio was still playing (after the wait for a quiet moment ran out). */
  hungUpMidReply: number;
  /** Seconds of all calls together. */
  callSeconds: number;
};

export function emptyCarrierTotals(): CarrierTotals {
  return {
    callsStarted: 0,
    callsCompleted: 0,
    connectFailures: 0,
    closedByBridge: 0,
    mediaFramesSent: 0,
    mediaBytesSent: 0,
    utterances: 0,
    bargeIns: 0,
    dtmfDigitsSent: 0,
    audioBytesReceived: 0,
    audioMsReceived: 0,
    marksReceived: 0,
    acksSent: 0,
    clearsReceived: 0,
    framesRejected: 0,
    marksUnacknowledged: 0,
    framesAfterHangUp: 0,
    hungUpMidReply: 0,
    callSeconds: 0,
  };
}

/** What the realtime simulator saw, summed over every session. */
export type SimulatorTotals = {
  sessions: number;
  /** Client events that broke the Realtime protocol. */
  violations: number;
  responses: number;
  cancels: number;
  truncations: number;
  errorsSent: number;
  /** Sessions still open when asked. */
  open: number;
};

/**
 * Counters of `transport.metrics` that are audio lost or refused: each must stay 0. (Audio a
 * barge-in discards, `interruptedBytesDiscarded` and `lateAudioDroppedBytes`, is dropped by design.)
 */
export const LOSS_COUNTERS = [
  'earlyMediaDroppedBytes',
  'outputDroppedNoStreamBytes',
  'outputUnsentBytes',
  'lateFramesDropped',
  'framesMissing',
  'gapsUnpaddedMs',
  'malformedFrames',
] as const;

/** The bridge's report at the end of the run. */
export type BridgeReport = {
  carrier: string;
  samples: Sample[];
  /** After a full collection, before the first call. */
  baseline: Sample;
  /** After every call ended and a full collection. */
  afterHangUp: Sample;
  callsStarted: number;
  callsCompleted: number;
  /** Every numeric `transport.metrics` counter summed over the completed calls, plus counts of its lists. */
  metrics: Record<string, number>;
  /** `error` events the sessions emitted, by code (or name). */
  errors: Record<string, number>;
  /** Why the calls ended (the transport's `call_end` reason), by reason. */
  endReasons: Record<string, number>;
  /** The first calls that lost audio (a loss counter above 0), with why they ended and their errors. */
  lossyCalls: Array<{
    call: string;
    endReason: string;
    seconds: number;
    errors: string[];
    losses: Record<string, number>;
  }>;
  cpuMs: number;
  wallMs: number;
  gcExposed: boolean;
  heapSnapshots: string[];
};
