import { CallDirectory, type MachineDetectionEvent } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until, useTransportRig } from '@switchboard/conformance/testing';
import {
  assertTwilioSignature,
  computeTwilioSignature,
  readTwilioMachineDetection,
  TwilioRealtimeTransport,
  validateTwilioSignature,
} from '../src/index.js';
import { TwilioPeerSimulator } from '../src/testing.js';

const ACCOUNT = 'AC25e16e9a716a4a1786a7c83f58e30482';
const CALL = 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701';
const TOKEN = 'b7e4c1d9a2f35e6c8d0a1b2c3d4e5f60';
const CALLBACK_URL = 'https://app.example.com/twilio/amd?call=reminder-17';

/** The form Twilio posts to AsyncAmdStatusCallback. */
function amdCallback(answeredBy: string, extra: Record<string, string> = {}): Record<string, string> {
  return { AccountSid: ACCOUNT, CallSid: CALL, AnsweredBy: answeredBy, MachineDetectionDuration: '2412', ...extra };
}

describe('readTwilioMachineDetection', () => {
  it.each([
    ['human', 'human', false],
    ['machine_start', 'machine', false],
    ['machine_end_beep', 'machine', true],
    ['machine_end_silence', 'machine', true],
    ['machine_end_other', 'machine', true],
    ['fax', 'fax', false],
    ['unknown', 'unknown', false],
  ])('reads AnsweredBy=%s as answeredBy %s, greetingEnded %s', (value, answeredBy, greetingEnded) => {
    const event = readTwilioMachineDetection(amdCallback(value));
    expect(event).toEqual({
      type: 'machine_detection',
      callId: CALL,
      carrier: 'twilio',
      answeredBy,
      greetingEnded,
      carrierResult: value,
      detectionMs: 2412,
      raw: amdCallback(value),
    });
  });

  it('reads the form as URLSearchParams too, and leaves detectionMs out when Twilio sends none', () => {
    const form = new URLSearchParams({ CallSid: CALL, AnsweredBy: 'machine_end_beep', AccountSid: ACCOUNT });
    const event = readTwilioMachineDetection(form);
    expect(event).toMatchObject({ callId: CALL, answeredBy: 'machine', greetingEnded: true });
    expect(event).not.toHaveProperty('detectionMs');
  });

  it('reads a SignalWire callback (a UUID call id) as carrier signalwire', () => {
    const callId = '7a1e8b4c-2d3f-4e5a-9b6c-0d1e2f3a4b5c';
    expect(readTwilioMachineDetection({ CallSid: callId, AnsweredBy: 'human' })).toMatchObject({
      callId,
      carrier: 'signalwire',
      answeredBy: 'human',
    });
  });

  it.each([
    ['no CallSid', { AnsweredBy: 'human' }],
    ['a CallSid that is no call sid', { CallSid: 'CA123', AnsweredBy: 'human' }],
    ['no AnsweredBy (a plain status callback)', { CallSid: CALL, CallStatus: 'in-progress' }],
    ['an AnsweredBy Twilio does not send', { CallSid: CALL, AnsweredBy: 'robot' }],
    ['an inherited AnsweredBy', Object.create({ CallSid: CALL, AnsweredBy: 'human' }) as Record<string, unknown>],
  ])('returns undefined for %s', (_name, params) => {
    expect(readTwilioMachineDetection(params)).toBeUndefined();
  });

  it('never throws on what a request can hold', () => {
    for (const params of [null, undefined, 42, 'CallSid=CA', [], { CallSid: [CALL], AnsweredBy: ['human'] }]) {
      expect(() => readTwilioMachineDetection(params as never)).not.toThrow();
    }
    // Repeated fields read as their first value, as Twilio's own parsers do.
    expect(readTwilioMachineDetection({ CallSid: [CALL, 'x'], AnsweredBy: ['fax'] })).toMatchObject({
      answeredBy: 'fax',
    });
  });

  it('ignores a MachineDetectionDuration that is not a whole number of ms', () => {
    expect(readTwilioMachineDetection(amdCallback('human', { MachineDetectionDuration: '-3' }))).not.toHaveProperty(
      'detectionMs',
    );
  });
});

describe('a signed machine detection callback', () => {
  it('verifies with the account token before it is read, and a forged one does not', async () => {
    const params = amdCallback('machine_end_beep');
    const signature = await computeTwilioSignature(TOKEN, CALLBACK_URL, params);
    expect(await validateTwilioSignature({ authToken: TOKEN, url: CALLBACK_URL, params, signature })).toBe(true);
    expect(readTwilioMachineDetection(params)?.greetingEnded).toBe(true);

    const forged = { ...params, AnsweredBy: 'human' };
    expect(await validateTwilioSignature({ authToken: TOKEN, url: CALLBACK_URL, params: forged, signature })).toBe(
      false,
    );
    await expect(
      assertTwilioSignature({ authToken: TOKEN, url: CALLBACK_URL, params: forged, signature }),
    ).rejects.toMatchObject({ code: 'webhook_signature_invalid' });
    const wrongKey = await computeTwilioSignature('0'.repeat(32), CALLBACK_URL, params);
    expect(await validateTwilioSignature({ authToken: TOKEN, url: CALLBACK_URL, params, signature: wrongKey })).toBe(
      false,
    );
  });
});

describe('machine detection delivered to the call', () => {
  const rig = useTransportRig(
    { beforeEach, afterEach },
    (carrier, url) =>
      new TwilioRealtimeTransport({
        twilioWebSocket: carrier,
        url,
        inputAudioInactivityTimeoutMs: null,
      }),
  );

  it('reaches the transport whose call_start carries the CallSid, as a machine_detection event', async () => {
    const transport = rig.make();
    const seen: MachineDetectionEvent[] = [];
    transport.on('machine_detection', (event) => seen.push(event));
    const everything: Array<{ type: string }> = [];
    transport.on('*', (event) => everything.push(event as { type: string }));
    const directory = new CallDirectory();
    directory.add(transport);

    const peer = new TwilioPeerSimulator({ accountSid: ACCOUNT, callSid: CALL });
    rig.send(peer, {
      type: 'call_start',
      callId: CALL,
      streamId: 'MZ' + 'b'.repeat(32),
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      customParameters: {},
      raw: undefined,
    });
    await until(() => transport.callStart !== undefined);
    expect(transport.callStart?.callId).toBe(CALL);

    const event = readTwilioMachineDetection(amdCallback('machine_end_beep'));
    expect(event).toBeDefined();
    expect(directory.deliver(event!)).toBe('delivered');
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ callId: CALL, answeredBy: 'machine', greetingEnded: true, carrier: 'twilio' });
    expect(everything.some((e) => e.type === 'machine_detection')).toBe(true);
  });

  it('holds a result that arrives before the stream starts and delivers it when the call appears', async () => {
    const transport = rig.make();
    const seen: MachineDetectionEvent[] = [];
    transport.on('machine_detection', (event) => seen.push(event));
    const directory = new CallDirectory();
    // Asynchronous detection can finish before Twilio opens the media stream.
    expect(directory.deliver(readTwilioMachineDetection(amdCallback('human'))!)).toBe('held');
    directory.add(transport);
    expect(seen).toEqual([]);

    const peer = new TwilioPeerSimulator({ accountSid: ACCOUNT, callSid: CALL });
    rig.send(peer, {
      type: 'call_start',
      callId: CALL,
      streamId: 'MZ' + 'c'.repeat(32),
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      customParameters: {},
      raw: undefined,
    });
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ callId: CALL, answeredBy: 'human' });
  });
});
