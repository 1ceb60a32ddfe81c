import { base64Encode } from '../audio/base64.js';
import { systemClock, type Clock } from '../clock.js';
import { toMediaConnection, type MediaConnection } from '../connection.js';
import { SwitchboardError } from '../errors.js';
import { PlaybackLedger } from '../ledger.js';
import { logger } from '../log.js';
import type { CallMetrics } from '../metrics.js';
import { HeldOutput } from '../prewarm/held-output.js';
import { PendingMediaConnection } from '../prewarm/pending-connection.js';
import { CallQuality } from '../quality/call-quality.js';
import { CallRecorder } from '../recorder/recorder.js';
import type { CallEvent, MediaStreamProtocol } from '../types.js';
import type { TelephonyRealtimeTransport } from '../transport.js';
import { Responses } from './barge-in.js';
import { onCallEvent, onCarrierClose, onCarrierFrame } from './carrier-events.js';
import type { CallStartEvent } from './events.js';
import { bridgeFailed, faults, type CarrierClose } from './faults.js';
import { CallFeatures } from './features.js';
import type { HangUpRequest } from './hangup.js';
import { InputPath } from './input.js';
import { CallLifecycle } from './lifecycle.js';
import { MediaObservers } from './observers.js';
import type { ResolvedOptions, TelephonyRealtimeTransportOptions } from './options.js';
import { OutputPath } from './output.js';

const log = logger('core');

/** What a call needs of the SDK transport it belongs to, beyond its public methods. */
export interface CallHost {
  readonly transport: TelephonyRealtimeTransport;
  /** The SDK's own `close()`: closes the model socket. */
  closeModel(): void;
}

/**
 * One call's state and units, wired together: the input path, the output path, responses and
 * barge-in, the lifecycle on its sockets, the call features, recording and quality. The transport
 * class is the call's face to the SDK and the application; the carrier's events are handled in
 * `carrier-events.ts`, the model's in `model-link.ts`. Not exported from the package.
 */
export class Call {
  readonly metrics: CallMetrics;
  readonly protocol: MediaStreamProtocol;
  readonly connection: MediaConnection;
  readonly ledger: PlaybackLedger;
  readonly clock: Clock;
  readonly now: () => number;
  readonly rawEventType: string;
  readonly input: InputPath;
  readonly output: OutputPath;
  readonly responses: Responses;
  readonly life: CallLifecycle;
  readonly recorder: CallRecorder | undefined;
  readonly observers = new MediaObservers();
  readonly features: CallFeatures;
  readonly quality: CallQuality;
  /** The connection of a pre-warmed call (created before its stream), whose socket comes later. */
  readonly pending: PendingMediaConnection | undefined;
  /** A pre-warmed call's model audio from before its stream started. */
  readonly held: HeldOutput | undefined;

  streamId: string | undefined;
  callStart: CallStartEvent | undefined;
  sessionReady = false;
  closing = false;
  endReason: string | undefined;
  /** The model socket has been open at least once (so its closing is news). */
  modelWasConnected = false;
  /** Why `connect()` failed, when the transport itself gave up on it. */
  connectFailure: SwitchboardError | undefined;
  /** The item and content part of the last audio delta (the SDK's playback bookkeeping). */
  audioItemId: string | undefined;
  audioContentIndex: number | undefined;

  readonly #host: CallHost;
  readonly #transport: TelephonyRealtimeTransport;

