import type { OpenAIRealtimeWebSocketOptions } from '@openai/agents-realtime';
import type { Clock } from '../clock.js';
import type { MediaConnection, WebSocketLike } from '../connection.js';
import { ConfigError } from '../errors.js';
import type { MediaStreamProtocol } from '../types.js';
import type { HangUpRequest } from './hangup.js';
import { checkRecordingOptions, type CallRecordingOptions } from '../recorder/recorder.js';

export type TelephonyRealtimeTransportOptions = OpenAIRealtimeWebSocketOptions & {
  /** The carrier socket: a `ws` socket, a WHATWG WebSocket, or a {@link MediaConnection}. */
  connection: MediaConnection | WebSocketLike;
  /** The carrier's wire format. */
  protocol: MediaStreamProtocol;
  /**
   * How much carrier audio to keep while the model socket is not yet open, in ms. The oldest
   * audio is dropped (and counted) beyond it. Default 10 000.
   */
  earlyMediaMaxMs?: number;
  /**
   * Longest timestamp gap filled with silence, in ms: a longer hole is padded up to it and the
   * rest counted in `metrics.gapsUnpaddedMs`. A gap is only taken as real when real time allows
   * it (a timestamp ahead of real time is resynchronised instead). Default 60 000.
   */
  maxGapPadMs?: number;
  /**
   * How many out-of-order frames to hold while waiting for a missing sequence number before
   * giving it up as lost. Default 5 (100 ms of 20 ms frames).
   */
  reorderWindow?: number;
  /**
   * While the model hears the caller speaking, if no carrier audio arrives for this long, send
   * one second of silence so the model's turn detection can end the turn. `null` disables it.
   * Default 750.
   */
  inputAudioInactivityTimeoutMs?: number | null;
  /**
   * How long `connect()` may take, ms: the model socket must open and the service send
   * `session.created` within it. Past it `connect()` rejects with a `SwitchboardError` coded
   * `model_connect_timeout` and the call ends with that reason. `null`: no limit. Default 10 000.
   */
  modelConnectTimeoutMs?: number | null;
  /**
   * Ends the call (reason `carrier_idle`, the socket dropped) when the carrier sends nothing —
   * no frame, no pong — for this long, ms: a half-open socket or a carrier that went away without
   * closing. Every carrier Switchboard supports streams audio continuously; set `null` for one
   * that goes quiet during silence and answers no ping. Default 20 000.
   */
  carrierIdleTimeoutMs?: number | null;
  /**
   * How long the carrier's socket may stay open without starting a call (its start frame), ms from
   * its arrival (for a pre-warmed call, its stream's). Past it the call ends with `no_call_start`
   * and the socket closes: a socket that answers pings and sends nothing else would otherwise hold
   * its model session for ever. `null`: no limit. Default 10 000.
   */
  carrierStartTimeoutMs?: number | null;
  /**
   * While the carrier is quiet, send a WebSocket ping this often, ms (Node `ws` sockets; a pong
   * counts as the carrier being there). `null`: never. Default 5 000.
   */
  pingIntervalMs?: number | null;
  /**
   * Bytes waiting in the carrier socket's own buffer above which model audio is held in the
   * transport (counted in `metrics.backpressureHolds`) until the socket drains. Default 262 144.
   */
  outputHighWaterBytes?: number;
  /**
   * Bytes of audio waiting for the carrier (socket buffer plus audio held in the transport) above
   * which the call ends with reason `carrier_backpressure`: a carrier that stops reading cannot
   * grow the process's memory without end. `null`: no limit. Default 4 194 304.
   */
  outputMaxBufferedBytes?: number | null;
  /** Type of the raw carrier frame event on `*`. Default `<protocol.name>_message`. */
  rawEventType?: string;
  /**
   * Clock used for playback accounting and for judging carrier timestamps against real time (a
   * gap is only padded when this much time really passed). Default `clock.now`, else `Date.now`.
   * A replay faster than real time must pass its scaled clock, or real gaps read as bad timestamps.
   */
  now?: () => number;
  /**
   * Clock for playback accounting and output pacing. Default: the wall clock. A replay faster
   * than real time passes a scaled clock. (Inactivity padding, idle and connect timeouts always
   * wait on the wall clock.)
   */
  clock?: Clock;
  /**
   * Records the call as a conformance trace (every carrier frame with its arrival time, every
   * frame the bridge sent), redacted by default, to `record.sink`. Off by default. See "Recording
   * calls" in the README.
   */
  record?: CallRecordingOptions;
  /**
   * Hangs the call up through the carrier's call control (REST, ...) when the agent ends the call
   * ({@link TelephonyRealtimeTransport.endAfterPlayback}); may return a promise. Without it the
   * protocol's `hangup` command is sent where the carrier's stream has one. Either way the
   * transport then ends the call. A throw or rejection becomes an `error` event.
   */
  hangUp?: (call: HangUpRequest) => unknown | Promise<unknown>;
};

/** The transport's own options with their defaults applied. */
export type ResolvedOptions = {
  earlyMediaMaxMs: number;
  maxGapPadMs: number;
  reorderWindow: number;
  inactivityMs: number | null;
  modelConnectTimeoutMs: number | null;
  carrierIdleTimeoutMs: number | null;
  carrierStartTimeoutMs: number | null;
  pingIntervalMs: number | null;
  outputHighWaterBytes: number;
  outputMaxBufferedBytes: number | null;
};

