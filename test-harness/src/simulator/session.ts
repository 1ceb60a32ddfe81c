/**
 * One simulated Realtime conversation: the server side of one WebSocket connection. It answers
 * client events the way the OpenAI Realtime GA API does, closely enough for the SDK, and records
 * everything the client did for the conformance checks.
 *
 * The session composes: validation (`validate.ts`), the session configuration (`config.ts`), the
 * conversation's items (`conversation.ts`), response generation (`responses.ts`) and the energy
 * VAD (`vad.ts`); this file holds the socket, the records and the client event handlers.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import createDebug from 'debug';
import type { WebSocket, RawData } from 'ws';
import { base64Decode } from '@switchboard/core';
import type { ClientEvent } from './schemas.js';
import type { SimulatorAudioFormat } from './session-schema.js';
import { decodeInput, formatRate } from './audio.js';
import {
  audioSection,
  formatOf,
  initialConfig,
  mergeSessionUpdate,
  transcriptionOn,
  turnDetectionOf,
} from './config.js';
import { Conversation, type Item } from './conversation.js';
import { ItemHandlers } from './items.js';
import { transcriptionEvents, UncommittedInput } from './transcription.js';
import { ResponseGenerator } from './responses.js';
import { checkSessionRules, validateClientEvent, type ServiceError } from './validate.js';
import { EnergyVad, type VadEvent } from './vad.js';
import { rawLength, rawToString, redactAppend, redactRetrieved } from './wire.js';
import {
  isPlainObject,
  type Json,
  type RecordedEvent,
  type SimulatedConnectionInfo,
  type SimulatedResponse,
  type SimulatedSessionSettings,
  type SimulatorCancel,
  type SimulatorErrorSent,
  type SimulatorFunctionCallOutput,
  type SimulatorOutputChunk,
  type SimulatorSpeechEvent,
  type SimulatorTruncation,
  type SimulatorViolation,
} from './types.js';

export type {
  RecordedEvent,
  SimulatedConnectionInfo,
  SimulatedResponse,
  SimulatedResponseStatus,
  SimulatedSessionSettings,
  SimulatorCancel,
  SimulatorErrorSent,
  SimulatorFunctionCallOutput,
  SimulatorInputTurn,
  SimulatorOutputChunk,
  SimulatorSpeechEvent,
  SimulatorTruncation,
  SimulatorViolation,
} from './types.js';

const log = createDebug('switchboard:conformance:simulator');

/** Delay of the transcription of a committed turn, ms (divided by speed). */
const TRANSCRIPTION_LATENCY_MS = 150;

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
  readonly #conversation = new Conversation();
  readonly #callIds = new Set<string>();
  readonly #generator: ResponseGenerator;
  readonly #items: ItemHandlers;
  readonly #vad: EnergyVad;
  #speechItemId: string | null = null;
  #inputMs = 0;
  readonly #uncommitted = new UncommittedInput();
  #committedTurns = 0;
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
    this.#config = initialConfig(this.id, connection.model, settings.vad);
    this.#generator = new ResponseGenerator({
      settings,
      conversation: this.#conversation,
      responses: this.responses,
      outputAudio: this.outputAudio,
      callIds: this.#callIds,
      sessionId: this.id,
      send: (event) => this.#send(event),
      id: (prefix) => this.#id(prefix),
      now: () => this.now(),
      timer: (fn, ms) => this.#timer(fn, ms),
      clearTimer: (handle) => this.#clearTimer(handle),
      outputFormat: () => this.outputFormat,
      voiceName: () => this.#voiceName(),
      inputMs: () => this.#inputMs,
      conversationId: () => `conv_${this.#salt}`,
      declaresTool: (name) => declaresTool(this.#config, name),
    });
    this.#items = new ItemHandlers({
      conversation: this.#conversation,
      callIds: this.#callIds,
      functionCallOutputs: this.functionCallOutputs,
      truncations: this.truncations,
      send: (event) => this.#send(event),
      id: (prefix) => this.#id(prefix),
      reject: (event, code, message, clientEventId, param) => this.#reject(event, code, message, clientEventId, param),
    });
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
        this.#sendError(
          { code: 'server_error', message: `simulator failure: ${(error as Error).message}`, param: null },
          null,
        );
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
    return formatOf(this.#config, 'input');
  }

  get outputFormat(): SimulatorAudioFormat {
    return formatOf(this.#config, 'output');
  }

  /** Stream time of the input received so far, in ms (from the amount of audio). */
  get inputAudioMs(): number {
    return this.#inputMs;
  }

  /** The response being generated, if any. */
  get activeResponse(): SimulatedResponse | null {
    return this.#generator.active;
  }

  /** Conversation items in order (copies). */
  get items(): Json[] {
    return this.#conversation.list();
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
    } else if (full.type === 'conversation.item.retrieved') {
      recorded = redactRetrieved(full);
    }
    this.serverEvents.push({ at: this.now(), event: recorded });
    this.emit('server_event', recorded);
  }

  #timer(fn: () => void, ms: number): NodeJS.Timeout {
    const handle = setTimeout(
      () => {
        this.#timers.delete(handle);
        if (!this.#isClosed) fn();
      },
      Math.max(0, ms),
    );
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
    this.#generator.abandon(this.now());
  }

  #sendError(error: ServiceError, clientEventId: string | null): void {
    this.errors.push({ at: this.now(), code: error.code, message: error.message, clientEventId, param: error.param });
    this.#send({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        code: error.code,
        message: error.message,
        param: error.param,
        event_id: clientEventId,
      },
    });
  }

  /** A client event the service would reject: recorded, and answered with `error`. */
  #violation(event: unknown, error: ServiceError, clientEventId: string | null, issues = error.message): void {
    this.violations.push({ at: this.now(), event, code: error.code, issues });
    log('session %s: violation %s: %s', this.id, error.code, issues);
    this.emit('violation', this.violations[this.violations.length - 1]);
    this.#sendError(error, clientEventId);
  }

  #reject(
    event: unknown,
    code: string,
    message: string,
    clientEventId: string | null,
    param: string | null = null,
  ): void {
    this.#violation(event, { code, message, param }, clientEventId);
  }

  #pace(ms: number): number {
    return ms / this.#settings.speed;
  }

  #voiceName(): string {
    const voice = audioSection(this.#config, 'output').voice;
    if (typeof voice === 'string') return voice;
    if (isPlainObject(voice) && typeof voice.id === 'string') return voice.id;
    return 'alloy';
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
      this.#reject({ frame: description }, 'invalid_json', `expected a JSON event object, got ${description}`, null);
      return;
    }
    const clientEventId = typeof parsed.event_id === 'string' ? parsed.event_id : null;
    const recorded = redactAppend(parsed);
    this.events.push({ at, event: recorded });
    this.emit('client_event', recorded);

    const result = validateClientEvent(parsed);
    if (!result.ok) {
      this.#violation(recorded, result.error, clientEventId, result.issues);
      return;
    }
    const event = result.event;
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
        return this.#items.create(event as ClientEvent<'conversation.item.create'>, recorded, clientEventId, at);
      case 'conversation.item.truncate':
        return this.#items.truncate(event as ClientEvent<'conversation.item.truncate'>, recorded, clientEventId, at);
      case 'conversation.item.retrieve':
        return this.#items.retrieve(event as ClientEvent<'conversation.item.retrieve'>, recorded, clientEventId);
      case 'conversation.item.delete':
        return this.#items.delete(event as ClientEvent<'conversation.item.delete'>, recorded, clientEventId);
      case 'output_audio_buffer.clear':
        return this.#onOutputClear(event as ClientEvent<'output_audio_buffer.clear'>, clientEventId);
    }
  }

  #onSessionUpdate(event: ClientEvent<'session.update'>, recorded: Json, clientEventId: string | null): void {
    const output = audioSection(this.#config, 'output');
    const refused = checkSessionRules(event.session, {
      voice: output.voice,
      speed: output.speed,
      assistantAudio: this.#generator.spoke,
      responseActive: this.#generator.active !== null,
    });
    if (refused) {
      this.#violation(recorded, refused, clientEventId);
      return;
    }
    const session = event.session as Json;
    this.sessionUpdates.push(structuredClone(session));
    this.#config = mergeSessionUpdate(this.#config, session, this.#settings.vad);
    const td = turnDetectionOf(this.#config);
    if (td) {
      this.#vad.configure({
        silenceMs: typeof td.silence_duration_ms === 'number' ? td.silence_duration_ms : this.#settings.vad.silenceMs,
        prefixPaddingMs:
          typeof td.prefix_padding_ms === 'number' ? td.prefix_padding_ms : this.#settings.vad.prefixPaddingMs,
      });
    }
    log('session %s updated: input %s, output %s', this.id, this.inputFormat.type, this.outputFormat.type);
    this.#send({ type: 'session.updated', session: this.session });
  }

  #onAppend(
    event: ClientEvent<'input_audio_buffer.append'>,
    recorded: Json,
    clientEventId: string | null,
    at: number,
  ): void {
    let bytes: Uint8Array;
    try {
      bytes = base64Decode(event.audio);
    } catch (error) {
      this.#reject(
        recorded,
        'invalid_value',
        `input_audio_buffer.append: audio is not valid base64 (${(error as Error).message})`,
        clientEventId,
        'audio',
      );
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
    this.#uncommitted.push(bytes, ms);
    if (turnDetectionOf(this.#config) === null) return;
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
      const td = turnDetectionOf(this.#config);
      if (this.#generator.active && td?.interrupt_response !== false) {
        this.#generator.cancel('turn_detected');
      }
      return;
    }
    const itemId = this.#speechItemId ?? this.#id('item');
    this.speechEvents.push({ type: 'speech_stopped', audioMs: event.audioEndMs, at: this.now(), itemId });
    log('session %s: speech stopped at %d ms (stream time)', this.id, event.audioEndMs);
    this.#send({ type: 'input_audio_buffer.speech_stopped', item_id: itemId, audio_end_ms: event.audioEndMs });
    this.#commitInput(itemId);
    const td = turnDetectionOf(this.#config);
    if (td?.create_response !== false) {
      this.#clearTimer(this.#pendingAutoResponse);
      this.#pendingAutoResponse = this.#timer(() => {
        this.#pendingAutoResponse = null;
        if (this.#generator.active) {
          log('session %s: a response is already in flight, no automatic response', this.id);
          return;
        }
        this.#generator.start('turn_detection');
      }, this.#pace(this.#settings.responseLatencyMs));
    }
  }

  /** Commits the input buffer into a user audio message (and transcribes it when configured). */
  #commitInput(itemId: string): void {
    const previous = this.#conversation.last();
    this.#send({ type: 'input_audio_buffer.committed', item_id: itemId, previous_item_id: previous });
    const item: Item = {
      id: itemId,
      object: 'realtime.item',
      type: 'message',
      role: 'user',
      status: 'completed',
      content: [{ type: 'input_audio', transcript: null }],
    };
    const state = { item };
    const format = this.inputFormat;
    const audioMs = this.#uncommitted.ms;
    for (const chunk of this.#uncommitted.take()) this.#conversation.addAudio(state, chunk, format);
    this.#conversation.insert(state, previous);
    this.#send({ type: 'conversation.item.added', previous_item_id: previous, item });
    this.#send({ type: 'conversation.item.done', previous_item_id: previous, item });
    this.#speechItemId = null;
    const index = this.#committedTurns;
    this.#committedTurns += 1;
    if (transcriptionOn(this.#config)) {
      this.#timer(() => this.#transcribe(itemId, index, audioMs), this.#pace(TRANSCRIPTION_LATENCY_MS));
    }
  }

  #transcribe(itemId: string, index: number, audioMs: number): void {
    const state = this.#conversation.get(itemId);
    if (!state) return;
    const transcript = this.#settings.inputTranscript({ itemId, index, audioMs });
    for (const event of transcriptionEvents(state, transcript, audioMs)) this.#send(event);
  }

  #onCommit(recorded: Json, clientEventId: string | null): void {
    if (this.#uncommitted.ms < 100) {
      this.#reject(
        recorded,
        'input_audio_buffer_commit_empty',
        `input_audio_buffer.commit: buffer too small, expected at least 100ms of audio, have ${this.#uncommitted.ms.toFixed(2)}ms`,
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
    this.#uncommitted.reset();
    this.#send({ type: 'input_audio_buffer.cleared' });
  }

  #onResponseCreate(clientEventId: string | null): void {
    const active = this.#generator.active;
    if (active) {
      // Not a violation: a client can race the server's automatic response after speech.
      this.#sendError(
        {
          code: 'conversation_already_has_active_response',
          message: `Conversation already has an active response in progress: ${active.id}. Wait until the response is finished before creating a new one.`,
          param: null,
        },
        clientEventId,
      );
      return;
    }
    this.#clearTimer(this.#pendingAutoResponse);
    this.#pendingAutoResponse = null;
    this.#generator.start('client');
  }

  #onResponseCancel(event: ClientEvent<'response.cancel'>, clientEventId: string | null, at: number): void {
    const active = this.#generator.active;
    const matches = active !== null && (event.response_id === undefined || event.response_id === active.id);
    this.cancels.push({
      at,
      ...(event.response_id !== undefined ? { responseId: event.response_id } : {}),
      active: matches,
    });
    if (!matches) {
      // Not a violation: the client may cancel while the server is finishing the response.
      this.#sendError(
        {
          code: 'response_cancel_not_active',
          message:
            event.response_id !== undefined
              ? `Cancellation failed: response ${event.response_id} is not in progress.`
              : 'Cancellation failed: no active response found.',
          param: null,
        },
        clientEventId,
      );
      return;
    }
    this.#generator.cancel('client_cancelled');
  }

  /** SIP/WebRTC: `cleared` names the response whose audio was dropped (the last one when none runs). */
  #onOutputClear(event: ClientEvent<'output_audio_buffer.clear'>, clientEventId: string | null): void {
    const responseId = event.response_id ?? this.#generator.active?.id ?? this.responses[this.responses.length - 1]?.id;
    if (responseId === undefined) {
      // Nothing was ever played: no violation, the client may clear defensively.
      this.#sendError(
        {
          code: 'response_not_found',
          message: 'output_audio_buffer.clear: no response has produced audio in this session.',
          param: null,
        },
        clientEventId,
      );
      return;
    }
    this.#send({ type: 'output_audio_buffer.cleared', response_id: responseId });
  }
}

/** Whether the session configuration's `tools` hold a function named `name`. */
function declaresTool(config: Json, name: string): boolean {
  const tools = config['tools'];
  return Array.isArray(tools) && tools.some((tool) => isPlainObject(tool) && tool['name'] === name);
}
