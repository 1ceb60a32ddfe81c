/**
 * The conformance harness's realtime simulator held against the `openai` SDK's realtime types
 * (openai@7.57.0, resources/realtime/realtime.d.ts) and the Agents SDK that drives it
 * (@openai/agents-realtime 0.20.0):
 *
 * - client events written with the SDK's types (`satisfies`) are accepted, and every documented
 *   voice, a custom voice, null turn detection and the bounds of each range;
 * - what the published schema rejects is answered with the service's error event (type,
 *   `invalid_request_error`, code, message, param, event_id); where the SDK's types reject it
 *   too, `@ts-expect-error` says so;
 * - every server event the simulator sends names a member of the SDK's `RealtimeServerEvent`
 *   union and carries every field the SDK marks required (the table of required fields is
 *   checked against the SDK's types by the compiler).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OpenAIRealtimeWebSocket, RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import type {
  ConversationItem,
  RealtimeClientEvent,
  RealtimeServerEvent,
  SessionUpdateEvent,
} from 'openai/resources/realtime/realtime';
import {
  BUILT_IN_VOICES,
  RealtimeSimulator,
  type SimulatedSession,
  type SimulatorTurn,
} from '@switchboard/conformance';
import { base64Encode, encodeMuLaw } from '@switchboard/core';
import { waitUntil } from './support/wait.js';

// ---------------------------------------------------------------------------------------------
// Type-level: the required fields of the SDK's server events

type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];
type ServerType = RealtimeServerEvent['type'];
type ServerEventOf<K extends ServerType> = Extract<RealtimeServerEvent, { type: K }>;

/** The server events the simulator sends, each with the fields the SDK marks required. */
const REQUIRED = {
  'session.created': ['event_id', 'session', 'type'],
  'session.updated': ['event_id', 'session', 'type'],
  error: ['error', 'event_id', 'type'],
  'input_audio_buffer.speech_started': ['audio_start_ms', 'event_id', 'item_id', 'type'],
  'input_audio_buffer.speech_stopped': ['audio_end_ms', 'event_id', 'item_id', 'type'],
  'input_audio_buffer.committed': ['event_id', 'item_id', 'type'],
  'input_audio_buffer.cleared': ['event_id', 'type'],
  'conversation.item.added': ['event_id', 'item', 'type'],
  'conversation.item.done': ['event_id', 'item', 'type'],
  'conversation.item.retrieved': ['event_id', 'item', 'type'],
  'conversation.item.truncated': ['audio_end_ms', 'content_index', 'event_id', 'item_id', 'type'],
  'conversation.item.deleted': ['event_id', 'item_id', 'type'],
  'conversation.item.input_audio_transcription.delta': ['event_id', 'item_id', 'type'],
  'conversation.item.input_audio_transcription.completed': [
    'content_index',
    'event_id',
    'item_id',
    'transcript',
    'type',
    'usage',
  ],
  'rate_limits.updated': ['event_id', 'rate_limits', 'type'],
  'response.created': ['event_id', 'response', 'type'],
  'response.done': ['event_id', 'response', 'type'],
  'response.output_item.added': ['event_id', 'item', 'output_index', 'response_id', 'type'],
  'response.output_item.done': ['event_id', 'item', 'output_index', 'response_id', 'type'],
  'response.content_part.added': [
    'content_index',
    'event_id',
    'item_id',
    'output_index',
    'part',
    'response_id',
    'type',
  ],
  'response.content_part.done': ['content_index', 'event_id', 'item_id', 'output_index', 'part', 'response_id', 'type'],
  'response.output_audio.delta': [
    'content_index',
    'delta',
    'event_id',
    'item_id',
    'output_index',
    'response_id',
    'type',
  ],
  'response.output_audio.done': ['content_index', 'event_id', 'item_id', 'output_index', 'response_id', 'type'],
  'response.output_audio_transcript.delta': [
    'content_index',
    'delta',
    'event_id',
    'item_id',
    'output_index',
    'response_id',
    'type',
  ],
  'response.output_audio_transcript.done': [
    'content_index',
    'event_id',
    'item_id',
    'output_index',
    'response_id',
    'transcript',
    'type',
  ],
  'response.function_call_arguments.delta': [
    'call_id',
    'delta',
    'event_id',
    'item_id',
    'output_index',
    'response_id',
    'type',
  ],
  'response.function_call_arguments.done': [
    'arguments',
    'call_id',
    'event_id',
    'item_id',
    'name',
    'output_index',
    'response_id',
    'type',
  ],
  'output_audio_buffer.cleared': ['event_id', 'response_id', 'type'],
} as const satisfies { [K in ServerType]?: ReadonlyArray<RequiredKeys<ServerEventOf<K>>> };

