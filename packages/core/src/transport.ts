import {
  OpenAIRealtimeWebSocket,
  type OpenAIRealtimeEventTypes,
  type RealtimeSessionConfig,
  type RealtimeTransportLayerConnectOptions,
  type TransportLayerAudio,
} from '@openai/agents-realtime';
import { exactBuffer } from './audio/pool.js';
import { modelBytesPerMs, type ModelAudioFormat } from './codec.js';
import type { MediaConnection } from './connection.js';
import { ConfigError, SwitchboardError } from './errors.js';
import { logger } from './log.js';
import type { MachineDetectionEvent } from './machine-detection.js';
import { createMetrics, type CallMetrics } from './metrics.js';
import type { CallQualityReport } from './quality/call-quality.js';
import type { CallRecorder } from './recorder/recorder.js';
import { Call } from './transport/call.js';
import type { CallStartEvent, TelephonyTransportEventTypes } from './transport/events.js';
import { bridgeFailed, faults } from './transport/faults.js';
import type { EndAfterPlaybackOptions, EndAfterPlaybackResult } from './transport/hangup.js';
import type { InjectedAudio, PlayAudioOptions } from './transport/inject.js';
import { linkModel } from './transport/model-link.js';
import type { AudioDeltaEvent, ModelMessages } from './transport/model-events.js';
import type { MediaObserver } from './transport/observers.js';
import { MAX_TIMER_MS, splitOptions, type TelephonyRealtimeTransportOptions } from './transport/options.js';
import type { AudioFormat, MediaStreamProtocol } from './types.js';

export { TRANSPORT_DEFAULTS, type TelephonyRealtimeTransportOptions } from './transport/options.js';
export type { CallEndEvent, CallStartEvent, DtmfEvent, TelephonyTransportEventTypes } from './transport/events.js';

const log = logger('core');

/**
 * A `RealtimeTransportLayer` that bridges one phone call to the OpenAI Realtime API. It holds all
 * call logic shared by every carrier: format negotiation, early media, input reordering and gap
 * padding, output framing with playback marks, barge-in with exact truncation, call events,
 * timeouts and metrics. A carrier only supplies its {@link MediaStreamProtocol}.
 *
 * The class is the call's face to the SDK and the application; the call itself (`transport/call.ts`)
 * composes one unit per concern: the input path (`transport/input.ts`), the output path
 * (`transport/output.ts`), responses and barge-in (`transport/barge-in.ts`) and the call's life on
 * its sockets (`transport/lifecycle.ts`). The carrier's frames reach them through
 * `transport/carrier-events.ts`, the model's messages through `transport/model-link.ts`.
 */
export class TelephonyRealtimeTransport extends OpenAIRealtimeWebSocket {
  /** Per-call counters. */
  readonly metrics: CallMetrics = createMetrics();
  readonly protocol: MediaStreamProtocol;
  readonly connection: MediaConnection;

  readonly #call: Call;
  readonly #model: ModelMessages;
  #connecting = false;

