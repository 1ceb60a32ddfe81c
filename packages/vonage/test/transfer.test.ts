import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { ConfigError, transferCallTool, type TelephonyToolContext, type TransferRequest } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeCarrier, startFakeRest, until, useTransportRig, type FakeRest } from '@switchboard/conformance/testing';
import { callEnds, transferToBillingScript, useAgentCall } from '@switchboard/test-kit/agent-call';
import { VonageCallControl, VonageRealtimeTransport, vonageTransfer } from '../src/index.js';
import { connectedFrame, rsaKeyPair } from './helpers.js';

const keys = rsaKeyPair();
const APP = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';
const CALL = '63f61863-4a51-4f6b-86e1-46edebcf9356';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url) => new VonageRealtimeTransport({ vonageWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null }),
);

let api: FakeRest;
let callControl: VonageCallControl;
beforeEach(async () => {
  api = await startFakeRest(() => ({ status: 204 }));
  callControl = new VonageCallControl({ applicationId: APP, privateKey: keys.privateKey, baseUrl: api.url });
});
afterEach(async () => {
  await api.stop();
});

function request(destination: string, extra: Partial<TransferRequest> = {}): TransferRequest {
  return {
    name: 'billing',
    destination,
    reason: 'invoice dispute',
    summary: 'Caller says invoice 42 was charged twice.',
    callId: CALL,
    transport: rig.make(),
    ...extra,
  };
}

const sent = (index = 0) => JSON.parse(api.requests[index]!.body) as Record<string, unknown>;

/** The body of the PUT that connects the call to billing's SIP URI with the context as headers. */
function sipTransferBody(summary: string) {
  const headers = { reason: 'invoice dispute', summary, call_uuid: CALL };
  return {
    action: 'transfer',
    destination: {
      type: 'ncco',
      ncco: [{ action: 'connect', endpoint: [{ type: 'sip', uri: 'sip:billing@pbx.example.com', headers }] }],
    },
  };
}

describe('vonageTransfer', () => {
  it('connects the call to a SIP URI with the call’s context as SIP headers', async () => {
    const transfer = vonageTransfer({ callControl });
    await expect(transfer(request('sip:billing@pbx.example.com'))).resolves.toEqual({ alreadyEnded: false });
    expect(api.requests[0]).toMatchObject({ method: 'PUT', path: `/v1/calls/${CALL}` });
    expect(sent()).toEqual(sipTransferBody('Caller says invoice 42 was charged twice.'));
  });

  it('connects the call to a number, from your number, with a ring timeout', async () => {
    await vonageTransfer({ callControl, from: '+447700900000', timeout: 30 })(request('+447700900002'));
    expect(sent()).toEqual({
      action: 'transfer',
      destination: {
        type: 'ncco',
        ncco: [
          {
            action: 'connect',
            endpoint: [{ type: 'phone', number: '447700900002' }],
            from: '447700900000',
            timeout: 30,
          },
        ],
      },
    });
  });

  it('takes the uuid from call_start and headers of your own', async () => {
    const transport = rig.make();
    await vonageTransfer({ callControl, headers: (r) => ({ ticket: `T-${r.name}` }) })(
      request('sip:a@pbx.example.com', {
        callId: undefined,
        transport,
        callStart: {
          type: 'call_start',
          callId: CALL,
          streamId: 's',
          format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
          customParameters: {},
          raw: null,
        },
      }),
    );
    expect(api.requests[0]!.path).toBe(`/v1/calls/${CALL}`);
    const ncco = (sent()['destination'] as { ncco: Array<{ endpoint: Array<{ headers: unknown }> }> }).ncco;
    expect(ncco[0]!.endpoint[0]!.headers).toEqual({ ticket: 'T-billing' });
  });

  it('resolves alreadyEnded for a call that is gone, and refuses what it cannot send', async () => {
    api.reply = () => ({ status: 404, body: { title: 'Not Found' } });
    await expect(vonageTransfer({ callControl })(request('447700900002'))).resolves.toEqual({ alreadyEnded: true });
    const transfer = vonageTransfer({ callControl });
    await expect(transfer(request('447700900002', { callId: undefined }))).rejects.toThrow(ConfigError);
    await expect(transfer(request('the manager'))).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(1);
    expect(() => vonageTransfer({ callControl, from: 'sip:me@example.com' })).toThrow(ConfigError);
    expect(() => vonageTransfer({ callControl, timeout: 1 })).toThrow(ConfigError);
  });
});

describe('transfer_call on a Vonage call, end to end', () => {
  const call = useAgentCall({ afterEach });

  it('the model’s transfer_call connects the call’s PSTN leg to billing with the context, and the call ends as transferred', async () => {
    const simulator = await call.model(transferToBillingScript());
    const carrier = new FakeCarrier();
    const transport = new VonageRealtimeTransport({
      vonageWebSocket: carrier,
      url: simulator.url,
      inputAudioInactivityTimeoutMs: null,
    });
    const ends = callEnds(transport);
    carrier.deliver(connectedFrame(CALL));

    const agent = new RealtimeAgent<TelephonyToolContext>({
      name: 'Front desk',
      instructions: 'Transfer callers who ask for billing.',
      tools: [
        transferCallTool({
          destinations: { billing: 'sip:billing@pbx.example.com', sales: '+447700900002' },
          transfer: vonageTransfer({ callControl }),
        }),
      ],
    });
    const session = new RealtimeSession(agent, { transport, context: { transport } });
    const simulated = await call.talk(session, 'I need to talk to billing about my invoice.');

    await until(() => ends.length === 1, 20_000);
    expect(ends[0]!.reason).toBe('transferred');
    expect(api.requests.map((r) => [r.method, r.path])).toEqual([['PUT', `/v1/calls/${CALL}`]]);
    expect(sent()).toEqual(sipTransferBody('Invoice 42 was charged twice.'));
    await until(() => simulated.functionCallOutputs.length === 1);
    expect(simulated.functionCallOutputs[0]!.output).toContain('transferred to billing');
    expect(simulated.responses).toHaveLength(1);
  });
});
