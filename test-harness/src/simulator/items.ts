/**
 * The conversation.item.* client events of a simulated session: create, truncate (checked
 * against the audio really sent), retrieve (with the item's audio) and delete.
 */
import type { ClientEvent } from './schemas.js';
import type { Conversation, Item } from './conversation.js';
import { isPlainObject, type Json, type SimulatorFunctionCallOutput, type SimulatorTruncation } from './types.js';

/** What the item handlers need from their session. */
export interface ItemHost {
  readonly conversation: Conversation;
  readonly callIds: Set<string>;
  readonly functionCallOutputs: SimulatorFunctionCallOutput[];
  readonly truncations: SimulatorTruncation[];
  send(event: Json & { type: string }): void;
  id(prefix: string): string;
  /** Records a violation and answers it with `error`. */
  reject(event: unknown, code: string, message: string, clientEventId: string | null, param?: string | null): void;
}

export class ItemHandlers {
  readonly #host: ItemHost;

  constructor(host: ItemHost) {
    this.#host = host;
  }

  create(
    event: ClientEvent<'conversation.item.create'>,
    recorded: Json,
    clientEventId: string | null,
    at: number,
  ): void {
    const input = event.item as Json & { type: string; id?: string };
    const previousRequested = event.previous_item_id;
    if (
      typeof previousRequested === 'string' &&
      previousRequested !== 'root' &&
      !this.#host.conversation.has(previousRequested)
    ) {
      this.#host.reject(
        recorded,
        'item_not_found',
        `conversation.item.create: previous_item_id ${previousRequested} does not exist`,
        clientEventId,
        'previous_item_id',
      );
      return;
    }
    if (typeof input.id === 'string' && this.#host.conversation.has(input.id)) {
      this.#host.reject(
        recorded,
        'item_already_exists',
        `conversation.item.create: an item with id ${input.id} already exists`,
        clientEventId,
        'item.id',
      );
      return;
    }
    if (input.type === 'function_call_output' && !this.#host.callIds.has(String(input.call_id))) {
      this.#host.reject(
        recorded,
        'invalid_value',
        `conversation.item.create: function_call_output for call_id ${String(input.call_id)}, which no function_call of this conversation has`,
        clientEventId,
        'item.call_id',
      );
      return;
    }
    const item: Item = {
      ...structuredClone(input),
      id: typeof input.id === 'string' ? input.id : this.#host.id('item'),
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
    if (item.type === 'function_call' && typeof item.call_id === 'string') this.#host.callIds.add(item.call_id);
    let previous: string | null;
    if (previousRequested === 'root') previous = null;
    else if (typeof previousRequested === 'string') previous = previousRequested;
    else previous = this.#host.conversation.last();
    this.#host.conversation.insert({ item }, previous);
    if (item.type === 'function_call_output') {
      this.#host.functionCallOutputs.push({
        at,
        callId: String(item.call_id),
        output: String(item.output),
        itemId: item.id,
      });
    }
    this.#host.send({ type: 'conversation.item.added', previous_item_id: previous, item });
    this.#host.send({ type: 'conversation.item.done', previous_item_id: previous, item });
  }

  truncate(
    event: ClientEvent<'conversation.item.truncate'>,
    recorded: Json,
    clientEventId: string | null,
    at: number,
  ): void {
    const state = this.#host.conversation.get(event.item_id);
    const truncation: SimulatorTruncation = {
      itemId: event.item_id,
      contentIndex: event.content_index,
      audioEndMs: event.audio_end_ms,
      at,
      accepted: false,
      audioMsSent: state?.audioMsSent ?? null,
    };
    this.#host.truncations.push(truncation);
    if (!state) {
      this.#host.reject(
        recorded,
        'item_not_found',
        `conversation.item.truncate: item ${event.item_id} does not exist`,
        clientEventId,
        'item_id',
      );
      return;
    }
    if (state.audioMsSent === undefined) {
      this.#host.reject(
        recorded,
        'invalid_value',
        `conversation.item.truncate: item ${event.item_id} is not an assistant audio message`,
        clientEventId,
        'item_id',
      );
      return;
    }
    if (event.content_index !== 0) {
      this.#host.reject(
        recorded,
        'invalid_value',
        `conversation.item.truncate: item ${event.item_id} has no content part ${event.content_index}`,
        clientEventId,
        'content_index',
      );
      return;
    }
    // 1 µs of slack for floating point; clients floor to whole ms anyway.
    if (event.audio_end_ms > state.audioMsSent + 0.001) {
      this.#host.reject(
        recorded,
        'invalid_value',
        `conversation.item.truncate: audio_end_ms ${event.audio_end_ms} is beyond the ${state.audioMsSent.toFixed(2)}ms of audio sent for item ${event.item_id}`,
        clientEventId,
        'audio_end_ms',
      );
      return;
    }
    truncation.accepted = true;
    state.audioMsSent = event.audio_end_ms;
    this.#host.conversation.cutAudio(state, event.audio_end_ms);
    // Like the real API, drop the transcript of audio the user may not have heard.
    const content = state.item.content;
    if (Array.isArray(content)) {
      state.item.content = content.map((part: unknown) => (isPlainObject(part) ? { ...part, transcript: '' } : part));
    }
    this.#host.send({
      type: 'conversation.item.truncated',
      item_id: event.item_id,
      content_index: event.content_index,
      audio_end_ms: event.audio_end_ms,
    });
  }

  retrieve(event: ClientEvent<'conversation.item.retrieve'>, recorded: Json, clientEventId: string | null): void {
    const state = this.#host.conversation.get(event.item_id);
    if (!state) {
      this.#host.reject(
        recorded,
        'item_not_found',
        `conversation.item.retrieve: item ${event.item_id} does not exist`,
        clientEventId,
        'item_id',
      );
      return;
    }
    this.#host.send({ type: 'conversation.item.retrieved', item: this.#host.conversation.retrieved(state) });
  }

  delete(event: ClientEvent<'conversation.item.delete'>, recorded: Json, clientEventId: string | null): void {
    if (!this.#host.conversation.delete(event.item_id)) {
      this.#host.reject(
        recorded,
        'item_not_found',
        `conversation.item.delete: item ${event.item_id} does not exist`,
        clientEventId,
        'item_id',
      );
      return;
    }
    this.#host.send({ type: 'conversation.item.deleted', item_id: event.item_id });
  }
}
