/**
 * Response generation of a simulated session: scripted turns streamed as the service streams a
 * reply (created, output item, content part, audio and transcript deltas, the `.done` events,
 * `response.done`), function calls, cancellation, and the rate-limit updates around a response.
 */
import createDebug from 'debug';
import { base64Encode } from '@switchboard/core';
import { deltaSizes, formatDurationMs, renderTurnAudio } from './audio.js';
import type { Conversation, Item } from './conversation.js';
import type { SimulatorAudioFormat } from './session-schema.js';
import type { SimulatorTurn } from './script.js';
import type { Json, SimulatedResponse, SimulatedSessionSettings, SimulatorOutputChunk } from './types.js';

const log = createDebug('switchboard:conformance:simulator');

/** What response generation needs from its session. */
export interface ResponseHost {
  readonly settings: SimulatedSessionSettings;
  readonly conversation: Conversation;
  readonly responses: SimulatedResponse[];
  readonly outputAudio: SimulatorOutputChunk[];
  readonly callIds: Set<string>;
  readonly sessionId: string;
  send(event: Json & { type: string }): void;
  id(prefix: string): string;
  now(): number;
  timer(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimer(handle: NodeJS.Timeout | null): void;
  outputFormat(): SimulatorAudioFormat;
  /** The voice in force, as a name (a custom voice by its id). */
  voiceName(): string;
  /** Input audio received so far, ms (for the usage figures). */
  inputMs(): number;
  /** Conversation id reported in responses. */
  conversationId(): string;
  /** Whether the session's `tools` declare a function of this name. */
  declaresTool(name: string): boolean;
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
  /** Audio turns: the content part was announced (so it must be closed). */
  partOpen: boolean;
  /** An audio turn's function call (see `SimulatorTurn.call`), once its item was added. */
  call: Item | null;
  /** Output items whose `.done` events went out. */
  doneItems: Set<string>;
  timer: NodeJS.Timeout | null;
  /** When the next audio delta is due (`host.now()`, real ms): generation keeps to this schedule. */
  nextDeltaAt: number;
}

/** Illustrative limits: the figures only need the service's shape. */
const REQUEST_LIMIT = 5000;
const TOKEN_LIMIT = 400_000;

export class ResponseGenerator {
  readonly #host: ResponseHost;
  #active: ActiveResponse | null = null;
  #scriptIndex = 0;
  #tokensUsed = 0;
  #requests = 0;

  constructor(host: ResponseHost) {
    this.#host = host;
  }

  get active(): SimulatedResponse | null {
    return this.#active?.record ?? null;
  }

  /** Whether the model has sent audio in this session. */
  get spoke(): boolean {
    return this.#host.responses.some((r) => r.audioBytesSent > 0);
  }

