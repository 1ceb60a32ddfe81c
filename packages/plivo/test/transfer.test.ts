import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { ConfigError, transferCallTool, type TelephonyToolContext, type TransferRequest } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeCarrier, startFakeRest, until, useTransportRig, type FakeRest } from '@switchboard/conformance/testing';
import {
  PlivoCallControl,
  PlivoRealtimeTransport,
  plivoHeaderValue,
  plivoTransfer,
  plivoTransferXml,
  readPlivoTransfer,
} from '../src/index.js';
import { callEnds, transferToBillingScript, useAgentCall } from '@switchboard/test-kit/agent-call';
import { AUTH_ID, AUTH_TOKEN, CALL, deliverStart } from './helpers.js';
const XML_URL = 'https://agent.example.com/plivo/transfer';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url) => new PlivoRealtimeTransport({ plivoWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null }),
);

let api: FakeRest;
let callControl: PlivoCallControl;
beforeEach(async () => {
  api = await startFakeRest(() => ({ status: 202, body: { api_id: 'x', message: 'call transferred' } }));
  callControl = new PlivoCallControl({ authId: AUTH_ID, authToken: AUTH_TOKEN, baseUrl: api.url });
});
afterEach(async () => {
  await api.stop();
});

function request(destination: string, extra: Partial<TransferRequest> = {}): TransferRequest {
  return {
    name: 'billing',
    destination,
    reason: 'invoice dispute',
    summary: 'Caller says invoice #42 was charged twice.',
    callId: CALL,
    transport: rig.make(),
    ...extra,
  };
}

describe('plivoTransfer', () => {
  it('moves the call to your XML endpoint, which dials the SIP target with the call’s context as X-PH- headers', async () => {
    const transfer = plivoTransfer({ callControl, url: XML_URL });
    await expect(transfer(request('sip:billing@pbx.example.com'))).resolves.toEqual({ alreadyEnded: false });
    const [sent] = api.requests;
    expect(sent!.method).toBe('POST');
    expect(sent!.path).toBe(`/v1/Account/${AUTH_ID}/Call/${CALL}/`);
    const body = JSON.parse(sent!.body) as { legs: string; aleg_url: string; aleg_method: string };
    expect(body).toMatchObject({ legs: 'aleg', aleg_method: 'POST' });
    expect(body.aleg_url.startsWith(`${XML_URL}?`)).toBe(true);

    // What the endpoint answers when Plivo requests aleg_url.
    const target = readPlivoTransfer(body.aleg_url)!;
    expect(target).toEqual({
      destination: 'sip:billing@pbx.example.com',
      name: 'billing',
      sipHeaders: `Reason=invoice%20dispute,Summary=${plivoHeaderValue('Caller says invoice #42 was charged twice.')},Calluuid=${plivoHeaderValue(CALL)}`,
    });
    expect(plivoTransferXml(target)).toBe(
      `<Response><Dial><User sipHeaders="${target.sipHeaders}">sip:billing@pbx.example.com</User></Dial></Response>`,
    );
    // Percent-decoding a header value gives the text back.
    expect(decodeURIComponent(plivoHeaderValue('Caller says invoice #42 was charged twice.'))).toBe(
      'Caller says invoice #42 was charged twice.',
    );
  });

  it('dials a number with <Number>, sending no headers (nothing travels to a phone but the caller id)', async () => {
    await plivoTransfer({ callControl, url: XML_URL, method: 'GET' })(request('+14155550199'));
    const body = JSON.parse(api.requests[0]!.body) as { aleg_url: string; aleg_method: string };
    expect(body.aleg_method).toBe('GET');
    const target = readPlivoTransfer(new URL(body.aleg_url))!;
    expect(target).toEqual({ destination: '14155550199', name: 'billing' });
    expect(plivoTransferXml({ ...target, callerId: '+14155550100', timeout: 25 })).toBe(
      '<Response><Dial callerId="14155550100" timeout="25"><Number>14155550199</Number></Dial></Response>',
    );
  });

  it('takes headers of your own, and refuses ones Plivo would not send', async () => {
    await plivoTransfer({ callControl, url: XML_URL, headers: () => ({ Ticket: 'T42' }) })(request('sip:a@b.example'));
    const aleg = (JSON.parse(api.requests[0]!.body) as { aleg_url: string }).aleg_url;
    expect(readPlivoTransfer(aleg)!.sipHeaders).toBe('Ticket=T42');
    const bad = plivoTransfer({ callControl, url: XML_URL, headers: () => ({ 'X-Bad': 'v' }) });
    await expect(bad(request('sip:a@b.example'))).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(1);
  });

  it('needs the call’s UUID and a number or SIP URI, and sends nothing otherwise', async () => {
    const transfer = plivoTransfer({ callControl, url: XML_URL });
    await expect(transfer(request('sip:a@b.example', { callId: undefined }))).rejects.toThrow(ConfigError);
    await expect(transfer(request('the manager'))).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(0);
    expect(() => plivoTransfer({ callControl, url: 'not a url' })).toThrow(ConfigError);
    expect(() => plivoTransfer({ callControl, url: XML_URL, method: 'PUT' as 'GET' })).toThrow(ConfigError);
  });
});

