import { ConfigError } from '../errors.js';
import type { TelephonyRealtimeTransport } from '../transport.js';
import type { CallStartEvent } from './events.js';
import type { EndAfterPlaybackOptions, EndAfterPlaybackResult, PlaybackWait } from './hangup.js';

/**
 * What the call tools (`tools.ts`) may do to a core transport beyond its public methods: wait for
 * playback without hanging up, and name the reason the call ends with while a transfer (which
 * may close the carrier's stream before it returns) is under way. Not exported from the package.
 */
export interface CallControls {
  waitForPlayback(timeoutMs: number): Promise<PlaybackWait>;
  /** The playback wait of an `endAfterPlayback` under way, if any. */
  hangUpWaited(): Promise<PlaybackWait> | undefined;
  emitError(error: unknown): void;
  /** The `call_end` reason if the call ends now (the carrier closing the stream included); undefined: none. */
  endingAs(reason: string | undefined): void;
}

export const callControls = new WeakMap<object, CallControls>();

/**
 * A transport the call tools (`endCallTool`, `transferCallTool`) act on: the core
 * `TelephonyRealtimeTransport`, or another transport that hangs up after playback and registered
 * its {@link CallToolControls} (`registerCallTools`), such as the OpenAI SIP transport.
 */
export type CallToolTransport = {
  endAfterPlayback(options?: EndAfterPlaybackOptions): Promise<EndAfterPlaybackResult>;
};

/**
 * What `endCallTool()` and `transferCallTool()` need from a transport that is not the core's,
 * registered with {@link registerCallTools}. `end_call` calls the transport's own
 * `endAfterPlayback`; `transfer_call` waits with `waitForPlayback`, names the reason with
 * `endingAs` while the carrier's transfer runs, and ends the call with `end`.
 */
export interface CallToolControls {
  /**
   * Resolves once the caller heard everything sent so far (`heardAll: true`), after `timeoutMs`
   * (`heardAll: false`), or when the call ended. Never rejects.
   */
  waitForPlayback(timeoutMs: number): Promise<PlaybackWait>;
  /**
   * The playback wait of the `endAfterPlayback` under way, if any: settles before the hang-up, so
   * the end_call tool's output reaches the model first. Without it the tool waits for the hang-up.
   */
  hangUpWaited?(): Promise<PlaybackWait> | undefined;
  /**
   * From now on, the call ends with `reason` however it ends (the carrier closing its side
   * included); `undefined` undoes it. Used while a transfer is under way.
   */
  endingAs(reason: string | undefined): void;
  /** Reports an error on the transport (its `error` event). Must not throw. */
  emitError(error: unknown): void;
  /** The carrier's call id (as in `call_start.callId`), once known. */
  callId(): string | undefined;
  streamId(): string | undefined;
  callStart(): CallStartEvent | undefined;
  /** The reason the call ended with; undefined while it goes on. */
  endReason(): string | undefined;
  /** Ends the call with `reason` (nothing once it ended). */
  end(reason: string): void;
}

const registered = new WeakMap<object, CallToolControls>();

const REQUIRED: ReadonlyArray<keyof CallToolControls> = [
  'waitForPlayback',
  'endingAs',
  'emitError',
  'callId',
  'streamId',
  'callStart',
  'endReason',
  'end',
];

/**
 * Lets the call tools act on `transport`, a transport that is not the core's (the core transport
 * registers itself): `endCallTool()` and `transferCallTool()` then find it as they find a core
 * transport (the session's `context.transport`, or their `transport` option). A transport
 * registers once, in its constructor; registering again replaces the controls.
 */
export function registerCallTools(transport: CallToolTransport, controls: CallToolControls): void {
  if (typeof transport !== 'object' || transport === null || typeof transport.endAfterPlayback !== 'function') {
    throw new ConfigError('registerCallTools: `transport` must be an object with an `endAfterPlayback` method.');
  }
  if (typeof controls !== 'object' || controls === null) {
    throw new ConfigError('registerCallTools: `controls` must be a CallToolControls object.');
  }
  const missing = REQUIRED.filter((name) => typeof controls[name] !== 'function');
  if (controls.hangUpWaited !== undefined && typeof controls.hangUpWaited !== 'function') missing.push('hangUpWaited');
  if (missing.length > 0) {
    throw new ConfigError(`registerCallTools: \`controls\` needs the functions ${missing.join(', ')}.`);
  }
  registered.set(transport, controls);
}

/** The core transport's controls, in the shape of a registered transport's. */
function coreToolControls(transport: TelephonyRealtimeTransport, internal: CallControls): CallToolControls {
  return {
    waitForPlayback: (timeoutMs) => internal.waitForPlayback(timeoutMs),
    hangUpWaited: () => internal.hangUpWaited(),
    endingAs: (reason) => internal.endingAs(reason),
    emitError: (error) => internal.emitError(error),
    callId: () => transport.callStart?.callId,
    streamId: () => transport.streamId,
    callStart: () => transport.callStart,
    endReason: () => transport.endReason,
    end: (reason) => transport.end(reason),
  };
}

/** The transport the tools act on, and its controls: a core transport, or a registered one. */
export function toolControls(value: unknown): { transport: CallToolTransport; controls: CallToolControls } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const transport = value as CallToolTransport;
  if (typeof transport.endAfterPlayback !== 'function') return undefined;
  let controls = registered.get(value);
  if (!controls) {
    const internal = callControls.get(value);
    if (!internal) return undefined;
    controls = coreToolControls(value as TelephonyRealtimeTransport, internal);
    registered.set(value, controls);
  }
  return { transport, controls };
}