  constructor(host: CallHost, options: TelephonyRealtimeTransportOptions, resolved: ResolvedOptions) {
    const { connection, protocol, rawEventType, now, clock, record, hangUp } = options;
    const transport = host.transport;
    this.#host = host;
    this.#transport = transport;
    this.metrics = transport.metrics;
    this.protocol = protocol;
    this.clock = clock ?? systemClock;
    this.now = now ?? (clock ? () => clock.now() : Date.now);
    this.recorder = record ? this.#recorder(record) : undefined;
    this.connection = this.recorder ? this.recorder.wrap(toMediaConnection(connection)) : toMediaConnection(connection);
    this.ledger = new PlaybackLedger({ now: this.now });
    this.quality = new CallQuality(this.metrics, { now, clock, reorderWindow: resolved.reorderWindow });
    this.pending = connection instanceof PendingMediaConnection ? connection : undefined;
    this.held = this.pending ? new HeldOutput() : undefined;
    this.rawEventType = rawEventType ?? `${protocol.name}_message`;

    const format = protocol.defaultFormat;
    this.input = new InputPath(
      {
        metrics: this.metrics,
        quality: this.quality,
        now: this.now,
        modelReady: () => this.sessionReady && transport.status === 'connected',
        append: (bytes, base64) => this.appendToModel(bytes, base64),
        emitError: (error) => this.emitError(error),
        ended: () => this.life.ended,
      },
      resolved,
      format,
    );
    this.output = new OutputPath(
      {
        metrics: this.metrics,
        quality: this.quality,
        protocol,
        connection: this.connection,
        ledger: this.ledger,
        clock: this.clock,
        now: this.now,
        emitError: (error) => this.emitError(error),
        ended: () => this.life.ended,
        sent: (command) => {
          if (this.observers.size === 0) return;
          if (command.type === 'audio') this.observers.agentAudio(command.payload, this.output.format, this.now());
          else if (command.type === 'clear') this.observers.cleared(this.now());
        },
        overflow: (bytes) =>
          this.fail(faults.carrierBackpressure(bytes), 'carrier_backpressure', {
            code: 1008,
            text: 'not reading',
            terminate: true,
          }),
      },
      resolved,
      format,
    );
    this.responses = new Responses({
      metrics: this.metrics,
      protocol,
      ledger: this.ledger,
      output: this.output,
      cancelResponse: (event) => transport.sendEvent(event),
      truncate: (itemId, contentIndex, audioEndMs) =>
        transport.sendEvent({
          type: 'conversation.item.truncate',
          item_id: itemId,
          content_index: contentIndex,
          audio_end_ms: audioEndMs,
        }),
      interrupted: () => transport.emit('audio_interrupted'),
      safely: (fn) => this.safely(fn),
      injected: {
        interruptible: (items) => this.features.bargeIn.interruptible(items),
        cleared: (items, carrierCleared) => this.features.bargeIn.cleared(items, carrierCleared),
      },
    });
    this.life = new CallLifecycle(
      {
        connection: this.connection,
        onFrame: (frame) => onCarrierFrame(this, frame),
        onCarrierClose: (code, reason) => onCarrierClose(this, code, reason),
        awaitingStream: () => this.pending !== undefined && !this.pending.attached,
        onCarrierError: (error) => this.emitError(faults.carrierSocket(error)),
        // A peer that sends nothing will not answer a closing handshake either.
        onCarrierIdle: (quietMs) =>
          this.fail(faults.carrierIdle(quietMs), 'carrier_idle', {
            code: 1001,
            text: 'carrier idle',
            terminate: true,
          }),
        callStarted: () => this.callStart !== undefined,
        onNoCallStart: (waitedMs) =>
          this.fail(faults.noCallStart(waitedMs), 'no_call_start', { code: 1008, text: 'no call start' }),
        onModelConnectTimeout: (ms) => this.modelConnectTimedOut(ms),
        callEnded: () => faults.callEnded(this.endReason),
        emitError: (error) => this.emitError(error),
      },
      resolved,
    );
    this.features = new CallFeatures(
      {
        metrics: this.metrics,
        protocol,
        clock: this.clock,
        now: this.now,
        ledger: this.ledger,
        output: this.output,
        responses: this.responses,
        hangUp: hangUp as ((call: HangUpRequest) => unknown) | undefined,
        ended: () => this.life.ended,
        streaming: () => this.streamId !== undefined,
        endReason: () => this.endReason,
        callId: () => this.callStart?.callId,
        streamId: () => this.streamId,
        sendHangup: () => transport.hangup(),
        end: (reason) => transport.end(reason),
        emit: (event) => this.emitExtra('injected_audio', event),
        emitError: (error) => this.emitError(error),
      },
      transport,
    );
  }

  /**
   * Starts listening on the carrier socket. What the carrier did before (hung up), and what
   * opening the socket means, is handled once the caller of the transport's constructor has
   * attached its listeners.
   */
  listen(): void {
    this.life.attach();
    if (this.connection.closed) {
      // The carrier hung up before this transport listened (while the bridge detected the
      // protocol or awaited something): no close event will come, so end the call here, once the
      // caller has had the chance to listen for `call_end`.
      queueMicrotask(() => {
        this.safely(() => onCarrierClose(this));
        this.life.release();
      });
    }
    // A carrier that announces nothing: what opening the socket means.
    if (this.protocol.open) {
      queueMicrotask(() => {
        if (this.life.ended) return;
        let events: CallEvent[];
        try {
          events = this.protocol.open!();
        } catch (error) {
          this.emitError(error);
          return;
        }
        for (const event of events) this.safely(() => onCallEvent(this, event));
      });
    }
  }

