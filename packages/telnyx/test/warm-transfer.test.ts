import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RealtimeSimulator, loadAgentReplies, type SimulatorTurn } from '@switchboard/conformance';
import {
  CallControlError,
  ConfigError,
  transferCallTool,
  type CallEvent,
  type TransferRequest,
} from '@switchboard/core';
import { startFakeRest, until, useTransportRig, type FakeRest } from '@switchboard/conformance/testing';
import { TelnyxCallControl, TelnyxRealtimeTransport, TelnyxWarmTransfer } from '../src/index.js';
import { TelnyxPeerSimulator } from '../src/testing.js';

const CALLER = 'v3:caller-leg-0001';
const PERSON = 'v3:person-leg-0002';
const STREAM = 'stream-0001';
const WAIT = 20_000;

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: { url?: string } | undefined) =>
    new TelnyxRealtimeTransport({
      telnyxWebSocket: carrier,
      url: options?.url ?? url,
      inputAudioInactivityTimeoutMs: null,
    }),
);

const start: CallEvent = {
  type: 'call_start',
  streamId: STREAM,
  callId: CALLER,
  customParameters: {},
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  raw: null,
};

/** 200 ms of a μ-law square wave that neither speech nor silence looks like. */
const HOLD = new Uint8Array(1600).map((_, i) => (i % 16 < 8 ? 0x10 : 0x90));
/** A frame of the hold tone: nothing but its two values. */
const isHold = (payload: Uint8Array) => payload.every((b) => b === 0x10 || b === 0x90);
/** A frame of speech: neither the hold tone nor silence. */
const isSpeech = (payload: Uint8Array) => payload.some((b) => b !== 0x10 && b !== 0x90 && b !== 0xff && b !== 0x7f);

let api: FakeRest;
let calls: TelnyxCallControl;
/** Telnyx's side of the stream of the test's call. */
let peer: TelnyxPeerSimulator;

beforeEach(async () => {
  api = await startFakeRest((request) =>
    request.path === '/v2/calls'
      ? { status: 200, body: { data: { call_control_id: PERSON, call_leg_id: 'l', call_session_id: 's' } } }
      : { status: 200, body: { data: { result: 'ok' } } },
  );
  calls = new TelnyxCallControl({ apiKey: 'KEY_test', baseUrl: api.url });
  peer = new TelnyxPeerSimulator();
  acked = 0;
});
afterEach(async () => {
  await api.stop();
});

/** The requests so far, as `[action or 'dial', body]`. */
function sent(): Array<[string, Record<string, unknown>]> {
  return api.requests.map((r) => [
    r.path === '/v2/calls' ? 'dial' : r.path.slice(r.path.lastIndexOf('/') + 1),
    JSON.parse(r.body) as Record<string, unknown>,
  ]);
}

/** A webhook of the person's leg, carrying the client state the dial set (as Telnyx returns it). */
function webhook(type: string, clientState?: unknown) {
  const state = clientState ?? sent().find(([a]) => a === 'dial')?.[1]['client_state'];
  return { data: { event_type: type, payload: { call_control_id: PERSON, client_state: state } } };
}

async function started() {
  const transport = rig.make();
  await transport.connect({ apiKey: 'sk-test' });
  rig.send(peer, start);
  await until(() => transport.callStart !== undefined, WAIT);
  const events: Array<{ phase: string; reason?: string; name?: string }> = [];
  transport.on('injected_audio', (e) => events.push(e as never));
  const request: TransferRequest = {
    name: 'supervisor',
    destination: '+13125550003',
    summary: 'Refund for order 1234, already verified.',
    callId: CALLER,
    streamId: STREAM,
    callStart: transport.callStart!,
    transport,
  };
  return { transport, request, events };
}

let acked = 0;
/** Telnyx plays what it was sent: every mark sent so far comes back. */
function playOut(): true {
  const marks = rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f)).filter((c) => c.type === 'mark');
  for (const mark of marks.slice(acked)) rig.send(peer, { type: 'playback_ack', name: mark.name });
  acked = marks.length;
  return true;
}

