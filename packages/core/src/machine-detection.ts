import type { TelephonyRealtimeTransport } from './transport.js';

/**
 * A carrier's answering-machine detection result, delivered to the call it belongs to
 * ({@link TelephonyRealtimeTransport.deliverMachineDetection}, {@link CallDirectory.deliver}).
 * Carrier packages build it from their webhook (`read<Carrier>MachineDetection`).
 */
export type MachineDetectionEvent = {
  type: 'machine_detection';
  /** The carrier's call id, as in the call's `call_start.callId`. */
  callId: string;
  /** The carrier: `twilio`, `telnyx`, ... */
  carrier: string;
  answeredBy: 'human' | 'machine' | 'fax' | 'unknown';
  /** A machine's greeting is over (beep or silence): a voicemail can be left now. */
  greetingEnded: boolean;
  /** The carrier's own value, e.g. `machine_end_beep`. */
  carrierResult: string;
  /** How long detection took, ms, where the carrier says. */
  detectionMs?: number;
  /** The carrier's payload. */
  raw: unknown;
};

export type CallDirectoryOptions = {
  /** How long a result for a call not (yet) in the directory is held, ms. Default 60 000. */
  pendingTtlMs?: number;
  /** How many such results are held at most; the oldest is dropped beyond it. Default 1000. */
  maxPending?: number;
  /** Clock for the TTL. Default `Date.now`. */
  now?: () => number;
};

/** Defaults of {@link CallDirectoryOptions}. */
export const CALL_DIRECTORY_DEFAULTS = Object.freeze({ pendingTtlMs: 60_000, maxPending: 1000 });

/**
 * Live calls by the carrier's call id, so that a webhook (a machine-detection result) reaches
 * the call's transport. A result that arrives before its call's `call_start` is held, bounded in
 * number and time, and delivered when the call appears.
 */
export class CallDirectory {
  constructor(_options: CallDirectoryOptions = {}) {}

  /** Live calls in the directory. */
  get size(): number {
    return 0;
  }

  /** Results dropped: expired, over `maxPending`, or for a call that had ended. */
  get dropped(): number {
    return 0;
  }

  /**
   * Adds a call under `callId` (default: its `call_start.callId`, once it arrives). It is
   * removed when the call ends.
   */
  add(_transport: TelephonyRealtimeTransport, _callId?: string): void {
    throw new Error('not implemented');
  }

  get(_callId: string): TelephonyRealtimeTransport | undefined {
    return undefined;
  }

  /** Delivers a result to its call: now, once the call appears (`held`), or never (`dropped`). */
  deliver(_event: MachineDetectionEvent): 'delivered' | 'held' | 'dropped' {
    throw new Error('not implemented');
  }
}
