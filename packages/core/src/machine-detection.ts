import { ConfigError } from './errors.js';
import type { CallStartEvent } from './transport/events.js';
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
 * number (`maxPending`) and time (`pendingTtlMs`), and delivered when the call appears; a result
 * for a call that already ended, or held too long, is dropped and counted.
 */
export class CallDirectory {
  readonly #calls = new Map<string, TelephonyRealtimeTransport>();
  /** Results waiting for their call, oldest first. */
  readonly #pending: Array<{ event: MachineDetectionEvent; at: number }> = [];
  /** Calls that ended recently (id → when), so that a late result is dropped, not held. */
  readonly #ended = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #maxPending: number;
  readonly #now: () => number;
  #dropped = 0;

  constructor(options: CallDirectoryOptions = {}) {
    const ttl = options.pendingTtlMs ?? CALL_DIRECTORY_DEFAULTS.pendingTtlMs;
    const max = options.maxPending ?? CALL_DIRECTORY_DEFAULTS.maxPending;
    if (!(typeof ttl === 'number' && Number.isFinite(ttl) && ttl >= 0)) {
      throw new ConfigError(`\`pendingTtlMs\` must be a non-negative number of ms; got ${String(ttl)}.`);
    }
    if (!(Number.isInteger(max) && max >= 0)) {
      throw new ConfigError(`\`maxPending\` must be a non-negative integer; got ${String(max)}.`);
    }
    this.#ttlMs = ttl;
    this.#maxPending = max;
    this.#now = options.now ?? Date.now;
  }

  /** Live calls in the directory. */
  get size(): number {
    return this.#calls.size;
  }

  /** Results held for a call that has not appeared yet. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Results dropped: held past `pendingTtlMs`, beyond `maxPending`, or for a call that had ended. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Adds a call under `callId` (default: its `call_start.callId`, once the carrier sent it).
   * It is removed when the call ends. Results held for it are delivered, in order.
   */
  add(transport: TelephonyRealtimeTransport, callId?: string): void {
    if (transport.endReason !== undefined) return;
    let id: string | undefined;
    const onStart = (event: CallStartEvent) => {
      if (id !== undefined || !event.callId) return;
      transport.off('call_start', onStart);
      this.#register((id = event.callId), transport);
    };
    const onEnd = () => {
      transport.off('call_start', onStart);
      transport.off('call_end', onEnd);
      if (id !== undefined && this.#calls.get(id) === transport) {
        this.#calls.delete(id);
        this.#remember(id);
      }
    };
    transport.on('call_end', onEnd);
    const known = callId ?? transport.callStart?.callId;
    if (known) this.#register((id = known), transport);
    else transport.on('call_start', onStart);
  }

  get(callId: string): TelephonyRealtimeTransport | undefined {
    return this.#calls.get(callId);
  }

  /** Delivers a result to its call: now, once the call appears (`held`), or never (`dropped`). */
  deliver(event: MachineDetectionEvent): 'delivered' | 'held' | 'dropped' {
    const callId = (event as { callId?: unknown } | null)?.callId;
    if (typeof callId !== 'string' || callId.length === 0 || event.type !== 'machine_detection') {
      this.#dropped++;
      return 'dropped';
    }
    this.#expire();
    const transport = this.#calls.get(callId);
    if (transport) {
      transport.deliverMachineDetection(event);
      return 'delivered';
    }
    if (this.#ended.has(callId) || this.#maxPending === 0) {
      this.#dropped++;
      return 'dropped';
    }
    if (this.#pending.length >= this.#maxPending) {
      this.#pending.shift();
      this.#dropped++;
    }
    this.#pending.push({ event, at: this.#now() });
    return 'held';
  }

  #register(callId: string, transport: TelephonyRealtimeTransport): void {
    this.#calls.set(callId, transport);
    this.#ended.delete(callId);
    this.#expire();
    const mine = this.#pending.filter((p) => p.event.callId === callId);
    if (mine.length === 0) return;
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      if (this.#pending[i]!.event.callId === callId) this.#pending.splice(i, 1);
    }
    // After the listeners of the call_start that made the call known have run.
    queueMicrotask(() => {
      for (const { event } of mine) transport.deliverMachineDetection(event);
    });
  }

  #remember(callId: string): void {
    this.#ended.set(callId, this.#now());
    if (this.#ended.size > Math.max(this.#maxPending, 1)) this.#ended.delete(this.#ended.keys().next().value!);
  }

  /** Drops held results older than the TTL, and forgets calls that ended longer ago. */
  #expire(): void {
    const oldest = this.#now() - this.#ttlMs;
    while (this.#pending.length > 0 && this.#pending[0]!.at < oldest) {
      this.#pending.shift();
      this.#dropped++;
    }
    for (const [id, at] of this.#ended) {
      if (at >= oldest) break;
      this.#ended.delete(id);
    }
  }
}
