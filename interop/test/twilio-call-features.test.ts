/**
 * Outbound calls, cold transfer and warm transfer compared on the wire with the official `twilio`
 * library: for the same operation both clients must make the same request (method, path, media
 * type, Authorization, form fields, repeated fields in order), and TwiML we write must be the same
 * document as the library's VoiceResponse builder writes. The requests go to a local HTTP server
 * (127.0.0.1); the library's RequestClient is pointed there through its documented `httpClient`
 * option. The machine detection callback is checked against the library's own `validateRequest`.
 */
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TelephonyRealtimeTransport } from '@switchboard/core';
import {
  computeTwilioSignature,
  connectStreamTwiml,
  readTwilioMachineDetection,
  TwilioCallControl,
  twilioTransfer,
  TwilioWarmTransfer,
  validateTwilioSignature,
} from '@switchboard/twilio';
import { sdkThenOurs, useHttpCapture, type CapturedRequest } from './support/http-capture.js';
import { LocalRequestClient } from './support/twilio-client.js';
import { parseXml } from './support/xml-tree.js';

const ACCOUNT_SID = 'AC25e16e9a716a4a1786a7c83f58e30482';
const AUTH_TOKEN = 'b7e4c1d9a2f35e6c8d0a1b2c3d4e5f60';
const CALL_SID = 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701';
const HUMAN_SID = 'CA0123456789abcdef0123456789abcdef';
const CALL_RESOURCE = { sid: CALL_SID, account_sid: ACCOUNT_SID, status: 'queued' };

const server = useHttpCapture({ beforeAll, afterAll, beforeEach }, { status: 201, body: CALL_RESOURCE });

const sdk = () => twilio(ACCOUNT_SID, AUTH_TOKEN, { httpClient: new LocalRequestClient(server.url) });
const ours = () => new TwilioCallControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: server.url });

