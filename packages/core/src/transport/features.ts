import type { Clock } from '../clock.js';
import type { ItemPlayback, PlaybackLedger } from '../ledger.js';
import type { CallMetrics } from '../metrics.js';
import type { MediaStreamProtocol } from '../types.js';
import type { Responses } from './barge-in.js';
import { callControls } from './controls.js';
import {
  AgentHangUp,
  PlaybackWaiter,
  type EndAfterPlaybackOptions,
  type EndAfterPlaybackResult,
  type HangUpRequest,
  type PlaybackWait,
} from './hangup.js';
import { Injector, type InjectedAudio, type InjectedAudioEvent, type PlayAudioOptions } from './inject.js';
import type { OutputPath } from './output.js';

/** What the call features need from the transport they belong to. */
export interface CallFeaturesHost {
  readonly metrics: CallMetrics;
  readonly protocol: MediaStreamProtocol;
  readonly clock: Clock;
  readonly now: () => number;
  readonly ledger: PlaybackLedger;
  readonly output: OutputPath;
  readonly responses: Responses;
  /** The transport's `hangUp` option. */
  readonly hangUp: ((call: HangUpRequest) => unknown) | undefined;
  ended(): boolean;
  /** The carrier's stream has started. */
  streaming(): boolean;
  endReason(): string | undefined;
  callId(): string | undefined;
  streamId(): string | undefined;
  /** Sends the protocol's `hangup` command. */
  sendHangup(): boolean;
  end(reason: string): void;
  emit(event: InjectedAudioEvent): void;
  emitError(error: unknown): void;
}

/**
 * The call features of one transport, composed: waiting for playback, hanging up after it
 * (`hangup.ts`), injected audio (`inject.ts`), and what the call tools may do beyond the public
 * methods (`controls.ts`). The transport forwards the events they need to it.
 */
export class CallFeatures {
  readonly #host: CallFeaturesHost;
  readonly #playback: PlaybackWaiter;
  readonly #hangup: AgentHangUp;
  readonly #injector: Injector;
  /** The reason the call ends with, however it ends, once the agent began hanging up or transferring. */
  #endingAs: string | undefined;
  /** The response generating when the hang-up began: the only one still heard. */
  #hangupResponse: string | undefined;

  constructor(host: CallFeaturesHost, transport: object) {
    this.#host = host;
    const { clock, ledger, output, protocol } = host;
    this.#playback = new PlaybackWaiter({
      clock,
      now: host.now,
      ended: () => host.ended(),
      idle: () => this.#playedOut(),
      emitError: (error) => host.emitError(error),
    });
    this.#hangup = new AgentHangUp({
      clock,
      waitForPlayback: (timeoutMs) => this.#wait(timeoutMs),
      hangUp: host.hangUp,
      callId: () => host.callId(),
      streamId: () => host.streamId(),
      sendHangup: () => host.sendHangup(),
      endingAs: (reason) => (this.#endingAs = reason),
      end: (reason) => host.end(reason),
      endReason: () => host.endReason(),
      ended: () => host.ended(),
      emitError: (error) => host.emitError(error),
      began: () => {
        this.#hangupResponse = host.responses.active;
        this.#injector.stopLoops();
      },
    });
    this.#injector = new Injector({
      metrics: host.metrics,
      clock,
      ledger,
      output,
      format: () => output.format,
      canClear: () => protocol.capabilities.clear,
      pacingLeadMs: () => protocol.capabilities.pacing?.leadMs,
      ended: () => host.ended(),
      streaming: () => host.streaming(),
      emit: (event) => host.emit(event),
      emitError: (error) => host.emitError(error),
    });
    callControls.set(transport, {
      waitForPlayback: (timeoutMs) => this.#wait(timeoutMs),
      endingAs: (reason) => (this.#endingAs = reason),
      hangUpWaited: () => this.#hangup.waited,
      emitError: (error) => host.emitError(error),
    });
  }

  /** The reason the call ends with if it ends now, when the agent is hanging up or transferring. */
  get endingAs(): string | undefined {
    return this.#endingAs;
  }

  endAfterPlayback(options?: EndAfterPlaybackOptions): Promise<EndAfterPlaybackResult> {
    return this.#hangup.run(options);
  }

  playAudio(audio: Uint8Array | Int16Array, options?: PlayAudioOptions): InjectedAudio {
    return this.#injector.play(audio, options);
  }

  /** For barge-in: injected audio is never truncated; an interruptible clip is cleared. */
  readonly bargeIn = {
    interruptible: (items: ItemPlayback[]) => this.#injector.interruptible(items),
    cleared: (items: ItemPlayback[], carrierCleared: boolean) => this.#injector.cleared(items, carrierCleared),
  };

  /**
   * A response was created. While hanging up, a new one must not start a new sentence: it is
   * cancelled before any of it plays.
   */
  responseCreated(responseId: string): void {
    if (!this.#hangup.pending || responseId === this.#hangupResponse) return;
    this.#host.metrics.responsesCancelledAtHangUp++;
    this.#host.responses.cancelUnheard(responseId);
  }

  responseDone(): void {
    this.#playback.poke();
  }

  /** A mark came back. */
  acked(): void {
    this.#injector.acked();
    this.#playback.poke();
  }

  /** The model's audio is about to leave: injected audio yields to it. */
  modelAudio(): void {
    this.#injector.modelAudio();
  }

  /** The call is ending (before `call_end` is emitted): clips end with `call_end`. */
  ending(): void {
    this.#injector.end();
  }

  /** The call ended: every playback wait settles. */
  ended(): void {
    this.#playback.end();
  }

  /** Nothing left to generate, send or play (see `endAfterPlayback`). */
  #playedOut(): boolean {
    const { responses, output, ledger } = this.#host;
    return (
      !responses.generating &&
      output.queuedBytes === 0 &&
      output.pendingBytes === 0 &&
      this.#injector.idle &&
      ledger.queuedMs() === 0 &&
      !ledger.awaitingAck()
    );
  }

  #wait(timeoutMs: number): Promise<PlaybackWait> {
    return this.#playback.wait(timeoutMs, () => Math.max(20, Math.min(200, this.#host.ledger.queuedMs())));
  }
}
