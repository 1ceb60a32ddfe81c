import { CallControlError, ConfigError, type TelephonyRealtimeTransport } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeRest, type FakeRest, type RecordedRequest } from '@switchboard/conformance/testing';
import { TwilioCallControl, TwilioWarmTransfer, type TwilioWarmTransferOptions } from '../src/index.js';

const ACCOUNT = 'AC25e16e9a716a4a1786a7c83f58e30482';
const CALLER = 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701';
const HUMAN = 'CA0123456789abcdef0123456789abcdef';
const TOKEN = 'b7e4c1d9a2f35e6c8d0a1b2c3d4e5f60';
const STATUS_URL = 'https://app.example.com/twilio/warm-status';

let rest: FakeRest;
beforeEach(async () => {
  rest = await startFakeRest((request) =>
    request.path.endsWith('/Calls.json')
      ? { status: 201, body: { sid: HUMAN, status: 'queued' } }
      : { status: 200, body: { sid: CALLER, status: 'in-progress' } },
  );
});
afterEach(async () => {
  await rest.stop();
});

function warmTransfer(options: Partial<TwilioWarmTransferOptions> = {}) {
  const callControl = new TwilioCallControl({ accountSid: ACCOUNT, authToken: TOKEN, baseUrl: rest.url });
  return new TwilioWarmTransfer({ callControl, from: '+15559870000', statusCallback: STATUS_URL, ...options });
}

const form = (request: RecordedRequest) => new URLSearchParams(request.body);
const callerPath = `/2010-04-01/Accounts/${ACCOUNT}/Calls/${CALLER}.json`;
const createPath = `/2010-04-01/Accounts/${ACCOUNT}/Calls.json`;
const callbackUrl = `${STATUS_URL}?switchboard_caller=${CALLER}&switchboard_conference=transfer-${CALLER}`;

