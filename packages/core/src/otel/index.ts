/**
 * `@switchboard/core/otel`: the call quality of every call as OpenTelemetry metrics, through
 * `@opentelemetry/api` (an optional peer dependency: install it, and the SDK and exporter of your
 * choice, to use this entry point). Nothing is recorded per frame: a call is counted when it is
 * instrumented and its figures are recorded once, from its `call_end` report.
 *
 * Instruments (durations in seconds, as OpenTelemetry's semantic conventions have them):
 * - `switchboard.calls` (counter): calls instrumented; `switchboard.calls.active` (up-down counter);
 * - `switchboard.call.ends` (counter): calls ended, by end reason;
 * - `switchboard.call.frames.lost`, `.late`, `.reordered` (counters): inbound frames;
 * - `switchboard.call.underruns` (counter): the carrier ran dry mid-response;
 * - `switchboard.call.gaps.padded` (counter, s): silence inserted for holes in the inbound stream;
 * - `switchboard.call.jitter` (histogram, s): each call's mean RFC 3550 interarrival jitter;
 * - `switchboard.call.forwarding_delay` (histogram, s): each call's 95th percentile of carrier
 *   frame in → audio appended to the model;
 * - `switchboard.call.response_latency` (histogram, s): every turn's speech end → first reply
 *   audio sent to the carrier;
 * - `switchboard.call.mos` (histogram): each call's estimated MOS (G.107 E-model).
 *
 * Attributes: `switchboard.carrier` (the protocol's name) on all, and `switchboard.end_reason` on
 * those recorded at the end; nothing else, so the number of series stays bounded. A carrier can
 * name its own end reasons (a stop message's text): past {@link MAX_END_REASONS} distinct values,
 * further ones are recorded as `other`.
 */
import {
  metrics,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type UpDownCounter,
} from '@opentelemetry/api';
import type { CallQualityReport } from '../quality/call-quality.js';
import type { TelephonyRealtimeTransport } from '../transport.js';
import type { CallEndEvent } from '../transport/events.js';

/** The meter's name (instrumentation scope) when none is given. */
export const METER_NAME = '@switchboard/core';
/** Distinct end reasons recorded as themselves; the rest are `other`. */
export const MAX_END_REASONS = 32;
/** Longest end reason recorded as it is (longer ones are cut). */
const MAX_REASON_LENGTH = 64;

const SECONDS_BOUNDARIES = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12];
const MOS_BOUNDARIES = [1, 1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.1, 4.2, 4.3, 4.4, 4.5];

export type CallInstrumentsOptions = {
  /** The meter to record on. Default: `meterProvider`'s, else the global MeterProvider's, named {@link METER_NAME}. */
  meter?: Meter;
  meterProvider?: MeterProvider;
};

export type InstrumentCallOptions = CallInstrumentsOptions & {
  /** The `switchboard.carrier` attribute. Default: the transport's protocol name (`twilio`, `telnyx`, ...). */
  carrier?: string;
};

/** The instruments, created once per meter and shared by every call recorded on it. */
export class CallInstruments {
  readonly #calls: Counter;
  readonly #active: UpDownCounter;
  readonly #ends: Counter;
  readonly #lost: Counter;
  readonly #late: Counter;
  readonly #reordered: Counter;
  readonly #underruns: Counter;
  readonly #gaps: Counter;
  readonly #jitter: Histogram;
  readonly #forwarding: Histogram;
  readonly #latency: Histogram;
  readonly #mos: Histogram;
  readonly #reasons = new Set<string>();

