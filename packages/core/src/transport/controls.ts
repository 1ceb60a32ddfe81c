import type { PlaybackWait } from './hangup.js';

/**
 * What the call tools (`tools.ts`) may do to a transport beyond its public methods: wait for
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
