import {
  OpenAIRealtimeWebSocket,
  type OpenAIRealtimeEventTypes,
  type OpenAIRealtimeWebSocketOptions,
  type RealtimeSessionConfig,
  type RealtimeTransportLayerConnectOptions,
  type TransportLayerAudio,
} from '@openai/agents-realtime';
import { base64Encode } from './audio/base64.js';
import { Framer } from './audio/framer.js';
import { bytesPerSample, concatBytes, durationMs, silence, silenceByte } from './audio/pcm.js';
import {
  inboundTranscoder,
  modelBytesPerMs,
  modelFormatFor,
  outboundTranscoder,
  sameModelFormat,
  type ModelAudioFormat,
  type Transcoder,
} from './codec.js';
import { systemClock, type Clock } from './clock.js';
import { toMediaConnection, type MediaConnection, type MediaFrame, type WebSocketLike } from './connection.js';
import { ConfigError, ProtocolError, SwitchboardError } from './errors.js';
import { PlaybackLedger, type PlaybackKey } from './ledger.js';
import { logger } from './log.js';
import { createMetrics, type CallMetrics } from './metrics.js';
import type { AudioFormat, CallEvent, MediaStreamProtocol, OutboundCommand } from './types.js';

const log = logger('core');

export type TelephonyRealtimeTransportOptions = OpenAIRealtimeWebSocketOptions & {
  /** The carrier socket: a `ws` socket, a WHATWG WebSocket, or a {@link MediaConnection}. */
  connection: MediaConnection | WebSocketLike;
  /** The carrier's wire format. */
  protocol: MediaStreamProtocol;
  /**
   * How much carrier audio to keep while the model socket is not yet open, in ms. The oldest
   * audio is dropped (and counted) beyond it. Default 10 000.
   */
  earlyMediaMaxMs?: number;
  /** Longest timestamp gap filled with silence, in ms. Default 10 000. */
  maxGapPadMs?: number;
  /**
   * How many out-of-order frames to hold while waiting for a missing sequence number before
   * giving it up as lost. Default 5 (100 ms of 20 ms frames).
   */
  reorderWindow?: number;
  /**
   * While the model hears the caller speaking, if no carrier audio arrives for this long, send
   * one second of silence so the model's turn detection can end the turn. `null` disables it.
   * Default 750.
   */
  inputAudioInactivityTimeoutMs?: number | null;
  /** Type of the raw carrier frame event on `*`. Default `<protocol.name>_message`. */
  rawEventType?: string;
  /** Clock used for playback accounting. Default `clock.now`, else `Date.now`. */
  now?: () => number;
  /**
   * Clock for playback accounting and output pacing. Default: the wall clock. A replay faster
   * than real time passes a scaled clock. (Inactivity padding always waits on the wall clock.)
   */
  clock?: Clock;
};

/** `call_start` as emitted on the transport (and on `*`). */
export type CallStartEvent = Extract<CallEvent, { type: 'call_start' }>;
export type DtmfEvent = Extract<CallEvent, { type: 'dtmf' }>;
export type CallEndEvent = { type: 'call_end'; reason: string };

/** The SDK transport's events, plus the call's own. */
export type TelephonyTransportEventTypes = OpenAIRealtimeEventTypes & {
  call_start: [event: CallStartEvent];
  dtmf: [event: DtmfEvent];
  call_end: [event: CallEndEvent];
};
type EventName = keyof TelephonyTransportEventTypes;
type Listener<K extends EventName> = (...args: TelephonyTransportEventTypes[K]) => void;

const DEFAULT_EARLY_MEDIA_MS = 10_000;
const DEFAULT_MAX_GAP_MS = 10_000;
const DEFAULT_REORDER_WINDOW = 5;
const DEFAULT_INACTIVITY_MS = 750;
const INACTIVITY_SILENCE_MS = 1000;

type OutputState = {
  responseId: string;
  itemId: string;
  contentIndex: number;
};