  /** The recorder of the `record` option; a failing sink is reported once per call. */
  #recorder(record: NonNullable<TelephonyRealtimeTransportOptions['record']>): CallRecorder {
    let recordingFailed = false;
    return new CallRecorder(record, {
      carrier: this.protocol.name,
      format: this.protocol.defaultFormat,
      now: this.now,
      // Counted in `recording.stats`; the application hears of it once per call, after the
      // constructor returned (the header is written in it) and outside the sink's call.
      onError: (error) => {
        if (recordingFailed) return;
        recordingFailed = true;
        queueMicrotask(() => this.emitError(error));
      },
    });
  }

  /**
   * The hot path: one `input_audio_buffer.append` per carrier frame, written straight to the model
   * socket (base64 needs no JSON escaping, and appends take no part in the SDK's response
   * sequencing).
   */
  appendToModel(bytes: Uint8Array, base64?: string): void {
    const socket = this.#transport.connectionState.websocket;
    if (!socket) throw new SwitchboardError('model_not_connected', 'The model socket is not connected.');
    this.metrics.modelAudioBytesSent += bytes.byteLength;
    socket.send(`{"type":"input_audio_buffer.append","audio":"${base64 ?? base64Encode(bytes)}"}`);
  }

  /**
   * Tells the model the call's new audio formats, and nothing else. The service merges a
   * `session.update` field by field; sending the whole session again would also re-send the voice
   * and speed the session was first given, which the service refuses once the model has spoken
   * (a voice change) or while a response runs (a speed change) — and the format with them.
   */
  sendFormatUpdate(): void {
    const format = this.input.modelFormat;
    this.#transport.sendEvent({
      type: 'session.update',
      session: { type: 'realtime', audio: { input: { format: { ...format } }, output: { format: { ...format } } } },
    });
  }

  /** End of an audio part: send what the framer holds, padded to a whole frame. */
  flushOutput(): void {
    const current = this.responses.current;
    if (!current || this.responses.isCancelled(current.responseId)) {
      this.output.reset();
      return;
    }
    if (!this.streamId && this.held?.holdFlush(current, this.input.modelFormat)) return;
    this.output.flush(current);
  }

  modelConnectTimedOut(timeoutMs: number): SwitchboardError {
    const failure = faults.modelConnectTimeout(timeoutMs);
    this.connectFailure = failure;
    this.fail(failure, failure.code, bridgeFailed(failure));
    return failure;
  }

  /** Ends the call because of `fault` (by default its code is the reason), once the application was told. */
  fail(fault: SwitchboardError, reason = fault.code, close?: CarrierClose): void {
    if (this.life.ended) return;
    log('%s', fault.message);
    this.emitError(fault);
    this.finish(reason, close);
  }

  /**
   * Ends the call once: every unit stops, what never left is counted, `call_end` is emitted, the
   * carrier socket is closed (`close` given) or dropped (`terminate`), and the model closed.
   */
  finish(reason: string, close?: CarrierClose): void {
    if (this.closing) return;
    this.closing = true;
    try {
      // Set first: ending the lifecycle settles a pending connect() with this reason.
      if (!this.life.ended) this.endReason = reason;
      if (this.life.end()) {
        this.input.end();
        // Audio the carrier never got because the call ended first: queued, or short of a whole frame.
        this.metrics.outputUnsentBytes += this.output.end();
        if (this.held) this.metrics.outputDroppedNoStreamBytes += this.held.discard();
        this.features.ending();
        // A call no audio passed through (a warmed call never claimed, one ended at its start) has
        // no quality to speak of: a perfect score for it would only flatter the figures.
        const quality = this.quality.report();
        const carried = quality.inbound.frames > 0 || this.metrics.audioBytesOut > 0;
        this.emitExtra('call_end', carried ? { type: 'call_end', reason, quality } : { type: 'call_end', reason });
        this.features.ended();
        this.recorder?.end();
        this.observers.ended(reason, this.now());
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
        this.#host.closeModel();
      } catch (error) {
        this.emitError(error);
      }
    } finally {
      this.closing = false;
    }
  }

  /** The model socket is open. */
  modelConnected(): boolean {
    return this.#transport.status === 'connected';
  }

  /** Emits an event on the transport; a listener's throw is the caller's to catch. */
  emit(name: string, event: unknown): boolean {
    return (this.#transport.emit as (name: string, ...args: unknown[]) => boolean)(name, event);
  }

  emitExtra(
    name: 'call_start' | 'dtmf' | 'call_end' | 'machine_detection' | 'injected_audio',
    event: { type: string; [key: string]: unknown },
  ): void {
    this.safely(() => this.emit(name, event));
    this.safely(() => this.emit('*', event));
  }

  emitError(error: unknown): void {
    try {
      this.#transport.emit('error', { type: 'error', error });
    } catch (listenerError) {
      log('error listener threw: %s', (listenerError as Error)?.message);
    }
  }

  emitSafely(name: string, event: unknown): void {
    try {
      this.emit(name, event);
    } catch (error) {
      this.emitError(error);
    }
  }

  safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.emitError(error);
    }
  }
}