/** Every list names every required field: a field the SDK adds to an event breaks the build. */
type Missing = {
  [K in keyof typeof REQUIRED]: Exclude<RequiredKeys<ServerEventOf<K>>, (typeof REQUIRED)[K][number]>;
}[keyof typeof REQUIRED];
const everyRequiredFieldListed: [Missing] extends [never] ? true : Missing = true;

/** The items the simulator puts in events, by type and role, with their required fields. */
type ItemOf<T extends ConversationItem['type'], R = unknown> = Extract<
  ConversationItem,
  { type: T } & ([R] extends [unknown] ? unknown : { role: R })
>;
const ITEM_REQUIRED = {
  'message/assistant': ['content', 'role', 'type'],
  'message/user': ['content', 'role', 'type'],
  function_call: ['arguments', 'name', 'type'],
  function_call_output: ['call_id', 'output', 'type'],
} as const satisfies {
  'message/assistant': ReadonlyArray<RequiredKeys<ItemOf<'message', 'assistant'>>>;
  'message/user': ReadonlyArray<RequiredKeys<ItemOf<'message', 'user'>>>;
  function_call: ReadonlyArray<RequiredKeys<ItemOf<'function_call'>>>;
  function_call_output: ReadonlyArray<RequiredKeys<ItemOf<'function_call_output'>>>;
};

type Json = Record<string, unknown>;

/** The problems of one server event against the SDK's union: unknown type, missing fields. */
function shapeProblems(event: Json): string[] {
  const type = String(event.type);
  const required = (REQUIRED as Record<string, readonly string[]>)[type];
  if (!required) return [`${type}: not a server event the simulator should send`];
  const problems = required.filter((key) => !(key in event)).map((key) => `${type}: missing ${key}`);
  const item = event.item as Json | undefined;
  if (item && typeof item === 'object') {
    const kind = item.type === 'message' ? `message/${String(item.role)}` : String(item.type);
    const itemRequired = (ITEM_REQUIRED as Record<string, readonly string[]>)[kind];
    if (!itemRequired) problems.push(`${type}: item of kind ${kind}`);
    else
      problems.push(
        ...itemRequired.filter((key) => !(key in item)).map((key) => `${type}: item ${kind} missing ${key}`),
      );
  }
  if (type === 'error') {
    const error = event.error as Json;
    for (const key of ['type', 'message'] as const)
      if (typeof error?.[key] !== 'string') problems.push(`error: error.${key} is not a string`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Rig

const PCMU = { type: 'audio/pcmu' } as const;
const running: RealtimeSimulator[] = [];
const transports: OpenAIRealtimeWebSocket[] = [];

afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  for (const sim of running.splice(0)) await sim.stop();
});

/** `ms` of a two-tone burst at 24 kHz (the simulator's script format). */
function tone24k(ms: number): Int16Array {
  const n = Math.round(24 * ms);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 24000));
  return out;
}

/** Speech-like μ-law: a 300 Hz + 1 kHz burst at about -12 dBFS, then silence. */
function speechMuLaw(burstMs: number, silenceMs: number): Uint8Array {
  const samples = new Int16Array(8 * (burstMs + silenceMs));
  for (let i = 0; i < 8 * burstMs; i++) {
    samples[i] = Math.round(
      4100 * (Math.sin((2 * Math.PI * 300 * i) / 8000) + Math.sin((2 * Math.PI * 1000 * i) / 8000)),
    );
  }
  return encodeMuLaw(samples);
}

function audioTurn(ms: number): SimulatorTurn {
  return { kind: 'audio', transcript: 'A scripted reply for the interop test.', audio: tone24k(ms) };
}