/**
 * The defaults of the transport's numeric options (see {@link TelephonyRealtimeTransportOptions}),
 * frozen: every transport reads them.
 */
export const TRANSPORT_DEFAULTS = Object.freeze({
  earlyMediaMaxMs: 10_000,
  maxGapPadMs: 60_000,
  reorderWindow: 5,
  inactivityMs: 750,
  modelConnectTimeoutMs: 10_000,
  carrierIdleTimeoutMs: 20_000,
  carrierStartTimeoutMs: 10_000,
  pingIntervalMs: 5_000,
  outputHighWaterBytes: 256 * 1024,
  outputMaxBufferedBytes: 4 * 1024 * 1024,
}) satisfies ResolvedOptions;

/** The transport's own options, resolved, and the rest for the SDK's WebSocket transport. */
export function splitOptions(options: TelephonyRealtimeTransportOptions): {
  resolved: ResolvedOptions;
  wsOptions: OpenAIRealtimeWebSocketOptions;
} {
  const resolved = resolveOptions(options);
  const wsOptions: Record<string, unknown> = { ...options };
  for (const key of OWN_OPTIONS) delete wsOptions[key];
  return { resolved, wsOptions: wsOptions as OpenAIRealtimeWebSocketOptions };
}

const OWN_OPTIONS = [
  'connection',
  'protocol',
  'earlyMediaMaxMs',
  'maxGapPadMs',
  'reorderWindow',
  'inputAudioInactivityTimeoutMs',
  'modelConnectTimeoutMs',
  'carrierIdleTimeoutMs',
  'carrierStartTimeoutMs',
  'pingIntervalMs',
  'outputHighWaterBytes',
  'outputMaxBufferedBytes',
  'rawEventType',
  'now',
  'clock',
  'record',
  'hangUp',
] as const satisfies ReadonlyArray<keyof TelephonyRealtimeTransportOptions>;

/** Longest delay a timer can wait (2^31 - 1 ms). */
export const MAX_TIMER_MS = 2_147_483_647;

/** Checks the transport's own options and applies their defaults; throws `ConfigError`. */
export function resolveOptions(options: TelephonyRealtimeTransportOptions): ResolvedOptions {
  const d = TRANSPORT_DEFAULTS;
  if (options.record !== undefined) checkRecordingOptions(options.record);
  const resolved: ResolvedOptions = {
    earlyMediaMaxMs: nonNegative('earlyMediaMaxMs', options.earlyMediaMaxMs) ?? d.earlyMediaMaxMs,
    maxGapPadMs: nonNegative('maxGapPadMs', options.maxGapPadMs) ?? d.maxGapPadMs,
    reorderWindow: nonNegative('reorderWindow', options.reorderWindow) ?? d.reorderWindow,
    inactivityMs: timer('inputAudioInactivityTimeoutMs', options.inputAudioInactivityTimeoutMs, d.inactivityMs),
    modelConnectTimeoutMs: timer('modelConnectTimeoutMs', options.modelConnectTimeoutMs, d.modelConnectTimeoutMs, true),
    carrierIdleTimeoutMs: timer('carrierIdleTimeoutMs', options.carrierIdleTimeoutMs, d.carrierIdleTimeoutMs, true),
    carrierStartTimeoutMs: timer('carrierStartTimeoutMs', options.carrierStartTimeoutMs, d.carrierStartTimeoutMs, true),
    pingIntervalMs: timer('pingIntervalMs', options.pingIntervalMs, d.pingIntervalMs, true),
    outputHighWaterBytes: nonNegative('outputHighWaterBytes', options.outputHighWaterBytes) ?? d.outputHighWaterBytes,
    outputMaxBufferedBytes:
      options.outputMaxBufferedBytes === null
        ? null
        : (nonNegative('outputMaxBufferedBytes', options.outputMaxBufferedBytes) ?? d.outputMaxBufferedBytes),
  };
  if (resolved.outputMaxBufferedBytes !== null && resolved.outputMaxBufferedBytes < resolved.outputHighWaterBytes) {
    throw new ConfigError(
      `\`outputMaxBufferedBytes\` (${resolved.outputMaxBufferedBytes}) must not be below \`outputHighWaterBytes\` (${resolved.outputHighWaterBytes}).`,
    );
  }
  const pacing = options.protocol.capabilities?.pacing;
  if (pacing !== undefined && !(Number.isFinite(pacing.leadMs) && pacing.leadMs > 0)) {
    throw new ConfigError(
      `\`capabilities.pacing.leadMs\` of protocol ${options.protocol.name} must be a positive number, got ${String(pacing.leadMs)}.`,
    );
  }
  return resolved;
}

function nonNegative(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
    throw new ConfigError(`\`${name}\` must be a non-negative number, got ${String(value)}.`);
  }
  return value;
}

/** A timer option: `null` turns it off; otherwise at least 0 (or above 0) and at most what a timer can wait. */
function timer(
  name: string,
  value: number | null | undefined,
  fallback: number | null,
  positive = false,
): number | null {
  if (value === null) return null;
  if (value === undefined) return fallback;
  if (!(
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (positive ? value > 0 : value >= 0) &&
    value <= MAX_TIMER_MS
  )) {
    throw new ConfigError(
      `\`${name}\` must be ${positive ? 'a positive' : 'a non-negative'} number of ms up to ${MAX_TIMER_MS}, or null; got ${String(value)}.`,
    );
  }
  return value;
}
