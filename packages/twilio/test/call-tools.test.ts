/**
 * Core's `end_call` and `transfer_call` tools on a Twilio call, end to end: the realtime simulator
 * plays a model that speaks (a goodbye, "transferring you") and calls the tool in the same
 * response; the Twilio side is the peer simulator over an in-memory socket, which echoes the marks
 * one at a time, only when the test lets it; Twilio's REST API is a fake on 127.0.0.1. What the
 * tool does to the call (close the stream, update or hang up the call over REST) must wait until
 * the caller heard every mark of the reply.
 */
import { RealtimeAgent, RealtimeSession, type FunctionTool } from '@openai/agents-realtime';
import { AGENT_HANGUP_REASON, TRANSFERRED_REASON, endCallTool, transferCallTool } from '@switchboard/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RealtimeSimulator, agentHangupScript, loadAgentReplies, type SimulatorTurn } from '@switchboard/conformance';
import { startFakeRest, until, useTransportRig, type FakeRest } from '@switchboard/conformance/testing';
import {
  TwilioCallControl,
  TwilioRealtimeTransport,
  TwilioWarmTransfer,
  twilioTransfer,
  type TwilioRealtimeTransportOptions,
} from '../src/index.js';
import { TwilioPeerSimulator } from '../src/testing.js';

const ACCOUNT = 'AC25e16e9a716a4a1786a7c83f58e30482';
const CALL = 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701';
const STREAM = 'MZ' + 'd'.repeat(32);
const TOKEN = 'b7e4c1d9a2f35e6c8d0a1b2c3d4e5f60';

/** A recorded reply, then in the same response a call of `transfer_call`. */
function transferScript(): SimulatorTurn[] {
  const reply = loadAgentReplies().find((turn) => turn.kind === 'audio');
  if (!reply || reply.kind !== 'audio') throw new Error('no recorded reply');
  const args = { destination: 'billing', reason: 'refund request', summary: 'Order 1234 arrived broken' };
  return [{ ...reply, call: { name: 'transfer_call', arguments: args } }];
}

let transferModel: RealtimeSimulator;
let hangupModel: RealtimeSimulator;
let rest: FakeRest;
beforeAll(async () => {
  transferModel = new RealtimeSimulator({ script: transferScript(), speed: 10 });
  hangupModel = new RealtimeSimulator({ script: agentHangupScript(), speed: 10 });
  await Promise.all([transferModel.start(), hangupModel.start()]);
});
afterAll(async () => {
  await Promise.all([transferModel.stop(), hangupModel.stop()]);
});
beforeEach(async () => {
  rest = await startFakeRest(() => ({ status: 200, body: { sid: CALL, status: 'in-progress' } }));
});
afterEach(async () => {
  await rest.stop();
});

type Options = Omit<TwilioRealtimeTransportOptions, 'twilioWebSocket'>;
const rig = useTransportRig<TwilioRealtimeTransport, Options>(
  { beforeEach, afterEach },
  (carrier, _modelUrl, options) =>
    new TwilioRealtimeTransport({ twilioWebSocket: carrier, inputAudioInactivityTimeoutMs: null, ...options }),
);

/**
 * Runs one call: the agent with `tool`, the caller asking something; then Twilio plays the reply,
 * echoing one mark per poll, until `done()`. Returns how many marks Twilio had echoed, and had
 * been sent, when `done()` first held, and how the call ended.
 */
async function runCall(
  model: RealtimeSimulator,
  tool: FunctionTool<any, any, any>,
  options: Options,
  done: () => boolean,
) {
  const transport = rig.make({ url: model.url, ...options });
  const peer = new TwilioPeerSimulator({ accountSid: ACCOUNT, callSid: CALL });
  const agent = new RealtimeAgent({ name: 'receptionist', tools: [tool] });
  const session = new RealtimeSession(agent, { transport, context: { transport } });
  let toolStarted = false;
  session.on('agent_tool_start', () => {
    toolStarted = true;
  });
  let endReason: string | undefined;
  transport.on('call_end', (event) => {
    endReason = (event as { reason?: string }).reason;
  });
  await session.connect({ apiKey: 'sk-test' });

  rig.send(peer, {
    type: 'call_start',
    callId: CALL,
    streamId: STREAM,
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    customParameters: { customer: 'C-77' },
    raw: undefined,
  });
  await until(() => transport.callStart !== undefined);
  session.sendMessage('I want a refund for my order.');

  // Every mark the bridge sent Twilio, decoded as Twilio reads it.
  const marks = () =>
    rig.carrier.sent.flatMap((frame) => peer.decodeOutbound(frame)).flatMap((c) => (c.type === 'mark' ? [c.name] : []));

  // The reply has gone out and the tool is running; Twilio has played none of it yet.
  await until(() => toolStarted && marks().length > 0, 20_000);
  expect(done()).toBe(false);

  let acked = 0;
  let outcome: { acked: number; sent: number } | undefined;
  await until(() => {
    if (done()) {
      outcome ??= { acked, sent: marks().length };
      return true;
    }
    const next = marks()[acked];
    if (next !== undefined) {
      rig.send(peer, { type: 'playback_ack', name: next });
      acked++;
    }
    return false;
  }, 20_000);
  await until(() => endReason !== undefined, 20_000);
  session.close();
  return { ...outcome!, endReason };
}

