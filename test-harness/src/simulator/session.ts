/**
 * One simulated Realtime conversation: the server side of one WebSocket connection. It answers
 * client events the way the OpenAI Realtime GA API does, closely enough for the SDK, and records
 * everything the client did for the conformance checks.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import createDebug from 'debug';
import type { WebSocket, RawData } from 'ws';
import { base64Decode, base64Encode } from '@switchboard/core';
import {
  clientEventSchemas,
  describeIssues,
  isClientEventType,
  LEGACY_SESSION_KEYS,
  normaliseFormat,
  type ClientEvent,
  type SimulatorAudioFormat,
} from './schemas.js';
import { decodeInput, deltaSizes, formatBytesPerMs, formatDurationMs, formatRate, PCM_24K, renderTurnAudio } from './audio.js';
import { EnergyVad, type ResolvedVadOptions, type VadEvent } from './vad.js';
import type { SimulatorTurn } from './script.js';

const log = createDebug('switchboard:conformance:simulator');

/** Settings a session runs with (resolved from RealtimeSimulatorOptions). */
export interface SimulatedSessionSettings {
  script: readonly SimulatorTurn[];
  speed: number;
  generationSpeed: number;
  /** Audio per delta, ms; a list gives uneven sizes, used in turn and cycled. */
  deltaMs: number | readonly number[];
  responseLatencyMs: number;
  vad: ResolvedVadOptions;
}

/** Facts about the WebSocket upgrade that opened the session. */
export interface SimulatedConnectionInfo {
  /** Request path and query, e.g. `/v1/realtime?model=gpt-realtime`. */
  url: string;
  /** `model` query parameter, if any. */
  model?: string;
  /** `call_id` query parameter (SIP attach), if any. */
  callId?: string;
  /** How the client authenticated. */
  auth: 'bearer' | 'subprotocol' | 'none';
  /** The negotiated WebSocket subprotocol, or '' when none. */
  protocol: string;
}

export interface RecordedEvent {
  /** Milliseconds since the connection opened. */
  at: number;
  event: Record<string, unknown>;
}

export interface SimulatorViolation {
  at: number;
  /** The offending client event (audio payloads replaced by their byte count). */
  event: unknown;
  /** The error code sent back to the client. */
  code: string;
  issues: string;
}

export interface SimulatorErrorSent {
  at: number;
  code: string;
  message: string;
  /** The `event_id` of the client event the error answers, if it had one. */
  clientEventId: string | null;
}

export type SimulatedResponseStatus = 'in_progress' | 'completed' | 'cancelled';

export interface SimulatedResponse {
  id: string;
  /** The output item: the assistant message, or the function_call item. */
  itemId: string;
  kind: SimulatorTurn['kind'];
  /** Who asked for it: a client `response.create`, or the server VAD at the end of a turn. */
  trigger: 'client' | 'turn_detection';
  status: SimulatedResponseStatus;
  /** Why it was cancelled, when it was. */
  cancelReason?: 'client_cancelled' | 'turn_detected';
  /** Format of the audio sent for this response. */
  format: SimulatorAudioFormat;
  audioBytesSent: number;
  audioMsSent: number;
  /** Full audio length of the scripted turn in this format, in ms. */
  audioMsTotal: number;
  /** The scripted transcript of the turn (function calls: ''). */
  transcript: string;
  /** Function call turns: the call id. */
  callId?: string;
  createdAt: number;
  firstAudioAt?: number;
  doneAt?: number;
}

export interface SimulatorTruncation {
  itemId: string;
  contentIndex: number;
  audioEndMs: number;
  at: number;
  /** False when the simulator rejected it (see `violations`). */
  accepted: boolean;
  /** Audio actually sent for the item when the truncate arrived, in ms. */
  audioMsSent: number | null;
}

export interface SimulatorCancel {
  at: number;
  responseId?: string;
  /** Whether a response was in flight when the cancel arrived. */
  active: boolean;
}

export interface SimulatorSpeechEvent {
  type: 'speech_started' | 'speech_stopped';
  /** Stream position reported to the client (audio_start_ms / audio_end_ms). */
  audioMs: number;
  /** Milliseconds since the connection opened, when the event was sent. */
  at: number;
  itemId: string;
}

export interface SimulatorFunctionCallOutput {
  at: number;
  callId: string;
  output: string;
  itemId: string;
}

export interface SimulatorOutputChunk {
  at: number;
  responseId: string;
  itemId: string;
  bytes: Uint8Array;
}

type Item = Record<string, unknown> & { id: string; type: string };

interface ItemState {
  item: Item;
  /** Assistant audio items: ms of audio sent. */
  audioMsSent?: number;
}

