import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import type { SimulatedSession } from '@switchboard/conformance';
import { ConfigError } from '@switchboard/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  OpenAISipCallControl,
  OpenAISipTransport,
  attachOpenAISipSession,
  openAIRealtimeCallUrl,
  parseOpenAISipCall,
  type OpenAISipCallStartEvent,
  type OpenAIWebhookEvent,
} from '../src/index.js';
import { API_KEY, incomingCallEvent, useOpenAIFakes, waitFor } from './openai-fakes.js';

const { simulator, api } = useOpenAIFakes({ beforeAll, afterAll });
const agent = new RealtimeAgent({ name: 'Receptionist', instructions: 'Answer the phone.' });
const cleanup: Array<() => void> = [];

afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

function callFor(callId: string) {
  return parseOpenAISipCall(
    incomingCallEvent(callId, undefined, { sip_media_security: 'srtp' }) as OpenAIWebhookEvent,
    `msg_${callId}`,
  );
}

describe('openAIRealtimeCallUrl', () => {
  it('adds or replaces call_id and keeps the rest of the URL', () => {
    expect(openAIRealtimeCallUrl('wss://api.openai.com/v1/realtime', 'rtc_1')).toBe(
      'wss://api.openai.com/v1/realtime?call_id=rtc_1',
    );
    expect(openAIRealtimeCallUrl('ws://127.0.0.1:9/v1/realtime?call_id=old&x=1', 'rtc 2')).toBe(
      'ws://127.0.0.1:9/v1/realtime?call_id=rtc+2&x=1',
    );
    expect(openAIRealtimeCallUrl('https://example.com/v1/realtime', 'a')).toBe(
      'wss://example.com/v1/realtime?call_id=a',
    );
    expect(() => openAIRealtimeCallUrl('not a url', 'a')).toThrow(ConfigError);
    expect(() => openAIRealtimeCallUrl('ftp://example.com/', 'a')).toThrow(ConfigError);
  });
});

