/**
 * Call features on OpenAI SIP calls: hanging up once OpenAI reports the caller heard everything,
 * and transfers through OpenAI's refer endpoint, against the realtime simulator and a local fake
 * of the Calls REST API; and the core's end_call and transfer_call tools on such a call.
 */
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { RealtimeSimulator, type SimulatedSession, type SimulatorTurn } from '@switchboard/conformance';
import {
  ConfigError,
  endCallTool,
  transferCallTool,
  type CallTool,
  type TelephonyRealtimeTransport,
  type TransferRequest,
} from '@switchboard/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OpenAISipCallControl, OpenAISipTransport, openAISipTransfer, parseOpenAISipCall } from '../src/index.js';
import type { OpenAIWebhookEvent } from '../src/index.js';
import { OpenAISipPlayback } from '../src/openai/playback.js';
import { API_KEY, incomingCallEvent, useOpenAIFakes, waitFor } from './openai-fakes.js';

const { simulator, api } = useOpenAIFakes({ beforeAll, afterAll });
const cleanup: Array<() => void> = [];

afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

function callFor(callId: string) {
  return parseOpenAISipCall(incomingCallEvent(callId) as OpenAIWebhookEvent, `msg_${callId}`);
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
/**
 * A few turns of the event loop (timers and immediates): what a transport that did not wait for
 * playback would do right away (a hang-up, a refer) has been done by then.
 */
async function turns(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    await flush();
  }
}

describe('OpenAISipPlayback', () => {
  const audioDone = (id: string) => ({
    type: 'response.done',
    response: { id, output: [{ type: 'message', content: [{ type: 'output_audio', transcript: 'bye' }] }] },
  });

  it('is idle once no response is generating and every buffer that started has stopped', () => {
    const playback = new OpenAISipPlayback(() => 0);
    expect(playback.idle()).toBe(true);
    playback.observe({ type: 'response.created', response: { id: 'r1' } });
    expect(playback.idle()).toBe(false);
    playback.observe({ type: 'output_audio_buffer.started', response_id: 'r1' });
    playback.observe(audioDone('r1'));
    expect(playback.idle()).toBe(false);
    playback.observe({ type: 'output_audio_buffer.stopped', response_id: 'r1' });
    expect(playback.idle()).toBe(true);
    // A clear empties the buffer, whatever it held.
    playback.observe({ type: 'output_audio_buffer.started', response_id: 'r2' });
    playback.observe(audioDone('r2'));
    expect(playback.idle()).toBe(false);
    playback.observe({ type: 'output_audio_buffer.cleared', response_id: 'r2' });
    expect(playback.idle()).toBe(true);
  });

  it('waits for a response done with audio whose buffer has not reported starting, for a grace period', () => {
    let now = 0;
    const playback = new OpenAISipPlayback(() => now);
    playback.observe({ type: 'response.created', response: { id: 'r1' } });
    playback.observe(audioDone('r1'));
    expect(playback.idle()).toBe(false);
    now = 1999;
    expect(playback.idle()).toBe(false);
    now = 2000;
    expect(playback.idle()).toBe(true);
    // A response without audio (a function call) leaves nothing to play.
    playback.observe({ type: 'response.created', response: { id: 'r2' } });
    playback.observe({ type: 'response.done', response: { id: 'r2', output: [{ type: 'function_call' }] } });
    expect(playback.idle()).toBe(true);
    // Nothing a peer sends breaks it.
    for (const junk of [null, 1, 'x', { type: 3 }, { type: 'response.done' }, { type: 'response.done', response: 5 }])
      playback.observe(junk);
    expect(playback.idle()).toBe(true);
  });
});

