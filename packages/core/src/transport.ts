import {
  OpenAIRealtimeWebSocket,
  type OpenAIRealtimeEventTypes,
  type RealtimeSessionConfig,
  type RealtimeTransportLayerConnectOptions,
  type TransportLayerAudio,
} from '@openai/agents-realtime';
import { base64Encode } from './audio/base64.js';
import { modelBytesPerMs, type ModelAudioFormat } from './codec.js';
import { systemClock, type Clock } from './clock.js';
import { toMediaConnection, type MediaConnection, type MediaFrame } from './connection.js';
import { ConfigError, SwitchboardError, toProtocolError } from './errors.js';
import { PlaybackLedger } from './ledger.js';
import { logger } from './log.js';
import { createMetrics, type CallMetrics } from './metrics.js';
import { CallQuality, type CallQualityReport } from './quality/call-quality.js';
import { Responses } from './transport/barge-in.js';
import { bridgeFailed, faults, type CarrierClose } from './transport/faults.js';
import { InputPath } from './transport/input.js';
import { CallFeatures } from './transport/features.js';
import type { EndAfterPlaybackOptions, EndAfterPlaybackResult, HangUpRequest } from './transport/hangup.js';
import type { InjectedAudio, PlayAudioOptions } from './transport/inject.js';
import { CallLifecycle } from './transport/lifecycle.js';
import { HeldOutput } from './prewarm/held-output.js';
import { PendingMediaConnection } from './prewarm/pending-connection.js';
import type { MachineDetectionEvent } from './machine-detection.js';
import { MAX_TIMER_MS, splitOptions, type TelephonyRealtimeTransportOptions } from './transport/options.js';
import { MediaObservers, type MediaObserver } from './transport/observers.js';
import { OutputPath } from './transport/output.js';
import { CallRecorder } from './recorder/recorder.js';
import type { AudioFormat, CallEvent, MediaStreamProtocol } from './types.js';

import { sameFormat, type CallStartEvent, type TelephonyTransportEventTypes } from './transport/events.js';
import { ModelMessages, type AudioDeltaEvent } from './transport/model-events.js';

export { TRANSPORT_DEFAULTS, type TelephonyRealtimeTransportOptions } from './transport/options.js';
export type { CallEndEvent, CallStartEvent, DtmfEvent, TelephonyTransportEventTypes } from './transport/events.js';

const log = logger('core');

/**
 * A `RealtimeTransportLayer` that bridges one phone call to the OpenAI Realtime API. It holds all
 * call logic shared by every carrier: format negotiation, early media, input reordering and gap
 * padding, output framing with playback marks, barge-in with exact truncation, call events,
 * timeouts and metrics. A carrier only supplies its {@link MediaStreamProtocol}.
 *
 * The class composes one unit per concern: the input path (`transport/input.ts`), the output path
 * (`transport/output.ts`), responses and barge-in (`transport/barge-in.ts`) and the call's life on
 * its sockets (`transport/lifecycle.ts`).
 */
export class TelephonyRealtimeTransport extends OpenAIRealtimeWebSocket {
  /** Per-call counters. */
  readonly metrics: CallMetrics = createMetrics();
  readonly protocol: MediaStreamProtocol;
  readonly connection: MediaConnection;

  readonly #ledger: PlaybackLedger;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #rawEventType: string;
  readonly #input: InputPath;
  readonly #output: OutputPath;
  readonly #responses: Responses;
  readonly #life: CallLifecycle;
  readonly #recorder: CallRecorder | undefined;
  readonly #observers = new MediaObservers();
  readonly #features: CallFeatures;
  readonly #model: ModelMessages;
  readonly #quality: CallQuality;
  /** The connection of a pre-warmed call (created before its stream), whose socket comes later. */
  readonly #pending: PendingMediaConnection | undefined;
  /** A pre-warmed call's model audio from before its stream started. */
  readonly #held: HeldOutput | undefined;

  #streamId: string | undefined;
  #callStart: CallStartEvent | undefined;
  #sessionReady = false;
  #closing = false;
  #endReason: string | undefined;
  /** The model socket has been open at least once (so its closing is news). */
  #modelWasConnected = false;
  /** Why `connect()` failed, when the transport itself gave up on it. */
  #connectFailure: SwitchboardError | undefined;
  #connecting = false;
  /** The item and content part of the last audio delta (the SDK's playback bookkeeping). */
  #audioItemId: string | undefined;
  #audioContentIndex: number | undefined;

