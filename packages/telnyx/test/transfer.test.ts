import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RealtimeSimulator, loadAgentReplies, type SimulatorTurn } from '@switchboard/conformance';
import { ConfigError, transferCallTool, type OutboundCommand, type TransferRequest } from '@switchboard/core';
import { FakeCarrier, startFakeRest, until, type FakeRest } from '@switchboard/conformance/testing';
import {
  TelnyxCallControl,
  TelnyxRealtimeTransport,
  telnyxTransfer,
  telnyxTransferHeaders,
  telnyxTransferState,
} from '../src/index.js';
import { TelnyxPeerSimulator } from '../src/testing.js';

const CALL = 'v3:caller-leg-0001';
const WAIT = 30_000;
const SUMMARY = 'Wants a refund for order 1234; identity checked.';

/** The first recorded reply, cut to one second: "transferring you", as the model would say it. */
function transferTurn(): SimulatorTurn {
  const reply = loadAgentReplies().find((t) => t.kind === 'audio')!;
  if (reply.kind !== 'audio') throw new Error('no recorded reply');
  return {
    kind: 'audio',
    transcript: 'Let me transfer you to billing.',
    audio: reply.audio.subarray(0, 24_000),
    call: { name: 'transfer_call', arguments: { destination: 'billing', reason: 'refund', summary: SUMMARY } },
  };
}

const simulator = new RealtimeSimulator({ speed: 10, script: [transferTurn()] });
let api: FakeRest;
const cleanup: Array<() => void> = [];

beforeAll(async () => {
  await simulator.start();
});
afterAll(async () => {
  await simulator.stop();
});
beforeEach(async () => {
  api = await startFakeRest(() => ({ status: 200, body: { data: { result: 'ok' } } }));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0)) fn();
  await api.stop();
});

function request(overrides: Partial<TransferRequest> = {}): TransferRequest {
  return {
    name: 'sales',
    destination: 'sip:sales@pbx.example.com',
    reason: 'wants a quote',
    summary: SUMMARY,
    callId: CALL,
    transport: {} as TransferRequest['transport'],
    ...overrides,
  } as TransferRequest;
}