interface Rig {
  sim: RealtimeSimulator;
  session: SimulatedSession;
  transport: OpenAIRealtimeWebSocket;
  /** Every server event, as the transport received it. */
  events: Json[];
  /** Sends a client event; resolves with the server's answer to it (an error, or the next event of `ok`). */
  send(event: Json, ok?: string): Promise<Json>;
}

async function rig(script: SimulatorTurn[], options: { speed?: number } = {}): Promise<Rig> {
  const sim = new RealtimeSimulator({ script, speed: options.speed ?? 4, responseLatencyMs: 50 });
  running.push(sim);
  await sim.start();
  const nextSession = sim.nextSession();
  const transport = new OpenAIRealtimeWebSocket({ url: sim.url });
  transports.push(transport);
  const events: Json[] = [];
  transport.on('*', (event: unknown) => events.push(event as Json));
  // An `error` listener keeps the SDK's emitter from throwing on the errors these tests provoke.
  transport.on('error', () => undefined);
  await transport.connect({
    apiKey: 'test',
    initialSessionConfig: { audio: { input: { format: PCMU }, output: { format: PCMU } } },
  });
  const session = await nextSession;
  await waitUntil('session.updated', () => events.some((e) => e.type === 'session.updated'));
  let seq = 0;
  const send = async (event: Json, ok = 'session.updated'): Promise<Json> => {
    seq += 1;
    const eventId = `interop_${seq}`;
    const from = events.length;
    transport.sendEvent({ ...event, event_id: eventId } as unknown as { type: string });
    return waitUntil(`the answer to ${String(event.type)}`, () =>
      events.slice(from).find((e) => (e.type === 'error' && (e.error as Json).event_id === eventId) || e.type === ok),
    );
  };
  return { sim, session, transport, events, send };
}

// ---------------------------------------------------------------------------------------------