  constructor(options: TelephonyRealtimeTransportOptions) {
    if (!options || typeof options !== 'object')
      throw new ConfigError('TelephonyRealtimeTransport needs an options object.');
    if (!options.protocol) throw new ConfigError('TelephonyRealtimeTransport needs a `protocol`.');
    if (!options.connection)
      throw new ConfigError('TelephonyRealtimeTransport needs the carrier `connection` (its WebSocket).');
    const { resolved, wsOptions } = splitOptions(options);
    super(wsOptions);
    this.protocol = options.protocol;
    const call = (this.#call = new Call({ transport: this, closeModel: () => super.close() }, options, resolved));
    this.connection = call.connection;
    call.listen();
    this.#model = linkModel(call, this, {
      sdkMessage: (event) => super._onMessage(event as Parameters<OpenAIRealtimeWebSocket['_onMessage']>[0]),
      audio: (delta, bytes) => {
        this.#trackAudio(delta, bytes.byteLength);
        this._onAudio({ type: 'audio', data: exactBuffer(bytes), responseId: delta.response_id });
      },
    });
  }

  // Typed events: the SDK's, plus call_start, dtmf and call_end (spelled out, so that the published
  // types name nothing the package does not export).
  override on<K extends keyof TelephonyTransportEventTypes>(
    type: K,
    listener: (...args: TelephonyTransportEventTypes[K]) => void,
  ): this {
    super.on(type as keyof OpenAIRealtimeEventTypes, listener as never);
    return this;
  }
  override once<K extends keyof TelephonyTransportEventTypes>(
    type: K,
    listener: (...args: TelephonyTransportEventTypes[K]) => void,
  ): this {
    super.once(type as keyof OpenAIRealtimeEventTypes, listener as never);
    return this;
  }
  override off<K extends keyof TelephonyTransportEventTypes>(
    type: K,
    listener: (...args: TelephonyTransportEventTypes[K]) => void,
  ): this {
    super.off(type as keyof OpenAIRealtimeEventTypes, listener as never);
    return this;
  }

  /** The carrier's stream id (Twilio `streamSid`), once the stream started. */
  get streamId(): string | undefined {
    return this.#call.streamId;
  }

  /** The `call_start` of the current stream, once received. */
  get callStart(): CallStartEvent | undefined {
    return this.#call.callStart;
  }

  /** The carrier's audio format (the protocol's default until `call_start`). */
  get carrierFormat(): AudioFormat {
    return this.#call.input.format;
  }

  /** The audio format the model session is configured with. */
  get modelAudioFormat(): ModelAudioFormat {
    return this.#call.input.modelFormat;
  }

  /** Bytes of model audio waiting in the transport for the carrier (paused flow, pacing, full socket). */
  get outputQueuedBytes(): number {
    return this.#call.output.queuedBytes;
  }

  /** Bytes of carrier audio waiting for the model socket. */
  get earlyMediaBufferedBytes(): number {
    return this.#call.input.earlyBytes;
  }

  /**
   * The call's quality so far: inbound jitter, reordering, loss and gaps, outbound underruns and
   * pacing lead, forwarding delay and response latency as percentiles, and an estimated MOS. The
   * same report is on the `call_end` event.
   */
  quality(): CallQualityReport {
    return this.#call.quality.report();
  }

  /** The call's recording (the `record` option), with its `stats`; undefined when not recording. */
  get recording(): CallRecorder | undefined {
    return this.#call.recorder;
  }

  /**
   * Watches the call's media: caller audio as it arrives, agent audio as it leaves for the
   * carrier, clears and the end of the call (see {@link MediaObserver}). Returns the function that
   * stops watching.
   */
  observeMedia(observer: MediaObserver): () => void {
    return this.#call.observers.add(observer);
  }

  /**
   * Hangs up once the caller heard everything: waits until the response in flight is done, all
   * of its audio left the transport and the carrier played it (acked marks, or the playout clock
   * where the carrier has no acks), at most `timeoutMs`; then calls the `hangUp` option (or sends
   * the protocol's `hangup` command) and ends the call with `reason` (default `agent_hangup`).
   * A response the model starts after this call is cancelled, unheard. Idempotent: later calls
   * return the first call's promise.
   */
  endAfterPlayback(options?: EndAfterPlaybackOptions): Promise<EndAfterPlaybackResult> {
    return this.#call.features.endAfterPlayback(options);
  }

  /**
   * Plays audio that is not the model's into the call (a greeting, hold music, a beep): framed,
   * paced and accounted for like the model's audio, never reported to the model. It yields to the
   * model's next audio, and a barge-in clears it unless `interruptible` is false.
   */
  playAudio(audio: Uint8Array | Int16Array, options?: PlayAudioOptions): InjectedAudio {
    return this.#call.features.playAudio(audio, options);
  }

  /**
   * Emits a machine-detection result (`machine_detection`, and on `*`) to the application
   * listening on this call. A `CallDirectory` calls it for results that arrive by webhook.
   */
  deliverMachineDetection(event: MachineDetectionEvent): void {
    if (this.#call.life.ended) return;
    this.#call.emitExtra('machine_detection', event);
  }

  /** Why the call ended, once it did. */
  get endReason(): string | undefined {
    return this.#call.endReason;
  }

  /**
   * Connects to the model. Fails with a `SwitchboardError` coded `model_connect_timeout` when the
   * socket does not open and the service does not send `session.created` within
   * `modelConnectTimeoutMs`, or `model_connect_failed` when the connection fails; either way the
   * call ends with that reason (the carrier socket is closed normally).
   */
  override async connect(options: RealtimeTransportLayerConnectOptions): Promise<void> {
    if (this.#call.life.ended)
      throw new SwitchboardError('call_ended', 'The call has already ended; create a new transport for a new call.');
    // Already connected or connecting: the SDK refuses it, and the call it belongs to goes on.
    if (this.#connecting || this.status !== 'disconnected') return super.connect(options);
    this.#connecting = true;
    try {
      await this.#connectOnce(options);
    } finally {
      this.#connecting = false;
    }
  }

  async #connectOnce(options: RealtimeTransportLayerConnectOptions): Promise<void> {
    const ready = this.#call.life.startModelDeadline();
    // Settled while the socket is still opening, it must not count as unhandled.
    ready.catch(() => undefined);
    try {
      await super.connect(options);
      // The socket is open; the session is set up once the service said so.
      await ready;
    } catch (error) {
      let failure = this.#call.connectFailure;
      if (!failure) {
        if (this.#call.life.ended) {
          failure =
            error instanceof SwitchboardError && error.code === 'call_ended'
              ? error
              : faults.callEnded(this.#call.endReason, error);
        } else {
          // A typed error (a refused upgrade with its status, ...) is passed on as it is.
          failure = error instanceof SwitchboardError ? error : faults.modelConnectFailed(error);
          this.#call.fail(failure, 'model_connect_failed', bridgeFailed(failure));
        }
        this.#call.connectFailure = failure;
      }
      this.end(failure.code);
      throw failure;
    }
    if (this.#call.connectFailure) throw this.#call.connectFailure;
  }

  /**
   * Builds the session payload with the audio formats forced to the call's: a `RealtimeSession`
   * seeds PCM 24 kHz defaults that would otherwise reach the model and garble G.711 audio.
   */
  override buildSessionPayload(config: Partial<RealtimeSessionConfig>) {
    const payload = super.buildSessionPayload(config);
    const audio = (payload.audio ??= {}) as { input?: { format?: unknown }; output?: { format?: unknown } };
    const model = this.#call.input.modelFormat;
    audio.input = { ...(audio.input ?? {}), format: { ...model } };
    audio.output = { ...(audio.output ?? {}), format: { ...model } };
    return payload;
  }

  override updateSessionConfig(config: Partial<RealtimeSessionConfig>): void {
    super.updateSessionConfig(config);
    if (!this.#call.sessionReady) {
      this.#call.sessionReady = true;
      this.#call.input.flushEarly();
    }
  }

  override close(): void {
    this.end('closed');
  }

  /**
   * Ends the call: `call_end` with `reason` (`shutdown` when a server drains), a normal close
   * (1000) to the carrier, and the model session closed. Idempotent: the first reason wins.
   */
  end(reason = 'closed'): void {
    this.#call.finish(reason, { code: 1000, text: 'call ended' });
  }

  /**
   * Changes the carrier idle timeout for the rest of the call, counting from the carrier's last
   * frame (`null`: none). For a SIP call on hold, whose peer may send no media for a while.
   */
  setCarrierIdleTimeout(timeoutMs: number | null): void {
    if (
      timeoutMs !== null &&
      !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)
    ) {
      throw new ConfigError(
        `The carrier idle timeout must be a positive number of ms up to ${MAX_TIMER_MS}, or null; got ${String(timeoutMs)}.`,
      );
    }
    this.#call.life.setIdleTimeout(timeoutMs);
  }

  /**
   * Barge-in: stop the carrier's playback (`clear`), cancel the response in flight, and truncate
   * every item at what the caller actually heard. A no-op when nothing is playing or generating.
   */
  override interrupt(cancelOngoingResponse = true): void {
    this.#call.responses.bargeIn(cancelOngoingResponse);
  }

  override _interrupt(_elapsedTime: number, cancelOngoingResponse = true): void {
    this.#call.responses.bargeIn(cancelOngoingResponse);
  }

  /**
   * A tool's output, for the model. A tool that finishes after the call ended (a transfer the
   * carrier completed by closing the stream) has no one to tell: its output is dropped, not an
   * error.
   */
  override sendFunctionCallOutput(...args: Parameters<OpenAIRealtimeWebSocket['sendFunctionCallOutput']>): void {
    if (this.#call.life.ended && this.status !== 'connected') {
      log('tool output after the call ended: dropped');
      return;
    }
    super.sendFunctionCallOutput(...args);
  }

  /** Sends DTMF digits to the carrier, where the carrier's stream supports it. */
  sendDtmf(digits: string): boolean {
    if (!this.protocol.capabilities.dtmfOut) return false;
    return this.#call.output.send({ type: 'dtmf', digits });
  }

  /** Asks the carrier to hang up over the media stream, where the protocol supports it. */
  hangup(): boolean {
    return this.#call.output.send({ type: 'hangup' });
  }

  /** Model events, each parsed once (see `transport/model-events.ts`). */
  protected override _onMessage(event: Parameters<OpenAIRealtimeWebSocket['_onMessage']>[0]): void {
    this.#model.onMessage(event as { data?: unknown });
  }

  /** The SDK's playback bookkeeping for a delta (`currentItemId`, `_firstAudioTimestamp`, `_audioLengthMs`). */
  #trackAudio(delta: AudioDeltaEvent, bytes: number): void {
    const call = this.#call;
    if (call.audioItemId !== delta.item_id || call.audioContentIndex !== delta.content_index) {
      this._firstAudioTimestamp = undefined;
      this._audioLengthMs = 0;
    }
    call.audioItemId = delta.item_id;
    call.audioContentIndex = delta.content_index;
    if (this._firstAudioTimestamp === undefined) {
      this._firstAudioTimestamp = Date.now();
      this._audioLengthMs = 0;
    }
    this._audioLengthMs += bytes / modelBytesPerMs(call.input.modelFormat);
  }

  /** The item whose audio the model is sending (undefined before any, and once the model socket closed). */
  override get currentItemId(): string | undefined {
    return this.#call.audioItemId ?? super.currentItemId;
  }

  protected override _onAudio(event: TransportLayerAudio): void {
    const call = this.#call;
    if (call.responses.isCancelled(event.responseId)) {
      this.metrics.lateAudioDroppedBytes += event.data.byteLength;
      const current = call.responses.current;
      if (current && current.responseId === event.responseId) call.responses.lateAudio(current);
      return;
    }
    const current = call.responses.current;
    if (!call.streamId || !current || call.life.ended) {
      // A pre-warmed call's first words, ready before the caller is: played when the stream starts.
      if (
        !call.streamId &&
        current &&
        !call.life.ended &&
        call.held?.hold(current, event.data, call.input.modelFormat)
      ) {
        call.safely(() => super._onAudio(event));
        return;
      }
      this.metrics.outputDroppedNoStreamBytes += event.data.byteLength;
      call.safely(() => super._onAudio(event));
      return;
    }
    call.ledger.addContent(current, event.data.byteLength / modelBytesPerMs(call.input.modelFormat));
    call.features.modelAudio();
    call.output.push(current, new Uint8Array(event.data));
    call.safely(() => super._onAudio(event));
  }
}
