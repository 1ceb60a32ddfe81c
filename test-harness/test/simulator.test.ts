import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { WebSocket } from 'ws';
import {
  OpenAIRealtimeWebSocket,
  RealtimeAgent,
  RealtimeSession,
  tool,
  type TransportLayerAudio,
} from '@openai/agents-realtime';
import { base64Encode, encodeMuLaw, pcm16ToBytes } from '@switchboard/core';
import {
  agentAssetsDirectory,
  defaultScript,
  deltaSizes,
  loadAgentReplies,
  longReplyScript,
  RealtimeSimulator,
  renderTurnAudio,
  type SimulatedSession,
  type SimulatorTurn,
} from '../src/simulator/index.js';
import {
  chunks,
  concat,
  RawClient,
  sdkServerEventSchema,
  silence,
  speechLikeMuLaw,
  tone,
  toneTurn,
  upsampleTo24k,
} from './simulator-helpers.js';

const PCMU = { type: 'audio/pcmu' } as const;

const running: RealtimeSimulator[] = [];
const openClients: Array<{ close(): unknown }> = [];

async function startSimulator(options: ConstructorParameters<typeof RealtimeSimulator>[0]): Promise<RealtimeSimulator> {
  const sim = new RealtimeSimulator(options);
  running.push(sim);
  await sim.start();
  return sim;
}

async function rawClient(sim: RealtimeSimulator): Promise<{ client: RawClient; session: SimulatedSession }> {
  const sessionPromise = sim.nextSession();
  const client = await RawClient.connect(sim.url);
  openClients.push(client);
  const session = await sessionPromise;
  await client.waitForType('session.created');
  return { client, session };
}

/** A RealtimeSession of `agent` connected to `sim` over the SDK's WebSocket transport. */
async function agentSession(
  sim: RealtimeSimulator,
  agent: RealtimeAgent,
): Promise<{ transport: OpenAIRealtimeWebSocket; session: RealtimeSession; simulated: SimulatedSession }> {
  const transport = new OpenAIRealtimeWebSocket({ url: sim.url });
  const session = new RealtimeSession(agent, { transport });
  const sessionConnected = sim.nextSession();
  await session.connect({ apiKey: 'test' });
  openClients.push(session);
  return { transport, session, simulated: await sessionConnected };
}

/** Raw client with μ-law in and out, optionally with turn detection settings. */
async function pcmuClient(
  sim: RealtimeSimulator,
  turnDetection?: Record<string, unknown> | null,
): Promise<{ client: RawClient; session: SimulatedSession }> {
  const { client, session } = await rawClient(sim);
  const input: Record<string, unknown> = { format: PCMU };
  if (turnDetection !== undefined) input.turn_detection = turnDetection;
  client.send({ type: 'session.update', session: { type: 'realtime', audio: { input, output: { format: PCMU } } } });
  await client.waitForType('session.updated');
  return { client, session };
}