describe('TwilioWarmTransfer.start', () => {
  it('moves the caller to a held conference first, then calls the human with the summary and the same conference', async () => {
    const warm = warmTransfer({
      holdAudioUrl: 'https://cdn.example.com/hold.mp3',
      ringSeconds: 25,
      voice: 'Polly.Joanna',
    });
    const started = await warm.start({
      callSid: CALLER,
      to: '+15557654321',
      summary: 'Jane wants to move her appointment',
    });
    expect(started).toEqual({ conference: `transfer-${CALLER}`, callerSid: CALLER, humanCallSid: HUMAN });

    expect(rest.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${callerPath}`, `POST ${createPath}`]);
    const hold = form(rest.requests[0]!);
    expect([...hold.keys()]).toEqual(['Twiml']);
    expect(hold.get('Twiml')).toBe(
      '<Response><Dial><Conference startConferenceOnEnter="false" endConferenceOnExit="true" beep="false" ' +
        `waitUrl="https://cdn.example.com/hold.mp3" statusCallback="${callbackUrl.replace('&', '&amp;')}" ` +
        `statusCallbackEvent="join leave end">transfer-${CALLER}</Conference></Dial></Response>`,
    );

    const human = form(rest.requests[1]!);
    expect(human.get('To')).toBe('+15557654321');
    expect(human.get('From')).toBe('+15559870000');
    expect(human.get('Timeout')).toBe('25');
    expect(human.get('StatusCallback')).toBe(callbackUrl);
    expect(human.getAll('StatusCallbackEvent')).toEqual(['answered', 'completed']);
    expect(human.get('Twiml')).toBe(
      '<Response><Say voice="Polly.Joanna">Jane wants to move her appointment</Say>' +
        '<Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="true" beep="false">' +
        `transfer-${CALLER}</Conference></Dial></Response>`,
    );
  });

  it('brings the caller back at once, and rejects, when the human cannot even be called', async () => {
    rest.reply = (request) =>
      request.path.endsWith('/Calls.json')
        ? { status: 400, body: { code: 21211, message: 'invalid To', status: 400 } }
        : { status: 200, body: { sid: CALLER } };
    const warm = warmTransfer({ unavailable: '<Response><Say>Back to you.</Say></Response>' });
    await expect(warm.start({ callSid: CALLER, to: '+1' })).rejects.toBeInstanceOf(CallControlError);
    expect(rest.requests.map((r) => r.path)).toEqual([callerPath, createPath, callerPath]);
    expect(form(rest.requests[2]!).get('Twiml')).toBe('<Response><Say>Back to you.</Say></Response>');
  });

  it('does not call the human when the caller has already hung up', async () => {
    rest.reply = () => ({ status: 404, body: { code: 20404, message: 'not found', status: 404 } });
    await expect(warmTransfer().start({ callSid: CALLER, to: '+15557654321' })).rejects.toBeInstanceOf(
      CallControlError,
    );
    expect(rest.requests).toHaveLength(1);
  });

  it('is a TransferHandler for transferCallTool, whispering the model’s summary', async () => {
    const handler = warmTransfer().handler();
    await handler({
      name: 'front desk',
      destination: 'sip:desk@pbx.example.com',
      summary: 'Caller asks about parking',
      callId: CALLER,
      transport: {} as TelephonyRealtimeTransport,
    });
    const human = form(rest.requests[1]!);
    expect(human.get('To')).toBe('sip:desk@pbx.example.com');
    expect(human.get('Twiml')).toContain('<Say>Caller asks about parking</Say>');
    await expect(
      handler({ name: 'x', destination: '+1555', transport: {} as TelephonyRealtimeTransport }),
    ).rejects.toBeInstanceOf(CallControlError);
  });
});

describe('TwilioWarmTransfer.handleStatus', () => {
  it.each(['no-answer', 'busy', 'failed', 'canceled'])(
    'brings the caller back when the human’s call ends %s',
    async (status) => {
      const warm = warmTransfer();
      await warm.start({ callSid: CALLER, to: '+15557654321' });
      const update = await warm.handleStatus(callbackUrl, { CallSid: HUMAN, CallStatus: status });
      expect(update).toEqual({
        outcome: 'returned',
        conference: `transfer-${CALLER}`,
        callerSid: CALLER,
        status,
        alreadyEnded: false,
      });
      const last = rest.requests.at(-1)!;
      expect(last.path).toBe(callerPath);
      expect(form(last).get('Twiml')).toContain('<Hangup/>');
    },
  );

  it('works from the callback URL alone, on an instance that did not start the transfer', async () => {
    const other = warmTransfer({ unavailable: (u) => `<Response><Say>${u.outcome}</Say></Response>` });
    const update = await other.handleStatus(callbackUrl, new URLSearchParams({ CallSid: HUMAN, CallStatus: 'busy' }));
    expect(update).toMatchObject({ outcome: 'returned', status: 'busy' });
    expect(form(rest.requests[0]!).get('Twiml')).toBe('<Response><Say>returned</Say></Response>');
  });

  it('leaves caller and human together once the human joined, and the call ends with them', async () => {
    const warm = warmTransfer();
    await warm.start({ callSid: CALLER, to: '+15557654321' });
    const before = rest.requests.length;
    expect(
      await warm.handleStatus(callbackUrl, { StatusCallbackEvent: 'participant-join', CallSid: CALLER }),
    ).toMatchObject({
      outcome: 'waiting',
    });
    expect(await warm.handleStatus(callbackUrl, { CallSid: HUMAN, CallStatus: 'in-progress' })).toMatchObject({
      outcome: 'waiting',
    });
    expect(
      await warm.handleStatus(callbackUrl, { StatusCallbackEvent: 'participant-join', CallSid: HUMAN }),
    ).toMatchObject({
      outcome: 'joined',
    });
    expect(await warm.handleStatus(callbackUrl, { CallSid: HUMAN, CallStatus: 'completed' })).toMatchObject({
      outcome: 'ended',
    });
    expect(rest.requests.length).toBe(before);
  });

  it('brings the caller back when the human answered but hung up before joining', async () => {
    const warm = warmTransfer();
    await warm.start({ callSid: CALLER, to: '+15557654321' });
    await warm.handleStatus(callbackUrl, { StatusCallbackEvent: 'participant-join', CallSid: CALLER });
    const update = await warm.handleStatus(callbackUrl, { CallSid: HUMAN, CallStatus: 'completed' });
    expect(update).toMatchObject({ outcome: 'returned', status: 'left-before-joining' });
    expect(rest.requests.at(-1)!.path).toBe(callerPath);
  });

  it('stops calling the human when the caller hangs up on hold', async () => {
    const warm = warmTransfer();
    await warm.start({ callSid: CALLER, to: '+15557654321' });
    await warm.handleStatus(callbackUrl, { StatusCallbackEvent: 'participant-join', CallSid: CALLER });
    const update = await warm.handleStatus(callbackUrl, { StatusCallbackEvent: 'participant-leave', CallSid: CALLER });
    expect(update).toMatchObject({ outcome: 'ended' });
    const humanPath = `/2010-04-01/Accounts/${ACCOUNT}/Calls/${HUMAN}.json`;
    expect(rest.requests.slice(2).map((r) => [r.path, form(r).get('Status')])).toEqual([
      [humanPath, 'canceled'],
      [humanPath, 'completed'],
    ]);
    // Once the human joined, the caller leaving ends the conference on its own.
    const joined = warmTransfer();
    await joined.start({ callSid: CALLER, to: '+15557654321' });
    await joined.handleStatus(callbackUrl, { StatusCallbackEvent: 'participant-join', CallSid: HUMAN });
    const before = rest.requests.length;
    expect(
      await joined.handleStatus(callbackUrl, { StatusCallbackEvent: 'participant-leave', CallSid: CALLER }),
    ).toEqual({ outcome: 'ignored' });
    expect(rest.requests).toHaveLength(before);
  });

  it('reports a caller who hung up while on hold', async () => {
    const warm = warmTransfer();
    await warm.start({ callSid: CALLER, to: '+15557654321' });
    rest.reply = () => ({ status: 404, body: { code: 20404, message: 'not found', status: 404 } });
    expect(await warm.handleStatus(callbackUrl, { CallSid: HUMAN, CallStatus: 'no-answer' })).toMatchObject({
      outcome: 'returned',
      alreadyEnded: true,
    });
  });

  it.each([
    ['a URL without the transfer’s query', STATUS_URL, { CallSid: HUMAN, CallStatus: 'busy' }],
    ['a URL that does not parse', 'not a url', { CallSid: HUMAN, CallStatus: 'busy' }],
    ['the caller’s own status', callbackUrl, { CallSid: CALLER, CallStatus: 'completed' }],
    ['a conference event of no interest', callbackUrl, { StatusCallbackEvent: 'participant-mute', CallSid: HUMAN }],
    ['no parameters', callbackUrl, null],
  ])('ignores %s', async (_name, url, params) => {
    expect(await warmTransfer().handleStatus(url, params as never)).toEqual({ outcome: 'ignored' });
    expect(rest.requests).toHaveLength(0);
  });
});

describe('TwilioWarmTransfer configuration', () => {
  it.each([
    ['no from', { from: '' }],
    ['a status callback that is no URL', { statusCallback: 'status' }],
    ['a hold audio URL that is not http', { holdAudioUrl: 'ftp://example.com/hold.mp3' }],
    ['a ring time Twilio refuses', { ringSeconds: 1 }],
  ])('refuses %s', (_name, options) => {
    expect(() => warmTransfer(options as Partial<TwilioWarmTransferOptions>)).toThrow(ConfigError);
  });

  it('refuses a start without the caller’s CallSid before any request', async () => {
    await expect(warmTransfer().start({ callSid: 'CA1', to: '+1555' })).rejects.toBeInstanceOf(ConfigError);
    expect(rest.requests).toHaveLength(0);
  });
});