/**
 * A `RealtimeTransportLayer` that bridges one phone call to the OpenAI Realtime API. It holds all
 * call logic shared by every carrier: format negotiation, early media, input reordering and gap
 * padding, output framing with playback marks, barge-in with exact truncation, call events and
 * metrics. A carrier only supplies its {@link MediaStreamProtocol}.
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
  readonly #earlyMediaMaxMs: number;
  readonly #maxGapPadMs: number;
  readonly #reorderWindow: number;
  readonly #inactivityMs: number | null;
  readonly #detach: Array<() => void> = [];

  #format: AudioFormat;
  #modelFormat: ModelAudioFormat;
  #inbound: Transcoder;
  #outbound: Transcoder;
  #framer: Framer;
  #streamId: string | undefined;
  #callStart: CallStartEvent | undefined;

  // Input state.
  #expectedSeq: number | undefined;
  #reorder = new Map<number, Extract<CallEvent, { type: 'audio' }>>();
  #lastTimestampMs: number | undefined;
  #lastDurationMs = 0;
  /** Duration of the last frame delivered, ms (what a lost frame is taken to have lasted). */
  #lastFrameMs = 0;
  #early: Uint8Array[] = [];
  #earlyBytes = 0;
  #sessionReady = false;
  #lastSessionConfig: Partial<RealtimeSessionConfig> | undefined;
  #speechActive = false;
  #inactivityTimer: unknown;
  #lastInboundAt = 0;
  /** Silence already sent for the current hole in the carrier's audio (inactivity padding), ms. */
  #paddedInHoleMs = 0;

  // Output state.
  #current: OutputState | undefined;
  #activeResponseId: string | undefined;
  #cancelled = new Set<string>();
  #speechStoppedAt: number | undefined;
  /**
   * Audio waiting to leave, in order, while the carrier paused the flow or pacing holds it back
   * (`capabilities.pacing`). Empty otherwise: audio then leaves as it comes.
   */
  #queue: Array<{ frames: Uint8Array[]; key: PlaybackKey }> = [];
  #queuedBytes = 0;
  #paused = false;
  #pumpTimer: unknown;

  #ended = false;
  #closing = false;
  /** The model socket has been open at least once (so its closing is news). */
  #modelWasConnected = false;

  constructor(options: TelephonyRealtimeTransportOptions) {
    if (!options || typeof options !== 'object') throw new ConfigError('TelephonyRealtimeTransport needs an options object.');
    if (!options.protocol) throw new ConfigError('TelephonyRealtimeTransport needs a `protocol`.');
    if (!options.connection) throw new ConfigError('TelephonyRealtimeTransport needs the carrier `connection` (its WebSocket).');
    const {
      connection,
      protocol,
      earlyMediaMaxMs,
      maxGapPadMs,
      reorderWindow,
      inputAudioInactivityTimeoutMs,
      rawEventType,
      now,
      clock,
      ...wsOptions
    } = options;
    checkNonNegative('earlyMediaMaxMs', earlyMediaMaxMs);
    checkNonNegative('maxGapPadMs', maxGapPadMs);
    checkNonNegative('reorderWindow', reorderWindow);
    if (inputAudioInactivityTimeoutMs !== null) checkNonNegative('inputAudioInactivityTimeoutMs', inputAudioInactivityTimeoutMs);
    const pacing = protocol.capabilities?.pacing;
    if (pacing !== undefined && !(Number.isFinite(pacing.leadMs) && pacing.leadMs > 0)) {
      throw new ConfigError(`\`capabilities.pacing.leadMs\` of protocol ${protocol.name} must be a positive number, got ${String(pacing.leadMs)}.`);
    }
    super(wsOptions);
    this.protocol = protocol;
    this.connection = toMediaConnection(connection);
    this.#clock = clock ?? systemClock;
    this.#now = now ?? (clock ? () => clock.now() : Date.now);
    this.#ledger = new PlaybackLedger({ now: this.#now });
    this.#rawEventType = rawEventType ?? `${protocol.name}_message`;
    this.#earlyMediaMaxMs = earlyMediaMaxMs ?? DEFAULT_EARLY_MEDIA_MS;
    this.#maxGapPadMs = maxGapPadMs ?? DEFAULT_MAX_GAP_MS;
    this.#reorderWindow = reorderWindow ?? DEFAULT_REORDER_WINDOW;
    this.#inactivityMs = inputAudioInactivityTimeoutMs === undefined ? DEFAULT_INACTIVITY_MS : inputAudioInactivityTimeoutMs;

    this.#format = protocol.defaultFormat;
    this.#modelFormat = modelFormatFor(this.#format);
    this.#inbound = inboundTranscoder(this.#format);
    this.#outbound = outboundTranscoder(this.#format);
    this.#framer = this.#createFramer(this.#format);

    this.#detach.push(
      this.connection.onMessage((frame) => this.#onCarrierFrame(frame)),
      this.connection.onClose((code, reason) => this.#onCarrierClose(code, reason)),
      this.connection.onError((error) => this.#onCarrierError(error)),
    );
    if (this.connection.closed) {
      // The carrier hung up before this transport listened (while the bridge detected the
      // protocol or awaited something): no close event will come, so end the call here, once the
      // caller has had the chance to listen for `call_end`.
      queueMicrotask(() => this.#safely(() => this.#onCarrierClose()));
    }

    this.on('response.output_audio.delta', (event) => {
      this.#current = { responseId: event.response_id, itemId: event.item_id, contentIndex: event.content_index };
    });
    this.on('response.output_audio.done', () => this.#flushOutput());
    this.on('response.created', (event) => {
      if (event.response.id) this.#activeResponseId = event.response.id;
    });
    this.on('response.done', (event) => {
      const id = event.response.id;
      if (id) {
        this.#cancelled.delete(id);
        this.#ledger.responseDone(id);
        if (this.#activeResponseId === id) this.#activeResponseId = undefined;
      }
    });
    this.on('input_audio_buffer.speech_started', () => {
      this.#speechActive = true;
      this.#armInactivity(this.#inactivityMs ?? 0);
    });
    this.on('input_audio_buffer.speech_stopped', () => {
      this.#speechActive = false;
      this.#disarmInactivity();
      this.#speechStoppedAt = this.#now();
    });
    this.on('connection_change', (status) => {
      if (status === 'connected') {
        this.#modelWasConnected = true;
        return;
      }
      this.#sessionReady = false;
      this.#activeResponseId = undefined;
      this.#disarmInactivity();
      if (status === 'disconnected' && this.#modelWasConnected) this.#onModelLost();
    });

    // A carrier that announces nothing: what opening the socket means, once the caller of this
    // constructor has attached its listeners.
    if (protocol.open) {
      queueMicrotask(() => {
        if (this.#ended) return;
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

  // Typed events: the SDK's, plus call_start, dtmf and call_end.
  override on<K extends EventName>(type: K, listener: Listener<K>): this {
    super.on(type as keyof OpenAIRealtimeEventTypes, listener as never);
    return this;
  }
  override once<K extends EventName>(type: K, listener: Listener<K>): this {
    super.once(type as keyof OpenAIRealtimeEventTypes, listener as never);
    return this;
  }
  override off<K extends EventName>(type: K, listener: Listener<K>): this {
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
    return this.#format;
  }

  /** The audio format the model session is configured with. */
  get modelAudioFormat(): ModelAudioFormat {
    return this.#modelFormat;
  }

  /** Bytes of model audio waiting in the transport for the carrier (paused flow or pacing). */
  get outputQueuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Bytes of carrier audio waiting for the model socket. */
  get earlyMediaBufferedBytes(): number {
    return this.#earlyBytes;
  }

  override async connect(options: RealtimeTransportLayerConnectOptions): Promise<void> {
    if (this.#ended) throw new SwitchboardError('call_ended', 'The call has already ended; create a new transport for a new call.');
    await super.connect(options);
  }

  /**
   * Builds the session payload with the audio formats forced to the call's: a `RealtimeSession`
   * seeds PCM 24 kHz defaults that would otherwise reach the model and garble G.711 audio.
   */
  override buildSessionPayload(config: Partial<RealtimeSessionConfig>) {
    const payload = super.buildSessionPayload(config);
    const audio = (payload.audio ??= {}) as { input?: { format?: unknown }; output?: { format?: unknown } };
    audio.input = { ...(audio.input ?? {}), format: { ...this.#modelFormat } };
    audio.output = { ...(audio.output ?? {}), format: { ...this.#modelFormat } };
    return payload;
  }

  override updateSessionConfig(config: Partial<RealtimeSessionConfig>): void {
    this.#lastSessionConfig = config;
    super.updateSessionConfig(config);
    if (!this.#sessionReady) {
      this.#sessionReady = true;
      this.#flushEarlyMedia();
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
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#endCall(reason);
      if (!this.connection.closed) {
        try {
          this.connection.close(1000, 'call ended');
        } catch (error) {
          log('carrier close failed: %s', (error as Error)?.message);
        }
      }
      super.close();
    } finally {
      this.#closing = false;
    }
  }

  /**
   * Barge-in: stop the carrier's playback (`clear`), cancel the response in flight, and truncate
   * every item at what the caller actually heard. A no-op when nothing is playing or generating.
   */
  override interrupt(cancelOngoingResponse = true): void {
    this.#bargeIn(cancelOngoingResponse);
  }

  override _interrupt(_elapsedTime: number, cancelOngoingResponse = true): void {
    this.#bargeIn(cancelOngoingResponse);
  }

  /** Sends DTMF digits to the carrier, where the carrier's stream supports it. */
  sendDtmf(digits: string): boolean {
    if (!this.protocol.capabilities.dtmfOut) return false;
    return this.#sendCommand({ type: 'dtmf', digits });
  }

  /** Asks the carrier to hang up over the media stream, where the protocol supports it. */
  hangup(): boolean {
    return this.#sendCommand({ type: 'hangup' });
  }

  /**
   * Model events. Audio deltas, the bulk of the traffic, take a short path: one JSON parse, then
   * the same `*` and typed events the SDK emits, without its schema pass and deep copy (the SDK
   * still parses each delta once more to hand it to `_onAudio`). An application listener that
   * throws must not break the model connection.
   */
  protected override _onMessage(event: Parameters<OpenAIRealtimeWebSocket['_onMessage']>[0]): void {
    let delta: AudioDeltaEvent | undefined;
    try {
      delta = audioDelta(event.data);
      if (!delta) {
        super._onMessage(event);
        return;
      }
    } catch (error) {
      this.#emitError(error);
      return;
    }
    // Where this audio goes is settled before any listener runs: a listener that throws must not
    // file the audio under the previous item.
    this.#current = { responseId: delta.response_id, itemId: delta.item_id, contentIndex: delta.content_index };
    // `*` gets its own copy, as the SDK gives it (the fields are strings and numbers).
    this.#safely(() => this.emit('*', { ...delta }));
    this.#safely(() => this.emit('response.output_audio.delta', delta as never));
  }

  protected override _onAudio(event: TransportLayerAudio): void {
    const responseId = event.responseId;
    if (this.#cancelled.has(responseId)) {
      this.metrics.lateAudioDroppedBytes += event.data.byteLength;
      return;
    }
    const current = this.#current;
    if (!this.#streamId || !current) {
      this.metrics.outputDroppedNoStreamBytes += event.data.byteLength;
      this.#safely(() => super._onAudio(event));
      return;
    }
    this.#ledger.addContent(current, event.data.byteLength / modelBytesPerMs(this.#modelFormat));
    const carrierBytes = this.#outbound.convert(new Uint8Array(event.data));
    this.#sendAudioFrames(this.#framer.push(carrierBytes), current);
    this.#safely(() => super._onAudio(event));
  }

  // ---------------------------------------------------------------------------------------------
  // Carrier → model

  #onCarrierFrame(frame: MediaFrame): void {
    this.metrics.framesIn++;
    let events: CallEvent[];
    try {
      events = this.protocol.decode(frame);
    } catch (error) {
      this.metrics.malformedFrames++;
      this.#emitError(
        error instanceof ProtocolError
          ? error
          : new ProtocolError(this.protocol.name, `could not decode frame: ${(error as Error)?.message ?? error}`, { cause: error, frame }),
      );
      return;
    }
    try {
      this.#emitRaw(frame);
      for (const event of events) this.#onCallEvent(event);
    } catch (error) {
      this.#emitError(error);
    }
  }

  #emitRaw(frame: MediaFrame): void {
    const message = this.protocol.rawMessage ? this.protocol.rawMessage(frame) : frame;
    try {
      this.emit('*', { type: this.#rawEventType, message });
    } catch (error) {
      // A listener that throws must not cost the frame its audio.
      this.#emitError(error);
    }
  }

  #onCallEvent(event: CallEvent): void {
    switch (event.type) {
      case 'audio':
        this.#onInboundAudio(event);
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
        return;
      case 'playback_cleared':
        return;
      case 'flow_control':
        this.#onFlowControl(event.paused);
        return;
      case 'call_end':
        try {
          this.#flushReorder();
          this.#endCall(event.reason ?? 'carrier_stop');
        } finally {
          this.#safely(() => this.#closeModel());
        }
        return;
    }
  }

  #onCallStart(event: CallStartEvent): void {
    const second = this.#streamId !== undefined;
    this.#flushReorder();
    this.#streamId = event.streamId;
    this.#callStart = event;
    this.#expectedSeq = undefined;
    this.#lastTimestampMs = undefined;
    this.#lastDurationMs = 0;
    this.#lastFrameMs = 0;
    if (second) {
      // A new stream: whatever the old one was still playing is gone. Tell the model what the
      // caller heard, and stop a response that would play into the new stream mid-sentence.
      this.#bargeIn(true, { clear: false });
      this.#ledger.clear();
      this.#current = undefined;
      // The old stream's queue went with it: a pause it asked for does not hold the new one.
      this.#paused = false;
    }
    if (!sameFormat(event.format, this.#format)) {
      const model = modelFormatFor(event.format);
      this.#format = event.format;
      this.#inbound = inboundTranscoder(event.format);
      this.#outbound = outboundTranscoder(event.format);
      this.#framer = this.#createFramer(event.format);
      if (!sameModelFormat(this.#modelFormat, model)) {
        this.#modelFormat = model;
        // Audio kept before the carrier announced its format was decoded with the wrong codec.
        this.metrics.earlyMediaDroppedBytes += this.#earlyBytes;
        this.#early = [];
        this.#earlyBytes = 0;
        if (this.#sessionReady && this.#lastSessionConfig && this.status === 'connected') {
          log('carrier format %s@%d: updating the model session format', event.format.encoding, event.format.sampleRate);
          super.updateSessionConfig(this.#lastSessionConfig);
        }
      }
    }
    log('call_start stream=%s format=%s@%d', event.streamId, event.format.encoding, event.format.sampleRate);
    this.#emitExtra('call_start', event);
  }

  #onInboundAudio(event: Extract<CallEvent, { type: 'audio' }>): void {
    const seq = event.sequence;
    if (seq === undefined) {
      this.#deliver(event);
      return;
    }
    const expected = this.#expectedSeq;
    if (expected === undefined || seq === expected) {
      this.#expectedSeq = seq + 1;
      this.#deliver(event);
      if (this.#reorder.size > 0) this.#drainReorder();
      return;
    }
    if (seq < expected) {
      this.metrics.lateFramesDropped++;
      return;
    }
    this.#reorder.set(seq, event);
    if (this.#reorder.size > this.#reorderWindow) {
      // Give up on the missing frames: they are lost.
      const first = Math.min(...this.#reorder.keys());
      this.#giveUp(first - expected, this.#reorder.get(first)!);
      this.#expectedSeq = first;
      this.#drainReorder();
    }
  }

  #drainReorder(): void {
    let next = this.#expectedSeq!;
    let event = this.#reorder.get(next);
    while (event) {
      this.#reorder.delete(next);
      this.#deliver(event);
      next++;
      event = this.#reorder.get(next);
    }
    this.#expectedSeq = next;
  }

  /** Delivers every held frame in order (at the end of a stream). */
  #flushReorder(): void {
    if (this.#reorder.size === 0) return;
    const seqs = [...this.#reorder.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      const event = this.#reorder.get(seq)!;
      if (this.#expectedSeq !== undefined && seq > this.#expectedSeq) this.#giveUp(seq - this.#expectedSeq, event);
      this.#deliver(event);
      this.#expectedSeq = seq + 1;
    }
    this.#reorder.clear();
  }

  /**
   * `missing` frames before `next` never came. They are counted; where the carrier gives no
   * timestamps (which would show the hole and pad it), their time is filled with silence of the
   * last frame's length, so the model's timeline keeps the caller's.
   */
  #giveUp(missing: number, next: Extract<CallEvent, { type: 'audio' }>): void {
    this.metrics.framesMissing += missing;
    if (next.timestampMs === undefined && this.#lastFrameMs > 0) this.#padGap(missing * this.#lastFrameMs);
  }

  #deliver(event: Extract<CallEvent, { type: 'audio' }>): void {
    const payload = event.payload;
    this.metrics.audioBytesIn += payload.byteLength;
    const ts = event.timestampMs;
    if (ts !== undefined) {
      const last = this.#lastTimestampMs;
      if (last !== undefined && ts >= last) {
        // Silence already sent for this hole (inactivity padding) counts towards the gap.
        const gap = ts - (last + this.#lastDurationMs) - this.#paddedInHoleMs;
        if (gap >= 1) this.#padGap(gap);
      }
      this.#lastTimestampMs = ts;
      this.#lastDurationMs = durationMs(this.#format, payload.byteLength);
    }
    if (this.#inbound.passthrough) this.#forward(payload, trustedBase64(event.payloadBase64, payload.byteLength));
    else this.#forward(this.#inbound.convert(payload));
    this.#lastFrameMs = durationMs(this.#format, payload.byteLength);
    this.#lastInboundAt = systemClock.now();
    this.#paddedInHoleMs = 0;
    if (this.#speechActive && this.#inactivityTimer === undefined) this.#armInactivity(this.#inactivityMs ?? 0);
  }

  #padGap(gapMs: number): void {
    const padMs = Math.min(gapMs, this.#maxGapPadMs);
    this.metrics.gapsPaddedMs += padMs;
    if (gapMs > padMs) this.metrics.gapsUnpaddedMs += gapMs - padMs;
    this.#forward(this.#inbound.convert(silence(this.#format, padMs)));
  }

  /**
   * Sends model-format audio to the model, or keeps it while the model socket is not ready.
   * `base64` is the same audio already encoded, when the carrier sent it so.
   */
  #forward(bytes: Uint8Array, base64?: string): void {
    if (bytes.byteLength === 0) return;
    if (this.#sessionReady && this.status === 'connected') {
      this.#appendToModel(bytes, base64);
      return;
    }
    this.#early.push(bytes.slice());
    this.#earlyBytes += bytes.byteLength;
    this.metrics.earlyMediaBytes += bytes.byteLength;
    const max = this.#earlyMediaMaxMs * modelBytesPerMs(this.#modelFormat);
    while (this.#earlyBytes > max && this.#early.length > 0) {
      const dropped = this.#early.shift()!;
      this.#earlyBytes -= dropped.byteLength;
      this.metrics.earlyMediaDroppedBytes += dropped.byteLength;
    }
  }

  #flushEarlyMedia(): void {
    if (this.#early.length === 0) return;
    const chunks = this.#early;
    this.#early = [];
    this.#earlyBytes = 0;
    log('sending %d early media chunks', chunks.length);
    for (let i = 0; i < chunks.length; i++) {
      try {
        this.#appendToModel(chunks[i]!);
      } catch (error) {
        // The model socket failed under us: count what could not be sent.
        for (const rest of chunks.slice(i)) this.metrics.earlyMediaDroppedBytes += rest.byteLength;
        this.#emitError(error);
        return;
      }
    }
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

  /**
   * While the caller is speaking, a line that goes quiet for `inputAudioInactivityTimeoutMs` gets
   * one second of silence, so the model's turn detection can end the turn. One timer per quiet
   * spell: frames only record when they arrived.
   */
  #armInactivity(delayMs: number): void {
    if (this.#inactivityMs === null) return;
    this.#disarmInactivity();
    // On the wall clock (the timer and the quiet time alike), whatever clock the transport keeps:
    // it guards against a carrier that went quiet in real time, and a replay's scaled clock would
    // turn ordinary scheduling delays into silence.
    this.#inactivityTimer = systemClock.setTimeout(() => {
      this.#inactivityTimer = undefined;
      if (!this.#speechActive || this.#ended || !this.#sessionReady || this.status !== 'connected') return;
      const quietFor = systemClock.now() - this.#lastInboundAt;
      if (quietFor < this.#inactivityMs!) {
        this.#armInactivity(this.#inactivityMs! - quietFor);
        return;
      }
      const pad = this.#inbound.convert(silence(this.#format, INACTIVITY_SILENCE_MS));
      this.metrics.inactivityPaddedMs += INACTIVITY_SILENCE_MS;
      this.#paddedInHoleMs += INACTIVITY_SILENCE_MS;
      this.#safely(() => this.#appendToModel(pad));
    }, delayMs);
  }

  #disarmInactivity(): void {
    if (this.#inactivityTimer !== undefined) {
      systemClock.clearTimeout(this.#inactivityTimer);
      this.#inactivityTimer = undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Model → carrier

  #createFramer(format: AudioFormat): Framer {
    const rules = this.protocol.capabilities.frame ?? {};
    const multipleOf = Math.max(rules.multipleOf ?? bytesPerSample(format), this.#frameUnitBytes(format) ?? 0);
    return new Framer({ minBytes: rules.minBytes, maxBytes: rules.maxBytes, multipleOf }, silenceByte(format));
  }

  #sendAudioFrames(frames: Uint8Array[], key: PlaybackKey): void {
    if (frames.length === 0) return;
    if (this.#queue.length > 0 || this.#paused || this.protocol.capabilities.pacing) {
      // Queued in units of the carrier's frame duration, so pacing can hold to its lead exactly
      // even where the carrier takes large frames.
      const unit = this.#frameUnitBytes();
      const units: Uint8Array[] = [];
      for (const frame of frames) {
        this.#queuedBytes += frame.byteLength;
        if (unit === undefined || frame.byteLength <= unit) units.push(frame);
        else for (let at = 0; at < frame.byteLength; at += unit) units.push(frame.subarray(at, at + unit));
      }
      this.#queue.push({ frames: units, key });
      this.#pump();
      return;
    }
    this.#writeAudio(frames, key, true);
  }

  /** Sends frames now: the audio and its mark leave in one socket write where the connection can batch. */
  #writeAudio(frames: Uint8Array[], key: PlaybackKey, withMark: boolean): void {
    this.#safely(() => this.connection.cork?.());
    try {
      this.#sendAudioAndMark(frames, key, withMark);
    } finally {
      this.#safely(() => this.connection.uncork?.());
    }
  }

  #sendAudioAndMark(frames: Uint8Array[], key: PlaybackKey, markAfter: boolean): void {
    let bytes = 0;
    let unsent = 0;
    for (const frame of frames) {
      if (unsent === 0 && this.#sendCommand({ type: 'audio', payload: frame })) bytes += frame.byteLength;
      else unsent += frame.byteLength;
    }
    this.metrics.outputUnsentBytes += unsent;
    if (bytes === 0) return;
    this.metrics.audioBytesOut += bytes;
    if (this.#speechStoppedAt !== undefined) {
      this.metrics.responseLatenciesMs.push(this.#now() - this.#speechStoppedAt);
      this.#speechStoppedAt = undefined;
    }
    const withMark = markAfter && this.protocol.capabilities.playbackAck === 'mark';
    const mark = this.#ledger.recordSent(key, durationMs(this.#format, bytes), withMark);
    if (mark) this.#sendCommand({ type: 'mark', name: mark });
  }

  /**
   * Sends queued audio while the carrier accepts it: everything when only a paused flow held it,
   * up to `pacing.leadMs` ahead of the playout clock otherwise, then waits until half of that
   * lead has played. A chunk's mark follows its last frame.
   */
  #pump(): void {
    if (this.#pumpTimer !== undefined) {
      this.#clock.clearTimeout(this.#pumpTimer);
      this.#pumpTimer = undefined;
    }
    const pacing = this.protocol.capabilities.pacing;
    while (this.#queue.length > 0 && !this.#paused && !this.#ended) {
      const chunk = this.#queue[0]!;
      const queuedMs = pacing ? this.#ledger.queuedMs() : 0;
      let room = pacing ? pacing.leadMs - queuedMs : Infinity;
      // A frame that would overshoot the lead waits, unless the carrier has nothing left to play.
      if (room < durationMs(this.#format, chunk.frames[0]!.byteLength) && queuedMs > 0) break;
      const batch: Uint8Array[] = [];
      while (chunk.frames.length > 0) {
        const ms = durationMs(this.#format, chunk.frames[0]!.byteLength);
        if (batch.length > 0 && ms > room) break;
        batch.push(chunk.frames.shift()!);
        room -= ms;
        this.#queuedBytes -= batch[batch.length - 1]!.byteLength;
      }
      const last = chunk.frames.length === 0;
      if (last) this.#queue.shift();
      this.#writeAudio(this.#joinFrames(batch), chunk.key, last);
    }
    if (this.#queue.length > 0 && !this.#paused && !this.#ended && pacing) {
      // Wake once the carrier's queue is down to half the lead, or lower where the next frame would
      // not fit in the room that leaves (to empty for a frame longer than the lead): sooner only polls.
      const next = durationMs(this.#format, this.#queue[0]!.frames[0]!.byteLength);
      const target = Math.min(pacing.leadMs / 2, Math.max(0, pacing.leadMs - next));
      const wait = Math.max(1, this.#ledger.queuedMs() - target);
      this.#pumpTimer = this.#clock.setTimeout(() => {
        this.#pumpTimer = undefined;
        this.#safely(() => this.#pump());
      }, wait);
    }
  }

  /**
   * Bytes of one `frame.ms` of the carrier's audio, in whole samples (an L16 frame never splits a
   * sample), when the carrier sets a frame duration.
   */
  #frameUnitBytes(format: AudioFormat = this.#format): number | undefined {
    const ms = this.protocol.capabilities.frame?.ms;
    return ms ? Math.max(1, Math.round((ms * format.sampleRate) / 1000)) * bytesPerSample(format) : undefined;
  }

  /** Consecutive queued units joined back into frames as large as the carrier takes. */
  #joinFrames(units: Uint8Array[]): Uint8Array[] {
    const maxBytes = this.protocol.capabilities.frame?.maxBytes ?? Infinity;
    const frames: Uint8Array[] = [];
    let group: Uint8Array[] = [];
    let size = 0;
    for (const unit of units) {
      if (group.length > 0 && size + unit.byteLength > maxBytes) {
        frames.push(group.length === 1 ? group[0]! : concatBytes(group));
        group = [];
        size = 0;
      }
      group.push(unit);
      size += unit.byteLength;
    }
    if (group.length > 0) frames.push(group.length === 1 ? group[0]! : concatBytes(group));
    return frames;
  }

  #onFlowControl(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    log('carrier flow %s', paused ? 'paused' : 'resumed');
    if (paused) {
      this.metrics.flowPauses++;
      if (this.#pumpTimer !== undefined) {
        this.#clock.clearTimeout(this.#pumpTimer);
        this.#pumpTimer = undefined;
      }
    } else {
      this.#pump();
    }
  }

  /** Drops the audio waiting to leave; returns its size in bytes. */
  #dropQueue(): number {
    const bytes = this.#queuedBytes;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#pumpTimer !== undefined) {
      this.#clock.clearTimeout(this.#pumpTimer);
      this.#pumpTimer = undefined;
    }
    return bytes;
  }

  /** End of an audio part: send what the framer holds, padded to a whole frame. */
  #flushOutput(): void {
    const current = this.#current;
    if (!current || this.#cancelled.has(current.responseId)) {
      this.#outbound.reset();
      this.#framer.reset();
      return;
    }
    const tail = this.#outbound.flush();
    const frames = tail.byteLength > 0 ? this.#framer.push(tail) : [];
    frames.push(...this.#framer.flush(true));
    this.#sendAudioFrames(frames, current);
  }

  #sendCommand(command: OutboundCommand): boolean {
    if (this.connection.closed) return false;
    let frames: Array<string | Uint8Array>;
    try {
      frames = this.protocol.encode(command);
    } catch (error) {
      this.#emitError(error);
      return false;
    }
    if (frames.length === 0) return false;
    try {
      for (const frame of frames) {
        this.connection.send(frame);
        this.metrics.framesOut++;
      }
    } catch (error) {
      this.#emitError(error);
      return false;
    }
    return true;
  }

  /**
   * Stops what the caller would still hear and tells the model where the caller stopped hearing.
   * `clear: false` when the carrier's stream itself is gone (a new `start`): nothing to clear.
   */
  #bargeIn(cancelOngoingResponse: boolean, options: { clear: boolean } = { clear: true }): void {
    const items = this.#ledger.snapshot();
    // Truncate what was not heard; clear while the carrier may still be playing (an ack is out).
    // Frame padding is not part of an item: one heard up to its own audio keeps its transcript.
    const unheard = items.filter((item) => item.playedMs < item.contentMs);
    const playing =
      unheard.length > 0 || items.some((item) => item.awaitingAck) || this.#framer.pendingBytes > 0 || this.#queuedBytes > 0;
    const generating = this.#activeResponseId !== undefined && !this.#cancelled.has(this.#activeResponseId);
    if (!playing && !generating) return;

    this.metrics.bargeIns++;
    if (options.clear && playing && this.protocol.capabilities.clear) this.#sendCommand({ type: 'clear' });
    this.metrics.interruptedBytesDiscarded += this.#framer.pendingBytes + this.#dropQueue();
    this.#ledger.clear();
    this.#framer.reset();
    this.#outbound.reset();
    if (generating) {
      this.#cancelled.add(this.#activeResponseId!);
      if (cancelOngoingResponse) this.#safely(() => this._cancelResponse());
    }
    this.#safely(() => this.emit('audio_interrupted'));
    for (const item of unheard) {
      // Never past the model's own audio: frame padding is not part of the item.
      const audioEndMs = Math.max(0, Math.floor(Math.min(item.playedMs, item.contentMs)));
      this.metrics.truncations.push({ itemId: item.itemId, contentIndex: item.contentIndex, audioEndMs, sentMs: item.sentMs });
      log('truncate item=%s at %dms of %dms sent', item.itemId, audioEndMs, Math.round(item.sentMs));
      this.#safely(() =>
        this.sendEvent({
          type: 'conversation.item.truncate',
          item_id: item.itemId,
          content_index: item.contentIndex,
          audio_end_ms: audioEndMs,
        }),
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  #onCarrierClose(code?: number, reason?: string): void {
    log('carrier socket closed (%s %s)', code, reason ?? '');
    try {
      this.#flushReorder();
      this.#endCall('carrier_closed');
    } finally {
      this.#safely(() => this.#closeModel());
    }
  }

  /**
   * The model socket closed while the call was still on (the service dropped it, a network
   * failure): the caller would be left on a silent line. Say so, and end the call.
   */
  #onModelLost(): void {
    if (this.#closing || this.#ended) return;
    log('model socket closed during the call');
    this.#emitError(new SwitchboardError('model_disconnected', 'The model connection closed during the call; ending the call.'));
    this.close();
  }

  #onCarrierError(error: unknown): void {
    this.#emitError(new SwitchboardError('carrier_socket_error', 'The carrier socket reported an error.', { cause: error }));
  }

  #endCall(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#disarmInactivity();
    for (const detach of this.#detach.splice(0)) {
      try {
        detach();
      } catch {
        // A socket that cannot remove a listener is going away anyway.
      }
    }
    this.#reorder.clear();
    // Audio the carrier never got because the call ended first: queued, or short of a whole frame.
    this.metrics.outputUnsentBytes += this.#dropQueue() + this.#framer.pendingBytes;
    this.#framer.reset();
    // Early media never sent because the model socket never opened.
    this.metrics.earlyMediaDroppedBytes += this.#earlyBytes;
    this.#early = [];
    this.#earlyBytes = 0;
    this.#emitExtra('call_end', { type: 'call_end', reason });
  }

  #closeModel(): void {
    if (this.#closing) return;
    this.close();
  }

  #emitExtra(name: 'call_start' | 'dtmf' | 'call_end', event: { type: string; [key: string]: unknown }): void {
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

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#emitError(error);
    }
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * A protocol's base64 form of a payload, when it is strict base64 of exactly that payload: it is
 * written into the model's JSON as is, so nothing else may pass.
 */
function trustedBase64(text: string | undefined, byteLength: number): string | undefined {
  if (text === undefined || text.length !== Math.ceil(byteLength / 3) * 4 || !BASE64.test(text)) return undefined;
  return text;
}

type AudioDeltaEvent = {
  type: 'response.output_audio.delta';
  event_id: string;
  response_id: string;
  item_id: string;
  output_index: number;
  content_index: number;
  delta: string;
};

/** The message as an audio delta with every field the SDK's schema requires, or undefined. */
function audioDelta(data: unknown): AudioDeltaEvent | undefined {
  const text = typeof data === 'string' ? data : String(data);
  // Cheap test first: most model messages are not audio deltas.
  if (!text.includes('"response.output_audio.delta"')) return undefined;
  let value: Partial<AudioDeltaEvent>;
  try {
    value = JSON.parse(text) as Partial<AudioDeltaEvent>;
  } catch {
    return undefined;
  }
  return value.type === 'response.output_audio.delta' &&
    typeof value.event_id === 'string' &&
    typeof value.response_id === 'string' &&
    typeof value.item_id === 'string' &&
    typeof value.output_index === 'number' &&
    typeof value.content_index === 'number' &&
    typeof value.delta === 'string'
    ? (value as AudioDeltaEvent)
    : undefined;
}

function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.encoding === b.encoding && a.sampleRate === b.sampleRate;
}

function checkNonNegative(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new ConfigError(`\`${name}\` must be a non-negative number, got ${String(value)}.`);
  }
}