function appendAll(client: RawClient, audio: Uint8Array, chunkBytes = 160): void {
  for (const chunk of chunks(audio, chunkBytes)) {
    client.send({ type: 'input_audio_buffer.append', audio: base64Encode(chunk) });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

afterEach(async () => {
  for (const client of openClients.splice(0)) {
    try {
      client.close();
    } catch {
      // already closed
    }
  }
  await Promise.all(running.splice(0).map((sim) => sim.stop()));
});

describe('RealtimeSimulator with the OpenAI Agents SDK', () => {
  it('detects speech in μ-law audio from OpenAIRealtimeWebSocket and streams the scripted reply in μ-law', async () => {
    const reply = toneTurn(700);
    const sim = await startSimulator({ script: [reply], speed: 4 });
    const schema = await sdkServerEventSchema();
    const transport = new OpenAIRealtimeWebSocket({ url: sim.url });
    const order: string[] = [];
    const unparsed: unknown[] = [];
    let audioBytes = 0;
    transport.on('*', (event: unknown) => {
      if (!schema.safeParse(event).success) unparsed.push(event);
    });
    transport.on('input_audio_buffer.speech_started', () => order.push('speech_started'));
    transport.on('audio', (event: TransportLayerAudio) => {
      if (audioBytes === 0) order.push('audio');
      audioBytes += event.data.byteLength;
    });
    const turnDone = new Promise<void>((resolve) =>
      transport.on('turn_done', () => {
        order.push('turn_done');
        resolve();
      }),
    );
    await transport.connect({
      apiKey: 'test',
      initialSessionConfig: { audio: { input: { format: PCMU }, output: { format: PCMU } } },
    });
    openClients.push(transport);
    for (const chunk of chunks(speechLikeMuLaw(800, 700), 160)) {
      transport.sendAudio(chunk.slice().buffer);
    }
    await turnDone;

    const session = sim.sessions[0]!;
    const expectedBytes = renderTurnAudio(reply.kind === 'audio' ? reply.audio : new Int16Array(0), PCMU).length;
    expect(expectedBytes).toBe(700 * 8);
    expect(order).toEqual(['speech_started', 'audio', 'turn_done']);
    expect(audioBytes).toBe(expectedBytes);
    expect(session.violations).toEqual([]);
    expect(unparsed).toEqual([]);
    expect(session.inputFormat).toEqual(PCMU);
    expect(session.outputFormat).toEqual(PCMU);
    expect(session.responses).toMatchObject([
      { status: 'completed', trigger: 'turn_detection', audioBytesSent: expectedBytes, audioMsSent: 700 },
    ]);
    expect(session.inputAudio.reduce((n, c) => n + c.length, 0)).toBe(1500 * 8);
    expect(session.inputAudioReceivedAt).toHaveLength(session.inputAudio.length);
    expect(session.speechEvents.map((e) => e.type)).toEqual(['speech_started', 'speech_stopped']);
    transport.close();
  });

  it('accepts the truncate the SDK sends when the caller barges in on a reply', async () => {
    const sim = await startSimulator({ script: [toneTurn(5000)], acceptDelayMs: 100 });
    const transport = new OpenAIRealtimeWebSocket({ url: sim.url });
    await transport.connect({
      apiKey: 'test',
      initialSessionConfig: { audio: { input: { format: PCMU }, output: { format: PCMU } } },
    });
    openClients.push(transport);
    const session = sim.sessions[0]!;
    let audioEvents = 0;
    const enoughAudio = new Promise<void>((resolve) =>
      transport.on('audio', () => {
        audioEvents += 1;
        if (audioEvents === 3) resolve();
      }),
    );
    const interrupted = new Promise<void>((resolve) => transport.on('audio_interrupted', () => resolve()));
    const retrieved = new Promise<void>((resolve) => transport.on('conversation.item.retrieved', () => resolve()));
    transport.requestResponse();
    await enoughAudio;
    for (const chunk of chunks(speechLikeMuLaw(400, 0), 160)) transport.sendAudio(chunk.slice().buffer);
    await interrupted;
    await retrieved;

    expect(session.responses).toMatchObject([{ status: 'cancelled', cancelReason: 'turn_detected' }]);
    expect(session.truncations).toHaveLength(1);
    const truncation = session.truncations[0]!;
    expect(truncation).toMatchObject({ itemId: session.responses[0]!.itemId, contentIndex: 0, accepted: true });
    expect(truncation.audioEndMs).toBeLessThanOrEqual(session.responses[0]!.audioMsSent);
    // interrupt_response is on, so the SDK leaves the cancel to the server.
    expect(session.cancels).toEqual([]);
    expect(session.violations).toEqual([]);
    transport.close();
  });

  it('lets a RealtimeSession run a tool call and records the function_call_output', async () => {
    const script: SimulatorTurn[] = [
      { kind: 'function_call', name: 'weather', arguments: { location: 'Paris' } },
      toneTurn(300, 'It is sunny in Paris.'),
    ];
    const sim = await startSimulator({ script, speed: 4 });
    const calls: string[] = [];
    const weather = tool({
      name: 'weather',
      description: 'Current weather for a city',
      parameters: z.object({ location: z.string() }),
      execute: async ({ location }) => {
        calls.push(location);
        return `Sunny and 21 degrees in ${location}`;
      },
    });
    const agent = new RealtimeAgent({ name: 't', instructions: 'Answer weather questions.', tools: [weather] });
    const { transport, session, simulated } = await agentSession(sim, agent);
    let turns = 0;
    const secondTurnDone = new Promise<void>((resolve) =>
      transport.on('turn_done', () => {
        turns += 1;
        if (turns === 2) resolve();
      }),
    );
    session.sendMessage('What is the weather in Paris?');
    await secondTurnDone;

    expect(calls).toEqual(['Paris']);
    const [callResponse, audioResponse] = simulated.responses;
    expect(callResponse).toMatchObject({ kind: 'function_call', status: 'completed' });
    expect(simulated.functionCallOutputs).toHaveLength(1);
    expect(simulated.functionCallOutputs[0]!.callId).toBe(callResponse!.callId);
    expect(simulated.functionCallOutputs[0]!.output).toContain('Sunny and 21 degrees in Paris');
    expect(audioResponse).toMatchObject({ kind: 'audio', status: 'completed', trigger: 'client' });
    // The second response.create came after the tool output.
    const types = simulated.events.map((e) => e.event.type);
    const outputIndex = simulated.events.findIndex(
      (e) =>
        e.event.type === 'conversation.item.create' &&
        (e.event.item as { type?: string }).type === 'function_call_output',
    );
    expect(outputIndex).toBeGreaterThan(0);
    expect(types.slice(outputIndex + 1)).toContain('response.create');
    expect(simulated.sessionUpdates.length).toBeGreaterThan(0);
    const toolNames = simulated.sessionUpdates.flatMap((u) =>
      ((u.tools ?? []) as Array<{ name: string }>).map((t) => t.name),
    );
    expect(toolNames).toContain('weather');
    expect(simulated.session).toMatchObject({
      tools: [{ type: 'function', name: 'weather' }],
      audio: { input: { turn_detection: { type: 'semantic_vad', interrupt_response: true } } },
    });
    expect(simulated.violations).toEqual([]);
    session.close();
  });

  it('calls only the functions the session declared: an agent with no tools gets the next spoken reply instead', async () => {
    const goodbye = toneTurn(300, 'Goodbye.');
    const script: SimulatorTurn[] = [
      { kind: 'function_call', name: 'weather', arguments: { location: 'Paris' } },
      { ...goodbye, kind: 'audio', call: { name: 'end_call', arguments: {} } } as SimulatorTurn,
    ];
    const sim = await startSimulator({ script, speed: 4 });
    const agent = new RealtimeAgent({ name: 't', instructions: 'No tools.' });
    const { transport, session, simulated } = await agentSession(sim, agent);
    const turnDone = new Promise<void>((resolve) => transport.on('turn_done', () => resolve()));
    session.sendMessage('What is the weather in Paris?');
    await turnDone;
    expect(simulated.responses.map((r) => [r.kind, r.status, r.transcript])).toEqual([
      ['audio', 'completed', 'Goodbye.'],
    ]);
    expect(simulated.serverEvents.filter((e) => String(e.event.type).includes('function_call'))).toEqual([]);
    session.close();
  });

  it('speaks and then calls a function in the same response, which a RealtimeSession runs', async () => {
    const goodbye = toneTurn(300, 'Goodbye.');
    const script: SimulatorTurn[] = [
      { ...goodbye, kind: 'audio', call: { name: 'end_call', arguments: {} } } as SimulatorTurn,
    ];
    const sim = await startSimulator({ script, speed: 4 });
    const calls: string[] = [];
    const endCall = tool({
      name: 'end_call',
      description: 'Ends the call.',
      parameters: z.object({}),
      execute: async () => {
        calls.push('end_call');
        return 'ended';
      },
    });
    const agent = new RealtimeAgent({ name: 't', instructions: 'Say goodbye.', tools: [endCall] });
    const { transport, session, simulated } = await agentSession(sim, agent);
    const audio: ArrayBuffer[] = [];
    transport.on('audio', (event: TransportLayerAudio) => audio.push(event.data));
    const toolRan = new Promise<void>((resolve) => session.on('agent_tool_end', () => resolve()));
    session.sendMessage('Bye.');
    await toolRan;

    expect(calls).toEqual(['end_call']);
    const [response] = simulated.responses;
    expect(response).toMatchObject({ kind: 'audio', status: 'completed', call: { name: 'end_call' } });
    expect(audio.reduce((n, a) => n + a.byteLength, 0)).toBeGreaterThan(0);
    // The message is output item 0 and done before the call (item 1) is added; response.done holds both.
    const sent = simulated.serverEvents.map(
      (e) => e.event as { type: string; output_index?: number; item?: { type?: string } },
    );
    const added = sent
      .filter((e) => e.type === 'response.output_item.added')
      .map((e) => [e.output_index, e.item?.type]);
    expect(added).toEqual([
      [0, 'message'],
      [1, 'function_call'],
    ]);
    const messageDone = sent.findIndex((e) => e.type === 'response.output_item.done' && e.output_index === 0);
    const callAdded = sent.findIndex((e) => e.type === 'response.output_item.added' && e.output_index === 1);
    expect(messageDone).toBeGreaterThan(-1);
    expect(messageDone).toBeLessThan(callAdded);
    const done = sent.find((e) => e.type === 'response.done') as { response?: { output?: Array<{ type: string }> } };
    expect(done.response?.output?.map((o) => o.type)).toEqual(['message', 'function_call']);
    // The output goes out as the tool ends.
    for (let deadline = Date.now() + 20_000; simulated.functionCallOutputs.length === 0 && Date.now() < deadline;)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(simulated.functionCallOutputs.map((o) => o.callId)).toEqual([response!.call!.callId]);
    expect(simulated.violations).toEqual([]);
    session.close();
  });
});

describe('RealtimeSimulator protocol', () => {
  it('sends a spoken turn in the order of the real API and echoes the merged session', async () => {
    const sim = await startSimulator({ script: [toneTurn(250)], speed: 4 });
    const { client } = await pcmuClient(sim);
    const updated = client.ofType('session.updated')[0]!;
    expect(updated.session).toMatchObject({
      type: 'realtime',
      audio: {
        input: {
          format: PCMU,
          turn_detection: { type: 'server_vad', interrupt_response: true, create_response: true },
        },
        output: { format: PCMU, voice: 'alloy' },
      },
    });
    const from = client.received.length;
    client.send({ type: 'response.create', event_id: 'c1' });
    await client.waitForType('response.done', from);
    const types = client.received
      .slice(from)
      .map((e) => e.type)
      .filter((t) => t !== 'response.output_audio_transcript.delta');
    expect(types.filter((t) => t === 'response.output_audio.delta').length).toBe(3);
    const collapsed = types.filter((t, i) => t !== types[i - 1]);
    expect(collapsed).toEqual([
      'response.created',
      'rate_limits.updated',
      'response.output_item.added',
      'conversation.item.added',
      'response.content_part.added',
      'response.output_audio.delta',
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
      'rate_limits.updated',
    ]);
    const ids = client.received.map((e) => e.event_id);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const created = client.received[from]!;
    expect(created.response).toMatchObject({
      object: 'realtime.response',
      status: 'in_progress',
      output: [],
      audio: { output: { format: PCMU } },
    });
    const done = client.ofType('response.done')[0]!;
    expect(done.response).toMatchObject({ status: 'completed', usage: { total_tokens: expect.any(Number) } });
  });

  it('sends deltas of uneven sizes from a list, in whole samples, cycling, with nothing lost', async () => {
    const sim = await startSimulator({ script: [toneTurn(1000)], speed: 4, deltaMs: [0.1, 7.3, 250] });
    const { client, session } = await pcmuClient(sim);
    const from = client.received.length;
    client.send({ type: 'response.create' });
    await client.waitForType('response.done', from);
    const sizes = client
      .ofType('response.output_audio.delta')
      .map((e) => Buffer.from(String(e.delta), 'base64').byteLength);
    // μ-law 8 kHz: 0.1 ms rounds up to one sample (1 byte), 7.3 ms to 58, 250 ms to 2000.
    expect(sizes.slice(0, 6)).toEqual([1, 58, 2000, 1, 58, 2000]);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(8000);
    // The session records each delta by its exact size, base64 padding left out.
    const recorded = session.serverEvents
      .filter((e) => e.event.type === 'response.output_audio.delta')
      .map((e) => e.event.delta_bytes);
    expect(recorded).toEqual(sizes);
    expect(session.responses[0]).toMatchObject({ status: 'completed', audioBytesSent: 8000 });
    // PCM16 counts whole 2-byte samples and ends with what is left.
    expect(deltaSizes([0.01, 1], { type: 'audio/pcm', rate: 24000 }, 101)).toEqual([2, 48, 2, 48, 1]);
    expect(() => new RealtimeSimulator({ deltaMs: [] })).toThrow(/non-empty list/);
    expect(() => new RealtimeSimulator({ deltaMs: [10, -1] })).toThrow(/deltaMs\[1\]/);
  });

  it('stops the deltas on response.cancel and closes the response as cancelled', async () => {
    const sim = await startSimulator({ script: [toneTurn(5000)], generationSpeed: 2, deltaMs: 100 });
    const { client, session } = await pcmuClient(sim);
    const from = client.received.length;
    client.send({ type: 'response.create' });
    await client.waitFor(
      (e) => e.type === 'response.output_audio.delta' && client.ofType('response.output_audio.delta').length >= 3,
      from,
    );
    client.send({ type: 'response.cancel', event_id: 'cancel_1' });
    const done = await client.waitForType('response.done', from);
    const deltasAtDone = client.ofType('response.output_audio.delta').length;
    await sleep(400); // several delta intervals: nothing more may arrive
    expect(client.ofType('response.output_audio.delta').length).toBe(deltasAtDone);
    expect(deltasAtDone).toBeLessThan(50);
    expect(done.response).toMatchObject({ status: 'cancelled', output: [{ status: 'incomplete', type: 'message' }] });
    const itemDone = client.ofType('response.output_item.done')[0]!;
    expect(itemDone.item).toMatchObject({ status: 'incomplete' });
    // The part is closed as the service closes it, with what was said so far, before response.done.
    const tail = client.received
      .slice(client.received.indexOf(client.ofType('response.output_audio.done')[0]!))
      .map((e) => e.type);
    expect(tail).toEqual([
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
      'rate_limits.updated',
    ]);
    const sentWords = client
      .ofType('response.output_audio_transcript.delta')
      .map((e) => e.delta)
      .join('');
    expect(client.ofType('response.output_audio_transcript.done')[0]).toMatchObject({ transcript: sentWords });
    expect(client.ofType('response.content_part.done')[0]).toMatchObject({
      part: { type: 'audio', transcript: sentWords },
    });
    expect(session.responses).toMatchObject([
      { status: 'cancelled', cancelReason: 'client_cancelled', audioBytesSent: deltasAtDone * 800 },
    ]);
    expect(session.cancels).toMatchObject([{ active: true }]);
    expect(session.violations).toEqual([]);
  });

  it('cancels the response in flight itself when speech starts and interrupt_response is on', async () => {
    const sim = await startSimulator({ script: [toneTurn(5000)], speed: 1 });
    const { client, session } = await pcmuClient(sim);
    client.send({ type: 'response.create' });
    await client.waitForType('response.output_audio.delta');
    appendAll(client, speechLikeMuLaw(400, 0));
    const started = await client.waitForType('input_audio_buffer.speech_started');
    const done = await client.waitForType('response.done');
    expect(client.received.indexOf(started)).toBeLessThan(client.received.indexOf(done));
    expect(done.response).toMatchObject({ status: 'cancelled', status_details: { reason: 'turn_detected' } });
    expect(session.responses[0]).toMatchObject({ status: 'cancelled', cancelReason: 'turn_detected' });
    expect(session.cancels).toEqual([]);
  });

  it('rejects a truncate beyond the audio sent and confirms one within it', async () => {
    const sim = await startSimulator({ script: [toneTurn(5000)], deltaMs: 100 });
    const { client, session } = await pcmuClient(sim);
    client.send({ type: 'response.create' });
    await client.waitFor(() => client.ofType('response.output_audio.delta').length >= 4);
    client.send({ type: 'response.cancel' });
    await client.waitForType('response.done');
    const response = session.responses[0]!;
    const sentMs = response.audioMsSent;
    expect(sentMs).toBeGreaterThanOrEqual(400);

    const from = client.received.length;
    client.send({
      type: 'conversation.item.truncate',
      event_id: 'tr_bad',
      item_id: response.itemId,
      content_index: 0,
      audio_end_ms: sentMs + 500,
    });
    const error = await client.waitForType('error', from);
    expect(error.error).toMatchObject({ type: 'invalid_request_error', event_id: 'tr_bad', param: 'audio_end_ms' });
    expect(session.violations).toHaveLength(1);
    expect(session.violations[0]!.event).toMatchObject({
      type: 'conversation.item.truncate',
      audio_end_ms: sentMs + 500,
    });

    const okFrom = client.received.length;
    client.send({ type: 'conversation.item.truncate', item_id: response.itemId, content_index: 0, audio_end_ms: 200 });
    const truncated = await client.waitForType('conversation.item.truncated', okFrom);
    expect(truncated).toMatchObject({ item_id: response.itemId, content_index: 0, audio_end_ms: 200 });
    expect(session.truncations).toMatchObject([
      { itemId: response.itemId, audioEndMs: sentMs + 500, accepted: false },
      { itemId: response.itemId, contentIndex: 0, audioEndMs: 200, accepted: true },
    ]);

    client.send({ type: 'conversation.item.truncate', item_id: 'item_unknown', content_index: 0, audio_end_ms: 0 });
    await client.waitFor((e) => e.type === 'error' && (e.error as { code: string }).code === 'item_not_found');
    expect(session.violations).toHaveLength(2);
  });

  it('records invalid client events as violations, answers them with error and keeps going', async () => {
    const sim = await startSimulator({ script: [toneTurn(3000)] });
    const { client, session } = await rawClient(sim);
    const bad: Array<Record<string, unknown> | string> = [
      { type: 'no.such.event', event_id: 'e_unknown' },
      {
        type: 'session.update',
        event_id: 'e_rate',
        session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } },
      },
      { type: 'session.update', event_id: 'e_legacy', session: { type: 'realtime', input_audio_format: 'g711_ulaw' } },
      {
        type: 'session.update',
        event_id: 'e_string',
        session: { type: 'realtime', audio: { output: { format: 'g711_ulaw' } } },
      },
      { type: 'input_audio_buffer.append', event_id: 'e_b64', audio: 'not base64!' },
      {
        type: 'conversation.item.truncate',
        event_id: 'e_fraction',
        item_id: 'x',
        content_index: 0,
        audio_end_ms: 12.5,
      },
      'this is not json',
    ];
    for (const event of bad) client.socket.send(typeof event === 'string' ? event : JSON.stringify(event));
    await client.waitFor(() => client.ofType('error').length >= bad.length);
    expect(session.violations).toHaveLength(bad.length);
    const errorEventIds = client.ofType('error').map((e) => (e.error as { event_id: string | null }).event_id);
    expect(errorEventIds).toEqual(['e_unknown', 'e_rate', 'e_legacy', 'e_string', 'e_b64', 'e_fraction', null]);
    expect(client.ofType('error').map((e) => (e.error as { param: string | null }).param)).toEqual([
      'type',
      'session.audio.input.format.rate',
      'session.input_audio_format',
      'session.audio.output.format',
      'audio',
      'audio_end_ms',
      null,
    ]);
    for (const e of client.ofType('error')) {
      expect(e.error).toMatchObject({
        type: 'invalid_request_error',
        code: expect.any(String),
        message: expect.any(String),
      });
    }
    expect(session.sessionUpdates).toEqual([]);
    expect(session.inputAudio).toEqual([]);

    // Legitimate races are answered with error but are not violations.
    const raceFrom = client.received.length;
    client.send({ type: 'response.cancel', event_id: 'e_cancel_idle' });
    const cancelError = await client.waitForType('error', raceFrom);
    expect(cancelError.error).toMatchObject({ code: 'response_cancel_not_active', event_id: 'e_cancel_idle' });
    client.send({ type: 'response.create' });
    await client.waitForType('response.created', raceFrom);
    client.send({ type: 'response.create', event_id: 'agents_js_response_create_9' });
    const busy = await client.waitFor(
      (e) => e.type === 'error' && (e.error as { code: string }).code === 'conversation_already_has_active_response',
    );
    expect((busy.error as { event_id: string }).event_id).toBe('agents_js_response_create_9');
    expect(session.violations).toHaveLength(bad.length);

    // The session still works.
    const okFrom = client.received.length;
    client.send({
      type: 'session.update',
      session: { type: 'realtime', audio: { output: { format: { type: 'audio/pcma' } } } },
    });
    const updated = await client.waitForType('session.updated', okFrom);
    expect(updated.session).toMatchObject({ audio: { output: { format: { type: 'audio/pcma' } } } });
    expect(session.outputFormat).toEqual({ type: 'audio/pcma' });
  });

  it('places VAD boundaries by stream time, the same for audio sent at once or in real time', async () => {
    const rate = 8000;
    const speech = (ms: number) => tone(ms, rate, [300, 1000], -12);
    const audio = encodeMuLaw(
      concat(silence(400, rate), speech(800), silence(1000, rate), speech(600), silence(800, rate)),
    );
    const expected = [
      { type: 'speech_started', audioMs: 400 - 300 },
      { type: 'speech_stopped', audioMs: 1200 },
      { type: 'speech_started', audioMs: 2200 - 300 },
      { type: 'speech_stopped', audioMs: 2800 },
    ];
    const sim = await startSimulator({ script: [toneTurn(100)] });
    const noResponse = { type: 'server_vad', create_response: false };

    const fast = await pcmuClient(sim, noResponse);
    appendAll(fast.client, audio);
    await fast.client.waitFor(() => fast.client.ofType('input_audio_buffer.speech_stopped').length >= 2);

    const paced = await pcmuClient(sim, noResponse);
    for (const chunk of chunks(audio, 160)) {
      paced.client.send({ type: 'input_audio_buffer.append', audio: base64Encode(chunk) });
      await sleep(20);
    }
    await paced.client.waitFor(() => paced.client.ofType('input_audio_buffer.speech_stopped').length >= 2);

    for (const { client, session } of [fast, paced]) {
      const positions = session.speechEvents.map((e) => ({ type: e.type, audioMs: e.audioMs }));
      expect(positions).toHaveLength(expected.length);
      positions.forEach((p, i) => {
        expect(p.type).toBe(expected[i]!.type);
        expect(Math.abs(p.audioMs - expected[i]!.audioMs)).toBeLessThanOrEqual(40);
      });
      const wire = client.received.filter((e) => e.type.startsWith('input_audio_buffer.speech_'));
      expect(wire.map((e) => e.audio_start_ms ?? e.audio_end_ms)).toEqual(positions.map((p) => p.audioMs));
      expect(client.ofType('input_audio_buffer.committed')).toHaveLength(2);
      expect(client.ofType('response.created')).toEqual([]);
    }
    expect(paced.session.speechEvents.map((e) => e.audioMs)).toEqual(fast.session.speechEvents.map((e) => e.audioMs));
  });

  it('runs the VAD on 24 kHz PCM input and sends PCM output as the scripted samples', async () => {
    const reply = toneTurn(400);
    const sim = await startSimulator({ script: [reply], speed: 4, vad: { prefixPaddingMs: 0 } });
    const { client, session } = await rawClient(sim);
    const pcm = upsampleTo24k(concat(tone(600, 8000, [300, 1000], -12), silence(700, 8000)));
    appendAll(client, pcm16ToBytes(pcm), 960 + 1); // odd-sized chunks split samples between appends
    const done = await client.waitForType('response.done');
    expect(done.response).toMatchObject({ status: 'completed' });
    const started = client.ofType('input_audio_buffer.speech_started')[0]!;
    expect(Math.abs((started.audio_start_ms as number) - 0)).toBeLessThanOrEqual(40);
    const bytes = session.outputAudio.reduce((n, c) => n + c.bytes.length, 0);
    expect(bytes).toBe(reply.kind === 'audio' ? reply.audio.length * 2 : -1);
    expect(session.responses[0]).toMatchObject({ audioMsSent: 400, format: { type: 'audio/pcm', rate: 24000 } });
    expect(session.violations).toEqual([]);
  });

  it('rejects upgrades without credentials and accepts the insecure-key subprotocol', async () => {
    const sim = await startSimulator({ script: [toneTurn(100)] });
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(sim.url);
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => reject(new Error('connected without credentials')));
      socket.on('error', () => undefined);
    });
    expect(status).toBe(401);
    expect(sim.sessions).toEqual([]);
    const socket = new WebSocket(sim.url, ['realtime', 'openai-insecure-api-key.test', 'openai-agents-sdk.0.20.0']);
    const first = await new Promise<Record<string, unknown>>((resolve) =>
      socket.once('message', (d) => resolve(JSON.parse(String(d)))),
    );
    expect(socket.protocol).toBe('realtime');
    expect(first).toMatchObject({
      type: 'session.created',
      session: { type: 'realtime', id: expect.stringMatching(/^sess_/) },
    });
    expect(sim.sessions[0]!.connection).toMatchObject({ auth: 'subprotocol', protocol: 'realtime' });
    socket.close();
  });

  it('leaves no sockets, servers or timers behind after stop()', async () => {
    const countResources = () => {
      const counts = new Map<string, number>();
      for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
      return counts;
    };
    const before = countResources();
    const sim = new RealtimeSimulator({ script: [toneTurn(10_000)], acceptDelayMs: 60_000 });
    const { url } = await sim.start();
    const fast = new RealtimeSimulator({ script: [toneTurn(10_000)] });
    await fast.start();
    const a = await RawClient.connect(fast.url);
    const b = await RawClient.connect(fast.url);
    a.send({ type: 'response.create' });
    await a.waitForType('response.output_audio.delta');
    const pending = new WebSocket(url, { headers: { Authorization: 'Bearer test' } });
    const pendingClosed = new Promise<void>((resolve) => pending.once('close', () => resolve()));
    pending.on('error', () => undefined);
    await sleep(50);

    await Promise.all([sim.stop(), fast.stop()]);
    await Promise.all([a.closed, b.closed, pendingClosed]);
    await Promise.all(fast.sessions.map((s) => s.closed));
    expect(fast.sessions).toHaveLength(2);
    expect(fast.sessions.every((s) => s.isClosed)).toBe(true);
    expect(fast.openSessions).toEqual([]);
    expect(sim.sessions).toEqual([]);
    await sleep(20);
    const after = countResources();
    for (const kind of ['Timeout', 'TCPServerWrap', 'TCPSocketWrap']) {
      expect(after.get(kind) ?? 0, kind).toBeLessThanOrEqual(before.get(kind) ?? 0);
    }
  });
});