  constructor(options: TelephonyRealtimeTransportOptions) {
    if (!options || typeof options !== 'object')
      throw new ConfigError('TelephonyRealtimeTransport needs an options object.');
    if (!options.protocol) throw new ConfigError('TelephonyRealtimeTransport needs a `protocol`.');
    if (!options.connection)
      throw new ConfigError('TelephonyRealtimeTransport needs the carrier `connection` (its WebSocket).');
    const { resolved, wsOptions } = splitOptions(options);
    const { connection, protocol, rawEventType, now, clock, record, hangUp } = options;
    super(wsOptions);
    this.protocol = protocol;
    this.#clock = clock ?? systemClock;
    this.#now = now ?? (clock ? () => clock.now() : Date.now);
    let recordingFailed = false;
    this.#recorder = record
      ? new CallRecorder(record, {
          carrier: protocol.name,
          format: protocol.defaultFormat,
          now: this.#now,
          // Counted in `recording.stats`; the application hears of it once per call, after the
          // constructor returned (the header is written in it) and outside the sink's call.
          onError: (error) => {
            if (recordingFailed) return;
            recordingFailed = true;
            queueMicrotask(() => this.#emitError(error));
          },
        })
      : undefined;
    this.connection = this.#recorder
      ? this.#recorder.wrap(toMediaConnection(connection))
      : toMediaConnection(connection);
    this.#ledger = new PlaybackLedger({ now: this.#now });
    this.#quality = new CallQuality(this.metrics, { now, clock, reorderWindow: resolved.reorderWindow });
    this.#pending = connection instanceof PendingMediaConnection ? connection : undefined;
    this.#held = this.#pending ? new HeldOutput() : undefined;
    this.#rawEventType = rawEventType ?? `${protocol.name}_message`;

    const format = protocol.defaultFormat;
    this.#input = new InputPath(
      {
        metrics: this.metrics,
        quality: this.#quality,
        now: this.#now,
        modelReady: () => this.#sessionReady && this.status === 'connected',
        append: (bytes, base64) => this.#appendToModel(bytes, base64),
        emitError: (error) => this.#emitError(error),
        ended: () => this.#life.ended,
      },
      resolved,
      format,
    );
    this.#output = new OutputPath(
      {
        metrics: this.metrics,
        quality: this.#quality,
        protocol,
        connection: this.connection,
        ledger: this.#ledger,
        clock: this.#clock,
        now: this.#now,
        emitError: (error) => this.#emitError(error),
        ended: () => this.#life.ended,
        sent: (command) => {
          if (this.#observers.size === 0) return;
          if (command.type === 'audio') this.#observers.agentAudio(command.payload, this.#output.format, this.#now());
          else if (command.type === 'clear') this.#observers.cleared(this.#now());
        },
        overflow: (bytes) =>
          this.#fail(faults.carrierBackpressure(bytes), 'carrier_backpressure', {
            code: 1008,
            text: 'not reading',
            terminate: true,
          }),
      },
      resolved,
      format,
    );
    this.#responses = new Responses({
      metrics: this.metrics,
      protocol,
      ledger: this.#ledger,
      output: this.#output,
      cancelResponse: (event) => this.sendEvent(event),
      truncate: (itemId, contentIndex, audioEndMs) =>
        this.sendEvent({
          type: 'conversation.item.truncate',
          item_id: itemId,
          content_index: contentIndex,
          audio_end_ms: audioEndMs,
        }),
      interrupted: () => this.emit('audio_interrupted'),
      safely: (fn) => this.#safely(fn),
      injected: {
        interruptible: (items) => this.#features.bargeIn.interruptible(items),
        cleared: (items, carrierCleared) => this.#features.bargeIn.cleared(items, carrierCleared),
      },
    });
    this.#life = new CallLifecycle(
      {
        connection: this.connection,
        onFrame: (frame) => this.#onCarrierFrame(frame),
        onCarrierClose: (code, reason) => this.#onCarrierClose(code, reason),
        awaitingStream: () => this.#pending !== undefined && !this.#pending.attached,
        onCarrierError: (error) => this.#onCarrierError(error),
        // A peer that sends nothing will not answer a closing handshake either.
        onCarrierIdle: (quietMs) =>
          this.#fail(faults.carrierIdle(quietMs), 'carrier_idle', {
            code: 1001,
            text: 'carrier idle',
            terminate: true,
          }),
        onModelConnectTimeout: (ms) => this.#onModelConnectTimeout(ms),
        callEnded: () => faults.callEnded(this.#endReason),
        emitError: (error) => this.#emitError(error),
      },
      resolved,
    );
    this.#features = new CallFeatures(
      {
        metrics: this.metrics,
        protocol,
        clock: this.#clock,
        now: this.#now,
        ledger: this.#ledger,
        output: this.#output,
        responses: this.#responses,
        hangUp: hangUp as ((call: HangUpRequest) => unknown) | undefined,
        ended: () => this.#life.ended,
        streaming: () => this.#streamId !== undefined,
        endReason: () => this.#endReason,
        callId: () => this.#callStart?.callId,
        streamId: () => this.#streamId,
        sendHangup: () => this.hangup(),
        end: (reason) => this.end(reason),
        emit: (event) => this.#emitExtra('injected_audio', event),
        emitError: (error) => this.#emitError(error),
      },
      this,
    );
    this.#life.attach();
    if (this.connection.closed) {
      // The carrier hung up before this transport listened (while the bridge detected the
      // protocol or awaited something): no close event will come, so end the call here, once the
      // caller has had the chance to listen for `call_end`.
      queueMicrotask(() => {
        this.#safely(() => this.#onCarrierClose());
        this.#life.release();
      });
    }

    this.#model = new ModelMessages({
      sdkMessage: (event) => super._onMessage(event as Parameters<OpenAIRealtimeWebSocket['_onMessage']>[0]),
      emit: (name, event) => this.#emitSafely(name, event),
      emitError: (error) => this.#emitError(error),
      socket: () => this.connectionState.websocket,
      audioDelta: (delta) => {
        this.#responses.current = {
          responseId: delta.response_id,
          itemId: delta.item_id,
          contentIndex: delta.content_index,
        };
      },
      audio: (delta, bytes) => {
        this.#trackAudio(delta, bytes.byteLength);
        this._onAudio({ type: 'audio', data: bytes.buffer as ArrayBuffer, responseId: delta.response_id });
      },
      awaitingModel: () => this.#life.awaitingModel,
      modelReady: () => this.#life.modelReady(),
      refusedOwnCancel: (text) => this.#responses.refusedOwnCancel(text),
    });
    this.on('response.output_audio.delta', (event) => {
      this.#responses.current = {
        responseId: event.response_id,
        itemId: event.item_id,
        contentIndex: event.content_index,
      };
    });
    this.on('response.output_audio.done', () => this.#flushOutput());
    this.on('response.created', (event) => {
      const id = event.response.id;
      if (!id) return;
      this.#responses.created(id);
      this.#features.responseCreated(id);
    });
    this.on('response.done', (event) => {
      if (!event.response.id) return;
      this.#responses.done(event.response.id);
      this.#features.responseDone();
      if (!this.#streamId) this.#held?.holdDone(event.response.id);
    });
    this.on('input_audio_buffer.speech_started', () => this.#input.speechStarted());
    this.on('input_audio_buffer.speech_stopped', () => {
      this.#input.speechStopped();
      this.#output.speechStopped();
    });
    this.on('connection_change', (status) => {
      if (status === 'connected') {
        this.#modelWasConnected = true;
        return;
      }
      this.#sessionReady = false;
      this.#audioItemId = this.#audioContentIndex = undefined;
      this.#responses.disconnected();
      this.#input.disarmInactivity();
      if (status !== 'disconnected' || !this.#modelWasConnected || this.#closing || this.#life.ended) return;
      if (this.#life.awaitingModel) {
        // The service closed the socket before it set the session up: the model could not be
        // reached for this call, which is not a call that lost its model halfway.
        const failure = faults.modelConnectFailed(
          new Error('the service closed the connection before session.created'),
        );
        this.#connectFailure = failure;
        this.#fail(failure, 'model_connect_failed', bridgeFailed(failure));
      } else {
        this.#onModelLost();
      }
    });

    // A carrier that announces nothing: what opening the socket means, once the caller of this
    // constructor has attached its listeners.
    if (protocol.open) {
      queueMicrotask(() => {
        if (this.#life.ended) return;
        let events: CallEvent[];
        try {
          events = protocol.open!();
        } catch (error) {
          this.#emitError(error);
          return;
        }
        for (const event of events) this.#safely(() => this.#onCallEvent(event));
      });
    }
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
    return this.#streamId;
  }

  /** The `call_start` of the current stream, once received. */
  get callStart(): CallStartEvent | undefined {
    return this.#callStart;
  }

  /** The carrier's audio format (the protocol's default until `call_start`). */
  get carrierFormat(): AudioFormat {
    return this.#input.format;
  }

  /** The audio format the model session is configured with. */
  get modelAudioFormat(): ModelAudioFormat {
    return this.#input.modelFormat;
  }

  /** Bytes of model audio waiting in the transport for the carrier (paused flow, pacing, full socket). */
  get outputQueuedBytes(): number {
    return this.#output.queuedBytes;
  }

  /** Bytes of carrier audio waiting for the model socket. */
  get earlyMediaBufferedBytes(): number {
    return this.#input.earlyBytes;
  }

  /**
   * The call's quality so far: inbound jitter, reordering, loss and gaps, outbound underruns and
   * pacing lead, forwarding delay and response latency as percentiles, and an estimated MOS. The
   * same report is on the `call_end` event.
   */
  quality(): CallQualityReport {
    return this.#quality.report();
  }

  /** The call's recording (the `record` option), with its `stats`; undefined when not recording. */
  get recording(): CallRecorder | undefined {
    return this.#recorder;
  }

  /**
   * Watches the call's media: caller audio as it arrives, agent audio as it leaves for the
   * carrier, clears and the end of the call (see {@link MediaObserver}). Returns the function that
   * stops watching.
   */
  observeMedia(observer: MediaObserver): () => void {
    return this.#observers.add(observer);
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
    return this.#features.endAfterPlayback(options);
  }

  /**
   * Plays audio that is not the model's into the call (a greeting, hold music, a beep): framed,
   * paced and accounted for like the model's audio, never reported to the model. It yields to the
   * model's next audio, and a barge-in clears it unless `interruptible` is false.
   */
  playAudio(audio: Uint8Array | Int16Array, options?: PlayAudioOptions): InjectedAudio {
    return this.#features.playAudio(audio, options);
  }

  /**
   * Emits a machine-detection result (`machine_detection`, and on `*`) to the application
   * listening on this call. A `CallDirectory` calls it for results that arrive by webhook.
   */
  deliverMachineDetection(event: MachineDetectionEvent): void {
    if (this.#life.ended) return;
    this.#emitExtra('machine_detection', event);
  }

  /** Why the call ended, once it did. */
  get endReason(): string | undefined {
    return this.#endReason;
  }

  /**
   * Connects to the model. Fails with a `SwitchboardError` coded `model_connect_timeout` when the
   * socket does not open and the service does not send `session.created` within
   * `modelConnectTimeoutMs`, or `model_connect_failed` when the connection fails; either way the
   * call ends with that reason (the carrier socket is closed normally).
   */
  override async connect(options: RealtimeTransportLayerConnectOptions): Promise<void> {
    if (this.#life.ended)
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
    const ready = this.#life.startModelDeadline();
    // Settled while the socket is still opening, it must not count as unhandled.
    ready.catch(() => undefined);
    try {
      await super.connect(options);
      // The socket is open; the session is set up once the service said so.
      await ready;
    } catch (error) {
      let failure = this.#connectFailure;
      if (!failure) {
        if (this.#life.ended) {
          failure =
            error instanceof SwitchboardError && error.code === 'call_ended'
              ? error
              : faults.callEnded(this.#endReason, error);
        } else {
          // A typed error (a refused upgrade with its status, ...) is passed on as it is.
          failure = error instanceof SwitchboardError ? error : faults.modelConnectFailed(error);
          this.#fail(failure, 'model_connect_failed', bridgeFailed(failure));
        }
        this.#connectFailure = failure;
      }
      this.end(failure.code);
      throw failure;
    }
    if (this.#connectFailure) throw this.#connectFailure;
  }

  /**
   * Builds the session payload with the audio formats forced to the call's: a `RealtimeSession`
   * seeds PCM 24 kHz defaults that would otherwise reach the model and garble G.711 audio.
   */
  override buildSessionPayload(config: Partial<RealtimeSessionConfig>) {
    const payload = super.buildSessionPayload(config);
    const audio = (payload.audio ??= {}) as { input?: { format?: unknown }; output?: { format?: unknown } };
    const model = this.#input.modelFormat;
    audio.input = { ...(audio.input ?? {}), format: { ...model } };
    audio.output = { ...(audio.output ?? {}), format: { ...model } };
    return payload;
  }

  override updateSessionConfig(config: Partial<RealtimeSessionConfig>): void {
    super.updateSessionConfig(config);
    if (!this.#sessionReady) {
      this.#sessionReady = true;
      this.#input.flushEarly();
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
    this.#finish(reason, { code: 1000, text: 'call ended' });
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
    this.#life.setIdleTimeout(timeoutMs);
  }

  /**
   * Barge-in: stop the carrier's playback (`clear`), cancel the response in flight, and truncate
   * every item at what the caller actually heard. A no-op when nothing is playing or generating.
   */
  override interrupt(cancelOngoingResponse = true): void {
    this.#responses.bargeIn(cancelOngoingResponse);
  }

  override _interrupt(_elapsedTime: number, cancelOngoingResponse = true): void {
    this.#responses.bargeIn(cancelOngoingResponse);
  }

  /**
   * A tool's output, for the model. A tool that finishes after the call ended (a transfer the
   * carrier completed by closing the stream) has no one to tell: its output is dropped, not an
   * error.
   */
  override sendFunctionCallOutput(...args: Parameters<OpenAIRealtimeWebSocket['sendFunctionCallOutput']>): void {
    if (this.#life.ended && this.status !== 'connected') {
      log('tool output after the call ended: dropped');
      return;
    }
    super.sendFunctionCallOutput(...args);
  }

  /** Sends DTMF digits to the carrier, where the carrier's stream supports it. */
  sendDtmf(digits: string): boolean {
    if (!this.protocol.capabilities.dtmfOut) return false;
    return this.#output.send({ type: 'dtmf', digits });
  }

  /** Asks the carrier to hang up over the media stream, where the protocol supports it. */
  hangup(): boolean {
    return this.#output.send({ type: 'hangup' });
  }

  /** Model events, each parsed once (see `transport/model-events.ts`). */
  protected override _onMessage(event: Parameters<OpenAIRealtimeWebSocket['_onMessage']>[0]): void {
    this.#model.onMessage(event as { data?: unknown });
  }

  /** The SDK's playback bookkeeping for a delta (`currentItemId`, `_firstAudioTimestamp`, `_audioLengthMs`). */
  #trackAudio(delta: AudioDeltaEvent, bytes: number): void {
    if (this.#audioItemId !== delta.item_id || this.#audioContentIndex !== delta.content_index) {
      this._firstAudioTimestamp = undefined;
      this._audioLengthMs = 0;
    }
    this.#audioItemId = delta.item_id;
    this.#audioContentIndex = delta.content_index;
    if (this._firstAudioTimestamp === undefined) {
      this._firstAudioTimestamp = Date.now();
      this._audioLengthMs = 0;
    }
    this._audioLengthMs += bytes / modelBytesPerMs(this.#input.modelFormat);
  }

  /** The item whose audio the model is sending (undefined before any, and once the model socket closed). */
  override get currentItemId(): string | undefined {
    return this.#audioItemId ?? super.currentItemId;
  }

  protected override _onAudio(event: TransportLayerAudio): void {
    if (this.#responses.isCancelled(event.responseId)) {
      this.metrics.lateAudioDroppedBytes += event.data.byteLength;
      const current = this.#responses.current;
      if (current && current.responseId === event.responseId) this.#responses.lateAudio(current);
      return;
    }
    const current = this.#responses.current;
    if (!this.#streamId || !current || this.#life.ended) {
      // A pre-warmed call's first words, ready before the caller is: played when the stream starts.
      if (
        !this.#streamId &&
        current &&
        !this.#life.ended &&
        this.#held?.hold(current, event.data, this.#input.modelFormat)
      ) {
        this.#safely(() => super._onAudio(event));
        return;
      }
      this.metrics.outputDroppedNoStreamBytes += event.data.byteLength;
      this.#safely(() => super._onAudio(event));
      return;
    }
    this.#ledger.addContent(current, event.data.byteLength / modelBytesPerMs(this.#input.modelFormat));
    this.#features.modelAudio();
    this.#output.push(current, new Uint8Array(event.data));
    this.#safely(() => super._onAudio(event));
  }

  // ---------------------------------------------------------------------------------------------
  // Carrier → model

  #onCarrierFrame(frame: MediaFrame): void {
    if (this.#life.ended) return;
    this.metrics.framesIn++;
    let events: CallEvent[];
    try {
      events = this.protocol.decode(frame);
    } catch (error) {
      this.metrics.malformedFrames++;
      this.#emitError(toProtocolError(this.protocol.name, error, frame));
      return;
    }
    this.#recorder?.decoded(events);
    try {
      this.#emitRaw(frame);
      for (const event of events) this.#onCallEvent(event);
    } catch (error) {
      this.#emitError(error);
    }
  }

  #emitRaw(frame: MediaFrame): void {
    try {
      const message = this.protocol.rawMessage ? this.protocol.rawMessage(frame) : frame;
      this.emit('*', { type: this.#rawEventType, message });
    } catch (error) {
      // A listener that throws must not cost the frame its audio.
      this.#emitError(error);
    }
  }

  #onCallEvent(event: CallEvent): void {
    switch (event.type) {
      case 'audio':
        if (this.#observers.size > 0) this.#observers.callerAudio(event.payload, this.#input.format, this.#now());
        this.#input.onAudio(event);
        return;
      case 'call_start':
        this.#onCallStart(event);
        return;
      case 'dtmf':
        this.metrics.dtmfDigits++;
        this.#emitExtra('dtmf', event);
        return;
      case 'playback_ack':
        if (this.#ledger.ack(event.name) !== 'acked') this.metrics.staleAcks++;
        else {
          this.#features.acked();
        }
        return;
      case 'playback_cleared':
        return;
      case 'flow_control':
        this.#output.flowControl(event.paused);
        return;
      case 'call_end':
        try {
          this.#input.flushReorder();
        } finally {
          this.#finish(this.#features.endingAs ?? event.reason ?? 'carrier_stop');
        }
        return;
    }
  }

  #onCallStart(event: CallStartEvent): void {
    const second = this.#streamId !== undefined;
    this.#input.newStream();
    this.#streamId = event.streamId;
    this.#callStart = event;
    if (second) {
      // A new stream: whatever the old one was still playing is gone. Tell the model what the
      // caller heard, and stop a response that would play into the new stream mid-sentence.
      this.#responses.newStream();
      this.#output.newStream();
    }
    if (!sameFormat(event.format, this.#input.format)) {
      this.#output.setFormat(event.format);
      if (this.#input.setFormat(event.format) && this.#sessionReady && this.status === 'connected') {
        log('carrier format %s@%d: updating the model session format', event.format.encoding, event.format.sampleRate);
        this.#sendFormatUpdate();
      }
    }
    log('call_start stream=%s format=%s@%d', event.streamId, event.format.encoding, event.format.sampleRate);
    this.#emitExtra('call_start', event);
    if (this.#held && !this.#life.ended) this.#releaseHeld(this.#held);
  }

  /** Plays what the model said before a pre-warmed call's stream started. */
  #releaseHeld(held: HeldOutput): void {
    held.release(
      {
        cancelled: (key) => this.#responses.isCancelled(key.responseId),
        play: (key, audio) => {
          this.#ledger.addContent(key, audio.byteLength / modelBytesPerMs(this.#input.modelFormat));
          this.#features.modelAudio();
          this.#output.push(key, audio);
        },
        flush: (key) => this.#output.flush(key),
        dropped: (bytes) => (this.metrics.outputDroppedNoStreamBytes += bytes),
        done: (responseId) => this.#ledger.responseDone(responseId),
      },
      this.#input.modelFormat,
    );
  }

  /**
   * Tells the model the call's new audio formats, and nothing else. The service merges a
   * `session.update` field by field; sending the whole session again would also re-send the voice
   * and speed the session was first given, which the service refuses once the model has spoken
   * (a voice change) or while a response runs (a speed change) — and the format with them.
   */
  #sendFormatUpdate(): void {
    const format = this.#input.modelFormat;
    this.sendEvent({
      type: 'session.update',
      session: { type: 'realtime', audio: { input: { format: { ...format } }, output: { format: { ...format } } } },
    });
  }

  /**
   * The hot path: one `input_audio_buffer.append` per carrier frame, written straight to the model
   * socket (base64 needs no JSON escaping, and appends take no part in the SDK's response
   * sequencing).
   */
  #appendToModel(bytes: Uint8Array, base64?: string): void {
    const socket = this.connectionState.websocket;
    if (!socket) throw new SwitchboardError('model_not_connected', 'The model socket is not connected.');
    this.metrics.modelAudioBytesSent += bytes.byteLength;
    socket.send(`{"type":"input_audio_buffer.append","audio":"${base64 ?? base64Encode(bytes)}"}`);
  }

  // ---------------------------------------------------------------------------------------------
  // Model → carrier

  /** End of an audio part: send what the framer holds, padded to a whole frame. */
  #flushOutput(): void {
    const current = this.#responses.current;
    if (!current || this.#responses.isCancelled(current.responseId)) {
      this.#output.reset();
      return;
    }
    if (!this.#streamId && this.#held?.holdFlush(current, this.#input.modelFormat)) return;
    this.#output.flush(current);
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  #onCarrierClose(code?: number, reason?: string): void {
    log('carrier socket closed (%s %s)', code, reason ?? '');
    try {
      this.#input.flushReorder();
    } catch (error) {
      this.#emitError(error);
    } finally {
      this.#finish(this.#features.endingAs ?? 'carrier_closed');
    }
  }

  /**
   * The model socket closed while the call was still on (the service dropped it, a network
   * failure): the caller would be left on a silent line. Say so, and end the call.
   */
  #onModelLost(): void {
    if (!this.#closing) this.#fail(faults.modelLost());
  }

  #onCarrierError(error: unknown): void {
    this.#emitError(faults.carrierSocket(error));
  }

  #onModelConnectTimeout(timeoutMs: number): SwitchboardError {
    const failure = faults.modelConnectTimeout(timeoutMs);
    this.#connectFailure = failure;
    this.#fail(failure, failure.code, bridgeFailed(failure));
    return failure;
  }

  /** Ends the call because of `fault` (by default its code is the reason), once the application was told. */
  #fail(fault: SwitchboardError, reason = fault.code, close?: CarrierClose): void {
    if (this.#life.ended) return;
    log('%s', fault.message);
    this.#emitError(fault);
    this.#finish(reason, close);
  }

  /**
   * Ends the call once: every unit stops, what never left is counted, `call_end` is emitted, the
   * carrier socket is closed (`close` given) or dropped (`terminate`), and the model closed.
   */
  #finish(reason: string, close?: CarrierClose): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      // Set first: ending the lifecycle settles a pending connect() with this reason.
      if (!this.#life.ended) this.#endReason = reason;
      if (this.#life.end()) {
        this.#input.end();
        // Audio the carrier never got because the call ended first: queued, or short of a whole frame.
        this.metrics.outputUnsentBytes += this.#output.end();
        if (this.#held) this.metrics.outputDroppedNoStreamBytes += this.#held.discard();
        this.#features.ending();
        this.#emitExtra('call_end', { type: 'call_end', reason, quality: this.#quality.report() });
        this.#features.ended();
        this.#recorder?.end();
        this.#observers.ended(reason, this.#now());
      }
      if (!this.connection.closed) {
        try {
          if (close?.terminate && this.connection.terminate) {
            // What the socket still held never reaches the carrier now.
            this.metrics.carrierBufferDroppedBytes += this.connection.bufferedAmount;
            this.connection.terminate();
          } else this.connection.close(close?.code ?? 1000, close?.text ?? 'call ended');
        } catch (error) {
          log('carrier close failed: %s', (error as Error)?.message);
        }
      }
      try {
        super.close();
      } catch (error) {
        this.#emitError(error);
      }
    } finally {
      this.#closing = false;
    }
  }

  #emitExtra(
    name: 'call_start' | 'dtmf' | 'call_end' | 'machine_detection' | 'injected_audio',
    event: { type: string; [key: string]: unknown },
  ): void {
    this.#safely(() => (this.emit as (name: string, ...args: unknown[]) => boolean)(name, event));
    this.#safely(() => this.emit('*', event));
  }

  #emitError(error: unknown): void {
    try {
      this.emit('error', { type: 'error', error });
    } catch (listenerError) {
      log('error listener threw: %s', (listenerError as Error)?.message);
    }
  }

  #emitSafely(name: string, event: unknown): void {
    try {
      (this.emit as (name: string, ...args: unknown[]) => boolean)(name, event);
    } catch (error) {
      this.#emitError(error);
    }
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#emitError(error);
    }
  }
}
