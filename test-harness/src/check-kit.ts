/**
 * What every conformance check shares: the outcome types, the check options, and a few readings of
 * a replay (the carrier's chunks by item, the largest frame padding, the transport's events).
 */
import { bytesPerMs } from '@switchboard/core';
import type { CarrierChunk } from './caller.js';
import type { ReplayResult } from './replay.js';

export type CheckStatus = 'pass' | 'fail' | 'n/a';
export type CheckOutcome = { status: CheckStatus; detail: string };

export type ConformanceCheck = {
  id: string;
  title: string;
  /**
   * The declared capability under which the check cannot be exercised and is n/a for the adapter
   * (`dtmfIn: false`), when there is one. Other checks apply to every adapter.
   */
  naWhen?: string;
  run(result: ReplayResult, options: CheckOptions): CheckOutcome;
};

export type CheckOptions = {
  /** Largest allowed difference between `audio_end_ms` and what the caller heard, ms. Default 20. */
  truncateToleranceMs: number;
  /** Longest time from the model's `speech_started` to the carrier's `clear`, in real ms. Default 250. */
  clearWithinMs: number;
};

export const DEFAULT_CHECK_OPTIONS: CheckOptions = { truncateToleranceMs: 20, clearWithinMs: 250 };

export const pass = (detail = ''): CheckOutcome => ({ status: 'pass', detail });
export const fail = (detail: string): CheckOutcome => ({ status: 'fail', detail });
export const na = (detail = ''): CheckOutcome => ({ status: 'n/a', detail });

/** n/a because of a capability the adapter declares (or omits): the detail names it. */
export const notDeclared = (capability: string): CheckOutcome => na(`the adapter declares ${capability}`);

/** The most padding an adapter may add after an item's audio: up to one whole frame (bytes). */
export function largestPadding(result: ReplayResult): number {
  const format = result.carrierFormat;
  const rules = result.capabilities.frame ?? {};
  const unit = Math.max(
    rules.multipleOf ?? 1,
    rules.ms ? Math.round(rules.ms * bytesPerMs(format)) : 1,
    rules.minBytes ?? 1,
  );
  return unit;
}

/** Carrier chunks grouped by model item, in arrival order. */
export function chunksByItem(chunks: CarrierChunk[]): Map<string, CarrierChunk[]> {
  const byItem = new Map<string, CarrierChunk[]>();
  for (const chunk of chunks) {
    if (!chunk.itemId) continue;
    const list = byItem.get(chunk.itemId) ?? [];
    list.push(chunk);
    byItem.set(chunk.itemId, list);
  }
  return byItem;
}

export function emittedOf(result: ReplayResult, name: string): unknown[][] {
  return result.emitted.filter((e) => e.name === name).map((e) => e.args);
}

/** How far beyond its declared lead (and one frame) a paced bridge may run at the carrier, stream ms. */
export const PACING_SLACK_MS = 60;
