/**
 * A server's side of a call's life: connecting the model without letting a failure take the
 * process down ({@link connectOrEnd}), keeping track of the live calls ({@link CallRegistry}), and
 * ending them gracefully when the server shuts down ({@link CallRegistry.drain},
 * {@link drainOnSignals}).
 *
 * Runs anywhere the core runs: nothing here imports a Node module, and `process` is only used
 * where it exists (workerd has none).
 */
import type { Clock } from './clock.js';
import { ConfigError } from './errors.js';
import { logger } from './log.js';

const log = logger('drain');

/**
 * How long a drain waits for live calls to end on their own, ms: 30 s, what many orchestrators allow between SIGTERM
 * and SIGKILL.
 */
export const DEFAULT_DRAIN_DEADLINE_MS = 30_000;

/** The `call_end` reason of a call ended because the server shuts down. */
export const SHUTDOWN_REASON = 'shutdown';

/** The `call_end` reason {@link connectOrEnd} gives a call whose model connection failed. */
export const MODEL_CONNECT_FAILED_REASON = 'model_connect_failed';

/** A `call_end` listener. */
export type CallEndListener = (event: { reason: string }) => void;

/**
 * What ending a call takes: a `TelephonyRealtimeTransport` (every carrier's transport) has all of
 * it. `end(reason)` emits `call_end` with the reason, closes the carrier socket normally (1000) and
 * the model session; the first reason wins.
 */
export interface EndableCall {
  end(reason?: string): void;
  on?(type: 'call_end', listener: CallEndListener): unknown;
  off?(type: 'call_end', listener: CallEndListener): unknown;
  /** The carrier socket: a closed one means the call is over or about to be. */
  readonly connection?: { readonly closed: boolean };
}

/** A call a {@link CallRegistry} can track: one it can end, that says when it ended. */
export interface DrainableCall extends EndableCall {
  on(type: 'call_end', listener: CallEndListener): unknown;
}

// ---------------------------------------------------------------------------------------------
// Connecting

export type ConnectOrEndOptions = {
  /**
   * Told about the failure, with the error `connect()` rejected with. Not called when the call
   * had ended for another reason while the model was connecting (the caller hung up, a drain).
   * Default: the failure goes to the `switchboard:drain` debug log only.
   */
  onError?: (error: unknown) => void;
};

/**
 * Connects `session` (a `RealtimeSession`) and, if that fails, ends only this call:
 * `transport.end('model_connect_failed')` emits `call_end` with that reason (or keeps the reason
 * the transport already ended the call with, such as `model_connect_timeout`) and hangs up: the
 * transport closes the carrier socket with 1011 and a reason naming the failure. Never rejects, so it is safe in a
 * socket handler
 * without `catch`: a rejected `session.connect()` that nobody handles is an unhandled rejection,
 * and the Agents SDK ends the whole process on one (exit code 1), with every other call on it.
 *
 * Resolves true once the model is connected and the call still on, false otherwise.
 */