interface ActiveResponse {
  record: SimulatedResponse;
  turn: SimulatorTurn;
  item: Item;
  audio: Uint8Array;
  offset: number;
  /** Size of each delta in bytes, in order; they add up to the audio's length. */
  chunkSizes: number[];
  words: string[];
  wordsSent: number;
  deltasSent: number;
  timer: NodeJS.Timeout | null;
}

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class SimulatedSession extends EventEmitter {
  /** The session id reported in session.created (`sess_…`). */
  readonly id: string;
  readonly connection: SimulatedConnectionInfo;
  /** Every client event received, in order (appends as `{ type, bytes }`). */
  readonly events: RecordedEvent[] = [];
  /** Every server event sent, in order (audio deltas carry `delta_bytes` instead of `delta`). */
  readonly serverEvents: RecordedEvent[] = [];
  /** Decoded input audio of every append, in arrival order, in the input format of the time. */
  readonly inputAudio: Uint8Array[] = [];
  /** When each append arrived (ms since connection), parallel to `inputAudio`. */
  readonly inputAudioReceivedAt: number[] = [];
  /** The validated `session` of every accepted session.update. */
  readonly sessionUpdates: Json[] = [];
  readonly violations: SimulatorViolation[] = [];
  /** Every `error` event sent. */
  readonly errors: SimulatorErrorSent[] = [];
  readonly responses: SimulatedResponse[] = [];
  readonly truncations: SimulatorTruncation[] = [];
  /** Client response.cancel events. */
  readonly cancels: SimulatorCancel[] = [];
  readonly speechEvents: SimulatorSpeechEvent[] = [];
  readonly functionCallOutputs: SimulatorFunctionCallOutput[] = [];
  /** Every audio delta sent, as bytes in the output format. */
  readonly outputAudio: SimulatorOutputChunk[] = [];
  /** Resolves once the socket has closed and every timer of the session is cleared. */
  readonly closed: Promise<void>;

  readonly #ws: WebSocket;
  readonly #settings: SimulatedSessionSettings;
  readonly #t0 = performance.now();
  readonly #salt = randomBytes(4).toString('hex');
  #seq = 0;
  #config: Json;
  readonly #items = new Map<string, ItemState>();
  #order: string[] = [];
  readonly #callIds = new Set<string>();
  #active: ActiveResponse | null = null;
  #scriptIndex = 0;
  readonly #vad: EnergyVad;
  #speechItemId: string | null = null;
  #inputMs = 0;
  #uncommittedMs = 0;
  #carry: Uint8Array = new Uint8Array(0);
  #carryFormat: SimulatorAudioFormat['type'] = 'audio/pcm';
  #pendingAutoResponse: NodeJS.Timeout | null = null;
  readonly #timers = new Set<NodeJS.Timeout>();
  #isClosed = false;

  constructor(ws: WebSocket, settings: SimulatedSessionSettings, connection: SimulatedConnectionInfo) {
    super();
    this.#ws = ws;
    this.#settings = settings;
    this.connection = connection;
    this.id = `sess_${this.#salt}${randomBytes(6).toString('hex')}`;
    this.#vad = new EnergyVad(settings.vad);
    this.#config = this.#initialConfig(connection.model);
    this.closed = new Promise<void>((resolve) => {
      ws.once('close', () => {
        this.#shutdown();
        log('session %s closed', this.id);
        resolve();
      });
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        this.#onMessage(data, isBinary);
      } catch (error) {
        // A bug in a handler must not take the server down; surface it as a protocol error.
        log('session %s: handler failed: %s', this.id, (error as Error).message);
        this.#sendError('server_error', `simulator failure: ${(error as Error).message}`, null);
      }
    });
    ws.on('error', (error) => log('session %s socket error: %s', this.id, error.message));
    log('session %s opened (%s)', this.id, connection.url);
    this.#send({ type: 'session.created', session: this.session });
  }

  /** Milliseconds since the connection opened. */
  now(): number {
    return performance.now() - this.#t0;
  }

  /** The current (merged) session configuration, as echoed in session.updated. */
  get session(): Json {
    return structuredClone(this.#config);
  }

  get inputFormat(): SimulatorAudioFormat {
    return this.#format('input');
  }

  get outputFormat(): SimulatorAudioFormat {
    return this.#format('output');
  }

  /** Stream time of the input received so far, in ms (from the amount of audio). */
  get inputAudioMs(): number {
    return this.#inputMs;
  }

  /** The response being generated, if any. */
  get activeResponse(): SimulatedResponse | null {
    return this.#active?.record ?? null;
  }

  /** Conversation items in order (copies). */
  get items(): Json[] {
    return this.#order.map((id) => structuredClone(this.#items.get(id)!.item));
  }

  /** Whether the socket is closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Sends an arbitrary server event (an `event_id` is added), e.g. to inject a failure. */
  send(event: Json & { type: string }): void {
    this.#send(event);
  }

  /** Closes the connection from the server side. */
  async close(code = 1000, reason = 'simulator closed the session'): Promise<void> {
    if (!this.#isClosed) {
      this.#shutdown();
      try {
        this.#ws.close(code, reason);
      } catch {
        this.#ws.terminate();
      }
      const fallback = setTimeout(() => this.#ws.terminate(), 1000);
      fallback.unref();
      await this.closed;
      clearTimeout(fallback);
    }
    await this.closed;
  }

  /** Drops the socket at once, without a close handshake. */
  terminate(): Promise<void> {
    this.#shutdown();
    this.#ws.terminate();
    return this.closed;
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing

  #id(prefix: string): string {
    this.#seq += 1;
    return `${prefix}_${this.#salt}${this.#seq.toString(36).padStart(6, '0')}`;
  }

  #send(event: Json & { type: string }): void {
    const full: Json = { event_id: this.#id('event'), ...event };
    if (this.#isClosed || this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(JSON.stringify(full));
    let recorded: Json = full;
    if (typeof full.delta === 'string' && full.type === 'response.output_audio.delta') {
      const { delta, ...rest } = full;
      // The payload's size: base64's length less its padding.
      const padding = delta.endsWith('==') ? 2 : delta.endsWith('=') ? 1 : 0;
      recorded = { ...rest, delta_bytes: Math.floor((delta.length * 3) / 4) - padding };
    }
    this.serverEvents.push({ at: this.now(), event: recorded });
    this.emit('server_event', recorded);
  }

  #timer(fn: () => void, ms: number): NodeJS.Timeout {
    const handle = setTimeout(() => {
      this.#timers.delete(handle);
      if (!this.#isClosed) fn();
    }, Math.max(0, ms));
    this.#timers.add(handle);
    return handle;
  }

  #clearTimer(handle: NodeJS.Timeout | null): void {
    if (handle) {
      clearTimeout(handle);
      this.#timers.delete(handle);
    }
  }

  #shutdown(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    for (const handle of this.#timers) clearTimeout(handle);
    this.#timers.clear();
    this.#pendingAutoResponse = null;
    if (this.#active) {
      this.#active.timer = null;
      this.#active.record.status = 'cancelled';
      this.#active.record.doneAt = this.now();
      this.#active = null;
    }
  }

  #sendError(code: string, message: string, clientEventId: string | null, param: string | null = null): void {
    this.errors.push({ at: this.now(), code, message, clientEventId });
    this.#send({
      type: 'error',
      error: { type: 'invalid_request_error', code, message, param, event_id: clientEventId },
    });
  }

  #violation(event: unknown, code: string, issues: string, clientEventId: string | null): void {
    this.violations.push({ at: this.now(), event, code, issues });
    log('session %s: violation %s: %s', this.id, code, issues);
    this.emit('violation', this.violations[this.violations.length - 1]);
    this.#sendError(code, issues, clientEventId);
  }

  #pace(ms: number): number {
    return ms / this.#settings.speed;
  }

  // ---------------------------------------------------------------------------------------------
  // Session configuration

  #initialConfig(model: string | undefined): Json {
    const vad = this.#settings.vad;
    return {
      type: 'realtime',
      object: 'realtime.session',
      id: this.id,
      model: model ?? 'gpt-realtime',
      output_modalities: ['audio'],
      instructions: '',
      tools: [],
      tool_choice: 'auto',
      max_output_tokens: 'inf',
      tracing: null,
      prompt: null,
      include: null,
      expires_at: Math.floor(Date.now() / 1000) + 3600,
      audio: {
        input: {
          format: { ...PCM_24K },
          transcription: null,
          noise_reduction: null,
          turn_detection: {
            type: 'server_vad',
            threshold: 0.5,
            prefix_padding_ms: vad.prefixPaddingMs,
            silence_duration_ms: vad.silenceMs,
            idle_timeout_ms: null,
            create_response: true,
            interrupt_response: true,
          },
        },
        output: { format: { ...PCM_24K }, voice: 'alloy', speed: 1 },
      },
    };
  }

  #audioSection(direction: 'input' | 'output'): Json {
    const audio = isPlainObject(this.#config.audio) ? this.#config.audio : {};
    const section = audio[direction];
    return isPlainObject(section) ? section : {};
  }

  #format(direction: 'input' | 'output'): SimulatorAudioFormat {
    const format = this.#audioSection(direction).format;
    if (isPlainObject(format) && (format.type === 'audio/pcmu' || format.type === 'audio/pcma')) {
      return { type: format.type };
    }
    return { ...PCM_24K } as SimulatorAudioFormat;
  }

  #turnDetection(): Json | null {
    const td = this.#audioSection('input').turn_detection;
    return isPlainObject(td) ? td : null;
  }

  /** Turn detection as the real API echoes it: the given fields over the type's defaults. */
  #completeTurnDetection(td: Json): Json {
    const vad = this.#settings.vad;
    const defaults: Json =
      td.type === 'semantic_vad'
        ? { type: 'semantic_vad', eagerness: 'auto', create_response: true, interrupt_response: true }
        : {
            type: 'server_vad',
            threshold: 0.5,
            prefix_padding_ms: vad.prefixPaddingMs,
            silence_duration_ms: vad.silenceMs,
            idle_timeout_ms: null,
            create_response: true,
            interrupt_response: true,
          };
    return { ...defaults, ...td };
  }

  #applySessionUpdate(update: Json): void {
    const next: Json = { ...this.#config };
    for (const [key, value] of Object.entries(update)) {
      if (key === 'audio') continue;
      next[key] = structuredClone(value);
    }
    if (isPlainObject(update.audio)) {
      const currentAudio = isPlainObject(this.#config.audio) ? this.#config.audio : {};
      const audio: Json = { ...currentAudio };
      for (const [key, value] of Object.entries(update.audio)) {
        if ((key === 'input' || key === 'output') && isPlainObject(value)) {
          const section: Json = { ...(isPlainObject(currentAudio[key]) ? (currentAudio[key] as Json) : {}) };
          for (const [field, fieldValue] of Object.entries(value)) {
            if (field === 'format' && isPlainObject(fieldValue)) {
              section.format = normaliseFormat(fieldValue as Parameters<typeof normaliseFormat>[0]);
            } else if (field === 'turn_detection' && isPlainObject(fieldValue)) {
              section.turn_detection = this.#completeTurnDetection(fieldValue);
            } else {
              section[field] = structuredClone(fieldValue);
            }
          }
          audio[key] = section;
        } else {
          audio[key] = structuredClone(value);
        }
      }
      next.audio = audio;
    }
    next.type = 'realtime';
    next.object = 'realtime.session';
    next.id = this.id;
    this.#config = next;
    const td = this.#turnDetection();
    if (td) {
      this.#vad.configure({
        silenceMs: typeof td.silence_duration_ms === 'number' ? td.silence_duration_ms : this.#settings.vad.silenceMs,
        prefixPaddingMs:
          typeof td.prefix_padding_ms === 'number' ? td.prefix_padding_ms : this.#settings.vad.prefixPaddingMs,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Client events

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#isClosed) return;
    const at = this.now();
    const text = isBinary ? null : rawToString(data);
    let parsed: unknown;
    if (text !== null) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (!isPlainObject(parsed)) {
      const description = isBinary ? `binary frame of ${rawLength(data)} bytes` : 'a frame that is not a JSON object';
      this.#violation({ frame: description }, 'invalid_json', `expected a JSON event object, got ${description}`, null);
      return;
    }
    const clientEventId = typeof parsed.event_id === 'string' ? parsed.event_id : null;
    const recorded = redactAppend(parsed);
    this.events.push({ at, event: recorded });
    this.emit('client_event', recorded);

    const type = parsed.type;
    if (typeof type !== 'string') {
      this.#violation(recorded, 'missing_required_parameter', 'the event has no string "type"', clientEventId);
      return;
    }
    if (!isClientEventType(type)) {
      this.#violation(recorded, 'unknown_event_type', `unknown client event type "${type}"`, clientEventId);
      return;
    }
    const result = clientEventSchemas[type].safeParse(parsed);
    if (!result.success) {
      this.#violation(recorded, 'invalid_event', `${type}: ${describeIssues(result.error)}`, clientEventId);
      return;
    }
    const event = result.data as ClientEvent;
    switch (event.type) {
      case 'session.update':
        return this.#onSessionUpdate(event as ClientEvent<'session.update'>, recorded, clientEventId);
      case 'input_audio_buffer.append':
        return this.#onAppend(event as ClientEvent<'input_audio_buffer.append'>, recorded, clientEventId, at);
      case 'input_audio_buffer.commit':
        return this.#onCommit(recorded, clientEventId);
      case 'input_audio_buffer.clear':
        return this.#onClear();
      case 'response.create':
        return this.#onResponseCreate(clientEventId);
      case 'response.cancel':
        return this.#onResponseCancel(event as ClientEvent<'response.cancel'>, clientEventId, at);
      case 'conversation.item.create':
        return this.#onItemCreate(event as ClientEvent<'conversation.item.create'>, recorded, clientEventId, at);
      case 'conversation.item.truncate':
        return this.#onTruncate(event as ClientEvent<'conversation.item.truncate'>, recorded, clientEventId, at);
      case 'conversation.item.retrieve':
        return this.#onRetrieve(event as ClientEvent<'conversation.item.retrieve'>, recorded, clientEventId);
      case 'conversation.item.delete':
        return this.#onDelete(event as ClientEvent<'conversation.item.delete'>, recorded, clientEventId);
      case 'output_audio_buffer.clear':
        return this.#onOutputClear(event as ClientEvent<'output_audio_buffer.clear'>);
    }
  }

  #onSessionUpdate(event: ClientEvent<'session.update'>, recorded: Json, clientEventId: string | null): void {
    const session = event.session as Json;
    const legacy = LEGACY_SESSION_KEYS.filter((key) => key in session);
    if (legacy.length > 0) {
      this.#violation(
        recorded,
        'unknown_parameter',
        `session.update: beta-protocol field(s) ${legacy.map((k) => `session.${k}`).join(', ')} are not part of the GA API`,
        clientEventId,
      );
      return;
    }
    this.sessionUpdates.push(structuredClone(session));
    this.#applySessionUpdate(session);
    log('session %s updated: input %s, output %s', this.id, this.inputFormat.type, this.outputFormat.type);
    this.#send({ type: 'session.updated', session: this.session });
  }

  #onAppend(event: ClientEvent<'input_audio_buffer.append'>, recorded: Json, clientEventId: string | null, at: number): void {
    let bytes: Uint8Array;
    try {
      bytes = base64Decode(event.audio);
    } catch (error) {
      this.#violation(recorded, 'invalid_value', `input_audio_buffer.append: audio is not valid base64 (${(error as Error).message})`, clientEventId);
      return;
    }
    this.inputAudio.push(bytes);
    this.inputAudioReceivedAt.push(at);
    const format = this.inputFormat;
    if (format.type !== this.#carryFormat) {
      this.#carry = new Uint8Array(0);
      this.#carryFormat = format.type;
    }
    const decoded = decodeInput(bytes, format, this.#carry);
    this.#carry = decoded.carry;
    const rate = formatRate(format);
    const ms = (decoded.samples.length / rate) * 1000;
    this.#inputMs += ms;
    this.#uncommittedMs += ms;
    if (this.#turnDetection() === null) return;
    for (const vadEvent of this.#vad.push(decoded.samples, rate)) this.#onVadEvent(vadEvent);
  }

  #onVadEvent(event: VadEvent): void {
    if (event.type === 'speech_started') {
      const itemId = this.#id('item');
      this.#speechItemId = itemId;
      this.speechEvents.push({ type: 'speech_started', audioMs: event.audioStartMs, at: this.now(), itemId });
      log('session %s: speech started at %d ms (stream time)', this.id, event.audioStartMs);
      this.#send({ type: 'input_audio_buffer.speech_started', item_id: itemId, audio_start_ms: event.audioStartMs });
      this.#clearTimer(this.#pendingAutoResponse);
      this.#pendingAutoResponse = null;
      const td = this.#turnDetection();
      if (this.#active && td?.interrupt_response !== false) {
        this.#cancelActive('turn_detected');
      }
      return;
    }
    const itemId = this.#speechItemId ?? this.#id('item');
    this.speechEvents.push({ type: 'speech_stopped', audioMs: event.audioEndMs, at: this.now(), itemId });
    log('session %s: speech stopped at %d ms (stream time)', this.id, event.audioEndMs);
    this.#send({ type: 'input_audio_buffer.speech_stopped', item_id: itemId, audio_end_ms: event.audioEndMs });
    this.#commitInput(itemId);
    const td = this.#turnDetection();
    if (td?.create_response !== false) {
      this.#clearTimer(this.#pendingAutoResponse);
      this.#pendingAutoResponse = this.#timer(() => {
        this.#pendingAutoResponse = null;
        if (this.#active) {
          log('session %s: a response is already in flight, no automatic response', this.id);
          return;
        }
        this.#startResponse('turn_detection');
      }, this.#pace(this.#settings.responseLatencyMs));
    }
  }

  /** Commits the input buffer into a user audio message. */
  #commitInput(itemId: string): void {
    const previous = this.#lastItemId();
    this.#send({ type: 'input_audio_buffer.committed', item_id: itemId, previous_item_id: previous });
    const item: Item = {
      id: itemId,
      object: 'realtime.item',
      type: 'message',
      role: 'user',
      status: 'completed',
      content: [{ type: 'input_audio', transcript: null }],
    };
    this.#insertItem({ item }, previous);
    this.#send({ type: 'conversation.item.added', previous_item_id: previous, item });
    this.#send({ type: 'conversation.item.done', previous_item_id: previous, item });
    this.#speechItemId = null;
    this.#uncommittedMs = 0;
  }

  #onCommit(recorded: Json, clientEventId: string | null): void {
    if (this.#uncommittedMs < 100) {
      this.#violation(
        recorded,
        'input_audio_buffer_commit_empty',
        `input_audio_buffer.commit: buffer too small, expected at least 100ms of audio, have ${this.#uncommittedMs.toFixed(2)}ms`,
        clientEventId,
      );
      return;
    }
    this.#vad.reset();
    this.#commitInput(this.#speechItemId ?? this.#id('item'));
  }

  #onClear(): void {
    this.#vad.reset();
    this.#speechItemId = null;
    this.#uncommittedMs = 0;
    this.#send({ type: 'input_audio_buffer.cleared' });
  }

  #onResponseCreate(clientEventId: string | null): void {
    if (this.#active) {
      // Not a violation: a client can race the server's automatic response after speech.
      this.#sendError(
        'conversation_already_has_active_response',
        `Conversation already has an active response in progress: ${this.#active.record.id}. Wait until the response is finished before creating a new one.`,
        clientEventId,
      );
      return;
    }
    this.#clearTimer(this.#pendingAutoResponse);
    this.#pendingAutoResponse = null;
    this.#startResponse('client');
  }

  #onResponseCancel(event: ClientEvent<'response.cancel'>, clientEventId: string | null, at: number): void {
    const active = this.#active;
    const matches = active !== null && (event.response_id === undefined || event.response_id === active.record.id);
    this.cancels.push({ at, ...(event.response_id !== undefined ? { responseId: event.response_id } : {}), active: matches });
    if (!matches) {
      // Not a violation: the client may cancel while the server is finishing the response.
      this.#sendError(
        'response_cancel_not_active',
        event.response_id !== undefined
          ? `Cancellation failed: response ${event.response_id} is not in progress.`
          : 'Cancellation failed: no active response found.',
        clientEventId,
      );
      return;
    }
    this.#cancelActive('client_cancelled');
  }

  #onItemCreate(event: ClientEvent<'conversation.item.create'>, recorded: Json, clientEventId: string | null, at: number): void {
    const input = event.item as Json & { type: string; id?: string };
    const previousRequested = event.previous_item_id;
    if (typeof previousRequested === 'string' && previousRequested !== 'root' && !this.#items.has(previousRequested)) {
      this.#violation(recorded, 'item_not_found', `conversation.item.create: previous_item_id ${previousRequested} does not exist`, clientEventId);
      return;
    }
    if (typeof input.id === 'string' && this.#items.has(input.id)) {
      this.#violation(recorded, 'item_already_exists', `conversation.item.create: an item with id ${input.id} already exists`, clientEventId);
      return;
    }
    if (input.type === 'function_call_output' && !this.#callIds.has(String(input.call_id))) {
      this.#violation(
        recorded,
        'invalid_value',
        `conversation.item.create: function_call_output for call_id ${String(input.call_id)}, which no function_call of this conversation has`,
        clientEventId,
      );
      return;
    }
    const item: Item = {
      ...structuredClone(input),
      id: typeof input.id === 'string' ? input.id : this.#id('item'),
      object: 'realtime.item',
      type: input.type,
    };
    if (item.type === 'message' || item.type === 'function_call_output' || item.type === 'function_call') {
      item.status = 'completed';
    }
    if (item.type === 'message' && Array.isArray(item.content)) {
      item.content = item.content.map((part: unknown) =>
        isPlainObject(part) && part.type === 'input_audio'
          ? { type: 'input_audio', transcript: typeof part.transcript === 'string' ? part.transcript : null }
          : part,
      );
    }
    if (item.type === 'function_call' && typeof item.call_id === 'string') this.#callIds.add(item.call_id);
    let previous: string | null;
    if (previousRequested === 'root') previous = null;
    else if (typeof previousRequested === 'string') previous = previousRequested;
    else previous = this.#lastItemId();
    this.#insertItem({ item }, previous);
    if (item.type === 'function_call_output') {
      this.functionCallOutputs.push({ at, callId: String(item.call_id), output: String(item.output), itemId: item.id });
    }
    this.#send({ type: 'conversation.item.added', previous_item_id: previous, item });
    this.#send({ type: 'conversation.item.done', previous_item_id: previous, item });
  }

  #onTruncate(event: ClientEvent<'conversation.item.truncate'>, recorded: Json, clientEventId: string | null, at: number): void {
    const state = this.#items.get(event.item_id);
    const truncation: SimulatorTruncation = {
      itemId: event.item_id,
      contentIndex: event.content_index,
      audioEndMs: event.audio_end_ms,
      at,
      accepted: false,
      audioMsSent: state?.audioMsSent ?? null,
    };
    this.truncations.push(truncation);
    if (!state) {
      this.#violation(recorded, 'item_not_found', `conversation.item.truncate: item ${event.item_id} does not exist`, clientEventId);
      return;
    }
    if (state.audioMsSent === undefined) {
      this.#violation(recorded, 'invalid_value', `conversation.item.truncate: item ${event.item_id} is not an assistant audio message`, clientEventId);
      return;
    }
    if (event.content_index !== 0) {
      this.#violation(recorded, 'invalid_value', `conversation.item.truncate: item ${event.item_id} has no content part ${event.content_index}`, clientEventId);
      return;
    }
    // 1 µs of slack for floating point; clients floor to whole ms anyway.
    if (event.audio_end_ms > state.audioMsSent + 0.001) {
      this.#violation(
        recorded,
        'invalid_value',
        `conversation.item.truncate: audio_end_ms ${event.audio_end_ms} is beyond the ${state.audioMsSent.toFixed(2)}ms of audio sent for item ${event.item_id}`,
        clientEventId,
      );
      return;
    }
    truncation.accepted = true;
    state.audioMsSent = event.audio_end_ms;
    // Like the real API, drop the transcript of audio the user may not have heard.
    const content = state.item.content;
    if (Array.isArray(content)) {
      state.item.content = content.map((part: unknown) => (isPlainObject(part) ? { ...part, transcript: '' } : part));
    }
    this.#send({
      type: 'conversation.item.truncated',
      item_id: event.item_id,
      content_index: event.content_index,
      audio_end_ms: event.audio_end_ms,
    });
  }

  #onRetrieve(event: ClientEvent<'conversation.item.retrieve'>, recorded: Json, clientEventId: string | null): void {
    const state = this.#items.get(event.item_id);
    if (!state) {
      this.#violation(recorded, 'item_not_found', `conversation.item.retrieve: item ${event.item_id} does not exist`, clientEventId);
      return;
    }
    this.#send({ type: 'conversation.item.retrieved', item: structuredClone(state.item) });
  }

  #onDelete(event: ClientEvent<'conversation.item.delete'>, recorded: Json, clientEventId: string | null): void {
    if (!this.#items.has(event.item_id)) {
      this.#violation(recorded, 'item_not_found', `conversation.item.delete: item ${event.item_id} does not exist`, clientEventId);
      return;
    }
    this.#items.delete(event.item_id);
    this.#order = this.#order.filter((id) => id !== event.item_id);
    this.#send({ type: 'conversation.item.deleted', item_id: event.item_id });
  }

  #onOutputClear(event: ClientEvent<'output_audio_buffer.clear'>): void {
    const responseId = event.response_id ?? this.#active?.record.id;
    this.#send({ type: 'output_audio_buffer.cleared', ...(responseId ? { response_id: responseId } : {}) });
  }

  // ---------------------------------------------------------------------------------------------
  // Conversation

  #lastItemId(): string | null {
    return this.#order[this.#order.length - 1] ?? null;
  }

  /** Adds an item after `previous` (null: at the start of the conversation). */
  #insertItem(state: ItemState, previous: string | null): void {
    this.#items.set(state.item.id, state);
    if (previous === null) {
      this.#order.unshift(state.item.id);
      return;
    }
    const index = this.#order.indexOf(previous);
    if (index < 0 || index === this.#order.length - 1) this.#order.push(state.item.id);
    else this.#order.splice(index + 1, 0, state.item.id);
  }

  // ---------------------------------------------------------------------------------------------
  // Responses

  #nextTurn(): SimulatorTurn {
    const script = this.#settings.script;
    const turn = script[this.#scriptIndex % script.length]!;
    this.#scriptIndex += 1;
    return turn;
  }

  #startResponse(trigger: SimulatedResponse['trigger']): void {
    const turn = this.#nextTurn();
    const format = this.outputFormat;
    const responseId = this.#id('resp');
    const itemId = this.#id('item');
    const audio = turn.kind === 'audio' ? renderTurnAudio(turn.audio, format) : new Uint8Array(0);
    const record: SimulatedResponse = {
      id: responseId,
      itemId,
      kind: turn.kind,
      trigger,
      status: 'in_progress',
      format,
      audioBytesSent: 0,
      audioMsSent: 0,
      audioMsTotal: formatDurationMs(format, audio.length),
      transcript: turn.kind === 'audio' ? turn.transcript : '',
      createdAt: this.now(),
    };
    this.responses.push(record);
    const item: Item =
      turn.kind === 'audio'
        ? { id: itemId, object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] }
        : {
            id: itemId,
            object: 'realtime.item',
            type: 'function_call',
            status: 'in_progress',
            call_id: this.#id('call'),
            name: turn.name,
            arguments: '',
          };
    if (turn.kind === 'function_call') {
      record.callId = item.call_id as string;
      this.#callIds.add(record.callId);
    }
    const chunkSizes = deltaSizes(this.#settings.deltaMs, format, audio.length);
    const words = turn.kind === 'audio' ? turn.transcript.split(/(?<=\s)/).filter((w) => w.length > 0) : [];
    const active: ActiveResponse = {
      record,
      turn,
      item,
      audio,
      offset: 0,
      chunkSizes,
      words,
      wordsSent: 0,
      deltasSent: 0,
      timer: null,
    };
    this.#active = active;
    log('session %s: response %s (%s, %s)', this.id, responseId, turn.kind, trigger);

    this.#send({
      type: 'response.created',
      response: this.#responseObject(record, [], null),
    });
    const previous = this.#lastItemId();
    this.#insertItem(turn.kind === 'audio' ? { item, audioMsSent: 0 } : { item }, previous);
    this.#send({ type: 'response.output_item.added', response_id: responseId, output_index: 0, item: structuredClone(item) });
    this.#send({ type: 'conversation.item.added', previous_item_id: previous, item: structuredClone(item) });

    if (turn.kind === 'function_call') {
      active.timer = this.#timer(() => this.#finishFunctionCall(active), this.#deltaIntervalMs());
      return;
    }
    item.content = [{ type: 'output_audio', transcript: '' }];
    this.#send({
      type: 'response.content_part.added',
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      part: { type: 'audio', transcript: '' },
    });
    this.#sendDelta(active);
  }

  /** Real ms until the next delta: the audio just sent (`ms`, default one regular delta) at generation speed. */
  #deltaIntervalMs(ms?: number): number {
    const deltaMs = this.#settings.deltaMs;
    const step = ms ?? (typeof deltaMs === 'number' ? deltaMs : (deltaMs[0] ?? 100));
    return step / (this.#settings.generationSpeed * this.#settings.speed);
  }

  #sendDelta(active: ActiveResponse): void {
    active.timer = null;
    if (this.#active !== active) return;
    const { record } = active;
    let sentMs: number | undefined;
    if (active.offset < active.audio.length) {
      // `offset` is the sum of the deltas sent so far, so a delta is left while audio is.
      const size = active.chunkSizes[active.deltasSent]!;
      const chunk = active.audio.subarray(active.offset, active.offset + size);
      sentMs = formatDurationMs(record.format, chunk.length);
      active.offset += chunk.length;
      active.deltasSent += 1;
      this.#send({
        type: 'response.output_audio.delta',
        response_id: record.id,
        item_id: record.itemId,
        output_index: 0,
        content_index: 0,
        delta: base64Encode(chunk),
      });
      const at = this.now();
      record.firstAudioAt ??= at;
      record.audioBytesSent += chunk.length;
      record.audioMsSent = formatDurationMs(record.format, record.audioBytesSent);
      const state = this.#items.get(record.itemId);
      if (state) state.audioMsSent = record.audioMsSent;
      this.outputAudio.push({ at, responseId: record.id, itemId: record.itemId, bytes: chunk.slice() });
      const wordsDue = Math.min(active.words.length, Math.ceil((active.deltasSent / active.chunkSizes.length) * active.words.length));
      if (wordsDue > active.wordsSent) {
        const delta = active.words.slice(active.wordsSent, wordsDue).join('');
        active.wordsSent = wordsDue;
        this.#send({
          type: 'response.output_audio_transcript.delta',
          response_id: record.id,
          item_id: record.itemId,
          output_index: 0,
          content_index: 0,
          delta,
        });
      }
    }
    if (active.offset >= active.audio.length) {
      this.#finishAudio(active);
      return;
    }
    active.timer = this.#timer(() => this.#sendDelta(active), this.#deltaIntervalMs(sentMs));
  }

  #finishAudio(active: ActiveResponse): void {
    const { record, item } = active;
    if (active.wordsSent < active.words.length) {
      this.#send({
        type: 'response.output_audio_transcript.delta',
        response_id: record.id,
        item_id: record.itemId,
        output_index: 0,
        content_index: 0,
        delta: active.words.slice(active.wordsSent).join(''),
      });
      active.wordsSent = active.words.length;
    }
    const ids = { response_id: record.id, item_id: record.itemId, output_index: 0, content_index: 0 };
    this.#send({ type: 'response.output_audio.done', ...ids });
    this.#send({ type: 'response.output_audio_transcript.done', ...ids, transcript: record.transcript });
    this.#send({ type: 'response.content_part.done', ...ids, part: { type: 'audio', transcript: record.transcript } });
    item.status = 'completed';
    item.content = [{ type: 'output_audio', transcript: record.transcript }];
    this.#completeResponse(active, 'completed');
  }

  #finishFunctionCall(active: ActiveResponse): void {
    active.timer = null;
    if (this.#active !== active || active.turn.kind !== 'function_call') return;
    const { record, item } = active;
    const args = JSON.stringify(active.turn.arguments);
    const ids = { response_id: record.id, item_id: record.itemId, output_index: 0, call_id: record.callId! };
    this.#send({ type: 'response.function_call_arguments.delta', ...ids, delta: args });
    this.#send({ type: 'response.function_call_arguments.done', ...ids, arguments: args });
    item.status = 'completed';
    item.arguments = args;
    this.#completeResponse(active, 'completed');
  }

  /** Sends output_item.done, conversation.item.done and response.done, and frees the slot. */
  #completeResponse(active: ActiveResponse, status: 'completed' | 'cancelled'): void {
    const { record, item } = active;
    this.#clearTimer(active.timer);
    active.timer = null;
    if (status === 'cancelled') {
      item.status = 'incomplete';
      if (record.kind === 'audio') {
        const heard = active.words.slice(0, active.wordsSent).join('');
        item.content = [{ type: 'output_audio', transcript: heard }];
      }
    }
    const previous = this.#previousOf(item.id);
    this.#send({ type: 'response.output_item.done', response_id: record.id, output_index: 0, item: structuredClone(item) });
    this.#send({ type: 'conversation.item.done', previous_item_id: previous, item: structuredClone(item) });
    record.status = status;
    record.doneAt = this.now();
    this.#active = null;
    this.#send({
      type: 'response.done',
      response: this.#responseObject(record, [structuredClone(item)], status === 'cancelled' ? record.cancelReason ?? 'client_cancelled' : null),
    });
    log('session %s: response %s %s after %d ms of audio', this.id, record.id, status, Math.round(record.audioMsSent));
  }

  #cancelActive(reason: NonNullable<SimulatedResponse['cancelReason']>): void {
    const active = this.#active;
    if (!active) return;
    active.record.cancelReason = reason;
    this.#completeResponse(active, 'cancelled');
  }

  #previousOf(itemId: string): string | null {
    const index = this.#order.indexOf(itemId);
    return index > 0 ? this.#order[index - 1]! : null;
  }

  #responseObject(record: SimulatedResponse, output: Json[], cancelReason: string | null): Json {
    const done = record.status !== 'in_progress';
    const outputTokens =
      record.kind === 'audio' ? Math.ceil(record.audioMsSent / 50) : Math.ceil(JSON.stringify(output).length / 4);
    const inputTokens = Math.ceil(this.#inputMs / 100) + 10;
    return {
      id: record.id,
      object: 'realtime.response',
      status: record.status,
      status_details: cancelReason ? { type: 'cancelled', reason: cancelReason } : null,
      conversation_id: `conv_${this.#salt}`,
      output_modalities: ['audio'],
      max_output_tokens: 'inf',
      metadata: null,
      audio: { output: { format: record.format, voice: this.#voice() } },
      output,
      usage: done
        ? {
            total_tokens: inputTokens + outputTokens,
            input_tokens: inputTokens,
            output_tokens: outputTokens,
            input_token_details: { text_tokens: 10, audio_tokens: inputTokens - 10, cached_tokens: 0 },
            output_token_details: { text_tokens: 0, audio_tokens: outputTokens },
          }
        : null,
    };
  }

  #voice(): string {
    const voice = this.#audioSection('output').voice;
    return typeof voice === 'string' ? voice : 'alloy';
  }
}

function rawToString(data: RawData): string {
  if (typeof data === 'string') return data;
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  if (data instanceof ArrayBuffer) return data.byteLength;
  return data.length;
}

/** A client event as recorded: input_audio_buffer.append keeps its byte count, not the audio. */
function redactAppend(event: Json): Json {
  if (event.type !== 'input_audio_buffer.append') return event;
  const { audio, ...rest } = event;
  let bytes = 0;
  if (typeof audio === 'string') {
    // Size from the text alone: the handler decodes (and validates) the audio once.
    let padding = 0;
    if (audio.endsWith('==')) padding = 2;
    else if (audio.endsWith('=')) padding = 1;
    bytes = Math.max(0, Math.floor(((audio.length - padding) * 3) / 4));
  }
  return { ...rest, bytes };
}
