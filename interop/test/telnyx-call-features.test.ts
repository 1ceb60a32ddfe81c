/**
 * The call features of `@switchboard/telnyx` against the `telnyx` SDK: dialling out with machine
 * detection, the commands of a warm transfer (speak, bridge, streaming_stop, hangup), a cold
 * transfer carrying the call's context, and the machine detection webhooks.
 *
 * Requests: both clients send the same command to one local HTTP server, and the requests must
 * agree on what Telnyx reads. Webhooks: the SDK's types list every detection result Telnyx sends
 * (a result added to the SDK fails to compile here until it has a reading), and the SDK's
 * `webhooks.unwrap` verifies and parses each signed delivery that ours reads.
 */
import { Buffer } from 'node:buffer';
import Telnyx from 'telnyx';
import type {
  CallMachineDetectionEnded,
  CallMachineGreetingEnded,
  CallMachinePremiumDetectionEnded,
  CallMachinePremiumGreetingEnded,
} from 'telnyx/resources/webhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MachineDetectionEvent, TelephonyRealtimeTransport, TransferRequest } from '@switchboard/core';
import {
  TelnyxWarmTransfer,
  readTelnyxMachineDetection,
  readVerifiedTelnyxMachineDetection,
  telnyxTransfer,
} from '@switchboard/telnyx';
import { useHttpCapture } from './support/http-capture.js';
import { TELNYX_API_KEY, telnyxWire, useTelnyxClients } from './support/telnyx-clients.js';

const CALLER = 'v3:u5OAKGEPT3Dx8SZSSDRWEMdNH2OripQhO';
const PERSON = 'v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9B';

const server = useHttpCapture(
  { beforeAll, afterAll, beforeEach },
  {
    status: 200,
    body: {
      data: {
        call_control_id: PERSON,
        call_leg_id: '2dc6fc34-f9e0-11ea-b68e-02420a0f7768',
        call_session_id: '2dc1b3c8-f9e0-11ea-bc5a-02420a0f7768',
        is_alive: false,
        record_type: 'call',
        result: 'ok',
      },
    },
  },
);
const telnyx = useTelnyxClients({ beforeAll }, server);