  /** Forgets the response in flight at shutdown (its timers are the session's). */
  abandon(now: number): void {
    if (!this.#active) return;
    this.#active.timer = null;
    this.#active.record.status = 'cancelled';
    this.#active.record.doneAt = now;
    this.#active = null;
  }

  cancel(reason: NonNullable<SimulatedResponse['cancelReason']>): void {
    const active = this.#active;
    if (!active) return;
    active.record.cancelReason = reason;
    this.#complete(active, 'cancelled');
  }

  start(trigger: SimulatedResponse['trigger']): void {
    const host = this.#host;
    const script = host.settings.script;
    let turn = script[this.#scriptIndex % script.length]!;
    this.#scriptIndex += 1;
    // The service calls only the functions the session declared: a scripted call of any other is
    // passed over for the turn after it (an agent with no tools gets the recorded replies), and a
    // reply's call of one is left out of it.
    for (let skipped = 0; turn.kind === 'function_call' && !host.declaresTool(turn.name); skipped++) {
      if (skipped >= script.length) break;
      turn = script[this.#scriptIndex % script.length]!;
      this.#scriptIndex += 1;
    }
    if (turn.kind === 'audio' && turn.call && !host.declaresTool(turn.call.name)) {
      const spoken = { ...turn };
      delete spoken.call;
      turn = spoken;
    }
    const format = host.outputFormat();
    const responseId = host.id('resp');
    const itemId = host.id('item');
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
      createdAt: host.now(),
    };
    host.responses.push(record);
    const item: Item =
      turn.kind === 'audio'
        ? {
            id: itemId,
            object: 'realtime.item',
            type: 'message',
            status: 'in_progress',
            role: 'assistant',
            content: [],
          }
        : {
            id: itemId,
            object: 'realtime.item',
            type: 'function_call',
            status: 'in_progress',
            call_id: host.id('call'),
            name: turn.name,
            arguments: '',
          };
    if (turn.kind === 'function_call') {
      record.callId = item.call_id as string;
      host.callIds.add(record.callId);
    }
    const active: ActiveResponse = {
      record,
      turn,
      item,
      audio,
      offset: 0,
      chunkSizes: deltaSizes(host.settings.deltaMs, format, audio.length),
      words: turn.kind === 'audio' ? turn.transcript.split(/(?<=\s)/).filter((w) => w.length > 0) : [],
      wordsSent: 0,
      deltasSent: 0,
      partOpen: false,
      call: null,
      doneItems: new Set(),
      timer: null,
      nextDeltaAt: host.now(),
    };
    this.#active = active;
    log('session %s: response %s (%s, %s)', host.sessionId, responseId, turn.kind, trigger);

    host.send({ type: 'response.created', response: this.#responseObject(record, [], null) });
    this.#requests += 1;
    this.#sendRateLimits(this.#reservedTokens(active));
    const previous = host.conversation.last();
    host.conversation.insert(turn.kind === 'audio' ? { item, audioMsSent: 0 } : { item }, previous);
    host.send({
      type: 'response.output_item.added',
      response_id: responseId,
      output_index: 0,
      item: structuredClone(item),
    });
    host.send({ type: 'conversation.item.added', previous_item_id: previous, item: structuredClone(item) });

    if (turn.kind === 'function_call') {
      active.timer = host.timer(() => this.#finishFunctionCall(active), this.#deltaIntervalMs());
      return;
    }
    item.content = [{ type: 'output_audio', transcript: '' }];
    active.partOpen = true;
    host.send({
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
    const { deltaMs, generationSpeed, speed } = this.#host.settings;
    const step = ms ?? (typeof deltaMs === 'number' ? deltaMs : (deltaMs[0] ?? 100));
    return step / (generationSpeed * speed);
  }

  /**
   * Sends every audio delta due by now, then waits for the next one. Deltas keep to a schedule
   * set when the audio began (each due one `#deltaIntervalMs` of its audio after the one before),
   * not to a wait counted from when the last timer fired: on a busy machine each timer fires late,
   * and waits counted from there would add every one of those delays up, so that the model's audio
   * came slower than real time and the carrier ran dry between deltas. The service generates on
   * its own machines, whatever stalls the bridge's: after a stall, what it generated meanwhile
   * arrives at once, as the deltas due meanwhile go out here in one burst.
   */
  #sendDelta(active: ActiveResponse): void {
    const host = this.#host;
    active.timer = null;
    if (this.#active !== active) return;
    const now = host.now();
    for (;;) {
      const sentMs = this.#sendOneDelta(active);
      if (active.offset >= active.audio.length) {
        this.#finishAudio(active);
        return;
      }
      active.nextDeltaAt += this.#deltaIntervalMs(sentMs);
      if (active.nextDeltaAt > now) break;
    }
    active.timer = host.timer(() => this.#sendDelta(active), active.nextDeltaAt - host.now());
  }

  /** Sends the next audio delta (and the transcript words due with it); returns its audio, ms. */
  #sendOneDelta(active: ActiveResponse): number | undefined {
    const host = this.#host;
    const { record } = active;
    if (active.offset >= active.audio.length) return undefined;
    // `offset` is the sum of the deltas sent so far, so a delta is left while audio is.
    const size = active.chunkSizes[active.deltasSent]!;
    const chunk = active.audio.subarray(active.offset, active.offset + size);
    const sentMs = formatDurationMs(record.format, chunk.length);
    active.offset += chunk.length;
    active.deltasSent += 1;
    host.send({ type: 'response.output_audio.delta', ...this.#partIds(record), delta: base64Encode(chunk) });
    const at = host.now();
    record.firstAudioAt ??= at;
    record.audioBytesSent += chunk.length;
    record.audioMsSent = formatDurationMs(record.format, record.audioBytesSent);
    const state = host.conversation.get(record.itemId);
    if (state) {
      state.audioMsSent = record.audioMsSent;
      host.conversation.addAudio(state, chunk.slice(), record.format);
    }
    host.outputAudio.push({ at, responseId: record.id, itemId: record.itemId, bytes: chunk.slice() });
    const wordsDue = Math.min(
      active.words.length,
      Math.ceil((active.deltasSent / active.chunkSizes.length) * active.words.length),
    );
    if (wordsDue > active.wordsSent) {
      const delta = active.words.slice(active.wordsSent, wordsDue).join('');
      active.wordsSent = wordsDue;
      host.send({ type: 'response.output_audio_transcript.delta', ...this.#partIds(record), delta });
    }
    return sentMs;
  }

  #partIds(record: SimulatedResponse): Json {
    return { response_id: record.id, item_id: record.itemId, output_index: 0, content_index: 0 };
  }

  #finishAudio(active: ActiveResponse): void {
    const { record } = active;
    if (active.wordsSent < active.words.length) {
      this.#host.send({
        type: 'response.output_audio_transcript.delta',
        ...this.#partIds(record),
        delta: active.words.slice(active.wordsSent).join(''),
      });
      active.wordsSent = active.words.length;
    }
    this.#closePart(active, record.transcript);
    active.item.status = 'completed';
    if (active.turn.kind === 'audio' && active.turn.call) {
      this.#startCall(active, active.turn.call.name);
      return;
    }
    this.#complete(active, 'completed');
  }

  /**
   * A function call after the audio of the same response (a goodbye, then `end_call`): the message
   * item is done, and a `function_call` item follows it as the response's second output item.
   */
  #startCall(active: ActiveResponse, name: string): void {
    const host = this.#host;
    const { record } = active;
    this.#itemDone(active, active.item, 0);
    const callId = host.id('call');
    const call: Item = {
      id: host.id('item'),
      object: 'realtime.item',
      type: 'function_call',
      status: 'in_progress',
      call_id: callId,
      name,
      arguments: '',
    };
    active.call = call;
    host.callIds.add(callId);
    record.call = { itemId: call.id, callId, name };
    host.conversation.insert({ item: call }, active.item.id);
    host.send({
      type: 'response.output_item.added',
      response_id: record.id,
      output_index: 1,
      item: structuredClone(call),
    });
    host.send({ type: 'conversation.item.added', previous_item_id: active.item.id, item: structuredClone(call) });
    active.timer = host.timer(() => this.#finishFunctionCall(active), this.#deltaIntervalMs());
  }

  /** An output item's `output_item.done` and `conversation.item.done`, once. */
  #itemDone(active: ActiveResponse, item: Item, outputIndex: number): void {
    if (active.doneItems.has(item.id)) return;
    active.doneItems.add(item.id);
    const host = this.#host;
    host.send({
      type: 'response.output_item.done',
      response_id: active.record.id,
      output_index: outputIndex,
      item: structuredClone(item),
    });
    host.send({
      type: 'conversation.item.done',
      previous_item_id: host.conversation.previousOf(item.id),
      item: structuredClone(item),
    });
  }

  /** The `.done` events of the audio content part, with the transcript it ended with. */
  #closePart(active: ActiveResponse, transcript: string): void {
    if (!active.partOpen) return;
    active.partOpen = false;
    const ids = this.#partIds(active.record);
    this.#host.send({ type: 'response.output_audio.done', ...ids });
    this.#host.send({ type: 'response.output_audio_transcript.done', ...ids, transcript });
    this.#host.send({ type: 'response.content_part.done', ...ids, part: { type: 'audio', transcript } });
    active.item.content = [{ type: 'output_audio', transcript }];
  }

  #finishFunctionCall(active: ActiveResponse): void {
    active.timer = null;
    if (this.#active !== active) return;
    const spec = active.turn.kind === 'function_call' ? active.turn : active.turn.call;
    if (!spec) return;
    const { record } = active;
    // The call is the response's only item, or its second after the audio message.
    const item = active.call ?? active.item;
    const outputIndex = active.call ? 1 : 0;
    const args = JSON.stringify(spec.arguments);
    const ids = { response_id: record.id, item_id: item.id, output_index: outputIndex, call_id: String(item.call_id) };
    this.#host.send({ type: 'response.function_call_arguments.delta', ...ids, delta: args });
    this.#host.send({ type: 'response.function_call_arguments.done', ...ids, name: spec.name, arguments: args });
    item.status = 'completed';
    item.arguments = args;
    this.#complete(active, 'completed');
  }

  /**
   * Closes the response: for a cancelled audio reply the part's `.done` events first (with the
   * transcript of what was sent), then output_item.done, conversation.item.done, response.done
   * and the rate limits adjusted to what was used.
   */
  #complete(active: ActiveResponse, status: 'completed' | 'cancelled'): void {
    const host = this.#host;
    const { record, item } = active;
    host.clearTimer(active.timer);
    active.timer = null;
    const call = active.call;
    if (status === 'cancelled') {
      this.#closePart(active, active.words.slice(0, active.wordsSent).join(''));
      if (!active.doneItems.has(item.id)) item.status = 'incomplete';
      if (call) call.status = 'incomplete';
    }
    this.#itemDone(active, item, 0);
    if (call) this.#itemDone(active, call, 1);
    record.status = status;
    record.doneAt = host.now();
    this.#active = null;
    const response = this.#responseObject(
      record,
      call ? [structuredClone(item), structuredClone(call)] : [structuredClone(item)],
      status === 'cancelled' ? (record.cancelReason ?? 'client_cancelled') : null,
    );
    host.send({ type: 'response.done', response });
    this.#tokensUsed += ((response.usage as Json | null)?.total_tokens as number | undefined) ?? 0;
    this.#sendRateLimits(0);
    log(
      'session %s: response %s %s after %d ms of audio',
      host.sessionId,
      record.id,
      status,
      Math.round(record.audioMsSent),
    );
  }

  #reservedTokens(active: ActiveResponse): number {
    return active.record.kind === 'audio' ? Math.ceil(active.record.audioMsTotal / 50) : 64;
  }

  #sendRateLimits(reserved: number): void {
    this.#host.send({
      type: 'rate_limits.updated',
      rate_limits: [
        {
          name: 'requests',
          limit: REQUEST_LIMIT,
          remaining: Math.max(0, REQUEST_LIMIT - this.#requests),
          reset_seconds: 0.012,
        },
        {
          name: 'tokens',
          limit: TOKEN_LIMIT,
          remaining: Math.max(0, TOKEN_LIMIT - this.#tokensUsed - reserved),
          reset_seconds: 0.6,
        },
      ],
    });
  }

  #responseObject(record: SimulatedResponse, output: Json[], cancelReason: string | null): Json {
    const done = record.status !== 'in_progress';
    const outputTokens =
      record.kind === 'audio' ? Math.ceil(record.audioMsSent / 50) : Math.ceil(JSON.stringify(output).length / 4);
    const inputTokens = Math.ceil(this.#host.inputMs() / 100) + 10;
    return {
      id: record.id,
      object: 'realtime.response',
      status: record.status,
      status_details: cancelReason ? { type: 'cancelled', reason: cancelReason } : null,
      conversation_id: this.#host.conversationId(),
      output_modalities: ['audio'],
      max_output_tokens: 'inf',
      metadata: null,
      audio: { output: { format: record.format, voice: this.#host.voiceName() } },
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
}
