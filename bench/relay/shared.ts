/** Messages between the relay benchmark's processes, and helpers they share. */
import { performance } from 'node:perf_hooks';

/** Wall-clock time with sub-millisecond resolution, comparable across processes on one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** FNV-1a over a string: a compact key to match a media payload across processes. */
export function payloadKey(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * `floor` is the bare relay of `floor.ts`; `session-floor` the least relay on a `RealtimeSession` and the
 * SDK's model connection (`session-floor.ts`). Both are measured for reference only.
 */
export type Impl = 'switchboard' | 'sdk' | 'floor' | 'session-floor';

export type BridgeReport = {
  impl: Impl;
  cpuUserMs: number;
  cpuSystemMs: number;
  wallMs: number;
  rssBaselineBytes: number;
  rssPeakBytes: number;
  /** CPU ms per thread name during the run (Linux only; empty elsewhere). */
  threadCpuMs: Record<string, number>;
  /** Growth of the heap V8 reserved (peak − baseline). */
  heapTotalGrowthBytes: number;
  /** Growth of memory outside the V8 heap: buffers, array buffers (peak − baseline). */
  externalGrowthBytes: number;
  /** Heap + array buffers after a full collection, before the calls. */
  heapBaselineBytes: number;
  eventLoopDelayP99Ms: number;
  calls: number;
  errors: number;
};

export type SimulatorCallReport = {
  call: string;
  /** Absolute (wall) time of each input append, keyed by the payload's hash: [key, at]. */
  appends: Array<[number, number]>;
  inputBytes: number;
  responses: Array<{ itemId: string; status: string; audioBytesSent: number; firstAudioAt: number | null }>;
  truncations: Array<{ itemId: string; audioEndMs: number; at: number; accepted: boolean }>;
  violations: number;
};

export type CallerCallReport = {
  call: string;
  mediaBytesSent: number;
  mediaFramesSent: number;
  /** [payload hash, wall time sent] of every media frame. */
  sends: Array<[number, number]>;
  /** Audio the caller received, grouped into segments (one per model response it heard). */
  segments: Array<{ firstAt: number; bytes: number; cleared: boolean }>;
  /** Per clear: wall time received, the ms of the current segment heard by then. */
  clears: Array<{ at: number; heardMs: number; segment: number }>;
  framesReceived: number;
  rejected: number;
};

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}
