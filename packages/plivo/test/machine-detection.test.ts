import { CallDirectory, WebhookSignatureError, type MachineDetectionEvent } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until, useTransportRig } from '@switchboard/conformance/testing';
import {
  PlivoRealtimeTransport,
  assertPlivoSignatureV3,
  computePlivoSignatureV3,
  readPlivoMachineDetection,
  type PlivoRealtimeTransportOptions,
} from '../src/index.js';
import { PlivoPeerSimulator } from '../src/testing.js';
import { AUTH_TOKEN, CALL, START as start } from './helpers.js';
const URL_AMD = 'https://agent.example.com/plivo/amd';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<PlivoRealtimeTransportOptions> = {}) =>
    new PlivoRealtimeTransport({ plivoWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

/** The form Plivo posts to machine_detection_url (https://www.plivo.com/docs/voice/api/call/asynchronous-machine-detection). */
function callback(machine: 'true' | 'false', callId = CALL): URLSearchParams {
  return new URLSearchParams({
    From: '14155550100',
    To: '14155550123',
    Machine: machine,
    RequestUUID: '9834029e-58b6-11e1-b8b7-a5bd0e4e126f',
    ALegRequestUUID: '9834029e-58b6-11e1-b8b7-a5bd0e4e126f',
    CallUUID: callId,
    ALegUUID: callId,
    IfMachine: 'continue',
    Direction: 'outbound',
    Event: 'MachineDetection',
    CallStatus: 'in-progress',
  });
}

describe('readPlivoMachineDetection', () => {
  it('reads Machine=true as a machine and Machine=false as a human, keyed by CallUUID', () => {
    expect(readPlivoMachineDetection(callback('true'))).toEqual({
      type: 'machine_detection',
      callId: CALL,
      carrier: 'plivo',
      answeredBy: 'machine',
      greetingEnded: false,
      carrierResult: 'Machine=true',
      raw: Object.fromEntries(callback('true')),
    });
    expect(readPlivoMachineDetection(Object.fromEntries(callback('false')))).toMatchObject({
      callId: CALL,
      answeredBy: 'human',
      carrierResult: 'Machine=false',
    });
  });

  it('answers undefined for anything that is not a detection result, without throwing', () => {
    const other = callback('true');
    other.set('Event', 'Hangup');
    const noCall = callback('true');
    noCall.delete('CallUUID');
    const odd = callback('true');
    odd.set('Machine', 'maybe');
    for (const params of [other, noCall, odd, new URLSearchParams(), { Machine: ['true'] }, { CallUUID: 7 }])
      expect(readPlivoMachineDetection(params as URLSearchParams)).toBeUndefined();
    expect(readPlivoMachineDetection(null as unknown as URLSearchParams)).toBeUndefined();
  });

  it('reaches the call whose stream carries that CallUUID, once the signature verified', async () => {
    const transport = rig.make();
    const seen: MachineDetectionEvent[] = [];
    transport.on('machine_detection', (event) => seen.push(event as MachineDetectionEvent));
    const directory = new CallDirectory();
    directory.add(transport);
    rig.send(new PlivoPeerSimulator(), start);
    await until(() => transport.callStart !== undefined);

    // What the webhook handler does with Plivo's request.
    const params = callback('true');
    const nonce = '12345678901234567890';
    const signature = await computePlivoSignatureV3({
      authToken: AUTH_TOKEN,
      method: 'POST',
      url: URL_AMD,
      params,
      nonce,
    });
    await assertPlivoSignatureV3({ authToken: AUTH_TOKEN, method: 'POST', url: URL_AMD, params, nonce, signature });
    const event = readPlivoMachineDetection(params)!;
    expect(directory.deliver(event)).toBe('delivered');
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ callId: CALL, answeredBy: 'machine' });

    // A forged callback fails verification before it is read.
    const forged = callback('false');
    await expect(
      assertPlivoSignatureV3({ authToken: AUTH_TOKEN, method: 'POST', url: URL_AMD, params: forged, nonce, signature }),
    ).rejects.toBeInstanceOf(WebhookSignatureError);
  });

  it('is held for a call whose stream has not started yet, and delivered when it does', async () => {
    const directory = new CallDirectory();
    expect(directory.deliver(readPlivoMachineDetection(callback('false'))!)).toBe('held');
    const transport = rig.make();
    const seen: MachineDetectionEvent[] = [];
    transport.on('machine_detection', (event) => seen.push(event as MachineDetectionEvent));
    directory.add(transport);
    rig.send(new PlivoPeerSimulator(), start);
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ callId: CALL, answeredBy: 'human', carrier: 'plivo' });
  });
});
