/**
 * Time as the transport sees it. Production uses the wall clock; a replay faster than real time
 * passes a clock whose milliseconds are stream milliseconds, timers included, so that pacing and
 * padding keep the stream's own rhythm.
 */
export interface Clock {
  /** Current time in ms. */
  now(): number;
  /** Calls `callback` once after `delayMs` of this clock's time; returns a handle for {@link clearTimeout}. */
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * A clock that runs `speed` times faster than real time, starting at 0: what a replay at `speed`
 * uses so that a transport's timers follow the replayed stream.
 */
export function scaledClock(speed: number): Clock {
  if (!(Number.isFinite(speed) && speed > 0)) throw new RangeError(`speed must be a positive number, got ${speed}`);
  const origin = performance.now();
  return {
    now: () => (performance.now() - origin) * speed,
    setTimeout: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs) / speed),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}