describe('readPlivoTransfer and plivoTransferXml', () => {
  it('read nothing from a URL without a target, or with a malformed one', () => {
    expect(readPlivoTransfer(XML_URL)).toBeUndefined();
    expect(readPlivoTransfer(`${XML_URL}?transfer_to=${encodeURIComponent('<Hangup/>')}`)).toBeUndefined();
    expect(readPlivoTransfer(`${XML_URL}?transfer_to=sip:a@b&transfer_headers=${encodeURIComponent('A=b"c')}`)).toBe(
      undefined,
    );
  });

  it('escape what goes into the XML and refuse bad attributes', () => {
    expect(plivoTransferXml({ destination: 'sip:a&b@pbx.example.com' })).toBe(
      '<Response><Dial><User>sip:a&amp;b@pbx.example.com</User></Dial></Response>',
    );
    expect(() => plivoTransferXml({ destination: 'sip:a@b', sipHeaders: 'A="x"' })).toThrow(ConfigError);
    expect(() => plivoTransferXml({ destination: '14155550199', callerId: 'me' })).toThrow(ConfigError);
  });

  it('plivoHeaderValue keeps letters and digits, escapes the rest, and stops at 120 characters without splitting a character', () => {
    expect(plivoHeaderValue('Ab9 é-')).toBe('Ab9%20%C3%A9%2D');
    const long = plivoHeaderValue('a€'.repeat(100));
    expect(long.length).toBeLessThanOrEqual(120);
    // Whole characters only: the value decodes.
    expect(decodeURIComponent(long)).toBe('a€'.repeat(12));
  });
});

describe('transfer_call on a Plivo call, end to end', () => {
  const call = useAgentCall({ afterEach });

  it('the model’s transfer_call moves the call to the XML endpoint that dials billing, with the context, and the call ends as transferred', async () => {
    const simulator = await call.model(transferToBillingScript());
    const carrier = new FakeCarrier();
    const transport = new PlivoRealtimeTransport({
      plivoWebSocket: carrier,
      url: simulator.url,
      inputAudioInactivityTimeoutMs: null,
    });
    const ends = callEnds(transport);
    deliverStart(carrier);

    const agent = new RealtimeAgent<TelephonyToolContext>({
      name: 'Front desk',
      instructions: 'Transfer callers who ask for billing.',
      tools: [
        transferCallTool({
          destinations: { billing: 'sip:billing@pbx.example.com', sales: '+14155550199' },
          transfer: plivoTransfer({ callControl, url: XML_URL }),
        }),
      ],
    });
    const session = new RealtimeSession(agent, { transport, context: { transport } });
    const simulated = await call.talk(session, 'I need to talk to billing about my invoice.');

    await until(() => ends.length === 1, 20_000);
    expect(ends[0]!.reason).toBe('transferred');
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]!.path).toBe(`/v1/Account/${AUTH_ID}/Call/${CALL}/`);
    const aleg = (JSON.parse(api.requests[0]!.body) as { aleg_url: string }).aleg_url;
    expect(plivoTransferXml(readPlivoTransfer(aleg)!)).toBe(
      '<Response><Dial><User sipHeaders="' +
        `Reason=invoice%20dispute,Summary=${plivoHeaderValue('Invoice 42 was charged twice.')},Calluuid=${plivoHeaderValue(CALL)}` +
        '">sip:billing@pbx.example.com</User></Dial></Response>',
    );
    // The model was told, and no new response was asked for after the tool's output.
    await until(() => simulated.functionCallOutputs.length === 1);
    expect(simulated.functionCallOutputs[0]!.output).toContain('transferred to billing');
    expect(simulated.responses).toHaveLength(1);
  });
});
