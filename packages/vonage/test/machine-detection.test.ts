import { createHash, createHmac } from 'node:crypto';
import { CallDirectory, WebhookSignatureError, type MachineDetectionEvent } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until, useTransportRig } from '@switchboard/conformance/testing';
import {
  VonageRealtimeTransport,
  assertVonageWebhook,
  connectWebSocketNcco,
  readVonageMachineDetection,
  type VonageConnectAction,
  type VonageRealtimeTransportOptions,
} from '../src/index.js';

const SECRET = 'signature-secret-of-the-account';
/** The PSTN leg: the uuid of the answer webhook and of the call's events. */
const CALL = '63f61863-4a51-4f6b-86e1-46edebcf9356';
/** The WebSocket leg the connect action opens: a uuid of its own. */
const WEBSOCKET_LEG = 'aaaaaaaa-0000-4000-8000-0123456789ab';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<VonageRealtimeTransportOptions> = {}) =>
    new VonageRealtimeTransport({ vonageWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

/** An event webhook body of machine detection, as Vonage posts it. */
function amdEvent(status: string, extra: Record<string, unknown> = {}, uuid = CALL): Record<string, unknown> {
  return {
    from: '447700900000',
    to: '447700900001',
    uuid,
    conversation_uuid: 'CON-f972836a-550f-45fa-956c-12a2ab5b7d22',
    status,
    direction: 'outbound',
    timestamp: '2026-12-05T12:00:00.000Z',
    ...extra,
  };
}

/** `websocket:connected` for a socket the answer webhook connected with connectWebSocketNcco({ answer }). */
function connectedFrame(): string {
  const ncco = connectWebSocketNcco({
    uri: 'wss://bridge.example.com/socket',
    answer: new URLSearchParams({ uuid: CALL, from: '447700900000', to: '447700900001', conversation_uuid: 'CON-1' }),
  });
  const endpoint = (ncco[0] as VonageConnectAction).endpoint[0]!;
  return JSON.stringify({
    event: 'websocket:connected',
    'content-type': endpoint['content-type'],
    ...endpoint.headers,
  });
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The Authorization header of a signed webhook: HS256 with the signature secret over the body's hash. */
function signed(body: string): string {
  const claims = {
    iat: Math.floor(Date.now() / 1000),
    jti: 'b5a1b4a0-1111-4222-8333-944455556666',
    payload_hash: createHash('sha256').update(body).digest('hex'),
  };
  const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
  return `Bearer ${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

describe('readVonageMachineDetection', () => {
  it('reads human, machine and the beep sub-states of advanced detection', () => {
    expect(readVonageMachineDetection(amdEvent('human'))).toEqual({
      type: 'machine_detection',
      callId: CALL,
      carrier: 'vonage',
      answeredBy: 'human',
      greetingEnded: false,
      carrierResult: 'human',
      raw: amdEvent('human'),
    });
    expect(readVonageMachineDetection(amdEvent('machine'))).toMatchObject({
      answeredBy: 'machine',
      greetingEnded: false,
      carrierResult: 'machine',
    });
    expect(readVonageMachineDetection(amdEvent('machine', { sub_state: 'beep_start' }))).toMatchObject({
      answeredBy: 'machine',
      greetingEnded: true,
      carrierResult: 'machine:beep_start',
    });
    expect(readVonageMachineDetection(amdEvent('machine', { sub_state: 'beep_timeout' }))).toMatchObject({
      greetingEnded: true,
      carrierResult: 'machine:beep_timeout',
    });
    expect(readVonageMachineDetection(new URLSearchParams({ uuid: CALL, status: 'machine' }))).toMatchObject({
      callId: CALL,
      answeredBy: 'machine',
    });
  });

  it('answers undefined for the call’s other events and for malformed ones, without throwing', () => {
    for (const payload of [
      amdEvent('answered'),
      amdEvent('completed'),
      amdEvent('machine', { uuid: undefined }),
      amdEvent('machine', { uuid: 42 }),
      amdEvent('machine', { status: ['machine'] }),
      {},
      [] as unknown as Record<string, unknown>,
      null as unknown as Record<string, unknown>,
    ])
      expect(readVonageMachineDetection(payload)).toBeUndefined();
  });

  it('reaches the call whose socket carries the PSTN uuid, once the webhook verified', async () => {
    const transport = rig.make();
    const seen: MachineDetectionEvent[] = [];
    transport.on('machine_detection', (event) => seen.push(event as MachineDetectionEvent));
    const directory = new CallDirectory();
    directory.add(transport);
    rig.carrier.deliver(connectedFrame());
    await until(() => transport.callStart !== undefined);
    expect(transport.callStart!.callId).toBe(CALL);

    const body = JSON.stringify(amdEvent('machine', { sub_state: 'beep_start' }));
    await assertVonageWebhook({ signatureSecret: SECRET, authorization: signed(body), body });
    expect(directory.deliver(readVonageMachineDetection(JSON.parse(body))!)).toBe('delivered');
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ callId: CALL, answeredBy: 'machine', greetingEnded: true });

    // A body changed on the way fails verification before it is read.
    const tampered = JSON.stringify(amdEvent('human'));
    await expect(
      assertVonageWebhook({ signatureSecret: SECRET, authorization: signed(body), body: tampered }),
    ).rejects.toBeInstanceOf(WebhookSignatureError);
  });

  it('does not reach the call under the WebSocket leg’s own uuid', () => {
    const directory = new CallDirectory();
    directory.add(rig.make());
    rig.carrier.deliver(connectedFrame());
    // An event of the WebSocket leg (the connect action's eventUrl) names another uuid: it is
    // held, never delivered here.
    expect(directory.deliver(readVonageMachineDetection(amdEvent('machine', {}, WEBSOCKET_LEG))!)).not.toBe(
      'delivered',
    );
  });
});
