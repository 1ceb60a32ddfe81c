/**
 * The model's messages read once: the transport emits, for the same messages, exactly the events
 * the SDK's own WebSocket transport emits (the same `*` copies, typed events, transcript deltas,
 * audio, items and turns), and a RealtimeSession on it builds the same history.
 */
import { OpenAIRealtimeWebSocket, RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { FakeCarrier, TestProtocol, until, wire } from '@switchboard/conformance/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { TelephonyRealtimeTransport } from '../src/index.js';
import {
  copyEvent,
  fastModelEvent,
  hideFromListener,
  leadingType,
  listenerIgnores,
} from '../src/transport/model-events.js';

/** A model that answers the session set-up and sends what the test gives it, verbatim. */
async function scriptedModel() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  let socket: WebSocket | undefined;
  let n = 0;
  wss.on('connection', (ws) => {
    socket = ws;
    ws.send(JSON.stringify({ type: 'session.created', event_id: 'e_created', session: { type: 'realtime' } }));
    ws.on('message', (data) => {
      const event = JSON.parse(String(data)) as { type: string; session?: unknown };
      if (event.type === 'session.update')
        ws.send(JSON.stringify({ type: 'session.updated', event_id: `e_updated${++n}`, session: event.session }));
    });
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/v1/realtime?model=test`,
    get connected() {
      return socket !== undefined;
    },
    send: (text: string) => socket!.send(text),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');
const item = (status: string, content: unknown[]) => ({
  id: 'item_1',
  type: 'message',
  role: 'assistant',
  status,
  content,
});

/** One spoken response with its transcript, a tool-argument delta, and the oddities a peer may send. */
const SCRIPT: string[] = [
  {
    type: 'response.created',
    response: { id: 'resp_1', object: 'realtime.response', status: 'in_progress', output: [] },
  },
  { type: 'response.output_item.added', response_id: 'resp_1', output_index: 0, item: item('in_progress', []) },
  { type: 'conversation.item.added', previous_item_id: null, item: item('in_progress', []) },
  {
    type: 'response.content_part.added',
    response_id: 'resp_1',
    item_id: 'item_1',
    output_index: 0,
    content_index: 0,
    part: { type: 'audio', transcript: '' },
  },
].map((event, i) => JSON.stringify({ event_id: `e${i}`, ...event }));
const delta = (type: string, fields: Record<string, unknown>) => ({
  type,
  response_id: 'resp_1',
  item_id: 'item_1',
  output_index: 0,
  content_index: 0,
  ...fields,
});
SCRIPT.push(
  // The service's own order: type first; and event_id first, as the simulator writes.
  JSON.stringify({ ...delta('response.output_audio.delta', { delta: b64([1, 2, 3, 4]) }), event_id: 'a1' }),
  JSON.stringify({ event_id: 'a2', ...delta('response.output_audio.delta', { delta: b64([5, 6, 7, 8, 9, 10]) }) }),
  // Neither: found by parsing.
  JSON.stringify({
    item_id: 'item_1',
    event_id: 'a3',
    type: 'response.output_audio.delta',
    response_id: 'resp_1',
    output_index: 0,
    content_index: 0,
    delta: b64([11]),
  }),
  JSON.stringify({
    ...delta('response.output_audio_transcript.delta', { delta: 'Hel', obfuscation: 'xyz' }),
    event_id: 't1',
  }),
  JSON.stringify({ event_id: 't2', ...delta('response.output_audio_transcript.delta', { delta: 'lo' }) }),
  // A field of the wrong type: not the schema's event, a generic one for the SDK.
  JSON.stringify({ event_id: 't3', ...delta('response.output_audio_transcript.delta', { delta: 5 }) }),
  JSON.stringify({ event_id: 't4', ...delta('response.output_text.delta', { delta: 'text', extra: { nested: [1] } }) }),
  JSON.stringify({
    event_id: 'f1',
    type: 'response.function_call_arguments.delta',
    response_id: 'resp_1',
    item_id: 'item_2',
    call_id: 'call_1',
    output_index: 1,
    delta: '{"a":',
  }),
  JSON.stringify({ event_id: 'x1', type: 'vendor.custom', payload: { deep: { list: [1, 2] } } }),
  // The caller's transcript: optional fields present, absent, null, and of the wrong type.
  ...[
    { delta: 'Hi ', content_index: 0, logprobs: [{ token: 'Hi', logprob: -0.1 }], extra: 1 },
    { delta: 'there' },
    { logprobs: null },
    { delta: 7 },
    { logprobs: 'no' },
  ].map((fields, i) =>
    JSON.stringify({
      event_id: `in${i}`,
      type: 'conversation.item.input_audio_transcription.delta',
      item_id: 'item_0',
      ...fields,
    }),
  ),
  // Messages the SDK only passes on: extra fields, absent and null optional ones, and ones its
  // schema refuses (a wrong type, a part type outside its enum, a rate limit that is no object).
  ...[
    { type: 'input_audio_buffer.speech_stopped', item_id: 'item_0', audio_end_ms: 1200, extra: 'x' },
    { type: 'input_audio_buffer.speech_stopped', item_id: 'item_0', audio_end_ms: '1200' },
    { type: 'input_audio_buffer.committed', item_id: 'item_0', previous_item_id: null },
    { type: 'input_audio_buffer.committed', item_id: 'item_0', previous_item_id: 'item_x', more: [1] },
    { type: 'input_audio_buffer.committed', item_id: 'item_0' },
    { type: 'input_audio_buffer.committed', item_id: 'item_0', previous_item_id: 3 },
    { type: 'output_audio_buffer.cleared', response_id: 'resp_0' },
    {
      type: 'rate_limits.updated',
      rate_limits: [
        { name: 'requests', limit: 1000, remaining: 999, reset_seconds: 60, extra: true },
        { name: 'tokens', limit: 50000 },
        {},
      ],
    },
    { type: 'rate_limits.updated', rate_limits: [{ name: 'minutes', limit: 1 }] },
    { type: 'rate_limits.updated', rate_limits: [null] },
    { type: 'rate_limits.updated', rate_limits: {} },
    delta('response.content_part.added', { part: { type: 'audio', transcript: '', extra: { deep: 1 } } }),
    delta('response.content_part.added', { part: { type: 'image' } }),
    delta('response.content_part.added', { part: 'audio' }),
    delta('response.content_part.done', { part: { type: 'audio', transcript: 'Hello', audio: 'AAAA' } }),
    delta('response.content_part.done', { part: { text: 5 } }),
    delta('response.output_audio_transcript.done', { transcript: 'Hi', obfuscation: 'zz' }),
    delta('response.output_audio_transcript.done', { transcript: null }),
  ].map((event, i) => JSON.stringify({ event_id: `p${i}`, ...event })),
  // Field order the leading-type reader does not take: found by parsing.
  JSON.stringify({ item_id: 'item_0', audio_end_ms: 5, type: 'input_audio_buffer.speech_stopped', event_id: 'p_late' }),
  'not json',
  JSON.stringify([1, 2]),
  JSON.stringify({
    event_id: 'd1',
    ...delta('response.output_audio_transcript.done', { transcript: 'Hello' }),
  }),
  JSON.stringify({ event_id: 'd2', ...delta('response.output_audio.done', {}) }),
  JSON.stringify({
    event_id: 'd3',
    type: 'conversation.item.done',
    previous_item_id: null,
    item: item('completed', [{ type: 'output_audio', transcript: 'Hello' }]),
  }),
  JSON.stringify({
    event_id: 'd4',
    type: 'response.done',
    response: {
      id: 'resp_1',
      object: 'realtime.response',
      status: 'completed',
      output: [],
      usage: { input_tokens: 3, output_tokens: 5 },
    },
  }),
);

const WATCHED = [
  '*',
  'response.output_audio.delta',
  'response.output_audio_transcript.delta',
  'response.output_text.delta',
  'response.function_call_arguments.delta',
  'conversation.item.input_audio_transcription.delta',
  'input_audio_buffer.speech_stopped',
  'input_audio_buffer.committed',
  'output_audio_buffer.cleared',
  'rate_limits.updated',
  'response.content_part.added',
  'response.content_part.done',
  'response.output_audio_transcript.done',
  'audio_transcript_delta',
  'output_text_delta',
  'audio',
  'audio_done',
  'item_update',
  'turn_started',
  'turn_done',
  'usage_update',
] as const;

/** Everything `transport` emits for the model's messages, in order (not the call's own events). */
function record(transport: OpenAIRealtimeWebSocket): unknown[] {
  const seen: unknown[] = [];
  for (const name of WATCHED) {
    (transport.on as (name: string, listener: (event: unknown) => void) => void)(name, (event) => {
      const type = (event as { type?: unknown } | undefined)?.type;
      if (name === '*' && (typeof type !== 'string' || /^(session\.|testcarrier_|call_)/.test(type))) return;
      if (name === 'audio') {
        const audio = event as { data: ArrayBuffer; responseId: string };
        seen.push([name, [...new Uint8Array(audio.data)], audio.responseId]);
        return;
      }
      seen.push([name, event]);
    });
  }
  return seen;
}

describe('model events read once', () => {
  const stops: Array<() => unknown> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function run(make: (url: string) => OpenAIRealtimeWebSocket) {
    const model = await scriptedModel();
    stops.push(model.stop);
    const transport = make(model.url);
    const seen = record(transport);
    const session = new RealtimeSession(new RealtimeAgent({ name: 'a', instructions: 'x' }), { transport });
    stops.push(() => session.close());
    let turns = 0;
    transport.on('turn_done', () => turns++);
    await session.connect({ apiKey: 'sk-test' });
    await until(() => model.connected);
    for (const text of SCRIPT) model.send(text);
    await until(() => turns === 1, 20_000);
    return { seen, history: session.history };
  }

  it('emits what the SDK transport emits, and the session keeps the same history', async () => {
    const sdk = await run((url) => new OpenAIRealtimeWebSocket({ url }));
    const ours = await run((url) => {
      const carrier = new FakeCarrier();
      const transport = new TelephonyRealtimeTransport({
        connection: carrier,
        protocol: new TestProtocol(),
        url,
        inputAudioInactivityTimeoutMs: null,
        carrierIdleTimeoutMs: null,
      });
      carrier.deliver(wire.start());
      return transport;
    });
    expect(ours.seen.length).toBeGreaterThan(40);
    // The pass-through messages the schema takes reached listeners under their type, exactly as it outputs them.
    expect(ours.seen).toContainEqual([
      'rate_limits.updated',
      {
        type: 'rate_limits.updated',
        event_id: 'p7',
        rate_limits: [
          { limit: 1000, name: 'requests', remaining: 999, reset_seconds: 60 },
          { limit: 50000, name: 'tokens' },
          {},
        ],
      },
    ]);
    expect(ours.seen).toContainEqual([
      'input_audio_buffer.committed',
      { type: 'input_audio_buffer.committed', event_id: 'p4', item_id: 'item_0' },
    ]);
    expect(ours.seen).toStrictEqual(sdk.seen);
    expect(ours.history.length).toBeGreaterThan(0);
    expect(ours.history).toEqual(sdk.history);
  });
});

describe('a model delta whose audio is not base64', () => {
  it('is an error event, not an exception out of the socket listener, and the call goes on', async () => {
    const model = await scriptedModel();
    const carrier = new FakeCarrier();
    const transport = new TelephonyRealtimeTransport({
      connection: carrier,
      protocol: new TestProtocol(),
      url: model.url,
      inputAudioInactivityTimeoutMs: null,
      carrierIdleTimeoutMs: null,
    });
    try {
      carrier.deliver(wire.start());
      const errors: unknown[] = [];
      const audio: number[][] = [];
      transport.on('error', (event) => errors.push(event.error));
      transport.on('audio', (event) => audio.push([...new Uint8Array(event.data)]));
      await transport.connect({ apiKey: 'sk-test' });
      await until(() => model.connected);
      model.send(JSON.stringify({ event_id: 'b1', ...delta('response.output_audio.delta', { delta: 'AB$=' }) }));
      model.send(
        JSON.stringify({ event_id: 'b2', ...delta('response.output_audio.delta', { delta: b64([9, 8, 7]) }) }),
      );
      await until(() => audio.length === 1);
      expect(errors).toHaveLength(1);
      expect(String((errors[0] as Error).message)).toMatch(/base64/);
      expect(audio).toEqual([[9, 8, 7]]);
      expect(transport.status).toBe('connected');
    } finally {
      transport.close();
      await model.stop();
    }
  });
});

describe('model event helpers', () => {
  it('reads the leading type in the two orders the service writes, and nothing else', () => {
    expect(leadingType('{"type":"a.b","event_id":"x"}')).toBe('a.b');
    expect(leadingType('{"event_id":"e_1","type":"a.b"}')).toBe('a.b');
    expect(leadingType('{"event_id":"e\\"1","type":"a.b"}')).toBeUndefined();
    expect(leadingType('{"event_id":"e1","session":{"type":"realtime"},"type":"a"}')).toBeUndefined();
    expect(leadingType('{ "type": "a" }')).toBeUndefined();
    expect(leadingType('{"type":"a\\"b"}')).toBeUndefined();
    expect(leadingType('{"type":"unterminated')).toBeUndefined();
  });

  it('takes only deltas with every field the schema requires', () => {
    const good = { ...delta('response.output_audio.delta', { delta: 'AAAA' }), event_id: 'e' };
    expect(fastModelEvent(JSON.stringify(good))?.kind).toBe('audio');
    for (const missing of ['event_id', 'item_id', 'content_index', 'delta', 'output_index', 'response_id']) {
      const { [missing]: _, ...rest } = good as Record<string, unknown>;
      expect(fastModelEvent(JSON.stringify(rest))).toBeUndefined();
    }
    expect(fastModelEvent(JSON.stringify({ ...good, type: 'response.output_audio.done' }))).toBeUndefined();
    expect(fastModelEvent('null')).toBeUndefined();
    expect(fastModelEvent('{')).toBeUndefined();
    const text = fastModelEvent(JSON.stringify({ ...good, type: 'response.output_text.delta', more: 1 }));
    expect(text?.kind).toBe('text');
    // The typed event has the schema's fields only; `*` gets all of them.
    expect(Object.keys(text!.event)).toEqual([
      'type',
      'event_id',
      'item_id',
      'content_index',
      'delta',
      'output_index',
      'response_id',
    ]);
    expect(copyEvent(text!.raw)).toEqual({ ...good, type: 'response.output_text.delta', more: 1 });
  });

  it('reads the messages the SDK only passes on, and leaves to it those its schema would refuse', () => {
    const read = (event: Record<string, unknown>) => fastModelEvent(JSON.stringify({ event_id: 'e', ...event }));
    expect(read({ type: 'input_audio_buffer.speech_stopped', item_id: 'i', audio_end_ms: 5, x: 1 })).toEqual({
      kind: 'plain',
      raw: { event_id: 'e', type: 'input_audio_buffer.speech_stopped', item_id: 'i', audio_end_ms: 5, x: 1 },
      event: { type: 'input_audio_buffer.speech_stopped', event_id: 'e', item_id: 'i', audio_end_ms: 5 },
    });
    expect(read(delta('response.content_part.done', { part: { type: 'text', text: 'a', x: 1 } }))?.event).toEqual({
      ...delta('response.content_part.done', { part: { text: 'a', type: 'text' } }),
      event_id: 'e',
    });
    expect(read({ type: 'input_audio_buffer.speech_stopped', item_id: 'i' })).toBeUndefined();
    expect(read({ type: 'input_audio_buffer.committed', item_id: 'i', previous_item_id: 1 })).toBeUndefined();
    expect(read({ type: 'rate_limits.updated', rate_limits: [{ name: 'x' }] })).toBeUndefined();
    expect(read({ type: 'rate_limits.updated', rate_limits: [[]] })).toBeUndefined();
    expect(read(delta('response.content_part.added', { part: { type: 'image' } }))).toBeUndefined();
    expect(read(delta('response.output_audio_transcript.done', {}))).toBeUndefined();
    // Messages the SDK acts on are not among them.
    expect(read({ type: 'input_audio_buffer.speech_started', item_id: 'i', audio_start_ms: 0 })).toBeUndefined();
    expect(read(delta('response.output_audio.done', {}))).toBeUndefined();
  });

  it('copies nested values deeply', () => {
    const raw = { type: 'x', nested: { list: [1] } };
    const copy = copyEvent(raw);
    expect(copy).toEqual(raw);
    expect(copy.nested).not.toBe(raw.nested);
  });

  it('hides a message from the SDK listener only where the event object allows it', () => {
    class Message {
      get data() {
        return 'text';
      }
    }
    const event = new Message();
    expect(hideFromListener(event as { data?: unknown })).toBe(true);
    // The SDK's listener reads `JSON.parse(event.data.toString())` in a try: it drops the message.
    expect(() => JSON.parse((event.data as { toString(): string }).toString())).toThrow();
    expect(hideFromListener(Object.freeze({ data: 'text' }))).toBe(false);
    expect(listenerIgnores('response.output_audio_transcript.delta')).toBe(true);
    expect(listenerIgnores('response.created')).toBe(false);
  });
});
