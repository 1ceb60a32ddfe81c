import type { Clock } from '../clock.js';
import { CallControlError, ConfigError, SwitchboardError } from '../errors.js';
import { logger } from '../log.js';
import { MAX_TIMER_MS } from './options.js';

const log = logger('core');

/** The `call_end` reason of a call the agent hung up ({@link TelephonyRealtimeTransport.endAfterPlayback}). */
export const AGENT_HANGUP_REASON = 'agent_hangup';

/** How long {@link TelephonyRealtimeTransport.endAfterPlayback} waits for playback by default, ms. */
export const END_AFTER_PLAYBACK_TIMEOUT_MS = 15_000;

export type EndAfterPlaybackOptions = {
  /** The `call_end` reason. Default `agent_hangup` ({@link AGENT_HANGUP_REASON}). */
  reason?: string;
  /**
   * Longest wait for the caller to hear everything, ms on the transport's clock; past it the call
   * is hung up anyway (`heardAll: false`). Default 15 000.
   */
  timeoutMs?: number;
};

export type EndAfterPlaybackResult = {
  /** The reason the call ended with (the first reason wins when it had already ended). */
  reason: string;
  /** True when everything the caller was sent had been played before the hang-up. */
  heardAll: boolean;
  /** How long the hang-up waited for playback, ms on the transport's clock. */
  waitedMs: number;
};

/** How long the `hangUp` option may take before the call is ended without it, ms (transport clock). */
export const HANG_UP_CALL_TIMEOUT_MS = 10_000;

/** What the transport's `hangUp` option is called with. */
export type HangUpRequest = { reason: string; callId?: string; streamId?: string };

/** What waiting for playback needs from the transport it belongs to. */
export interface PlaybackWaitHost {
  readonly clock: Clock;
  now(): number;
  ended(): boolean;
  /** True while nothing of the call's audio remains to be generated, sent or played. */
  idle(): boolean;
  emitError(error: unknown): void;
}

/** The result of waiting for playback. */
export type PlaybackWait = { heardAll: boolean; waitedMs: number };

/**
 * Waits until everything sent has played: woken by `poke()` (acks, response.done, audio sent) and
 * by a poll on the transport's clock, bounded by a timeout on the same clock. Every waiter settles
 * (never rejects) at the latest when the call ends.
 */
export class PlaybackWaiter {
  readonly #host: PlaybackWaitHost;
  readonly #waiters = new Set<{ check: () => void }>();

  constructor(host: PlaybackWaitHost) {
    this.#host = host;
  }