describe('telnyxTransfer', () => {
  it('transfers with actions/transfer, the reason and summary in SIP headers and the new leg’s client state', async () => {
    const callControl = new TelnyxCallControl({ apiKey: 'KEY_test', baseUrl: api.url });
    const handler = telnyxTransfer({ callControl, from: '+13125550000', timeoutSecs: 25 });
    await expect(handler(request())).resolves.toEqual({
      transferred: true,
      alreadyEnded: false,
      to: 'sip:sales@pbx.example.com',
    });
    const [sent] = api.requests;
    expect(sent!.path).toBe(`/v2/calls/${CALL}/actions/transfer`);
    const body = JSON.parse(sent!.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      to: 'sip:sales@pbx.example.com',
      from: '+13125550000',
      timeout_secs: 25,
      custom_headers: [
        { name: 'X-Transfer-Reason', value: 'wants a quote' },
        { name: 'X-Transfer-Summary', value: SUMMARY },
        { name: 'X-Transfer-Target', value: 'sales' },
      ],
    });
    expect(JSON.parse(Buffer.from(body['target_leg_client_state'] as string, 'base64').toString())).toEqual({
      transfer: 'sales',
      reason: 'wants a quote',
      summary: SUMMARY,
      callControlId: CALL,
    });
  });

  it('keeps header values on one line and short; headers and client state can be replaced or left out', async () => {
    const long = `line one\r\nline two ${'x'.repeat(1400)}`;
    const headers = telnyxTransferHeaders(request({ summary: long, reason: undefined }));
    expect(headers.map((h) => h.name)).toEqual(['X-Transfer-Summary', 'X-Transfer-Target']);
    expect(headers[0]!.value).toMatch(/^line one line two x+$/);
    expect(headers[0]!.value.length).toBe(256);
    expect(JSON.parse(telnyxTransferState(request({ summary: long }))).summary).toHaveLength(1000);

    const callControl = new TelnyxCallControl({ apiKey: 'KEY_test', baseUrl: api.url });
    await telnyxTransfer({ callControl, headers: false, targetClientState: false })(request());
    await telnyxTransfer({
      callControl,
      headers: (r) => [{ name: 'X-Ticket', value: r.name }],
      targetClientState: () => 'plain',
      extra: { early_media: false },
    })(request());
    const [bare, custom] = api.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(bare).toEqual({ to: 'sip:sales@pbx.example.com' });
    expect(custom).toEqual({
      to: 'sip:sales@pbx.example.com',
      custom_headers: [{ name: 'X-Ticket', value: 'sales' }],
      target_leg_client_state: Buffer.from('plain').toString('base64'),
      early_media: false,
    });
  });

  it('refuses a call without a call control id, bad options and headers Telnyx cannot send', async () => {
    const callControl = new TelnyxCallControl({ apiKey: 'KEY_test', baseUrl: api.url });
    await expect(telnyxTransfer({ callControl })(request({ callId: undefined }))).rejects.toThrow(ConfigError);
    expect(() => telnyxTransfer({} as never)).toThrow(ConfigError);
    expect(() => telnyxTransfer({ callControl, timeoutSecs: 0 })).toThrow(ConfigError);
    await expect(
      telnyxTransfer({ callControl, headers: () => [{ name: 'Bad Name', value: 'x' }] })(request()),
    ).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(0);
  });

  it('as transfer_call of an agent: transfers only once the caller heard "transferring you", and the call ends transferred', async () => {
    const callControl = new TelnyxCallControl({ apiKey: 'KEY_test', baseUrl: api.url });
    const carrier = new FakeCarrier();
    const peer = new TelnyxPeerSimulator();
    const transport = new TelnyxRealtimeTransport({
      telnyxWebSocket: carrier,
      url: simulator.url,
      callControl,
      inputAudioInactivityTimeoutMs: null,
    });
    cleanup.push(() => transport.close());
    const agent = new RealtimeAgent({
      name: 'Receptionist',
      instructions: 'Transfer callers who ask for billing.',
      tools: [
        transferCallTool({
          destinations: { billing: '+13125550002' },
          transfer: telnyxTransfer({ callControl, from: '+13125550000' }),
        }),
      ],
    });
    const session = new RealtimeSession(agent, { transport, context: { transport } });
    cleanup.push(() => session.close());
    const ends: Array<{ reason?: string }> = [];
    transport.on('call_end', (e) => ends.push(e));
    let toolStarted = false;
    session.on('agent_tool_start', () => {
      toolStarted = true;
    });
    await session.connect({ apiKey: 'sk-test' });
    for (const frame of peer.encodeInbound({
      type: 'call_start',
      streamId: 'stream-1',
      callId: CALL,
      customParameters: { order: '1234' },
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      raw: null,
    }))
      carrier.deliver(frame);
    await until(() => transport.callStart !== undefined, WAIT);
    transport.sendEvent({ type: 'response.create' });

    const commands = () => carrier.sent.flatMap((f) => peer.decodeOutbound(f));
    const audioMs = () => commands().reduce((ms, c) => ms + (c.type === 'audio' ? c.payload.byteLength / 8 : 0), 0);
    const marks = () => commands().filter((c): c is Extract<OutboundCommand, { type: 'mark' }> => c.type === 'mark');
    // All of the second of "transferring you" is at Telnyx and the model called the tool; Telnyx has
    // not played it yet, so the caller is not moved yet.
    await until(() => toolStarted && audioMs() >= 1000 && marks().length > 0, WAIT);
    expect(api.requests).toHaveLength(0);
    expect(ends).toHaveLength(0);

    let acked = 0;
    let atTransfer: { acked: number; marks: number; audioMs: number } | undefined;
    api.reply = () => {
      atTransfer = { acked, marks: marks().length, audioMs: audioMs() };
      return { status: 200, body: { data: { result: 'ok' } } };
    };
    await until(() => {
      for (const mark of marks().slice(acked))
        for (const f of peer.encodeInbound({ type: 'playback_ack', name: mark.name })) carrier.deliver(f);
      acked = marks().length;
      return api.requests.length > 0 && ends.length > 0;
    }, WAIT);
    expect(api.requests).toHaveLength(1);
    // When Telnyx was asked to move the caller, every mark sent had come back: all was heard.
    expect(atTransfer!.acked).toBe(atTransfer!.marks);
    expect(atTransfer!.audioMs).toBeGreaterThanOrEqual(1000);
    const [sent] = api.requests;
    expect(sent!.path).toBe(`/v2/calls/${CALL}/actions/transfer`);
    const body = JSON.parse(sent!.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      to: '+13125550002',
      from: '+13125550000',
      custom_headers: expect.arrayContaining([
        { name: 'X-Transfer-Summary', value: SUMMARY },
        { name: 'X-Transfer-Target', value: 'billing' },
      ]),
    });
    expect(JSON.parse(Buffer.from(body['target_leg_client_state'] as string, 'base64').toString())).toMatchObject({
      transfer: 'billing',
      summary: SUMMARY,
      callControlId: CALL,
      customParameters: { order: '1234' },
    });
    expect(ends[0]!.reason).toBe('transferred');
  });
});