function holdFramesSent(): number {
  return rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f)).filter((c) => c.type === 'audio' && isHold(c.payload))
    .length;
}

describe('TelnyxWarmTransfer', () => {
  it('holds the caller, dials the person, speaks the summary on answer, then bridges and stops the stream', async () => {
    const { request, events } = await started();
    const warm = new TelnyxWarmTransfer({
      callControl: calls,
      connectionId: 'conn-1',
      from: '+13125550000',
      holdAudio: HOLD,
    });
    const done = warm.transfer(request);
    await until(() => sent().length === 1 && holdFramesSent() > 0, WAIT);
    expect(events[0]).toMatchObject({ phase: 'start', name: 'hold' });
    const [, dial] = sent()[0]!;
    expect(dial).toMatchObject({ to: '+13125550003', from: '+13125550000', connection_id: 'conn-1', timeout_secs: 30 });
    expect(JSON.parse(Buffer.from(dial['client_state'] as string, 'base64').toString())).toEqual({
      switchboardWarmTransfer: expect.any(String),
    });
    expect(warm.pending).toBe(1);

    expect(warm.handleWebhook(webhook('call.initiated'))).toBe(true);
    expect(warm.handleWebhook(JSON.stringify(webhook('call.answered')))).toBe(true);
    await until(() => sent().length === 2, WAIT);
    expect(sent()[1]).toEqual([
      'speak',
      { payload: 'Incoming transfer. Refund for order 1234, already verified.', voice: 'female' },
    ]);
    // The caller is still on hold while the person listens.
    expect(events.some((e) => e.phase === 'end')).toBe(false);

    expect(warm.handleWebhook(webhook('call.speak.ended'))).toBe(true);
    await expect(done).resolves.toEqual({ transferred: true, to: '+13125550003', callControlId: PERSON });
    expect(sent().slice(2)).toEqual([
      ['bridge', { call_control_id: PERSON }],
      ['streaming_stop', { stream_id: STREAM }],
    ]);
    expect(api.requests[2]!.path).toBe(`/v2/calls/${CALLER}/actions/bridge`);
    expect(api.requests[3]!.path).toBe(`/v2/calls/${CALLER}/actions/streaming_stop`);
    await until(() => playOut() && events.some((e) => e.phase === 'end'), WAIT);
    expect(events.find((e) => e.phase === 'end')).toMatchObject({ name: 'hold', reason: 'stopped' });
    expect(warm.pending).toBe(0);
    expect(warm.handleWebhook(webhook('call.hangup'))).toBe(false);
  });

  it('matches a webhook that comes before the dial’s answer by its client state', async () => {
    const { request } = await started();
    let state: string | undefined;
    api.reply = (r) => {
      if (r.path !== '/v2/calls') return { status: 200, body: {} };
      state = (JSON.parse(r.body) as { client_state: string }).client_state;
      return { status: 200, body: { data: { call_control_id: PERSON } } };
    };
    const warm = new TelnyxWarmTransfer({ callControl: calls, connectionId: 'c', from: '+1', whisper: () => '' });
    const done = warm.transfer(request);
    await until(() => state !== undefined, WAIT);
    expect(warm.handleWebhook(webhook('call.answered', state))).toBe(true);
    await expect(done).resolves.toMatchObject({ transferred: true });
    // No summary to speak: straight to the bridge.
    expect(sent().map(([a]) => a)).toEqual(['dial', 'bridge', 'streaming_stop']);
  });

  it('counts the transfer as done once caller and person are joined, even if stopping the stream is refused', async () => {
    const { request } = await started();
    api.reply = (r) =>
      r.path === '/v2/calls'
        ? { status: 200, body: { data: { call_control_id: PERSON } } }
        : r.path.endsWith('/streaming_stop')
          ? { status: 500, body: { errors: [{ code: '90000', title: 'Internal error' }] } }
          : { status: 200, body: {} };
    const warm = new TelnyxWarmTransfer({ callControl: calls, connectionId: 'c', from: '+1', whisper: () => '' });
    const done = warm.transfer(request);
    await until(() => sent().length === 1, WAIT);
    warm.handleWebhook(webhook('call.answered'));
    await expect(done).resolves.toMatchObject({ transferred: true, callControlId: PERSON });
    // Joined: the person's leg is not hung up.
    expect(sent().map(([a]) => a)).toEqual(['dial', 'bridge', 'streaming_stop']);
  });

  it('gives the call back to the agent when the person does not pick up: hold stops, the transfer fails', async () => {
    const { request, events } = await started();
    const warm = new TelnyxWarmTransfer({ callControl: calls, connectionId: 'c', from: '+1', holdAudio: HOLD });
    const done = warm.transfer(request);
    await until(() => sent().length === 1, WAIT);
    warm.handleWebhook(webhook('call.hangup'));
    const error = await done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallControlError);
    expect((error as Error).message).toMatch(/supervisor did not answer/);
    await until(() => playOut() && events.some((e) => e.phase === 'end'), WAIT);
    // The person's leg is gone already: nothing more is sent.
    expect(sent().map(([a]) => a)).toEqual(['dial']);
    expect(warm.pending).toBe(0);
    expect(request.transport.status).toBe('connected');
  });

  it('hangs up the person’s leg when nobody answers in time', async () => {
    const { request } = await started();
    const warm = new TelnyxWarmTransfer({ callControl: calls, connectionId: 'c', from: '+1', answerTimeoutMs: 200 });
    await expect(warm.transfer(request)).rejects.toThrow(/did not answer/);
    expect(sent().map(([a]) => a)).toEqual(['dial', 'hangup']);
    expect(api.requests[1]!.path).toBe(`/v2/calls/${PERSON}/actions/hangup`);
    expect(sent()[0]![1]['timeout_secs']).toBe(5);
  });

  it('hangs up the person’s leg when the caller leaves while it rings, or it hangs up while listening', async () => {
    const first = await started();
    const warm = new TelnyxWarmTransfer({ callControl: calls, connectionId: 'c', from: '+1' });
    const done = warm.transfer(first.request);
    await until(() => sent().length === 1, WAIT);
    first.transport.end('caller_hangup');
    await expect(done).rejects.toThrow(/caller hung up/);
    expect(sent().map(([a]) => a)).toEqual(['dial', 'hangup']);
  });

  it('does not join the person who hangs up during the summary', async () => {
    const { request } = await started();
    const warm = new TelnyxWarmTransfer({ callControl: calls, connectionId: 'c', from: '+1' });
    const done = warm.transfer(request);
    await until(() => sent().length === 1, WAIT);
    warm.handleWebhook(webhook('call.answered'));
    await until(() => sent().length === 2, WAIT);
    warm.handleWebhook(webhook('call.hangup'));
    await expect(done).rejects.toThrow(/hung up before being joined/);
    expect(sent().map(([a]) => a)).toEqual(['dial', 'speak']);
  });

  it('ignores webhooks of other calls and malformed ones without throwing', async () => {
    const warm = new TelnyxWarmTransfer({ callControl: calls, connectionId: 'c', from: '+1' });
    const other = Buffer.from(JSON.stringify({ switchboardWarmTransfer: 'nope' })).toString('base64');
    for (const input of [
      undefined,
      'not json',
      new Uint8Array([0xff]),
      { data: { event_type: 'call.answered', payload: { call_control_id: 'x', client_state: other } } },
      { data: { event_type: 'call.answered', payload: { client_state: '!!not base64' } } },
      { data: { event_type: 'call.answered', payload: null } },
    ]) {
      expect(warm.handleWebhook(input)).toBe(false);
    }
  });

  it('refuses bad options with a ConfigError', () => {
    const ok = { callControl: calls, connectionId: 'c', from: '+1' };
    expect(() => new TelnyxWarmTransfer({ ...ok, connectionId: '' })).toThrow(ConfigError);
    expect(() => new TelnyxWarmTransfer({ ...ok, from: '' })).toThrow(ConfigError);
    expect(() => new TelnyxWarmTransfer({ ...ok, answerTimeoutMs: -1 })).toThrow(ConfigError);
    expect(() => new TelnyxWarmTransfer({ ...ok, callControl: {} as TelnyxCallControl })).toThrow(ConfigError);
  });
});