  /** Something changed (an ack, a response done, audio sent): look again. */
  poke(): void {
    if (this.#waiters.size === 0) return;
    for (const waiter of [...this.#waiters]) waiter.check();
  }

  wait(timeoutMs: number, pollMs: () => number): Promise<PlaybackWait> {
    const host = this.#host;
    const started = host.now();
    return new Promise<PlaybackWait>((resolve) => {
      let poll: unknown;
      let deadline: unknown;
      const waiter = {
        check: () => {
          const idle = this.#idle();
          const waited = host.now() - started;
          // A call that ended meanwhile (the caller hung up) ends the wait: heard all, or not.
          if (idle || host.ended()) return settle(idle);
          if (waited >= timeoutMs) return settle(false);
          if (poll !== undefined) host.clock.clearTimeout(poll);
          poll = host.clock.setTimeout(
            () => {
              poll = undefined;
              waiter.check();
            },
            Math.max(1, Math.min(pollMs(), timeoutMs - waited)),
          );
        },
      };
      const settle = (heardAll: boolean) => {
        if (!this.#waiters.delete(waiter)) return;
        if (poll !== undefined) host.clock.clearTimeout(poll);
        if (deadline !== undefined) host.clock.clearTimeout(deadline);
        const waitedMs = Math.max(0, host.now() - started);
        log('playback wait over after %dms (heard all: %s)', waitedMs, heardAll);
        resolve({ heardAll, waitedMs });
      };
      this.#waiters.add(waiter);
      deadline = host.clock.setTimeout(() => {
        deadline = undefined;
        settle(this.#idle());
      }, timeoutMs);
      waiter.check();
    });
  }

  #idle(): boolean {
    try {
      return this.#host.idle();
    } catch (error) {
      this.#host.emitError(error);
      return false;
    }
  }

  /** The call ended: every waiter settles with what it has. */
  end(): void {
    this.poke();
  }
}

/** Checks `timeoutMs` of {@link EndAfterPlaybackOptions}; returns it with its default applied. */
export function playbackTimeout(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined) return END_AFTER_PLAYBACK_TIMEOUT_MS;
  if (!(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 0 && timeoutMs <= MAX_TIMER_MS)) {
    throw new ConfigError(
      `\`timeoutMs\` must be a non-negative number of ms up to ${MAX_TIMER_MS}; got ${String(timeoutMs)}.`,
    );
  }
  return timeoutMs;
}

/** What hanging up after playback needs from the transport. */
export interface HangUpHost {
  readonly clock: Clock;
  /** Waits for playback (see {@link PlaybackWaiter}). */
  waitForPlayback(timeoutMs: number): Promise<PlaybackWait>;
  /** The transport's `hangUp` option. */
  readonly hangUp: ((call: HangUpRequest) => unknown) | undefined;
  callId(): string | undefined;
  streamId(): string | undefined;
  /** Sends the protocol's `hangup` command; false where it has none. */
  sendHangup(): boolean;
  /** Names the reason the call ends with from now on, however it ends. */
  endingAs(reason: string): void;
  end(reason: string): void;
  endReason(): string | undefined;
  ended(): boolean;
  emitError(error: unknown): void;
  /** The hang-up began: stop looping injected audio, refuse new responses. */
  began(): void;
}

/** Ends a call once the caller heard everything (`endAfterPlayback`): once per call. */
export class AgentHangUp {
  readonly #host: HangUpHost;
  #result: Promise<EndAfterPlaybackResult> | undefined;
  #waited: Promise<PlaybackWait> | undefined;

  constructor(host: HangUpHost) {
    this.#host = host;
  }

  /** The wait for playback of the hang-up under way: settles before the call is hung up. */
  get waited(): Promise<PlaybackWait> | undefined {
    return this.#waited;
  }

  /** True once `endAfterPlayback` was called. */
  get pending(): boolean {
    return this.#result !== undefined;
  }

  run(options: EndAfterPlaybackOptions = {}): Promise<EndAfterPlaybackResult> {
    if (this.#result) return this.#result;
    const reason = options.reason ?? AGENT_HANGUP_REASON;
    if (typeof reason !== 'string' || reason.length === 0) {
      return Promise.reject(new ConfigError('`reason` must be a non-empty string.'));
    }
    let timeoutMs: number;
    try {
      timeoutMs = playbackTimeout(options.timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#result = this.#run(reason, timeoutMs);
    return this.#result;
  }

  async #run(reason: string, timeoutMs: number): Promise<EndAfterPlaybackResult> {
    const host = this.#host;
    if (host.ended()) return { reason: host.endReason() ?? reason, heardAll: false, waitedMs: 0 };
    host.began();
    this.#waited = host.waitForPlayback(timeoutMs);
    const { heardAll, waitedMs } = await this.#waited;
    // One turn of the event loop first: what the application does once the wait is over (the
    // end_call tool's output to the model) goes out before the call ends.
    await nextTurn();
    if (!host.ended()) {
      // Whatever ends the call from here — the carrier closing the stream it was told to hang
      // up included — ends it for this reason.
      host.endingAs(reason);
      log('hanging up (%s) after %dms of playback wait', reason, waitedMs);
      try {
        if (host.hangUp) {
          await bounded(host.clock, host.hangUp({ reason, callId: host.callId(), streamId: host.streamId() }));
        } else host.sendHangup();
      } catch (error) {
        host.emitError(
          error instanceof SwitchboardError
            ? error
            : new CallControlError(`hangUp failed: ${(error as Error)?.message ?? String(error)}`, { cause: error }),
        );
      }
      host.end(reason);
    }
    return { reason: host.endReason() ?? reason, heardAll, waitedMs };
  }
}

/** Awaits `value` for at most {@link HANG_UP_CALL_TIMEOUT_MS}; a late rejection is ignored. */
function bounded(clock: Clock, value: unknown): Promise<unknown> {
  if (!value || typeof (value as PromiseLike<unknown>).then !== 'function') return Promise.resolve(value);
  const promise = Promise.resolve(value as PromiseLike<unknown>);
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      log('hangUp still pending after %dms: ending the call without it', HANG_UP_CALL_TIMEOUT_MS);
      promise.catch(() => undefined);
      resolve(undefined);
    }, HANG_UP_CALL_TIMEOUT_MS);
    promise.then(
      (result) => {
        clock.clearTimeout(timer);
        resolve(result);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Resolves on a later turn of the event loop (after every pending microtask). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
