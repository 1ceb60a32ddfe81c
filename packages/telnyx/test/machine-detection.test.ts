import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallDirectory, WebhookSignatureError, type MachineDetectionEvent } from '@switchboard/core';
import { until, useTransportRig } from '@switchboard/conformance/testing';
import {
  TelnyxRealtimeTransport,
  readTelnyxMachineDetection,
  readVerifiedTelnyxMachineDetection,
} from '../src/index.js';
import { TelnyxPeerSimulator } from '../src/testing.js';

const CALL = 'v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ';

function webhook(eventType: string, result: unknown, extra: Record<string, unknown> = {}) {
  return {
    data: {
      event_type: eventType,
      id: '0ccc7b54-4df3-4bca-a65a-3da1ecc777f0',
      occurred_at: '2026-12-01T10:00:00.000000Z',
      payload: { call_control_id: CALL, call_leg_id: 'leg', call_session_id: 'sess', result, ...extra },
      record_type: 'event',
    },
    meta: { attempt: 1 },
  };
}

async function signedBody(body: string) {
  const keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signed = await crypto.subtle.sign('Ed25519', keys.privateKey, new TextEncoder().encode(`${timestamp}|${body}`));
  return { publicKey, timestamp, signature: Buffer.from(signed).toString('base64') };
}

describe('readTelnyxMachineDetection', () => {
  it('reads a standard detection result as the core event, keyed by the call control id', () => {
    const event = readTelnyxMachineDetection(webhook('call.machine.detection.ended', 'machine'));
    expect(event).toEqual({
      type: 'machine_detection',
      callId: CALL,
      carrier: 'telnyx',
      answeredBy: 'machine',
      greetingEnded: false,
      carrierResult: 'machine',
      raw: webhook('call.machine.detection.ended', 'machine').data,
    });
    expect(readTelnyxMachineDetection(webhook('call.machine.detection.ended', 'human'))).toMatchObject({
      answeredBy: 'human',
      greetingEnded: false,
    });
    expect(readTelnyxMachineDetection(webhook('call.machine.detection.ended', 'not_sure'))).toMatchObject({
      answeredBy: 'unknown',
    });
  });

  it('says a machine greeting is over on every greeting result, beep or not', () => {
    for (const result of ['beep_detected', 'ended', 'not_sure']) {
      expect(readTelnyxMachineDetection(webhook('call.machine.greeting.ended', result))).toMatchObject({
        answeredBy: 'machine',
        greetingEnded: true,
        carrierResult: result,
      });
    }
    expect(
      readTelnyxMachineDetection(webhook('call.machine.premium.greeting.ended', 'no_beep_detected')),
    ).toMatchObject({ answeredBy: 'machine', greetingEnded: true });
  });

  it('reads the premium results: residence and business are people, a fax is a fax, silence is not known', () => {
    const read = (result: string) =>
      readTelnyxMachineDetection(webhook('call.machine.premium.detection.ended', result))?.answeredBy;
    expect(['human_residence', 'human_business', 'machine', 'fax_detected', 'silence', 'not_sure'].map(read)).toEqual([
      'human',
      'human',
      'machine',
      'fax',
      'unknown',
      'unknown',
    ]);
  });

  it('takes the body, its data object, or the raw body as text or bytes', () => {
    const body = webhook('call.machine.detection.ended', 'human');
    const text = JSON.stringify(body);
    for (const form of [body, body.data, text, new TextEncoder().encode(text)]) {
      expect(readTelnyxMachineDetection(form)).toMatchObject({ callId: CALL, answeredBy: 'human' });
    }
  });

  it('gives undefined, never an exception, for other webhooks and malformed ones', () => {
    const cases: unknown[] = [
      undefined,
      null,
      42,
      'not json',
      '{"data":',
      new Uint8Array([0xff, 0xfe]),
      [],
      { data: null },
      webhook('call.answered', undefined),
      webhook('call.machine.detection.ended', 7),
      webhook('call.machine.detection.ended', 'human', { call_control_id: '' }),
      webhook('call.machine.detection.ended', 'human', { call_control_id: 12 }),
      webhook('__proto__', 'human'),
      webhook('call.machine.detection.ended', '__proto__').data.payload,
      { data: { event_type: 'call.machine.detection.ended', payload: 'human' } },
      'x'.repeat(70_000),
    ];
    for (const input of cases) expect(readTelnyxMachineDetection(input)).toBeUndefined();
  });

  it('reads a result it does not know by its event type alone, keeping the value', () => {
    expect(readTelnyxMachineDetection(webhook('call.machine.detection.ended', 'toaster'))).toMatchObject({
      answeredBy: 'unknown',
      greetingEnded: false,
      carrierResult: 'toaster',
    });
    expect(readTelnyxMachineDetection(webhook('call.machine.greeting.ended', '__proto__'))).toMatchObject({
      answeredBy: 'machine',
      greetingEnded: true,
    });
  });
});