describe('TelnyxWarmTransfer as transfer_call of an agent', () => {
  const replies = loadAgentReplies().filter((t): t is Extract<SimulatorTurn, { kind: 'audio' }> => t.kind === 'audio');
  const second = (i: number) => replies[i]!.audio.subarray(0, 24_000);
  // The model says "one moment, I'll get my supervisor" and calls transfer_call; if that fails, it
  // speaks to the caller again.
  const simulator = new RealtimeSimulator({
    speed: 10,
    script: [
      {
        kind: 'audio',
        transcript: 'One moment, I will get my supervisor.',
        audio: second(0),
        call: {
          name: 'transfer_call',
          arguments: { destination: 'supervisor', reason: 'refund', summary: 'Refund for order 1234.' },
        },
      },
      { kind: 'audio', transcript: 'Sorry, nobody is free. How else can I help?', audio: second(1) },
    ],
  });
  beforeAll(async () => {
    await simulator.start();
  });
  afterAll(async () => {
    await simulator.stop();
  });

  async function call(warm: TelnyxWarmTransfer) {
    const transport = rig.make({ url: simulator.url });
    const agent = new RealtimeAgent({
      name: 'Receptionist',
      instructions: 'Hand refunds to the supervisor.',
      tools: [transferCallTool({ destinations: { supervisor: '+13125550003' }, transfer: warm.transfer })],
    });
    const session = new RealtimeSession(agent, { transport, context: { transport } });
    const ends: Array<{ reason?: string }> = [];
    transport.on('call_end', (e) => ends.push(e));
    await session.connect({ apiKey: 'sk-test' });
    rig.send(peer, start);
    await until(() => transport.callStart !== undefined, WAIT);
    transport.sendEvent({ type: 'response.create' });
    return { transport, session, ends };
  }

  it('the caller hears hold audio, the person the summary, then both are joined and the call ends transferred', async () => {
    const warm = new TelnyxWarmTransfer({
      callControl: calls,
      connectionId: 'c',
      from: '+13125550000',
      holdAudio: HOLD,
    });
    const { session, ends } = await call(warm);
    // The goodbye plays out (Telnyx returns the marks), then the person is dialled.
    await until(() => playOut() && sent().length === 1, WAIT);
    expect(sent()[0]![0]).toBe('dial');
    await until(() => playOut() && holdFramesSent() > 0, WAIT);
    warm.handleWebhook(webhook('call.answered'));
    await until(() => sent().length === 2, WAIT);
    expect(sent()[1]).toEqual(['speak', { payload: 'Incoming transfer. Refund for order 1234.', voice: 'female' }]);
    warm.handleWebhook(webhook('call.speak.ended'));
    await until(() => playOut() && ends.length > 0, WAIT);
    expect(sent().map(([a]) => a)).toEqual(['dial', 'speak', 'bridge', 'streaming_stop']);
    expect(ends[0]!.reason).toBe('transferred');
    session.close();
  });

  it('when the person does not answer, the agent speaks to the caller again', async () => {
    const warm = new TelnyxWarmTransfer({
      callControl: calls,
      connectionId: 'c',
      from: '+13125550000',
      holdAudio: HOLD,
    });
    const { transport, session, ends } = await call(warm);
    await until(() => playOut() && sent().length === 1 && holdFramesSent() > 0, WAIT);
    const before = rig.carrier.sent.length;
    warm.handleWebhook(webhook('call.hangup'));
    // The model's next reply reaches the caller: frames that are not the hold tone.
    await until(
      () =>
        playOut() &&
        rig.carrier.sent
          .slice(before)
          .flatMap((f) => peer.decodeOutbound(f))
          .some((c) => c.type === 'audio' && isSpeech(c.payload)),
      WAIT,
    );
    expect(sent().map(([a]) => a)).toEqual(['dial']);
    expect(ends).toHaveLength(0);
    expect(transport.status).toBe('connected');
    session.close();
  });
});