describe('agent reply assets', () => {
  /**
   * `expect(actual).toEqual(expected)` for turns that hold seconds of audio: compared by Node
   * first, through `expect` only when they differ (its deep equality takes seconds over that many
   * samples).
   */
  const expectSameTurns = (actual: unknown, expected: unknown) => {
    if (!isDeepStrictEqual(actual, expected)) expect(actual).toEqual(expected);
  };

  it('loads the recorded replies as 24 kHz speech and builds the default script around a weather call', () => {
    expect(() => agentAssetsDirectory()).not.toThrow();
    const replies = loadAgentReplies();
    expect(replies.length).toBeGreaterThanOrEqual(2);
    for (const reply of replies) {
      expect(reply.kind).toBe('audio');
      if (reply.kind !== 'audio') continue;
      expect(reply.transcript.length).toBeGreaterThan(0);
      expect(reply.audio.length).toBeGreaterThan(24000 / 2); // more than half a second
      let sum = 0;
      for (const s of reply.audio) sum += s * s;
      const rmsDbfs = 20 * Math.log10(Math.sqrt(sum / reply.audio.length) / 32768);
      expect(rmsDbfs).toBeGreaterThan(-40); // not silence
    }
    const script = defaultScript();
    expect(script).toHaveLength(replies.length + 1);
    expectSameTurns(script[0], replies[0]);
    expect(script[1]).toEqual({ kind: 'function_call', name: 'weather', arguments: { location: 'Paris' } });
    expectSameTurns(script.slice(2), replies.slice(1));
    // The long-reply script joins every reply, 400 ms apart, into its first turn.
    const long = longReplyScript();
    const first = long[0]!;
    expect(first.kind).toBe('audio');
    const total = replies.reduce((n, r) => n + (r.kind === 'audio' ? r.audio.length : 0), 0);
    if (first.kind === 'audio') expect(first.audio.length).toBe(total + (replies.length - 1) * 9600);
    expectSameTurns(long.slice(1), script.slice(1));
  });

  it('explains clearly when the assets folder is missing', () => {
    expect(() => loadAgentReplies({ directory: '/nonexistent/assets/agent' })).toThrow(/replies\.json does not exist/);
  });
});
