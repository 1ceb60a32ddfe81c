import { logger } from '../log.js';
import type { AudioFormat } from '../types.js';

const log = logger('core');

/**
 * Watches the media of a call as the transport handles it, for a recorder, a meter or a test.
 * Every method is optional and called synchronously on the transport's path: keep it cheap, and
 * copy a payload before keeping it past the call (the transport may reuse the buffer). A method
 * that throws is logged and ignored; the call goes on.
 */
export interface MediaObserver {
  /** Caller audio as the carrier sent it (in the carrier's format), when it arrived (transport ms). */
  callerAudio?(payload: Uint8Array, format: AudioFormat, at: number): void;
  /** Audio the transport sent to the carrier (in the carrier's format), when it left (transport ms). */
  agentAudio?(payload: Uint8Array, format: AudioFormat, at: number): void;
  /** The transport told the carrier to drop the audio it still had queued (a barge-in). */
  cleared?(at: number): void;
  /** The call ended, with its reason. Called once, last. */
  ended?(reason: string, at: number): void;
}

/** The observers of one call. */
export class MediaObservers {
  readonly #list: MediaObserver[] = [];

  get size(): number {
    return this.#list.length;
  }

  /** Adds `observer`; returns the function that removes it. */
  add(observer: MediaObserver): () => void {
    this.#list.push(observer);
    return () => {
      const at = this.#list.indexOf(observer);
      if (at !== -1) this.#list.splice(at, 1);
    };
  }

  callerAudio(payload: Uint8Array, format: AudioFormat, at: number): void {
    for (const o of this.#list) if (o.callerAudio) this.#run(() => o.callerAudio!(payload, format, at));
  }

  agentAudio(payload: Uint8Array, format: AudioFormat, at: number): void {
    for (const o of this.#list) if (o.agentAudio) this.#run(() => o.agentAudio!(payload, format, at));
  }

  cleared(at: number): void {
    for (const o of this.#list) if (o.cleared) this.#run(() => o.cleared!(at));
  }

  ended(reason: string, at: number): void {
    for (const o of [...this.#list]) if (o.ended) this.#run(() => o.ended!(reason, at));
  }

  #run(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      log('media observer threw: %s', (error as Error)?.message);
    }
  }
}