describe('OpenAISipTransport.endAfterPlayback', () => {
  it('hangs up through call control only once OpenAI reported the output buffer stopped', async () => {
    const callControl = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: api.baseURL, maxRetries: 0 });
    api.ring('rtc_e1');
    await callControl.accept('rtc_e1', {});
    const transport = new OpenAISipTransport({ call: callFor('rtc_e1'), url: simulator.url, callControl });
    cleanup.push(() => transport.close());
    const simulated = new Promise<SimulatedSession>((resolve) => simulator.once('session', resolve));
    await transport.connect({ apiKey: API_KEY });
    const model = await simulated;
    const seen: string[] = [];
    let responseId: string | undefined;
    transport.on('*', (event: { type: string; response?: { id?: string } }) => {
      seen.push(event.type);
      if (event.type === 'response.created') responseId = event.response?.id;
    });
    // A goodbye: generated, then played from OpenAI's buffer.
    transport.sendEvent({ type: 'response.create' });
    await waitFor(() => responseId !== undefined, 10_000, 'response.created');
    model.send({ type: 'output_audio_buffer.started', response_id: responseId! });
    await waitFor(() => seen.includes('response.done') && seen.includes('output_audio_buffer.started'), 10_000);

    let stopped = false;
    const atHangUp: boolean[] = [];
    const hangup = callControl.hangup.bind(callControl);
    callControl.hangup = (callId: string) => {
      atHangUp.push(stopped);
      return hangup(callId);
    };
    const ending = transport.endAfterPlayback({ timeoutMs: 10_000 });
    expect(transport.endAfterPlayback()).toBe(ending);
    await flush();
    stopped = true;
    model.send({ type: 'output_audio_buffer.stopped', response_id: responseId! });
    const result = await ending;
    expect(result).toMatchObject({ reason: 'agent_hangup', heardAll: true });
    expect(atHangUp).toEqual([true]);
    expect(api.requestsFor('hangup').map((r) => r.callId)).toEqual(['rtc_e1']);
  }, 30_000);

  it('needs call control, and hangs up anyway once the timeout passed', async () => {
    await expect(new OpenAISipTransport({ callId: 'x' }).endAfterPlayback()).rejects.toThrow(ConfigError);
    const callControl = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: api.baseURL, maxRetries: 0 });
    api.ring('rtc_e2');
    await callControl.accept('rtc_e2', {});
    const transport = new OpenAISipTransport({ call: callFor('rtc_e2'), url: simulator.url, callControl });
    cleanup.push(() => transport.close());
    const simulated = new Promise<SimulatedSession>((resolve) => simulator.once('session', resolve));
    await transport.connect({ apiKey: API_KEY });
    const model = await simulated;
    let started = false;
    transport.on('*', (event: { type: string }) => {
      if (event.type === 'output_audio_buffer.started') started = true;
    });
    model.send({ type: 'output_audio_buffer.started', response_id: 'resp_never_stops' });
    await waitFor(() => started, 10_000, 'output_audio_buffer.started');
    const result = await transport.endAfterPlayback({ reason: 'goodbye', timeoutMs: 50 });
    expect(result).toMatchObject({ reason: 'goodbye', heardAll: false });
    expect(api.requestsFor('hangup').map((r) => r.callId)).toContain('rtc_e2');
  }, 30_000);
});

describe('openAISipTransfer', () => {
  function requestFor(callId: string | undefined, destination: string): TransferRequest {
    const transport = { callId: 'rtc_from_transport' } as unknown as TelephonyRealtimeTransport;
    return {
      name: 'sales',
      destination,
      reason: 'billing',
      summary: 'Refund for order 42',
      ...(callId ? { callId } : {}),
      callStart: {
        type: 'call_start',
        callId: callId ?? 'rtc_from_transport',
        streamId: 'rtc',
        format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
        customParameters: { campaign: 'spring' },
        raw: null,
      },
      transport,
    };
  }

  it("refers the call to the destination's URI, with the context in a sip: URI only when asked", async () => {
    const callControl = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: api.baseURL, maxRetries: 0 });
    for (const id of ['rtc_x1', 'rtc_x2', 'rtc_from_transport']) {
      api.ring(id);
      await callControl.accept(id, {});
    }
    const plain = openAISipTransfer({ callControl });
    await expect(plain(requestFor('rtc_x1', '+1 (555) 000-1111'))).resolves.toEqual({
      transferred: true,
      destination: 'sales',
      target: 'tel:+15550001111',
      alreadyEnded: false,
    });
    const withContext = openAISipTransfer({ callControl, contextInUri: true });
    await withContext(requestFor('rtc_x2', 'sip:desk@pbx.example.com'));
    // No call id in the request: the transport's.
    await plain(requestFor(undefined, 'sip:desk@pbx.example.com'));
    expect(api.requestsFor('refer').map((r) => [r.callId, (r.body as { target_uri: string }).target_uri])).toEqual([
      ['rtc_x1', 'tel:+15550001111'],
      [
        'rtc_x2',
        'sip:desk@pbx.example.com?X-campaign=spring&X-Transfer-Destination=sales&X-Transfer-Reason=billing&X-Transfer-Summary=Refund%20for%20order%2042',
      ],
      ['rtc_from_transport', 'sip:desk@pbx.example.com'],
    ]);
  });

  it('refuses without call control, a destination that is no URI or number, and a call without an id', async () => {
    expect(() => openAISipTransfer({})).toThrow(ConfigError);
    const callControl = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: api.baseURL, maxRetries: 0 });
    const handler = openAISipTransfer({ callControl });
    await expect(handler(requestFor('rtc_x3', 'the front desk'))).rejects.toThrow(ConfigError);
    const orphan = { ...requestFor(undefined, 'tel:+15550001111'), transport: {} as TelephonyRealtimeTransport };
    await expect(handler(orphan)).rejects.toThrow(/no OpenAI call id/);
  });
});