  constructor(options: CallInstrumentsOptions = {}) {
    const meter = options.meter ?? (options.meterProvider ?? metrics).getMeter(METER_NAME);
    const seconds = (name: string, description: string) =>
      meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: SECONDS_BOUNDARIES } });
    this.#calls = meter.createCounter('switchboard.calls', { description: 'Calls bridged.', unit: '{call}' });
    this.#active = meter.createUpDownCounter('switchboard.calls.active', {
      description: 'Calls in progress.',
      unit: '{call}',
    });
    this.#ends = meter.createCounter('switchboard.call.ends', {
      description: 'Calls ended, by reason.',
      unit: '{call}',
    });
    this.#lost = meter.createCounter('switchboard.call.frames.lost', {
      description: 'Inbound frames that never arrived (sequence numbers skipped).',
      unit: '{frame}',
    });
    this.#late = meter.createCounter('switchboard.call.frames.late', {
      description: 'Inbound frames that arrived too late to use.',
      unit: '{frame}',
    });
    this.#reordered = meter.createCounter('switchboard.call.frames.reordered', {
      description: 'Inbound frames that arrived after one with a higher sequence number.',
      unit: '{frame}',
    });
    this.#underruns = meter.createCounter('switchboard.call.underruns', {
      description: 'Times the carrier ran out of audio in the middle of a response.',
      unit: '{underrun}',
    });
    this.#gaps = meter.createCounter('switchboard.call.gaps.padded', {
      description: 'Silence inserted for holes in the inbound stream.',
      unit: 's',
    });
    this.#jitter = seconds('switchboard.call.jitter', "Each call's mean RFC 3550 interarrival jitter.");
    this.#forwarding = seconds(
      'switchboard.call.forwarding_delay',
      "Each call's 95th percentile of carrier frame in to audio appended to the model.",
    );
    this.#latency = seconds(
      'switchboard.call.response_latency',
      "Each turn's time from the end of the caller's speech to the first reply audio sent to the carrier.",
    );
    this.#mos = meter.createHistogram('switchboard.call.mos', {
      description: "Each call's estimated MOS (ITU-T G.107 E-model).",
      unit: '1',
      advice: { explicitBucketBoundaries: MOS_BOUNDARIES },
    });
  }

  /** A call began (counted in `switchboard.calls` and `switchboard.calls.active`). */
  started(carrier: string): void {
    const attributes = { 'switchboard.carrier': carrier };
    this.#calls.add(1, attributes);
    this.#active.add(1, attributes);
  }

  /**
   * A call ended with this report: `switchboard.calls.active` goes down, and its figures are
   * recorded. `report` may be missing (a call whose media did not pass through the bridge).
   */
  ended(
    carrier: string,
    reason: string,
    report: CallQualityReport | undefined,
    responseLatenciesMs: number[] = [],
  ): void {
    this.#active.add(-1, { 'switchboard.carrier': carrier });
    const attributes: Attributes = { 'switchboard.carrier': carrier, 'switchboard.end_reason': this.#reason(reason) };
    this.#ends.add(1, attributes);
    for (const ms of responseLatenciesMs) if (ms >= 0) this.#latency.record(ms / 1000, attributes);
    if (!report) return;
    const { inbound, outbound, forwarding, mos } = report;
    if (inbound.lostFrames > 0) this.#lost.add(inbound.lostFrames, attributes);
    if (inbound.lateFrames > 0) this.#late.add(inbound.lateFrames, attributes);
    if (inbound.reorderedFrames > 0) this.#reordered.add(inbound.reorderedFrames, attributes);
    if (outbound.underruns > 0) this.#underruns.add(outbound.underruns, attributes);
    if (inbound.gapsPaddedMs > 0) this.#gaps.add(inbound.gapsPaddedMs / 1000, attributes);
    // A call that never carried audio has no jitter, delay or MOS to speak of.
    if (inbound.frames === 0) return;
    if (inbound.jitter.count > 0) this.#jitter.record(inbound.jitter.mean / 1000, attributes);
    if (forwarding.delayMs.count > 0) this.#forwarding.record(forwarding.delayMs.p95 / 1000, attributes);
    this.#mos.record(mos.score, attributes);
  }

  /**
   * Watches one call: counts it now, and records its figures at its `call_end`. Returns a function
   * that stops watching (the call is then no longer counted as active, and nothing is recorded).
   */
  instrument(transport: TelephonyRealtimeTransport, options: { carrier?: string } = {}): () => void {
    const carrier = options.carrier ?? transport.protocol.name;
    let open = true;
    const onEnd = (event: CallEndEvent) => {
      if (!open) return;
      open = false;
      transport.off('call_end', onEnd);
      try {
        this.ended(carrier, event.reason, event.quality, transport.metrics.responseLatenciesMs);
      } catch {
        // An SDK or exporter that throws must not reach the call.
      }
    };
    transport.on('call_end', onEnd);
    this.started(carrier);
    return () => {
      if (!open) return;
      open = false;
      transport.off('call_end', onEnd);
      this.#active.add(-1, { 'switchboard.carrier': carrier });
    };
  }

  #reason(reason: string): string {
    const value = String(reason).slice(0, MAX_REASON_LENGTH);
    if (this.#reasons.has(value)) return value;
    if (this.#reasons.size >= MAX_END_REASONS) return 'other';
    this.#reasons.add(value);
    return value;
  }
}

const byMeter = new WeakMap<Meter, CallInstruments>();

/**
 * Records one call's quality as OpenTelemetry metrics (see the module note for the instruments):
 * counted now, its figures recorded at `call_end`. Instruments are created once per meter. Returns
 * a function that stops watching the call.
 *
 * @example
 * ```ts
 * import { instrumentCall } from '@switchboard/core/otel';
 * const transport = new TwilioRealtimeTransport({ twilioWebSocket: socket });
 * instrumentCall(transport); // the global MeterProvider's meter
 * ```
 */
export function instrumentCall(transport: TelephonyRealtimeTransport, options: InstrumentCallOptions = {}): () => void {
  // The global provider is looked up per call: one registered after the first call still counts.
  const meter = options.meter ?? (options.meterProvider ?? metrics).getMeter(METER_NAME);
  let instruments = byMeter.get(meter);
  if (!instruments) {
    instruments = new CallInstruments({ meter });
    byMeter.set(meter, instruments);
  }
  return instruments.instrument(transport, { carrier: options.carrier });
}