describe('Telnyx call features against telnyx (SDK) requests', () => {
  it('dial with a bidirectional RTP stream and machine detection: the same request as calls.dial', async () => {
    const { sdk: a, ours: b } = await telnyx.both(
      () =>
        telnyx.sdk.calls.dial({
          to: '+13125550001',
          from: '+13125550000',
          connection_id: '7267xxxxxxxxxxxxxx',
          stream_url: 'wss://agent.example.com/media',
          stream_track: 'inbound_track',
          stream_bidirectional_mode: 'rtp',
          stream_bidirectional_codec: 'PCMU',
          answering_machine_detection: 'detect_words',
          answering_machine_detection_config: { total_analysis_time_millis: 5000, greeting_duration_millis: 3500 },
          client_state: Buffer.from('reminder 42').toString('base64'),
          webhook_url: 'https://agent.example.com/telnyx',
          timeout_secs: 30,
          custom_headers: [{ name: 'X-Campaign', value: 'spring' }],
        }),
      () =>
        telnyx.ours.dial({
          to: '+13125550001',
          from: '+13125550000',
          connectionId: '7267xxxxxxxxxxxxxx',
          streamUrl: 'wss://agent.example.com/media',
          answeringMachineDetection: 'detect_words',
          amdConfig: { total_analysis_time_millis: 5000, greeting_duration_millis: 3500 },
          clientState: 'reminder 42',
          webhookUrl: 'https://agent.example.com/telnyx',
          timeoutSecs: 30,
          customHeaders: [{ name: 'X-Campaign', value: 'spring' }],
        }),
    );
    expect(b).toEqual(a);
    expect(a).toMatchObject({ method: 'POST', target: '/v2/calls', authorization: `Bearer ${TELNYX_API_KEY}` });
  });

  it('dial with an L16 stream and premium detection: the same request; both read the same ids back', async () => {
    const viaSdk = await telnyx.sdk.calls.dial({
      to: 'sip:agent@pbx.example.com',
      from: '+13125550000',
      connection_id: 'c1',
      stream_url: 'wss://agent.example.com/media',
      stream_track: 'inbound_track',
      stream_bidirectional_mode: 'rtp',
      stream_bidirectional_codec: 'L16',
      stream_bidirectional_sampling_rate: 16000,
      answering_machine_detection: 'premium',
    });
    const viaOurs = await telnyx.ours.dial({
      to: 'sip:agent@pbx.example.com',
      from: '+13125550000',
      connectionId: 'c1',
      streamUrl: 'wss://agent.example.com/media',
      streamCodec: 'L16',
      streamSamplingRate: 16000,
      answeringMachineDetection: 'premium',
    });
    const [theirs, mine] = await server.waitForRequests(2);
    expect(telnyxWire(mine!)).toEqual(telnyxWire(theirs!));
    expect(viaOurs).toMatchObject({
      callControlId: viaSdk.data!.call_control_id,
      callLegId: viaSdk.data!.call_leg_id,
      callSessionId: viaSdk.data!.call_session_id,
    });
  });

  it('speak, bridge and streaming_stop (a warm transfer’s commands): the same requests', async () => {
    const speak = await telnyx.both(
      () =>
        telnyx.sdk.calls.actions.speak(PERSON, {
          payload: 'A caller about a refund.',
          voice: 'female',
          language: 'en-US',
        }),
      () => telnyx.ours.speak(PERSON, 'A caller about a refund.', { language: 'en-US' }),
    );
    expect(speak.ours).toEqual(speak.sdk);
    expect(speak.sdk.target).toBe(`/v2/calls/${PERSON}/actions/speak`);
    server.clear();
    const bridge = await telnyx.both(
      () => telnyx.sdk.calls.actions.bridge(CALLER, { call_control_id_to_bridge_with: PERSON }),
      () => telnyx.ours.bridge(CALLER, PERSON),
    );
    expect(bridge.ours).toEqual(bridge.sdk);
    // The SDK's `call_control_id_to_bridge_with` is `call_control_id` on the wire.
    expect(bridge.sdk.body).toEqual({ call_control_id: PERSON });
    server.clear();
    const stop = await telnyx.both(
      () => telnyx.sdk.calls.actions.stopStreaming(CALLER, { stream_id: 'stream-1' }),
      () => telnyx.ours.stopStreaming(CALLER, 'stream-1'),
    );
    expect(stop.ours).toEqual(stop.sdk);
    expect(stop.sdk.target).toBe(`/v2/calls/${CALLER}/actions/streaming_stop`);
  });

  it('a warm transfer sends dial, speak, bridge and streaming_stop as the SDK writes them', async () => {
    const warm = new TelnyxWarmTransfer({ callControl: telnyx.ours, connectionId: 'c1', from: '+13125550000' });
    const transport = { on: () => transport, off: () => transport } as unknown as TelephonyRealtimeTransport;
    const done = warm.transfer({
      name: 'billing',
      destination: '+13125550002',
      summary: 'Refund for order 1234.',
      callId: CALLER,
      streamId: 'stream-1',
      transport,
    });
    const [dial] = await server.waitForRequests(1);
    const state = (dial!.body as { client_state: string }).client_state;
    const event = (type: string) => ({
      data: { event_type: type, payload: { call_control_id: PERSON, client_state: state } },
    });
    expect(warm.handleWebhook(event('call.answered'))).toBe(true);
    await server.waitForRequests(2);
    expect(warm.handleWebhook(event('call.speak.ended'))).toBe(true);
    await expect(done).resolves.toMatchObject({ transferred: true, callControlId: PERSON });
    const oursSent = (await server.waitForRequests(4)).map(telnyxWire);
    server.clear();
    await telnyx.sdk.calls.dial({
      to: '+13125550002',
      from: '+13125550000',
      connection_id: 'c1',
      timeout_secs: 30,
      client_state: state,
    });
    await telnyx.sdk.calls.actions.speak(PERSON, {
      payload: 'Incoming transfer. Refund for order 1234.',
      voice: 'female',
    });
    await telnyx.sdk.calls.actions.bridge(CALLER, { call_control_id_to_bridge_with: PERSON });
    await telnyx.sdk.calls.actions.stopStreaming(CALLER, { stream_id: 'stream-1' });
    expect(oursSent).toEqual((await server.waitForRequests(4)).map(telnyxWire));
  });

  it('a cold transfer carries reason and summary as SIP headers and the new leg’s client state', async () => {
    const handler = telnyxTransfer({ callControl: telnyx.ours, from: '+13125550000', timeoutSecs: 20 });
    const request: TransferRequest = {
      name: 'sales',
      destination: 'sip:sales@pbx.example.com',
      reason: 'wants a quote',
      summary: 'Caller asks for 40 seats,\r\nannual billing.',
      callId: CALLER,
      transport: {} as TelephonyRealtimeTransport,
    };
    await handler(request);
    const [mine] = await server.waitForRequests(1);
    const state = (mine!.body as { target_leg_client_state: string }).target_leg_client_state;
    expect(JSON.parse(Buffer.from(state, 'base64').toString('utf8'))).toEqual({
      transfer: 'sales',
      reason: 'wants a quote',
      summary: 'Caller asks for 40 seats,\r\nannual billing.',
      callControlId: CALLER,
    });
    server.clear();
    await telnyx.sdk.calls.actions.transfer(CALLER, {
      to: 'sip:sales@pbx.example.com',
      from: '+13125550000',
      timeout_secs: 20,
      custom_headers: [
        { name: 'X-Transfer-Reason', value: 'wants a quote' },
        { name: 'X-Transfer-Summary', value: 'Caller asks for 40 seats, annual billing.' },
        { name: 'X-Transfer-Target', value: 'sales' },
      ],
      target_leg_client_state: state,
    });
    const [theirs] = await server.waitForRequests(1);
    expect(telnyxWire(mine!)).toEqual(telnyxWire(theirs!));
  });
});