describe('the core call tools on an OpenAI SIP session', () => {
  const DEADLINE = 30_000;

  /** A spoken turn: `ms` of a tone (PCM16 24 kHz), then the call of `name`. */
  function turn(ms: number, transcript: string, call?: { name: string; arguments: Record<string, unknown> }) {
    const audio = new Int16Array((24000 * ms) / 1000);
    for (let i = 0; i < audio.length; i++) audio[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 24000));
    return { kind: 'audio', transcript, audio, ...(call ? { call } : {}) } satisfies SimulatorTurn;
  }

  /**
   * An accepted call `callId` with a session on an OpenAISipTransport, the tools in its agent and
   * the transport in its context. OpenAI's output buffer is played by the test: `started` is sent
   * for each response as it is created; `stop()` sends `stopped` for all of them.
   */
  async function sipCall(callId: string, script: SimulatorTurn[], tools: CallTool[], callControl = control()) {
    const sim = new RealtimeSimulator({ script, speed: 4 });
    await sim.start();
    cleanup.push(() => void sim.stop());
    api.ring(callId);
    await callControl.accept(callId, {});
    const transport = new OpenAISipTransport({ call: callFor(callId), url: sim.url, callControl });
    const agent = new RealtimeAgent({ name: 'phone', instructions: 'Help the caller.', tools });
    const session = new RealtimeSession(agent, { transport, context: { transport } });
    cleanup.push(() => session.close());
    const errors: unknown[] = [];
    transport.on('error', (event) => errors.push((event as { error: unknown }).error));
    const sessionErrors: unknown[] = [];
    session.on('error', (event) => sessionErrors.push(event.error));
    const ends: string[] = [];
    transport.on('call_end', (event) => ends.push(event.reason));
    const toolStarts: string[] = [];
    session.on('agent_tool_start', (_context, _agent, tool) => toolStarts.push(tool.name));
    const simulated = sim.nextSession();
    await session.connect({ apiKey: API_KEY });
    const model = await simulated;
    const responses: string[] = [];
    transport.on('*', (event: { type: string; response?: { id?: string } }) => {
      if (event.type !== 'response.created' || typeof event.response?.id !== 'string') return;
      responses.push(event.response.id);
      model.send({ type: 'output_audio_buffer.started', response_id: event.response.id });
    });
    let stopped = false;
    const stop = () => {
      stopped = true;
      for (const id of responses) model.send({ type: 'output_audio_buffer.stopped', response_id: id });
    };
    return {
      callControl,
      transport,
      session,
      model,
      errors,
      sessionErrors,
      ends,
      toolStarts,
      stop,
      stopped: () => stopped,
    };
  }

  const control = () => new OpenAISipCallControl({ apiKey: API_KEY, baseURL: api.baseURL, maxRetries: 0 });

  it('end_call hangs up through call control once OpenAI played the goodbye, and ends as agent_hangup', async () => {
    const c = await sipCall('rtc_t1', [turn(400, 'Goodbye!', { name: 'end_call', arguments: {} })], [endCallTool()]);
    const atHangUp: boolean[] = [];
    const hangup = c.callControl.hangup.bind(c.callControl);
    c.callControl.hangup = (callId: string) => {
      atHangUp.push(c.stopped());
      return hangup(callId);
    };
    c.session.sendMessage('That is all, thanks.');
    await waitFor(() => c.toolStarts.length === 1, DEADLINE, 'end_call');
    await turns();
    c.stop();
    await waitFor(() => c.ends.length === 1, DEADLINE, 'call_end');
    expect(atHangUp).toEqual([true]);
    expect(api.requestsFor('hangup').map((r) => r.callId)).toContain('rtc_t1');
    expect(c.ends).toEqual(['agent_hangup']);
    // The tool's output reached the model before the socket closed, and asked for no new response.
    expect(c.model.functionCallOutputs).toHaveLength(1);
    expect(c.model.functionCallOutputs[0]!.output).toMatch(/heard the goodbye/);
    expect(c.model.responses).toHaveLength(1);
    expect(c.errors).toEqual([]);
    expect(c.sessionErrors).toEqual([]);
  }, 60_000);

  const args = { destination: 'sales', reason: 'wants a quote', summary: 'Caller wants a quote for 20 seats.' };

  it('transfer_call refers the call once OpenAI played the agent’s words, and ends as transferred', async () => {
    const callControl = control();
    const c = await sipCall(
      'rtc_t2',
      [turn(400, 'Transferring you to sales.', { name: 'transfer_call', arguments: args })],
      [
        transferCallTool({
          destinations: { sales: 'sip:sales@pbx.example.com' },
          transfer: openAISipTransfer({ callControl }),
        }),
      ],
      callControl,
    );
    const refers = () => api.requestsFor('refer').filter((r) => r.callId === 'rtc_t2');
    c.session.sendMessage('I would like to buy.');
    await waitFor(() => c.toolStarts.length === 1, DEADLINE, 'transfer_call');
    await turns();
    const refersAtStop = refers().length;
    c.stop();
    await waitFor(() => c.ends.length === 1, DEADLINE, 'call_end');
    expect(refersAtStop).toBe(0);
    expect(refers().map((r) => (r.body as { target_uri: string }).target_uri)).toEqual(['sip:sales@pbx.example.com']);
    expect(c.ends).toEqual(['transferred']);
    await waitFor(() => c.model.isClosed, DEADLINE, 'the socket to close');
    expect(c.errors).toEqual([]);
    expect(c.sessionErrors).toEqual([]);
  }, 60_000);

  it('a refused transfer tells the model in a sentence, emits an error, and the call goes on', async () => {
    const callControl = control();
    const c = await sipCall(
      'rtc_t3',
      [
        turn(200, 'Transferring you.', { name: 'transfer_call', arguments: args }),
        turn(200, 'Sorry, that did not work.'),
      ],
      [transferCallTool({ destinations: { sales: '+15550100' }, transfer: openAISipTransfer({ callControl }) })],
      callControl,
    );
    c.session.sendMessage('Sales please.');
    await waitFor(() => c.toolStarts.length === 1, DEADLINE, 'transfer_call');
    // OpenAI refuses the refer.
    api.failures.push(409);
    c.stop();
    await waitFor(() => c.model.functionCallOutputs.length === 1, DEADLINE, 'the tool output');
    expect(c.model.functionCallOutputs[0]!.output).toMatch(/did not go through/);
    expect(api.requestsFor('refer').filter((r) => r.callId === 'rtc_t3')).toHaveLength(1);
    expect(c.errors).toHaveLength(1);
    expect(String((c.errors[0] as Error).message)).toMatch(/409|forced failure/);
    // The model answers the failure in a new response, on a call that is still up.
    await waitFor(() => c.model.responses.length === 2, DEADLINE, 'a second response');
    expect(c.ends).toEqual([]);
    expect(c.model.isClosed).toBe(false);
  }, 60_000);
});