/** What must agree, but the TwiML field (compared as a document). */
function wire(request: CapturedRequest) {
  const { Twiml: _twiml, ...form } = (request.body ?? {}) as Record<string, unknown>;
  return {
    method: request.method,
    path: request.path,
    query: request.query,
    mediaType: (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(),
    authorization: request.headers['authorization'],
    form,
  };
}

const twimlOf = (request: CapturedRequest) => parseXml((request.body as { Twiml: string }).Twiml);

/** The form fields of a request in the order they were sent (repeated fields stay apart). */
const fieldsOf = (request: CapturedRequest) => [...new URLSearchParams(request.rawBody).keys()];

describe('outbound calls: TwilioCallControl.createCall and calls.create make the same request', () => {
  it('a call whose media comes to the media route, with asynchronous detection of the greeting’s end', async () => {
    const stream = { url: 'wss://media.example.com/twilio', parameters: { reminder: 'dentist-0930' } };
    const [theirs, our] = await sdkThenOurs(
      server,
      () =>
        sdk().calls.create({
          to: '+15551230000',
          from: '+15559870000',
          twiml: connectStreamTwiml(stream),
          machineDetection: 'DetectMessageEnd',
          asyncAmd: 'true',
          asyncAmdStatusCallback: 'https://app.example.com/amd?call=17',
          asyncAmdStatusCallbackMethod: 'POST',
          machineDetectionTimeout: 30,
          machineDetectionSpeechThreshold: 2400,
          machineDetectionSpeechEndThreshold: 1200,
          machineDetectionSilenceTimeout: 5000,
          statusCallback: 'https://app.example.com/status',
          statusCallbackEvent: ['initiated', 'answered', 'completed'],
          statusCallbackMethod: 'POST',
          timeout: 25,
          timeLimit: 600,
        }),
      () =>
        ours().createCall({
          to: '+15551230000',
          from: '+15559870000',
          stream,
          machineDetection: {
            mode: 'DetectMessageEnd',
            callbackUrl: 'https://app.example.com/amd?call=17',
            callbackMethod: 'POST',
            timeoutSeconds: 30,
            speechThresholdMs: 2400,
            speechEndThresholdMs: 1200,
            silenceTimeoutMs: 5000,
          },
          statusCallback: 'https://app.example.com/status',
          statusCallbackEvents: ['initiated', 'answered', 'completed'],
          statusCallbackMethod: 'POST',
          timeoutSeconds: 25,
          timeLimitSeconds: 600,
        }),
    );
    expect(wire(our)).toEqual(wire(theirs));
    expect(twimlOf(our)).toEqual(twimlOf(theirs));
    expect(wire(our)).toMatchObject({
      method: 'POST',
      path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`,
      form: {
        MachineDetection: 'DetectMessageEnd',
        AsyncAmd: 'true',
        StatusCallbackEvent: ['initiated', 'answered', 'completed'],
      },
    });
    // Both repeat StatusCallbackEvent once per event (not one comma-separated field).
    expect(fieldsOf(our).filter((f) => f === 'StatusCallbackEvent')).toHaveLength(3);
    expect(fieldsOf(theirs).filter((f) => f === 'StatusCallbackEvent')).toHaveLength(3);
  });

  it('a call that fetches its TwiML from a URL, with synchronous detection', async () => {
    const [theirs, our] = await sdkThenOurs(
      server,
      () =>
        sdk().calls.create({
          to: 'sip:alice@pbx.example.com',
          from: '+15559870000',
          url: 'https://app.example.com/answer',
          method: 'GET',
          machineDetection: 'Enable',
          callerId: 'Reminders',
        }),
      () =>
        ours().createCall({
          to: 'sip:alice@pbx.example.com',
          from: '+15559870000',
          url: 'https://app.example.com/answer',
          method: 'GET',
          machineDetection: { mode: 'Enable', async: false },
          callerId: 'Reminders',
        }),
    );
    expect(wire(our)).toEqual(wire(theirs));
  });

  it('reads the new call’s sid from the answer the library reads it from', async () => {
    const call = await sdk().calls.create({ to: '+15551230000', from: '+15559870000', twiml: '<Response/>' });
    const created = await ours().createCall({ to: '+15551230000', from: '+15559870000', twiml: '<Response/>' });
    expect(created.callSid).toBe(call.sid);
    expect(created.status).toBe(call.status);
  });
});

describe('the machine detection callback', () => {
  it('verifies where the library’s validateRequest does, and not where it does not', async () => {
    const url = 'https://app.example.com/amd?call=17';
    const params = {
      AccountSid: ACCOUNT_SID,
      CallSid: CALL_SID,
      AnsweredBy: 'machine_end_beep',
      MachineDetectionDuration: '3120',
    };
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, params);
    expect(await computeTwilioSignature(AUTH_TOKEN, url, params)).toBe(signature);
    expect(twilio.validateRequest(AUTH_TOKEN, signature, url, params)).toBe(true);
    expect(await validateTwilioSignature({ authToken: AUTH_TOKEN, url, params, signature })).toBe(true);
    expect(readTwilioMachineDetection(params)).toMatchObject({ answeredBy: 'machine', greetingEnded: true });

    const tampered = { ...params, AnsweredBy: 'human' };
    expect(twilio.validateRequest(AUTH_TOKEN, signature, url, tampered)).toBe(false);
    expect(await validateTwilioSignature({ authToken: AUTH_TOKEN, url, params: tampered, signature })).toBe(false);
  });
});

const transferRequest = (destination: string, extra: Record<string, unknown> = {}) => ({
  name: 'desk',
  destination,
  callId: CALL_SID,
  transport: {} as TelephonyRealtimeTransport,
  ...extra,
});

describe('cold transfer: twilioTransfer makes the call update the library makes for the same TwiML', () => {
  beforeEach(() => server.respond({ status: 200, body: { ...CALL_RESOURCE, status: 'in-progress' } }));

  it('to a number, with caller id, ring time and a whisper URL', async () => {
    const response = new twilio.twiml.VoiceResponse();
    response
      .dial({ callerId: '+15550001111', timeout: 20 })
      .number({ url: 'https://app.example.com/whisper?to=desk&lang=en' }, '+15557654321');
    const [theirs, our] = await sdkThenOurs(
      server,
      () => sdk().calls(CALL_SID).update({ twiml: response }),
      () =>
        twilioTransfer({
          callControl: ours(),
          callerId: '+15550001111',
          timeoutSeconds: 20,
          whisperUrl: 'https://app.example.com/whisper?to=desk&lang=en',
        })(transferRequest('+15557654321')),
    );
    expect(wire(our)).toEqual(wire(theirs));
    expect(twimlOf(our)).toEqual(twimlOf(theirs));
  });

  it('to a SIP URI, with the context as X- headers the library writes the same way', async () => {
    const summary = 'Order 1234 & a broken lid';
    const headers = `X-Transfer-Reason=${encodeURIComponent('refund')}&X-Transfer-Summary=${encodeURIComponent(summary)}`;
    const response = new twilio.twiml.VoiceResponse();
    response.dial().sip(`sip:desk@pbx.example.com;transport=tls?${headers}`);
    const [theirs, our] = await sdkThenOurs(
      server,
      () => sdk().calls(CALL_SID).update({ twiml: response }),
      () =>
        twilioTransfer({ callControl: ours() })(
          transferRequest('sip:desk@pbx.example.com;transport=tls', { reason: 'refund', summary }),
        ),
    );
    expect(twimlOf(our)).toEqual(twimlOf(theirs));
  });
});

describe('warm transfer: each request TwilioWarmTransfer makes is the library’s request for the same step', () => {
  const STATUS = 'https://app.example.com/warm';
  const conference = `transfer-${CALL_SID}`;
  const callback = `${STATUS}?switchboard_caller=${CALL_SID}&switchboard_conference=${conference}`;

  it('the caller on hold in the conference, then the human called with the whisper and the same conference', async () => {
    server.respond((request) =>
      request.path.endsWith('/Calls.json')
        ? { status: 201, body: { ...CALL_RESOURCE, sid: HUMAN_SID } }
        : { status: 200, body: { ...CALL_RESOURCE, status: 'in-progress' } },
    );
    const hold = new twilio.twiml.VoiceResponse();
    hold.dial().conference(
      {
        startConferenceOnEnter: false,
        endConferenceOnExit: true,
        beep: 'false',
        waitUrl: 'https://cdn.example.com/hold.mp3',
        statusCallback: callback,
        statusCallbackEvent: ['join', 'leave', 'end'],
      },
      conference,
    );
    const human = new twilio.twiml.VoiceResponse();
    human.say({ voice: 'Polly.Joanna' }, 'Jane would like to move her appointment to Friday.');
    human.dial().conference({ startConferenceOnEnter: true, endConferenceOnExit: true, beep: 'false' }, conference);

    await sdk().calls(CALL_SID).update({ twiml: hold });
    await sdk().calls.create({
      to: '+15557654321',
      from: '+15559870000',
      twiml: human,
      timeout: 30,
      statusCallback: callback,
      statusCallbackEvent: ['answered', 'completed'],
    });
    const warm = new TwilioWarmTransfer({
      callControl: ours(),
      from: '+15559870000',
      statusCallback: STATUS,
      holdAudioUrl: 'https://cdn.example.com/hold.mp3',
      voice: 'Polly.Joanna',
    });
    const started = await warm.start({
      callSid: CALL_SID,
      to: '+15557654321',
      summary: 'Jane would like to move her appointment to Friday.',
    });
    expect(started.humanCallSid).toBe(HUMAN_SID);

    const [theirHold, theirHuman, ourHold, ourHuman] = await server.waitForRequests(4);
    expect(wire(ourHold!)).toEqual(wire(theirHold!));
    expect(twimlOf(ourHold!)).toEqual(twimlOf(theirHold!));
    expect(wire(ourHuman!)).toEqual(wire(theirHuman!));
    expect(twimlOf(ourHuman!)).toEqual(twimlOf(theirHuman!));
  });

  it('the human’s call stopped when the caller hangs up on hold: Status=canceled, then Status=completed', async () => {
    server.respond((request) =>
      request.path.endsWith('/Calls.json')
        ? { status: 201, body: { ...CALL_RESOURCE, sid: HUMAN_SID } }
        : { status: 200, body: { ...CALL_RESOURCE, status: 'in-progress' } },
    );
    const warm = new TwilioWarmTransfer({ callControl: ours(), from: '+15559870000', statusCallback: STATUS });
    await warm.start({ callSid: CALL_SID, to: '+15557654321' });
    await warm.handleStatus(callback, { StatusCallbackEvent: 'participant-join', CallSid: CALL_SID });
    await warm.handleStatus(callback, { StatusCallbackEvent: 'participant-leave', CallSid: CALL_SID });
    await sdk().calls(HUMAN_SID).update({ status: 'canceled' });
    await sdk().calls(HUMAN_SID).update({ status: 'completed' });
    const [, , ourCancel, ourHangUp, theirCancel, theirHangUp] = await server.waitForRequests(6);
    expect(wire(ourCancel!)).toEqual(wire(theirCancel!));
    expect(wire(ourHangUp!)).toEqual(wire(theirHangUp!));
    expect(wire(ourCancel!).form).toEqual({ Status: 'canceled' });
  });

  it('the caller brought back when the human does not answer: a call update with the fallback TwiML', async () => {
    server.respond({ status: 200, body: { ...CALL_RESOURCE, status: 'in-progress' } });
    const back = connectStreamTwiml({ url: 'wss://media.example.com/twilio', parameters: { transfer: 'no-answer' } });
    const warm = new TwilioWarmTransfer({
      callControl: ours(),
      from: '+15559870000',
      statusCallback: STATUS,
      unavailable: back,
    });
    const [theirs, our] = await sdkThenOurs(
      server,
      () => sdk().calls(CALL_SID).update({ twiml: back }),
      () => warm.handleStatus(callback, { CallSid: HUMAN_SID, CallStatus: 'no-answer' }),
    );
    expect(wire(our)).toEqual(wire(theirs));
    expect(twimlOf(our)).toEqual(twimlOf(theirs));
  });
});