// Every result the SDK's types name, with what it means for the agent. A result the SDK adds
// makes these objects incomplete, and this file stops compiling until it is read.
type Reading = Pick<MachineDetectionEvent, 'answeredBy' | 'greetingEnded'>;
const STANDARD: Record<NonNullable<CallMachineDetectionEnded.Payload['result']>, Reading> = {
  human: { answeredBy: 'human', greetingEnded: false },
  machine: { answeredBy: 'machine', greetingEnded: false },
  not_sure: { answeredBy: 'unknown', greetingEnded: false },
};
const GREETING: Record<NonNullable<CallMachineGreetingEnded.Payload['result']>, Reading> = {
  beep_detected: { answeredBy: 'machine', greetingEnded: true },
  ended: { answeredBy: 'machine', greetingEnded: true },
  not_sure: { answeredBy: 'machine', greetingEnded: true },
};
const PREMIUM: Record<NonNullable<CallMachinePremiumDetectionEnded.Payload['result']>, Reading> = {
  human_residence: { answeredBy: 'human', greetingEnded: false },
  human_business: { answeredBy: 'human', greetingEnded: false },
  machine: { answeredBy: 'machine', greetingEnded: false },
  silence: { answeredBy: 'unknown', greetingEnded: false },
  fax_detected: { answeredBy: 'fax', greetingEnded: false },
  not_sure: { answeredBy: 'unknown', greetingEnded: false },
};
const PREMIUM_GREETING: Record<NonNullable<CallMachinePremiumGreetingEnded.Payload['result']>, Reading> = {
  beep_detected: { answeredBy: 'machine', greetingEnded: true },
  no_beep_detected: { answeredBy: 'machine', greetingEnded: true },
};
const CASES: Array<[string, Record<string, Reading>]> = [
  ['call.machine.detection.ended', STANDARD],
  ['call.machine.greeting.ended', GREETING],
  ['call.machine.premium.detection.ended', PREMIUM],
  ['call.machine.premium.greeting.ended', PREMIUM_GREETING],
];

describe('Telnyx machine detection webhooks against telnyx (SDK) webhooks.unwrap', () => {
  it('every result of every detection event the SDK knows: verified by both, read with the SDK’s call id', async () => {
    const keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const publicKey = Buffer.from(await crypto.subtle.exportKey('raw', keys.publicKey)).toString('base64');
    const client = new Telnyx({ apiKey: TELNYX_API_KEY, publicKey });
    let n = 0;
    for (const [eventType, table] of CASES) {
      for (const [result, reading] of Object.entries(table)) {
        const body = JSON.stringify({
          data: {
            event_type: eventType,
            id: `0ccc7b54-4df3-4bca-a65a-3da1ecc777f${n++ % 10}`,
            occurred_at: '2026-12-01T10:00:00.000000Z',
            payload: {
              call_control_id: PERSON,
              call_leg_id: '428c31b6-7af4-4bcb-b7f5-5013ef9657c1',
              call_session_id: '428c31b6-abf3-3bc1-b7f4-5013ef9657c1',
              client_state: 'aGF2ZSBhIG5pY2UgZGF5ID1d',
              connection_id: '7267xxxxxxxxxxxxxx',
              from: '+35319605860',
              to: '+13129457420',
              result,
            },
            record_type: 'event',
          },
          meta: { attempt: 1, delivered_to: 'https://agent.example.com/telnyx' },
        });
        const timestamp = String(Math.floor(Date.now() / 1000));
        const signature = Buffer.from(
          await crypto.subtle.sign('Ed25519', keys.privateKey, new TextEncoder().encode(`${timestamp}|${body}`)),
        ).toString('base64');
        const headers = { 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': timestamp };
        const theirs = (await client.webhooks.unwrap(body, { headers })) as {
          data?: { event_type?: string; payload?: { call_control_id?: string; result?: string } };
        };
        const mine = await readVerifiedTelnyxMachineDetection({ publicKey, body, signature, timestamp });
        expect(mine, `${eventType} ${result}`).toMatchObject({
          type: 'machine_detection',
          carrier: 'telnyx',
          callId: theirs.data?.payload?.call_control_id,
          carrierResult: theirs.data?.payload?.result,
          ...reading,
        });
        expect(theirs.data?.event_type).toBe(eventType);
        await expect(
          readVerifiedTelnyxMachineDetection({ publicKey, body: body.replace(PERSON, CALLER), signature, timestamp }),
        ).rejects.toThrow(/does not match/);
      }
    }
    // Other webhooks of the same call are not detection results.
    expect(
      readTelnyxMachineDetection({ data: { event_type: 'call.answered', payload: { call_control_id: PERSON } } }),
    ).toBe(undefined);
  });
});
