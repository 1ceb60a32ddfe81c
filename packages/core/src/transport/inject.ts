import type { AudioFormat } from '../types.js';

/** How {@link TelephonyRealtimeTransport.playAudio} plays a clip. */
export type PlayAudioOptions = {
  /**
   * The format of the audio given. Default: the carrier's current format (an `Int16Array` is
   * taken as L16 samples at the carrier's rate).
   */
  format?: AudioFormat;
  /** A barge-in (the caller starts speaking) stops the clip and clears it. Default true. */
  interruptible?: boolean;
  /** Repeat the clip until `stop()` (hold music). Default false. */
  loop?: boolean;
  /** Shows in the `injected_audio` events and in logs. */
  name?: string;
};

/** Why an injected clip ended. */
export type InjectedAudioEndReason = 'finished' | 'yielded' | 'interrupted' | 'stopped' | 'call_end';

export type InjectedAudioResult = {
  id: string;
  name?: string;
  /** Audio of the clip sent to the carrier, ms. */
  sentMs: number;
  /** Audio of the clip the caller heard, ms (acknowledged, or by the playout clock). */
  playedMs: number;
  reason: InjectedAudioEndReason;
};

/** A clip playing into the call (see {@link TelephonyRealtimeTransport.playAudio}). */
export interface InjectedAudio {
  readonly id: string;
  /** Stops feeding the clip; what the carrier already has plays out. */
  stop(): void;
  /** Settles (never rejects) once the clip ended and what was sent of it played or was cleared. */
  readonly done: Promise<InjectedAudioResult>;
}

/** `injected_audio` on the transport (and on `*`): a clip started, or ended. */
export type InjectedAudioEvent =
  | { type: 'injected_audio'; id: string; name?: string; phase: 'start' }
  | ({ type: 'injected_audio'; phase: 'end' } & InjectedAudioResult);

/** What injected audio needs from the transport it belongs to. */
export interface InjectorHost {
  emit(event: InjectedAudioEvent): void;
}

/** Injected audio of one call: the clips playing, their feeding and accounting. */
export class Injector {
  readonly #host: InjectorHost;

  constructor(host: InjectorHost) {
    this.#host = host;
  }

  /** True while no clip is being fed. */
  get idle(): boolean {
    return true;
  }

  play(_audio: Uint8Array | Int16Array, _options: PlayAudioOptions = {}): InjectedAudio {
    void this.#host;
    throw new Error('not implemented');
  }

  /** Stops every looping clip (the call is being hung up). */
  stopLoops(): void {}

  /** The call ended: every clip ends with `call_end`. */
  end(): void {}
}