describe('end_call on Twilio', () => {
  it('closes the media stream (Twilio then ends the call) once Twilio echoed every mark of the goodbye, without REST', async () => {
    const result = await runCall(hangupModel, endCallTool(), {}, () => rig.carrier.closed);
    expect(result.acked).toBeGreaterThan(1);
    expect(result.acked).toBe(result.sent);
    expect(result.endReason).toBe(AGENT_HANGUP_REASON);
    expect(rest.requests).toEqual([]);
  });

  it('hangs up over REST with the hangUp option, after the goodbye was heard', async () => {
    const calls = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, baseUrl: rest.url });
    const result = await runCall(
      hangupModel,
      endCallTool(),
      { hangUp: async ({ callId }) => callId && calls.hangup(callId) },
      () => rest.requests.length > 0,
    );
    expect(result.acked).toBe(result.sent);
    expect(rest.requests).toHaveLength(1);
    expect(rest.requests[0]).toMatchObject({
      method: 'POST',
      path: `/2010-04-01/Accounts/${ACCOUNT}/Calls/${CALL}.json`,
      body: 'Status=completed',
    });
    expect(result.endReason).toBe(AGENT_HANGUP_REASON);
  });
});

describe('transfer_call on Twilio', () => {
  it('updates the call with <Dial><Sip> and the context once the caller heard the announcement, then ends it as transferred', async () => {
    const callControl = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, baseUrl: rest.url });
    const tool = transferCallTool({
      destinations: { billing: 'sip:billing@pbx.example.com', support: '+15557654321' },
      transfer: twilioTransfer({ callControl }),
    });
    const result = await runCall(transferModel, tool, {}, () => rest.requests.length > 0);
    expect(result.acked).toBeGreaterThan(1);
    expect(result.acked).toBe(result.sent);

    expect(rest.requests).toHaveLength(1);
    const [update] = rest.requests;
    expect(update).toMatchObject({ method: 'POST', path: `/2010-04-01/Accounts/${ACCOUNT}/Calls/${CALL}.json` });
    const twiml = new URLSearchParams(update!.body).get('Twiml') ?? '';
    const uri = /<Sip>(.*)<\/Sip>/.exec(twiml)?.[1]?.replaceAll('&amp;', '&') ?? '';
    expect(uri.split('?')[0]).toBe('sip:billing@pbx.example.com');
    expect(Object.fromEntries(new URLSearchParams(uri.split('?')[1]))).toEqual({
      'X-Transfer-Reason': 'refund request',
      'X-Transfer-Summary': 'Order 1234 arrived broken',
      'X-customer': 'C-77',
    });
    expect(result.endReason).toBe(TRANSFERRED_REASON);
  });

  it('warm: puts the caller on hold in a conference once the announcement was heard, then calls the human with the summary', async () => {
    rest.reply = (request) =>
      request.path.endsWith('/Calls.json')
        ? { status: 201, body: { sid: 'CA0123456789abcdef0123456789abcdef', status: 'queued' } }
        : { status: 200, body: { sid: CALL, status: 'in-progress' } };
    const warm = new TwilioWarmTransfer({
      callControl: new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, baseUrl: rest.url }),
      from: '+15559870000',
      statusCallback: 'https://app.example.com/warm',
    });
    const tool = transferCallTool({ destinations: { billing: '+15557654321' }, transfer: warm.handler() });
    const result = await runCall(transferModel, tool, {}, () => rest.requests.length > 0);
    expect(result.acked).toBe(result.sent);
    expect(result.endReason).toBe(TRANSFERRED_REASON);

    const accountPath = `/2010-04-01/Accounts/${ACCOUNT}`;
    expect(rest.requests.map((r) => r.path)).toEqual([
      `${accountPath}/Calls/${CALL}.json`,
      `${accountPath}/Calls.json`,
    ]);
    const hold = new URLSearchParams(rest.requests[0]!.body).get('Twiml') ?? '';
    expect(hold).toContain(`startConferenceOnEnter="false"`);
    expect(hold).toContain(`>transfer-${CALL}</Conference>`);
    const human = new URLSearchParams(rest.requests[1]!.body);
    expect(human.get('To')).toBe('+15557654321');
    expect(human.get('Twiml')).toContain('<Say>Order 1234 arrived broken</Say>');
    expect(human.get('Twiml')).toContain(`>transfer-${CALL}</Conference>`);
  });
});