export async function connectOrEnd<O>(
  session: { connect(options: O): Promise<unknown> },
  transport: EndableCall,
  connectOptions: O,
  options: ConnectOrEndOptions = {},
): Promise<boolean> {
  let endedWith: string | undefined;
  const onEnd: CallEndListener = (event) => {
    endedWith ??= typeof event?.reason === 'string' ? event.reason : 'closed';
  };
  transport.on?.('call_end', onEnd);
  try {
    await session.connect(connectOptions);
    return endedWith === undefined;
  } catch (error) {
    // A transport may end the call itself when its model connection fails (`model_connect_…`);
    // any other reason means the call was over before the connection could be.
    if (endedWith !== undefined && !endedWith.startsWith('model_connect')) {
      log('the call ended (%s) while the model was connecting', endedWith);
      return false;
    }
    log('model connection failed: %s', (error as Error)?.message ?? String(error));
    try {
      options.onError?.(error);
    } catch (listenerError) {
      log('onError threw: %s', (listenerError as Error)?.message);
    }
    endQuietly(transport, MODEL_CONNECT_FAILED_REASON);
    return false;
  } finally {
    try {
      transport.off?.('call_end', onEnd);
    } catch {
      // A transport that cannot remove a listener keeps a no-op one.
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The live calls, and draining them

/** How a drain went. */
export type DrainResult = {
  /** Calls that ended on their own (hang-up, the model, the application) while the drain waited. */
  endedNaturally: number;
  /** Calls still live at the deadline (or at {@link CallRegistry.endAll}), ended with `shutdown`. */
  endedByShutdown: number;
  /** Calls added while draining, ended at once with `shutdown`. */
  refused: number;
};

export type DrainOptions = {
  /**
   * How long to wait for the live calls to end on their own, ms; then every remaining call is
   * ended. Default: the registry's `deadlineMs` (30 000). `Infinity` waits for as long as it takes.
   */
  deadlineMs?: number;
};

export type CallRegistryOptions = {
  /** Default deadline of {@link CallRegistry.drain}, ms. Default 30 000. */
  deadlineMs?: number;
  /** Timers for the deadline. Default: the global `setTimeout` / `clearTimeout`. */
  clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
};

const globalTimers: Pick<Clock, 'setTimeout' | 'clearTimeout'> = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

type Drain = {
  promise: Promise<DrainResult>;
  resolve: (result: DrainResult) => void;
  timer: unknown;
  result: DrainResult;
  done: boolean;
};

/**
 * The live calls of a server, so that it can shut down without cutting them off. `add()` each
 * call's transport as it starts; the registry forgets it on its `call_end`. On shutdown,
 * `drain()` stops taking calls (a call added from then on is ended at once with reason
 * `shutdown`), waits for the live ones to end on their own until a deadline, then ends the rest
 * with `transport.end('shutdown')`: `call_end` with reason `shutdown` and a normal close (1000)
 * to the carrier.
 */
export class CallRegistry<T extends DrainableCall = DrainableCall> {
  readonly #live = new Map<T, CallEndListener>();
  readonly #deadlineMs: number;
  readonly #timers: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  #drain: Drain | undefined;
  #refused = 0;

  constructor(options: CallRegistryOptions = {}) {
    this.#deadlineMs = checkDeadline('deadlineMs', options.deadlineMs ?? DEFAULT_DRAIN_DEADLINE_MS);
    this.#timers = options.clock ?? globalTimers;
  }

  /** Number of live calls. */
  get size(): number {
    return this.#live.size;
  }

  /** True once {@link drain} was called: new calls are refused from then on. */
  get draining(): boolean {
    return this.#drain !== undefined;
  }

  /** Calls refused because the registry was draining, in all. */
  get refused(): number {
    return this.#refused;
  }

  /** The live calls, oldest first. */
  calls(): T[] {
    return [...this.#live.keys()];
  }

  /**
   * Tracks a live call until its `call_end`. Returns true; while draining, ends the call at once
   * with reason `shutdown` and returns false (then do not connect its session). Adding a call
   * twice tracks it once.
   */
  add(call: T): boolean {
    if (this.#drain) {
      this.#refused++;
      if (!this.#drain.done) this.#drain.result.refused++;
      log('call refused: the server is draining');
      endQuietly(call, SHUTDOWN_REASON);
      return false;
    }
    if (this.#live.has(call)) return true;
    const listener: CallEndListener = () => this.#forget(call, true);
    this.#live.set(call, listener);
    call.on('call_end', listener);
    if (call.connection?.closed) {
      // A call whose carrier already hung up may have emitted its call_end before it was added;
      // if it is pending, it comes before this check.
      queueMicrotask(() => {
        if (this.#live.get(call) === listener && call.connection?.closed) this.#forget(call, true);
      });
    }
    return true;
  }

  /**
   * Stops taking calls and resolves once every live call has ended: on its own, or, for those
   * still live after `deadlineMs`, ended with `transport.end('shutdown')`. Calling it again
   * returns the same drain.
   */
  drain(options: DrainOptions = {}): Promise<DrainResult> {
    if (this.#drain) return this.#drain.promise;
    const deadlineMs = checkDeadline('deadlineMs', options.deadlineMs ?? this.#deadlineMs);
    let resolve!: (result: DrainResult) => void;
    const promise = new Promise<DrainResult>((r) => (resolve = r));
    const drain: Drain = {
      promise,
      resolve,
      timer: undefined,
      result: { endedNaturally: 0, endedByShutdown: 0, refused: 0 },
      done: false,
    };
    this.#drain = drain;
    log('draining %d live calls (deadline %s ms)', this.#live.size, deadlineMs);
    // Calls whose carrier socket already closed are over (their call_end is on its way).
    for (const call of this.calls()) if (call.connection?.closed) this.#forget(call, true);
    if (this.#live.size === 0) {
      this.#finish();
    } else if (Number.isFinite(deadlineMs)) {
      drain.timer = this.#timers.setTimeout(() => {
        drain.timer = undefined;
        log('drain deadline: ending %d calls', this.#live.size);
        this.endAll(SHUTDOWN_REASON);
      }, deadlineMs);
    }
    return promise;
  }

  /**
   * Ends every live call now, with `reason` (default `shutdown`); a drain in progress then
   * resolves. Returns how many calls it ended.
   */
  endAll(reason: string = SHUTDOWN_REASON): number {
    const calls = this.calls();
    for (const call of calls) {
      this.#forget(call, false);
      endQuietly(call, reason);
    }
    if (this.#drain && !this.#drain.done) this.#finish();
    return calls.length;
  }

  /** Stops tracking `call`; counts it in a drain in progress (on its own, or by shutdown). */
  #forget(call: T, natural: boolean): void {
    const listener = this.#live.get(call);
    if (!listener) return;
    this.#live.delete(call);
    try {
      call.off?.('call_end', listener);
    } catch {
      // The listener ignores calls no longer tracked.
    }
    const drain = this.#drain;
    if (!drain || drain.done) return;
    if (natural) drain.result.endedNaturally++;
    else drain.result.endedByShutdown++;
    if (natural && this.#live.size === 0) this.#finish();
  }

  #finish(): void {
    const drain = this.#drain;
    if (!drain || drain.done) return;
    drain.done = true;
    if (drain.timer !== undefined) this.#timers.clearTimeout(drain.timer);
    drain.timer = undefined;
    const result = { ...drain.result };
    log(
      'drained: %d ended on their own, %d ended by shutdown, %d refused',
      result.endedNaturally,
      result.endedByShutdown,
      result.refused,
    );
    drain.resolve(result);
  }
}

function endQuietly(call: EndableCall, reason: string): void {
  try {
    call.end(reason);
  } catch (error) {
    log('ending a call failed: %s', (error as Error)?.message);
  }
}

function checkDeadline(name: string, value: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new ConfigError(`\`${name}\` must be a non-negative number of ms (or Infinity), got ${String(value)}.`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Signals

export type DrainOnSignalsOptions = {
  /** The signals that start the drain. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly string[];
  /** How long the drain waits for calls to end on their own, ms. Default: the registry's (30 000). */
  deadlineMs?: number;
  /** Called on the first signal, before the drain starts: log it, fail the health check. */
  onSignal?: (signal: string) => void;
  /**
   * Called once the drain is over, before the process exits: close the server, flush logs. May
   * return a promise (Fastify's `app.close()`); the exit waits for it. Default: nothing.
   */
  onDrained?: (result: DrainResult, signal: string) => unknown;
  /**
   * Exit the process after `onDrained`: with `process.exitCode` when it is set, else 0 after
   * SIGTERM and 130 after SIGINT (what the Agents SDK does without the drain). 1 when `onDrained`
   * threw. Default true; false leaves the exit to you.
   */
  exit?: boolean;
};

/** What {@link drainOnSignals} installed. */
export type SignalDrain = {
  /** False where there is no `process` to listen on (workerd, browsers): nothing was installed. */
  readonly installed: boolean;
  /** The drain, once a signal started it. */
  readonly drained: Promise<DrainResult> | undefined;
  /** Removes the signal listeners. */
  dispose(): void;
};

type ProcessLike = {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off?(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: string, listener: (...args: unknown[]) => void): unknown;
  exit(code?: number): unknown;
  exitCode?: number | string | null;
};

/** The Node `process`, when there is one. */
function nodeProcess(): ProcessLike | undefined {
  const candidate = (globalThis as { process?: Partial<ProcessLike> }).process;
  if (!candidate || typeof candidate.on !== 'function' || typeof candidate.exit !== 'function') return undefined;
  return candidate as ProcessLike;
}

/**
 * Drains `registry` when the process gets a termination signal (SIGTERM, SIGINT). The first signal
 * calls `onSignal`, then {@link CallRegistry.drain}; once the drain is over, `onDrained`, then the
 * process exits (see `exit`). A second signal while the drain waits ends every live call at once
 * (the drain is then over); one after the drain, while `onDrained` runs, exits at once.
 *
 * Installing these listeners is also what keeps the Agents SDK from exiting first: `@openai/agents`
 * listens for SIGTERM and SIGINT itself and exits the process (0, 130) unless another listener
 * for that signal exists. The listeners stay installed until `dispose()`.
 *
 * Where there is no `process` (workerd), it installs nothing and returns `installed: false`.
 */
export function drainOnSignals<T extends DrainableCall>(
  registry: CallRegistry<T>,
  options: DrainOnSignalsOptions = {},
): SignalDrain {
  const proc = nodeProcess();
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  if (options.deadlineMs !== undefined) checkDeadline('deadlineMs', options.deadlineMs);
  if (!proc) return { installed: false, drained: undefined, dispose: () => {} };

  let first: string | undefined;
  let drained: Promise<DrainResult> | undefined;
  let drainOver = false;
  const exitCode = (signal: string, failed: boolean): number => {
    if (failed) return 1;
    const set = proc.exitCode;
    if (typeof set === 'number') return set;
    if (typeof set === 'string' && set !== '' && Number.isInteger(Number(set))) return Number(set);
    return signal === 'SIGINT' ? 130 : 0;
  };
  const exit = (code: number): void => {
    if (options.exit === false) return;
    log('exiting with code %d', code);
    proc.exit(code);
  };

  const onSignal = (signal: string): void => {
    if (first !== undefined) {
      if (!drainOver) {
        log('%s again: ending every live call now', signal);
        registry.endAll(SHUTDOWN_REASON);
      } else {
        log('%s again: exiting now', signal);
        exit(exitCode(first, false));
      }
      return;
    }
    first = signal;
    log('%s: draining', signal);
    try {
      options.onSignal?.(signal);
    } catch (error) {
      log('onSignal threw: %s', (error as Error)?.message);
    }
    const drain = registry.drain(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {});
    drained = drain;
    void drain.then(async (result) => {
      drainOver = true;
      let failed = false;
      try {
        await options.onDrained?.(result, signal);
      } catch (error) {
        failed = true;
        log('onDrained failed: %s', (error as Error)?.message);
      }
      exit(exitCode(signal, failed));
    });
  };

  const installed = signals.map((signal) => {
    const listener = () => onSignal(signal);
    proc.on(signal, listener);
    return { signal, listener };
  });
  return {
    installed: true,
    get drained() {
      return drained;
    },
    dispose: () => {
      for (const { signal, listener } of installed.splice(0)) {
        if (typeof proc.off === 'function') proc.off(signal, listener);
        else proc.removeListener?.(signal, listener);
      }
    },
  };
}