describe('OpenAISipTransport', () => {
  it('attaches to the call with ?call_id= and emits call_start with the SIP headers', async () => {
    const call = callFor('rtc_t1');
    const transport = new OpenAISipTransport({ call, url: simulator.url });
    cleanup.push(() => transport.close());
    const starts: OpenAISipCallStartEvent[] = [];
    const raw: unknown[] = [];
    transport.on('call_start', (event) => starts.push(event));
    transport.on('*', (event) => raw.push(event));
    const connected = simulator.nextSession();
    await transport.connect({ apiKey: API_KEY });
    const simulated = await connected;

    expect(simulated.connection.callId).toBe('rtc_t1');
    expect(simulated.connection.url).toBe('/v1/realtime?call_id=rtc_t1');
    expect(simulated.connection.auth).toBe('bearer');
    expect(transport.status).toBe('connected');
    expect(transport.callId).toBe('rtc_t1');
    expect(starts).toHaveLength(1);
    expect(starts[0]).toEqual({
      type: 'call_start',
      callId: 'rtc_t1',
      streamId: 'rtc_t1',
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      from: 'sip:+15551230001@pstn.example.net',
      to: 'sip:+15559870002@sip.api.openai.com',
      // The X- headers without the prefix, a repeated one's values joined, as the endpoint reports them.
      customParameters: { 'Customer-Id': 'cust-42, ignored-second', campaign: 'spring' },
      raw: call.event,
      sip: {
        callId: 'dlg-4f2a9c@10.0.0.7',
        from: call.from,
        to: call.to,
        headers: call.sipHeaders,
        mediaSecurity: 'srtp',
      },
    });
    expect(transport.callStart).toBe(starts[0]);
    expect(raw).toContainEqual(starts[0]);
    await waitFor(() => simulated.sessionUpdates.length > 0, 5000, 'session.update');
  });

  it('works under a RealtimeSession: session.connect({ callId }), transport_event, interrupt, call_end', async () => {
    const transport = new OpenAISipTransport({ url: simulator.url });
    const session = new RealtimeSession(agent, { transport, model: 'gpt-realtime' });
    cleanup.push(() => session.close());
    const seen: string[] = [];
    session.on('transport_event', (event) => {
      if (event.type === 'call_start' || event.type === 'call_end') seen.push(event.type);
    });
    const ends: unknown[] = [];
    transport.on('call_end', (event) => ends.push(event));
    const connected = simulator.nextSession();
    await session.connect({ apiKey: API_KEY, callId: 'rtc_t2' });
    const simulated = await connected;
    expect(simulated.connection.callId).toBe('rtc_t2');
    expect(transport.callStart).toMatchObject({
      callId: 'rtc_t2',
      customParameters: {},
      raw: null,
      sip: { headers: [] },
    });
    expect(transport.callStart?.from).toBeUndefined();

    // The session config the agent produces reaches the simulator.
    await waitFor(() =>
      simulated.sessionUpdates.some((s) => (s as { instructions?: string }).instructions === 'Answer the phone.'),
    );

    // A response runs end to end; then an interrupt clears OpenAI's output buffer (no truncate).
    const done = new Promise<void>((resolve) => session.once('agent_end', () => resolve()));
    transport.requestResponse();
    await done;
    session.interrupt();
    await waitFor(() =>
      simulated.events.some((e) => (e.event as { type?: string }).type === 'output_audio_buffer.clear'),
    );
    expect(simulated.events.some((e) => (e.event as { type?: string }).type === 'conversation.item.truncate')).toBe(
      false,
    );
    expect(() => transport.sendAudio(new ArrayBuffer(8))).toThrow();
    expect(simulated.violations).toEqual([]);

    // OpenAI closes the socket when the call ends.
    await simulated.close(1000, 'call ended');
    await waitFor(() => ends.length === 1, 5000, 'call_end');
    expect(ends[0]).toEqual({ type: 'call_end', reason: 'disconnected' });
    expect(seen).toEqual(['call_start', 'call_end']);
    expect(transport.status).toBe('disconnected');
  });

  it('reports close() from this side as reason "closed", once', async () => {
    const transport = new OpenAISipTransport({ callId: 'rtc_t3', url: simulator.url });
    const ends: unknown[] = [];
    transport.on('call_end', (event) => ends.push(event));
    const connected = simulator.nextSession();
    await transport.connect({ apiKey: API_KEY });
    const simulated = await connected;
    transport.close();
    transport.close();
    expect(ends).toEqual([{ type: 'call_end', reason: 'closed' }]);
    await simulated.closed;
  });

  it('re-attaching to the same call emits a new call_start / call_end pair', async () => {
    const transport = new OpenAISipTransport({ call: callFor('rtc_t4'), url: simulator.url });
    const events: string[] = [];
    transport.on('call_start', () => events.push('start'));
    transport.on('call_end', () => events.push('end'));
    await transport.connect({ apiKey: API_KEY });
    transport.close();
    await transport.connect({ apiKey: API_KEY });
    transport.close();
    expect(events).toEqual(['start', 'end', 'start', 'end']);
  });

  it('needs a call id, and refuses a different call than the one it was made for', async () => {
    const bare = new OpenAISipTransport({ url: simulator.url });
    await expect(bare.connect({ apiKey: API_KEY })).rejects.toBeInstanceOf(ConfigError);
    const bound = new OpenAISipTransport({ call: callFor('rtc_t5'), url: simulator.url });
    await expect(bound.connect({ apiKey: API_KEY, callId: 'rtc_other' })).rejects.toBeInstanceOf(ConfigError);
    expect(() => new OpenAISipTransport({ url: 'nope' })).toThrow(ConfigError);
    expect(() => new OpenAISipTransport({ callId: '' })).toThrow(ConfigError);
    expect(() => new OpenAISipTransport({ call: {} as never })).toThrow(ConfigError);
  });

  it('a listener that throws becomes an error event, and the call goes on', async () => {
    const transport = new OpenAISipTransport({ callId: 'rtc_t6', url: simulator.url });
    cleanup.push(() => transport.close());
    const errors: unknown[] = [];
    transport.on('error', (event) => errors.push(event.error));
    transport.on('call_start', () => {
      throw new Error('listener bug');
    });
    await transport.connect({ apiKey: API_KEY });
    expect(transport.status).toBe('connected');
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('listener bug');
  });

  it('hangs up and transfers through its call control', async () => {
    const callControl = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: api.baseURL, maxRetries: 0 });
    api.ring('rtc_t7');
    await callControl.accept('rtc_t7', {});
    const transport = new OpenAISipTransport({ call: callFor('rtc_t7'), url: simulator.url, callControl });
    await expect(transport.refer('+15550001111')).resolves.toEqual({ alreadyEnded: false });
    expect(api.requestsFor('refer').at(-1)).toMatchObject({
      callId: 'rtc_t7',
      body: { target_uri: 'tel:+15550001111' },
    });
    await expect(transport.hangup()).resolves.toEqual({ alreadyEnded: true });
    expect(() => new OpenAISipTransport({ callId: 'x' }).hangup()).toThrow(ConfigError);
  });
});

describe('attachOpenAISipSession', () => {
  it('connects a RealtimeSession to the call and closes it when the call ends', async () => {
    const callControl = new OpenAISipCallControl({ apiKey: API_KEY, baseURL: api.baseURL, maxRetries: 0 });
    const connected = simulator.nextSession();
    const { session, transport } = await attachOpenAISipSession({
      call: callFor('rtc_s1'),
      agent,
      sessionOptions: { model: 'gpt-realtime' },
      url: simulator.url,
      callControl, // its client's key is used for the socket
    });
    const simulated: SimulatedSession = await connected;
    expect(simulated.connection).toMatchObject({ callId: 'rtc_s1', auth: 'bearer' });
    expect(session.transport).toBe(transport);
    expect(transport.callStart?.customParameters).toEqual({
      'Customer-Id': 'cust-42, ignored-second',
      campaign: 'spring',
    });
    const ended = new Promise((resolve) => transport.once('call_end', resolve));
    await simulated.close();
    await ended;
    expect(transport.status).toBe('disconnected');
  });

  it('rejects when the socket cannot be opened, and without a key', async () => {
    await expect(
      attachOpenAISipSession({ call: 'rtc_s2', agent, apiKey: API_KEY, url: 'ws://127.0.0.1:9/v1/realtime' }),
    ).rejects.toBeDefined();
    const saved = process.env['OPENAI_API_KEY'];
    delete process.env['OPENAI_API_KEY'];
    try {
      await expect(attachOpenAISipSession({ call: 'rtc_s3', agent, url: simulator.url })).rejects.toBeInstanceOf(
        ConfigError,
      );
    } finally {
      if (saved !== undefined) process.env['OPENAI_API_KEY'] = saved;
    }
    await expect(attachOpenAISipSession({ call: '', agent })).rejects.toBeInstanceOf(ConfigError);
  });
});