describe('the realtime simulator and the openai SDK types', () => {
  it('accepts the session the Agents SDK 0.20 sends, then client events typed with the openai SDK', async () => {
    const { session, send, transport } = await rig([audioTurn(300)]);
    // What @openai/agents-realtime 0.20 sends on connect: transcription on, semantic VAD, no noise
    // reduction (and, on session.created, a second update turning tracing on).
    expect(session.sessionUpdates).toContainEqual({ type: 'realtime', tracing: 'auto' });
    expect(session.sessionUpdates.find((update) => 'audio' in update)).toMatchObject({
      type: 'realtime',
      audio: {
        input: {
          format: PCMU,
          transcription: { model: 'gpt-4o-mini-transcribe' },
          turn_detection: { type: 'semantic_vad' },
          noise_reduction: null,
        },
        output: { format: PCMU, speed: 1 },
      },
    });

    const updates = [
      ...BUILT_IN_VOICES.map(
        (voice) =>
          ({
            type: 'session.update',
            session: { type: 'realtime', audio: { output: { voice } } },
          }) satisfies SessionUpdateEvent,
      ),
      { type: 'session.update', session: { type: 'realtime', audio: { output: { voice: { id: 'voice_1234' } } } } },
      { type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } },
      {
        type: 'session.update',
        session: {
          type: 'realtime',
          audio: {
            input: {
              turn_detection: {
                type: 'server_vad',
                threshold: 0.6,
                prefix_padding_ms: 200,
                silence_duration_ms: 400,
                idle_timeout_ms: 5000,
                create_response: true,
                interrupt_response: false,
              },
            },
          },
        },
      },
      {
        type: 'session.update',
        session: {
          type: 'realtime',
          audio: { input: { turn_detection: { type: 'server_vad', idle_timeout_ms: 30000 } } },
        },
      },
      {
        type: 'session.update',
        session: {
          type: 'realtime',
          audio: { input: { turn_detection: { type: 'server_vad', idle_timeout_ms: null } } },
        },
      },
      {
        type: 'session.update',
        session: {
          type: 'realtime',
          audio: {
            input: {
              turn_detection: {
                type: 'semantic_vad',
                eagerness: 'high',
                create_response: false,
                interrupt_response: true,
              },
            },
          },
        },
      },
      { type: 'session.update', session: { type: 'realtime', audio: { output: { speed: 0.25 } } } },
      { type: 'session.update', session: { type: 'realtime', audio: { output: { speed: 1.5 } } } },
      {
        type: 'session.update',
        session: {
          type: 'realtime',
          audio: {
            input: { transcription: { model: 'gpt-4o-transcribe', language: 'en', prompt: 'account numbers' } },
          },
        },
      },
      {
        type: 'session.update',
        session: { type: 'realtime', audio: { input: { noise_reduction: { type: 'far_field' } } } },
      },
      // `strength` is in the SDK's types, not in the OpenAPI description: both are accepted.
      {
        type: 'session.update',
        session: { type: 'realtime', audio: { input: { noise_reduction: { type: 'near_field', strength: 0.5 } } } },
      },
      {
        type: 'session.update',
        session: {
          type: 'realtime',
          instructions: 'Answer briefly.',
          output_modalities: ['audio'],
          max_output_tokens: 4096,
          tools: [
            {
              type: 'function',
              name: 'weather',
              description: 'Weather for a city',
              parameters: { type: 'object', properties: { city: { type: 'string' } } },
            },
          ],
          tool_choice: { type: 'function', name: 'weather' },
          truncation: { type: 'retention_ratio', retention_ratio: 0.8 },
          include: ['item.input_audio_transcription.logprobs'],
          tracing: { workflow_name: 'switchboard interop' },
        },
      },
      {
        type: 'session.update',
        session: { type: 'realtime', max_output_tokens: 'inf', tool_choice: 'auto', truncation: 'auto' },
      },
      {
        type: 'session.update',
        session: {
          type: 'realtime',
          audio: { input: { format: { type: 'audio/pcm', rate: 24000 } }, output: { format: { type: 'audio/pcma' } } },
        },
      },
      {
        type: 'session.update',
        session: { type: 'realtime', audio: { input: { format: PCMU }, output: { format: PCMU } } },
      },
    ] satisfies SessionUpdateEvent[];
    // The docs turn both off with null; the SDK's types have no null for either (the Agents SDK
    // sends `noise_reduction: null` all the same): accepted.
    const nulls = {
      type: 'session.update',
      session: { type: 'realtime', audio: { input: { noise_reduction: null, transcription: null } } },
    };
    for (const update of [...updates, nulls]) {
      const answer = await send(update);
      expect(answer.type, JSON.stringify(answer)).toBe('session.updated');
    }
    expect(session.session).toMatchObject({
      audio: { output: { format: PCMU, speed: 1.5, voice: { id: 'voice_1234' } } },
    });

    const audio = base64Encode(speechMuLaw(0, 200));
    const others = [
      { type: 'input_audio_buffer.append', audio },
      { type: 'input_audio_buffer.commit' },
      { type: 'input_audio_buffer.append', audio },
      { type: 'input_audio_buffer.clear' },
      {
        type: 'conversation.item.create',
        item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] },
      },
      { type: 'response.create', response: { instructions: 'Greet the caller.' } },
    ] satisfies RealtimeClientEvent[];
    const answers: Record<string, string> = {
      'input_audio_buffer.commit': 'input_audio_buffer.committed',
      'input_audio_buffer.clear': 'input_audio_buffer.cleared',
      'conversation.item.create': 'conversation.item.done',
      'response.create': 'response.done',
    };
    for (const event of others) {
      if (event.type === 'input_audio_buffer.append') {
        // Appends draw no answer.
        transport.sendEvent(event);
        continue;
      }
      const answer = await send(event, answers[event.type]);
      expect(answer.type, JSON.stringify(answer)).toBe(answers[event.type]);
    }
    const reply = session.responses[0]!;
    const truncate = {
      type: 'conversation.item.truncate',
      item_id: reply.itemId,
      content_index: 0,
      audio_end_ms: 100,
    } satisfies RealtimeClientEvent;
    const retrieve = { type: 'conversation.item.retrieve', item_id: reply.itemId } satisfies RealtimeClientEvent;
    const remove = { type: 'conversation.item.delete', item_id: reply.itemId } satisfies RealtimeClientEvent;
    expect((await send(truncate, 'conversation.item.truncated')).type).toBe('conversation.item.truncated');
    const retrieved = await send(retrieve, 'conversation.item.retrieved');
    // The item after a truncate: its audio cut to the 100 ms kept (μ-law, 8 bytes a ms), no transcript.
    const part = ((retrieved.item as Json).content as Json[])[0]!;
    expect(part).toMatchObject({ type: 'output_audio', transcript: '' });
    expect(Buffer.from(String(part.audio), 'base64').length).toBe(800);
    expect((await send(remove, 'conversation.item.deleted')).type).toBe('conversation.item.deleted');
    expect(session.violations).toEqual([]);
  }, 60_000);

  it('answers what the published schema rejects with the service error event, code and param', async () => {
    const { session, send } = await rig([audioTurn(300)]);
    const accepted = session.sessionUpdates.length;
    const td = (turn_detection: unknown) => ({
      type: 'session.update',
      session: { type: 'realtime', audio: { input: { turn_detection } } },
    });
    const cases: Array<[event: Json, code: string, param: string]> = [
      // The SDK's types reject these too.
      [
        {
          type: 'session.update',
          // @ts-expect-error eagerness is a semantic_vad field
          session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', eagerness: 'low' } } } },
        } satisfies SessionUpdateEvent,
        'unknown_parameter',
        'session.audio.input.turn_detection.eagerness',
      ],
      [
        {
          type: 'session.update',
          // @ts-expect-error threshold is a server_vad field
          session: { type: 'realtime', audio: { input: { turn_detection: { type: 'semantic_vad', threshold: 0.5 } } } },
        } satisfies SessionUpdateEvent,
        'unknown_parameter',
        'session.audio.input.turn_detection.threshold',
      ],
      [
        td({ type: 'semantic_vad', prefix_padding_ms: 300 }),
        'unknown_parameter',
        'session.audio.input.turn_detection.prefix_padding_ms',
      ],
      [
        td({ type: 'semantic_vad', silence_duration_ms: 500 }),
        'unknown_parameter',
        'session.audio.input.turn_detection.silence_duration_ms',
      ],
      [
        // @ts-expect-error not a session field
        { type: 'session.update', session: { type: 'realtime', temperature: 0.8 } } satisfies SessionUpdateEvent,
        'unknown_parameter',
        'session.temperature',
      ],
      [
        {
          type: 'session.update',
          // @ts-expect-error not an audio.input field
          session: { type: 'realtime', audio: { input: { sample_rate: 8000 } } },
        } satisfies SessionUpdateEvent,
        'unknown_parameter',
        'session.audio.input.sample_rate',
      ],
      [
        {
          type: 'session.update',
          // @ts-expect-error not an audio.output field
          session: { type: 'realtime', audio: { output: { volume: 1 } } },
        } satisfies SessionUpdateEvent,
        'unknown_parameter',
        'session.audio.output.volume',
      ],
      [
        {
          type: 'session.update',
          // @ts-expect-error PCM is 24 kHz only
          session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } },
        } satisfies SessionUpdateEvent,
        'invalid_value',
        'session.audio.input.format.rate',
      ],
      // The SDK's types allow these; the published schema bounds them.
      [
        {
          type: 'session.update',
          session: {
            type: 'realtime',
            audio: { input: { turn_detection: { type: 'server_vad', idle_timeout_ms: 4999 } } },
          },
        } satisfies SessionUpdateEvent,
        'integer_below_min_value',
        'session.audio.input.turn_detection.idle_timeout_ms',
      ],
      [
        {
          type: 'session.update',
          session: {
            type: 'realtime',
            audio: { input: { turn_detection: { type: 'server_vad', idle_timeout_ms: 30001 } } },
          },
        } satisfies SessionUpdateEvent,
        'integer_above_max_value',
        'session.audio.input.turn_detection.idle_timeout_ms',
      ],
      [
        {
          type: 'session.update',
          session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', threshold: 1.5 } } } },
        } satisfies SessionUpdateEvent,
        'decimal_above_max_value',
        'session.audio.input.turn_detection.threshold',
      ],
      [
        {
          type: 'session.update',
          session: { type: 'realtime', audio: { output: { speed: 0.2 } } },
        } satisfies SessionUpdateEvent,
        'decimal_below_min_value',
        'session.audio.output.speed',
      ],
      [
        {
          type: 'session.update',
          session: { type: 'realtime', audio: { output: { speed: 1.6 } } },
        } satisfies SessionUpdateEvent,
        'decimal_above_max_value',
        'session.audio.output.speed',
      ],
      [
        {
          type: 'session.update',
          session: { type: 'realtime', audio: { output: { speed: 2 } } },
        } satisfies SessionUpdateEvent,
        'integer_above_max_value',
        'session.audio.output.speed',
      ],
      [
        {
          type: 'session.update',
          session: { type: 'realtime', audio: { output: { voice: 'robot' } } },
        } satisfies SessionUpdateEvent,
        'invalid_value',
        'session.audio.output.voice',
      ],
      [
        {
          type: 'session.update',
          session: { type: 'realtime', output_modalities: ['audio', 'text'] },
        } satisfies SessionUpdateEvent,
        'invalid_value',
        'session.output_modalities',
      ],
      [
        { type: 'session.update', session: { type: 'realtime', max_output_tokens: 5000 } } satisfies SessionUpdateEvent,
        'integer_above_max_value',
        'session.max_output_tokens',
      ],
      [{ type: 'session.update', session: { type: 'realtime', voice: 'alloy' } }, 'unknown_parameter', 'session.voice'],
      [td({ type: 'none' }), 'invalid_value', 'session.audio.input.turn_detection.type'],
    ];
    for (const [event, code, param] of cases) {
      const answer = await send(event);
      expect(answer, JSON.stringify(event)).toMatchObject({
        type: 'error',
        event_id: expect.any(String),
        error: {
          type: 'invalid_request_error',
          code,
          param,
          message: expect.any(String),
          event_id: expect.stringMatching(/^interop_/),
        },
      });
    }
    expect(session.violations.map((v) => v.code)).toEqual(cases.map(([, code]) => code));
    expect(session.sessionUpdates).toHaveLength(accepted);
  }, 60_000);

  it('locks the voice once the model has spoken and the speed while a response runs, as documented', async () => {
    const { session, send } = await rig([audioTurn(200), audioTurn(6000)]);
    // Before any audio, the voice may change.
    expect(
      (await send({ type: 'session.update', session: { type: 'realtime', audio: { output: { voice: 'marin' } } } }))
        .type,
    ).toBe('session.updated');
    await send({ type: 'response.create' }, 'response.done');
    const voiceChange = await send({
      type: 'session.update',
      session: { type: 'realtime', audio: { output: { voice: 'cedar' } } },
    });
    expect(voiceChange).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', code: 'cannot_update_voice', param: null },
    });
    // Sending the voice in force again is no change (the Agents SDK sends it with every update).
    expect(
      (
        await send({
          type: 'session.update',
          session: { type: 'realtime', audio: { output: { voice: 'marin', speed: 1 } } },
        })
      ).type,
    ).toBe('session.updated');

    await send({ type: 'response.create' }, 'response.created');
    const speedChange = await send({
      type: 'session.update',
      session: { type: 'realtime', audio: { output: { speed: 1.2 } } },
    });
    expect(speedChange).toMatchObject({
      type: 'error',
      error: { code: 'cannot_update_speed', param: 'session.audio.output.speed' },
    });
    expect(
      (await send({ type: 'session.update', session: { type: 'realtime', audio: { output: { speed: 1 } } } })).type,
    ).toBe('session.updated');
    await send({ type: 'response.cancel' }, 'response.done');
    expect(
      (await send({ type: 'session.update', session: { type: 'realtime', audio: { output: { speed: 1.2 } } } })).type,
    ).toBe('session.updated');
    expect(session.violations.map((v) => v.code)).toEqual(['cannot_update_voice', 'cannot_update_speed']);
  }, 60_000);

  it('sends only server events of the SDK union, each with every field the SDK requires', async () => {
    expect(everyRequiredFieldListed).toBe(true);
    const weather: SimulatorTurn = { kind: 'function_call', name: 'weather', arguments: { city: 'Paris' } };
    const { session, transport, events, send } = await rig([audioTurn(4000), weather], { speed: 1 });
    // The service calls only a function the session declared.
    await send(
      {
        type: 'session.update',
        session: {
          type: 'realtime',
          tools: [{ type: 'function', name: 'weather', parameters: { type: 'object', properties: {} } }],
        },
      },
      'session.updated',
    );
    // A spoken turn (transcribed: the Agents SDK turns transcription on), a reply, a barge-in over it.
    for (const chunk of chunked(speechMuLaw(800, 700), 160)) transport.sendAudio(chunk.slice().buffer);
    await waitUntil('reply audio', () => events.some((e) => e.type === 'response.output_audio.delta'));
    for (const chunk of chunked(speechMuLaw(600, 800), 160)) transport.sendAudio(chunk.slice().buffer);
    await waitUntil('the function call', () => events.some((e) => e.type === 'response.function_call_arguments.done'));
    await waitUntil('the retrieved reply', () =>
      events.some((e) => e.type === 'conversation.item.retrieved' && (e.item as Json).role === 'assistant'),
    );
    const call = session.responses[1]!;
    await send(
      {
        type: 'conversation.item.create',
        item: { type: 'function_call_output', call_id: call.callId!, output: '{"sky":"clear"}' },
      },
      'conversation.item.done',
    );
    await send({ type: 'conversation.item.delete', item_id: call.itemId }, 'conversation.item.deleted');
    await send({ type: 'input_audio_buffer.clear' }, 'input_audio_buffer.cleared');
    await send({ type: 'output_audio_buffer.clear' }, 'output_audio_buffer.cleared');
    await send({ type: 'session.update', session: { type: 'realtime', audio: { output: { speed: 9 } } } });
    await waitUntil('the transcription', () =>
      events.some((e) => e.type === 'conversation.item.input_audio_transcription.completed'),
    );

    const problems = events.flatMap((e) => shapeProblems(e));
    expect(problems).toEqual([]);
    const seen = new Set(events.map((e) => String(e.type)));
    const expected = Object.keys(REQUIRED).filter((type) => type !== 'output_audio_buffer.cleared' || seen.has(type));
    expect([...expected].filter((type) => !seen.has(type))).toEqual([]);

    // What the service sends around a barge-in: the cancelled reply's part closed before response.done.
    const cancelled = session.responses[0]!;
    expect(cancelled.status).toBe('cancelled');
    const ofReply = events
      .filter((e) => e.response_id === cancelled.id || (e.response as Json | undefined)?.id === cancelled.id)
      .map((e) => e.type);
    expect(ofReply.slice(ofReply.indexOf('response.output_audio.done'))).toEqual([
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.done',
    ]);
    const created = events.findIndex((e) => e.type === 'response.created');
    expect(events[created + 1]?.type).toBe('rate_limits.updated');
    expect(events.find((e) => e.type === 'response.function_call_arguments.done')).toMatchObject({
      name: 'weather',
      arguments: '{"city":"Paris"}',
    });
    // The user turn as retrieved after its transcription: its audio and the transcript.
    const user = events.find((e) => e.type === 'conversation.item.retrieved' && (e.item as Json).role === 'user')!;
    const userPart = ((user.item as Json).content as Json[])[0]!;
    expect(userPart).toMatchObject({ type: 'input_audio', transcript: expect.stringMatching(/caller turn 1/) });
    expect(Buffer.from(String(userPart.audio), 'base64').length).toBeGreaterThan(8 * 800);
  }, 60_000);

  it('gives a RealtimeSession the caller’s transcript in its history, from the transcription events', async () => {
    const sim = new RealtimeSimulator({
      script: [audioTurn(300)],
      speed: 4,
      inputTranscript: 'I would like to know the weather.',
    });
    running.push(sim);
    await sim.start();
    const session = new RealtimeSession(new RealtimeAgent({ name: 'interop', instructions: 'Be brief.' }), {
      transport: 'websocket',
      config: { audio: { input: { format: PCMU }, output: { format: PCMU } } },
    });
    await session.connect({ apiKey: 'test', url: sim.url });
    try {
      for (const chunk of chunked(speechMuLaw(800, 700), 160)) session.sendAudio(chunk.slice().buffer);
      const userItem = await waitUntil('the transcript in the history', () =>
        session.history.find(
          (item) =>
            item.type === 'message' &&
            item.role === 'user' &&
            item.content.some(
              (part) => part.type === 'input_audio' && part.transcript === 'I would like to know the weather.',
            ),
        ),
      );
      expect(userItem).toBeDefined();
      expect(sim.sessions[0]!.violations).toEqual([]);
    } finally {
      session.close();
    }
  }, 60_000);
});

function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}