describe('readVerifiedTelnyxMachineDetection', () => {
  it('reads a delivery signed with the account key, and refuses one that is not', async () => {
    const body = JSON.stringify(webhook('call.machine.greeting.ended', 'beep_detected'));
    const { publicKey, timestamp, signature } = await signedBody(body);
    await expect(readVerifiedTelnyxMachineDetection({ publicKey, body, signature, timestamp })).resolves.toMatchObject({
      callId: CALL,
      greetingEnded: true,
    });
    const forged = body.replace('beep_detected', 'ended');
    await expect(
      readVerifiedTelnyxMachineDetection({ publicKey, body: forged, signature, timestamp }),
    ).rejects.toBeInstanceOf(WebhookSignatureError);
    await expect(
      readVerifiedTelnyxMachineDetection({ publicKey, body, signature: undefined, timestamp }),
    ).rejects.toBeInstanceOf(WebhookSignatureError);
  });
});

describe('Telnyx machine detection delivered to the call', () => {
  const rig = useTransportRig(
    { beforeEach, afterEach },
    (carrier, url) =>
      new TelnyxRealtimeTransport({ telnyxWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null }),
  );

  it('reaches the transport whose stream start names the same call_control_id, even when it came first', async () => {
    const directory = new CallDirectory();
    const transport = rig.make();
    const seen: MachineDetectionEvent[] = [];
    transport.on('machine_detection', (event) => seen.push(event));
    await transport.connect({ apiKey: 'sk-test' });
    directory.add(transport);

    // The detection webhook can beat the media stream's start.
    const body = JSON.stringify(webhook('call.machine.detection.ended', 'machine'));
    const { publicKey, timestamp, signature } = await signedBody(body);
    const detection = await readVerifiedTelnyxMachineDetection({ publicKey, body, signature, timestamp });
    expect(directory.deliver(detection!)).toBe('held');
    expect(
      directory.deliver({
        ...readTelnyxMachineDetection(webhook('call.machine.detection.ended', 'human'))!,
        callId: 'v3:other',
      }),
    ).toBe('held');

    // Telnyx's start frame: the call_control_id in start is the transport's callStart.callId.
    rig.send(new TelnyxPeerSimulator(), {
      type: 'call_start',
      streamId: 'stream-1',
      callId: CALL,
      customParameters: {},
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      raw: null,
    });
    await until(() => seen.length === 1, 20_000);
    expect(transport.callStart?.callId).toBe(CALL);
    expect(seen[0]).toMatchObject({ callId: CALL, carrier: 'telnyx', answeredBy: 'machine', greetingEnded: false });

    const beep = readTelnyxMachineDetection(webhook('call.machine.greeting.ended', 'beep_detected'))!;
    expect(directory.deliver(beep)).toBe('delivered');
    await until(() => seen.length === 2, 20_000);
    expect(seen[1]).toMatchObject({ answeredBy: 'machine', greetingEnded: true, carrierResult: 'beep_detected' });
    expect(directory.pending).toBe(1); // the other call's result waits for its own stream

    transport.end('caller_hangup');
    expect(directory.deliver(beep)).toBe('dropped');
  });
});
