import {
  CallControlError,
  ConfigError,
  type TelephonyRealtimeTransport,
  type TransferRequest,
} from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeRest, type FakeRest } from '@switchboard/conformance/testing';
import { TwilioCallControl, twilioTransfer, twilioTransferSipHeaders } from '../src/index.js';

const ACCOUNT = 'AC25e16e9a716a4a1786a7c83f58e30482';
const CALL = 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701';
const TOKEN = 'b7e4c1d9a2f35e6c8d0a1b2c3d4e5f60';

let rest: FakeRest;
beforeEach(async () => {
  rest = await startFakeRest(() => ({ status: 200, body: { sid: CALL, status: 'in-progress' } }));
});
afterEach(async () => {
  await rest.stop();
});

const control = () => new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, baseUrl: rest.url });

function request(overrides: Partial<TransferRequest> = {}): TransferRequest {
  return {
    name: 'billing',
    destination: '+15557654321',
    callId: CALL,
    transport: {} as TelephonyRealtimeTransport,
    ...overrides,
  };
}

/** The Twiml field of the n-th request to the fake REST API. */
function twimlOf(index = 0): string {
  return new URLSearchParams(rest.requests[index]!.body).get('Twiml') ?? '';
}

describe('twilioTransfer', () => {
  it('updates the call named by call_start with <Dial><Number>, its caller id and ring time', async () => {
    const transfer = twilioTransfer({ callControl: control(), callerId: '+15550001111', timeoutSeconds: 20 });
    await expect(transfer(request())).resolves.toEqual({ alreadyEnded: false });
    expect(rest.requests).toHaveLength(1);
    expect(rest.requests[0]).toMatchObject({
      method: 'POST',
      path: `/2010-04-01/Accounts/${ACCOUNT}/Calls/${CALL}.json`,
    });
    expect(twimlOf()).toBe(
      '<Response><Dial timeout="20" callerId="+15550001111"><Number>+15557654321</Number></Dial></Response>',
    );
  });

  it('sends nothing of the context to a phone number but a whisper URL when given one', async () => {
    const transfer = twilioTransfer({
      callControl: control(),
      whisperUrl: (r) => `https://app.example.com/whisper?about=${encodeURIComponent(r.summary ?? '')}&x=1`,
    });
    await transfer(request({ summary: 'Card declined', reason: 'billing question' }));
    expect(twimlOf()).toBe(
      '<Response><Dial><Number url="https://app.example.com/whisper?about=Card%20declined&amp;x=1">+15557654321</Number></Dial></Response>',
    );
  });

  it('carries reason, summary and the call’s custom parameters to a SIP target as X- headers', async () => {
    const transfer = twilioTransfer({ callControl: control() });
    await transfer(
      request({
        destination: 'sip:desk@pbx.example.com;transport=tls',
        reason: 'wants a refund',
        summary: 'Order 1234 & a broken lid',
        callStart: {
          type: 'call_start',
          callId: CALL,
          streamId: 'MZ' + 'b'.repeat(32),
          format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
          customParameters: { customer: 'C-77', 'bad name!': 'skipped', 'x-tier': 'gold' },
          raw: undefined,
        },
      }),
    );
    const twiml = twimlOf();
    const uri = /<Sip>(.*)<\/Sip>/.exec(twiml)![1]!.replaceAll('&amp;', '&');
    const [base, query] = uri.split('?') as [string, string];
    expect(base).toBe('sip:desk@pbx.example.com;transport=tls');
    expect(Object.fromEntries(new URLSearchParams(query))).toEqual({
      'X-Transfer-Reason': 'wants a refund',
      'X-Transfer-Summary': 'Order 1234 & a broken lid',
      'X-customer': 'C-77',
      'x-tier': 'gold',
    });
    // An & inside a value is escaped, so Twilio does not read it as a further header (warning 13251).
    expect(query).toContain('Order%201234%20%26%20a%20broken%20lid');
  });

  it('keeps the headers part of the SIP URI within Twilio’s 1024 characters, cutting the summary', async () => {
    const transfer = twilioTransfer({ callControl: control() });
    await transfer(request({ destination: 'sip:desk@pbx.example.com', reason: 'r', summary: 'é'.repeat(2000) }));
    const uri = /<Sip>(.*)<\/Sip>/.exec(twimlOf())![1]!.replaceAll('&amp;', '&');
    const headersPart = uri.slice(uri.indexOf('?') + 1);
    expect(headersPart.length).toBeLessThanOrEqual(1024);
    expect(headersPart.length).toBeGreaterThan(1000);
    const summary = new URLSearchParams(headersPart).get('X-Transfer-Summary')!;
    expect(summary).toMatch(/^é+$/);
  });

  it('sends custom headers, or none', async () => {
    await twilioTransfer({ callControl: control(), sipHeaders: () => ({ 'X-Ticket': 'T-9', Bad: 'no' }) })(
      request({ destination: 'sip:desk@pbx.example.com', summary: 'ignored' }),
    );
    expect(twimlOf(0)).toBe('<Response><Dial><Sip>sip:desk@pbx.example.com?X-Ticket=T-9</Sip></Dial></Response>');
    await twilioTransfer({ callControl: control(), sipHeaders: false })(
      request({ destination: 'sip:desk@pbx.example.com', summary: 'ignored' }),
    );
    expect(twimlOf(1)).toBe('<Response><Dial><Sip>sip:desk@pbx.example.com</Sip></Dial></Response>');
  });

  it('runs afterDial for the caller when nobody answers, unless an action URL takes over', async () => {
    await twilioTransfer({ callControl: control(), afterDial: '<Say>Nobody answered.</Say>' })(request());
    expect(twimlOf(0)).toBe(
      '<Response><Dial><Number>+15557654321</Number></Dial><Say>Nobody answered.</Say></Response>',
    );
    await twilioTransfer({
      callControl: control(),
      action: 'https://app.example.com/after-dial',
      afterDial: '<Say>unused</Say>',
    })(request());
    expect(twimlOf(1)).toBe(
      '<Response><Dial action="https://app.example.com/after-dial"><Number>+15557654321</Number></Dial></Response>',
    );
  });

  it('rejects without a request when the call has no CallSid yet', async () => {
    const transfer = twilioTransfer({ callControl: control() });
    const { callId: _omitted, ...withoutCall } = request();
    await expect(transfer(withoutCall as TransferRequest)).rejects.toBeInstanceOf(CallControlError);
    expect(rest.requests).toHaveLength(0);
  });

  it('resolves alreadyEnded when the caller hung up first', async () => {
    rest.reply = () => ({ status: 404, body: { code: 20404, message: 'not found', status: 404 } });
    await expect(twilioTransfer({ callControl: control() })(request())).resolves.toEqual({ alreadyEnded: true });
  });

  it.each([
    ['no callControl', {}],
    ['an empty callerId', { callerId: '' }],
    ['a ring time Twilio refuses', { timeoutSeconds: 2 }],
    ['an action that is no URL', { action: 'after-dial' }],
  ])('refuses %s when it is built', (_name, options) => {
    const withControl = _name === 'no callControl' ? options : { callControl: control(), ...options };
    expect(() => twilioTransfer(withControl as never)).toThrow(ConfigError);
  });
});

describe('twilioTransferSipHeaders', () => {
  it('leaves out what the model did not say', () => {
    expect(twilioTransferSipHeaders(request())).toEqual({});
  });
});
