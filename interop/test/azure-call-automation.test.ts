/**
 * `@switchboard/azure` against Microsoft's `@azure/communication-call-automation`:
 * - the SDK's `StreamingData.parse` reads every frame `AzurePeerSimulator` writes (ACS's side of
 *   the media stream) with the same fields our protocol decodes;
 * - what the SDK's `createOutboundAudioData` / `createOutboundStopAudioData` write is accepted by
 *   the peer, and our protocol's `AudioData` and `StopAudio` say the same thing;
 * - `AzureCallAutomation` and the SDK's `CallAutomationClient` (access key, local HTTP server)
 *   send the same terminate, hang-up and transfer requests, signed by one HMAC scheme.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CallAutomationClient,
  StreamingData,
  createOutboundAudioData,
  createOutboundStopAudioData,
} from '@azure/communication-call-automation';
import type { AudioData, AudioMetadata, DtmfData } from '@azure/communication-call-automation';
import { base64Decode, base64Encode, type CallEvent } from '@switchboard/core';
import {
  AZURE_CALL_AUTOMATION_API_VERSION,
  AzureCallAutomation,
  AzureMediaStreamProtocol,
  signAzureRequest,
} from '@switchboard/azure';
import { AzurePeerSimulator } from '@switchboard/azure/testing';
import { onlySdkThenOurs, useHttpCapture, type CapturedRequest, type Responder } from './support/http-capture.js';

const SUBSCRIPTION = '89e8cb59-b991-48b0-b154-1db84f16a077';
const CALL = '18dea47f-b081-4107-9a5c-4300819d2c6c';

function start(sampleRate: 16000 | 24000): Extract<CallEvent, { type: 'call_start' }> {
  return {
    type: 'call_start',
    streamId: SUBSCRIPTION,
    callId: CALL,
    format: { encoding: 'l16', sampleRate, channels: 1 },
    customParameters: {},
    raw: null,
  };
}

/** 20 ms of a ramp at `rate` (16-bit PCM, no byte pattern that is all zeros). */
function pcmFrame(rate: number, seed: number): Uint8Array {
  const bytes = new Uint8Array((rate / 50) * 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + seed) & 0xff;
  return bytes;
}

function only<T>(frames: Array<string | Uint8Array>): T {
  expect(frames).toHaveLength(1);
  const frame = frames[0]!;
  expect(typeof frame).toBe('string');
  return frame as T;
}

describe('StreamingData.parse (SDK) reads what AzurePeerSimulator writes', () => {
  it.each([16000, 24000] as const)('AudioMetadata, AudioData and DtmfData at %i Hz', (rate) => {
    const peer = new AzurePeerSimulator({ sampleRate: rate, participantRawId: '4:14255550123' });
    const ours = new AzureMediaStreamProtocol({ sampleRate: rate, callConnectionId: CALL });

    const opening = only<string>(peer.encodeInbound(start(rate)));
    const metadata = StreamingData.parse(opening) as AudioMetadata;
    expect(StreamingData.getStreamingKind()).toBe('AudioMetadata');
    expect(metadata).toEqual({ subscriptionId: SUBSCRIPTION, encoding: 'PCM', sampleRate: rate, channels: 1 });
    const [callStart] = ours.decode(opening);
    expect(callStart).toMatchObject({
      type: 'call_start',
      streamId: metadata.subscriptionId,
      callId: CALL,
      format: { encoding: 'l16', sampleRate: metadata.sampleRate, channels: metadata.channels },
    });

    for (let seed = 1; seed <= 3; seed++) {
      const payload = pcmFrame(rate, seed);
      const frame = only<string>(peer.encodeInbound({ type: 'audio', payload }));
      // The SDK also takes the frame as bytes (a binary WebSocket message).
      for (const input of [frame, new TextEncoder().encode(frame).buffer as ArrayBuffer]) {
        const audio = StreamingData.parse(input) as AudioData;
        expect(StreamingData.getStreamingKind()).toBe('AudioData');
        expect(base64Decode(audio.data)).toEqual(payload);
        expect(audio.isSilent).toBe(false);
        // The SDK reads the raw id as a phone number, its digits as ACS wrote them.
        expect(audio.participant).toMatchObject({ kind: 'phoneNumber', phoneNumber: '14255550123' });
        expect(typeof audio.timestamp === 'string' && !Number.isNaN(Date.parse(audio.timestamp))).toBe(true);
      }
      expect(ours.decode(frame)).toEqual([{ type: 'audio', payload }]);
    }

    for (const digit of ['0', '1', '5', '9', '*', '#', 'A', 'D']) {
      const frame = only<string>(peer.encodeInbound({ type: 'dtmf', digit }));
      const dtmf = StreamingData.parse(frame) as DtmfData;
      expect(StreamingData.getStreamingKind()).toBe('DtmfData');
      expect(dtmf).toEqual({ data: digit });
      expect(ours.decode(frame)).toEqual([{ type: 'dtmf', digit }]);
    }
  });

  it('silent frames, with their samples and without, and an ACS user as the speaker', () => {
    for (const silentFrames of ['with-data', 'empty'] as const) {
      const peer = new AzurePeerSimulator({ silentFrames, participantRawId: '8:acs:resource_user-1' });
      const ours = new AzureMediaStreamProtocol();
      ours.decode(only<string>(peer.encodeInbound(start(16000))));
      const silence = new Uint8Array(640);
      const frame = only<string>(peer.encodeInbound({ type: 'audio', payload: silence }));
      const audio = StreamingData.parse(frame) as AudioData;
      expect(audio.isSilent).toBe(true);
      expect(audio.data).toBe(silentFrames === 'empty' ? '' : base64Encode(silence));
      expect(audio.participant).toEqual({ kind: 'communicationUser', communicationUserId: '8:acs:resource_user-1' });
      // Either way our protocol hands the model 20 ms of silence.
      expect(ours.decode(frame)).toEqual([{ type: 'audio', payload: silence }]);
    }
  });
});

/** A frame as JSON with `kind` lower-cased and null members dropped: how ACS reads it (see the README). */
function normalised(frame: string): Record<string, unknown> {
  const parsed = JSON.parse(frame) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (value === null || value === undefined) continue;
    out[key] = key === 'kind' && typeof value === 'string' ? value.toLowerCase() : value;
  }
  return out;
}

describe('outbound frames: the SDK (createOutbound…) and AzureMediaStreamProtocol.encode', () => {
  it.each([16000, 24000] as const)('AudioData at %i Hz: the peer accepts both, with the same samples', (rate) => {
    const peer = new AzurePeerSimulator({ sampleRate: rate });
    const ours = new AzureMediaStreamProtocol({ sampleRate: rate });
    const payload = new Uint8Array([...pcmFrame(rate, 3), ...pcmFrame(rate, 4)]);
    const sdkFrame = createOutboundAudioData(base64Encode(payload));
    const ourFrame = only<string>(ours.encode({ type: 'audio', payload }));

    expect(peer.decodeOutbound(sdkFrame)).toEqual([{ type: 'audio', payload }]);
    expect(peer.decodeOutbound(ourFrame)).toEqual([{ type: 'audio', payload }]);

    const sdk = normalised(sdkFrame);
    const mine = normalised(ourFrame);
    expect(mine['kind']).toBe(sdk['kind']);
    expect(mine['kind']).toBe('audiodata');
    expect((mine['audioData'] as { data: string }).data).toBe((sdk['audioData'] as { data: string }).data);
    // The SDK also writes isSilent: false and an empty stopAudio beside the audio; neither changes what plays.
    expect(sdk['audioData']).toEqual({ data: base64Encode(payload), isSilent: false });
    expect(mine['audioData']).toEqual({ data: base64Encode(payload) });
  });

  it('StopAudio: the peer reads both as a clear, and they say the same thing', () => {
    const peer = new AzurePeerSimulator();
    const ours = new AzureMediaStreamProtocol();
    const sdkFrame = createOutboundStopAudioData();
    const ourFrame = only<string>(ours.encode({ type: 'clear' }));
    expect(peer.decodeOutbound(sdkFrame)).toEqual([{ type: 'clear' }]);
    expect(peer.decodeOutbound(ourFrame)).toEqual([{ type: 'clear' }]);
    expect(normalised(ourFrame)).toEqual(normalised(sdkFrame));
    expect(normalised(sdkFrame)).toEqual({ kind: 'stopaudio', stopAudio: {} });
  });

  it('the peer still refuses what neither SDK writes', () => {
    const peer = new AzurePeerSimulator();
    const audio = JSON.parse(createOutboundAudioData(base64Encode(pcmFrame(16000, 1)))) as Record<string, unknown>;
    expect(() => peer.decodeOutbound(JSON.stringify({ ...audio, kind: 'playAudio' }))).toThrow(/unsupported kind/);
    expect(() => peer.decodeOutbound(JSON.stringify({ ...audio, extra: 1 }))).toThrow(/unexpected field/);
    expect(() => peer.decodeOutbound(createOutboundAudioData(base64Encode(new Uint8Array(100))))).toThrow(
      /whole 20 ms frames/,
    );
  });
});

const ACCESS_KEY = Buffer.from('interop-test-access-key-0123456789').toString('base64');

/** What ACS answers: 202 with the operation context for a transfer, 204 for the rest. */
const answer: Responder = (request) =>
  request.path.endsWith(':transferToParticipant')
    ? { status: 202, body: { operationContext: 'ctx-1' } }
    : { status: 204, body: '' };
const server = useHttpCapture({ beforeAll, afterAll, beforeEach }, answer);

let sdk: CallAutomationClient;
let sdkApiVersion: string;

beforeAll(async () => {
  const connectionString = `endpoint=${server.url}/;accesskey=${ACCESS_KEY}`;
  sdk = new CallAutomationClient(connectionString, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
  // The api-version the SDK sends by default, so that both clients use the same one.
  server.respond(answer);
  await sdk.getCallConnection('probe').hangUp(false);
  const probe = await server.waitForRequests(1);
  sdkApiVersion = String(probe[0]!.query['api-version']);
});

function ours(): AzureCallAutomation {
  return new AzureCallAutomation({
    connectionString: `endpoint=${server.url}/;accesskey=${ACCESS_KEY}`,
    apiVersion: sdkApiVersion,
  });
}

/** Recomputes a request's signature with our signer from what the server received. */
async function expectSignedByTheScheme(request: CapturedRequest): Promise<void> {
  const date = request.headers['x-ms-date'];
  expect(date).toBeDefined();
  const expected = await signAzureRequest({
    method: request.method,
    url: `http://${request.headers['host']}${request.target}`,
    body: request.rawBody,
    accessKey: ACCESS_KEY,
    date: Date.parse(date!),
  });
  expect(request.headers['x-ms-date']).toBe(expected['x-ms-date']);
  expect(request.headers['x-ms-content-sha256']).toBe(expected['x-ms-content-sha256']);
  expect(request.headers['authorization']).toBe(expected['Authorization']);
}

/** Runs the SDK's call, then ours, and returns the two requests the server received. */
const both = (viaSdk: () => Promise<unknown>, viaOurs: () => Promise<unknown>) =>
  onlySdkThenOurs(server, viaSdk, viaOurs);

function sameTarget(a: CapturedRequest, b: CapturedRequest): void {
  expect(b.method).toBe(a.method);
  expect(b.path).toBe(a.path);
  expect(b.query).toEqual(a.query);
  expect(a.query['api-version']).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/);
}

describe('AzureCallAutomation against CallAutomationClient (SDK), access key', () => {
  it('the SDK api-version looks like ours, and our default is a stable one', () => {
    expect(sdkApiVersion).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/);
    expect(AZURE_CALL_AUTOMATION_API_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it.each([CALL, 'call with/odd?chars'])('terminate (hang up for everyone) of %j: the same request', async (id) => {
    const { sdk: a, ours: b } = await both(
      () => sdk.getCallConnection(id).hangUp(true),
      () => ours().hangUp(id),
    );
    sameTarget(a, b);
    expect(a.method).toBe('POST');
    expect(a.path).toBe(`/calling/callConnections/${encodeURIComponent(id)}:terminate`);
    expect(a.rawBody).toBe('');
    expect(b.rawBody).toBe('');
    await expectSignedByTheScheme(a);
    await expectSignedByTheScheme(b);
  });

  it('hang up (leave the call): the same DELETE', async () => {
    const { sdk: a, ours: b } = await both(
      () => sdk.getCallConnection(CALL).hangUp(false),
      () => ours().hangUp(CALL, { forEveryone: false }),
    );
    sameTarget(a, b);
    expect(a.method).toBe('DELETE');
    expect(a.path).toBe(`/calling/callConnections/${CALL}`);
    await expectSignedByTheScheme(a);
    await expectSignedByTheScheme(b);
  });

  it('transfer to a phone number: the same request; the SDK body holds ours', async () => {
    let sdkResult: unknown;
    let ourResult: unknown;
    const { sdk: a, ours: b } = await both(
      async () => {
        sdkResult = await sdk
          .getCallConnection(CALL)
          .transferCallToParticipant({ phoneNumber: '+14255550123' }, { operationContext: 'ctx-1' });
      },
      async () => {
        ourResult = await ours().transfer(CALL, '+14255550123', { operationContext: 'ctx-1' });
      },
    );
    sameTarget(a, b);
    expect(a.path).toBe(`/calling/callConnections/${CALL}:transferToParticipant`);
    expect(b.headers['content-type']).toMatch(/^application\/json/);
    expect(a.headers['content-type']).toMatch(/^application\/json/);
    expect(a.body).toMatchObject(b.body as object);
    expect(b.body).toEqual({
      targetParticipant: { kind: 'phoneNumber', phoneNumber: { value: '+14255550123' } },
      operationContext: 'ctx-1',
    });
    expect(sdkResult).toMatchObject({ operationContext: 'ctx-1' });
    // The raw id the SDK writes for the number (`4:+…`) is a target our client takes too.
    const rawId = (a.body as { targetParticipant: { rawId: string } }).targetParticipant.rawId;
    await ours().transfer(CALL, rawId, { operationContext: 'ctx-1' });
    expect(server.requests[2]!.body).toEqual(b.body);
    expect(ourResult).toEqual({ alreadyEnded: false, operationContext: 'ctx-1' });
    await expectSignedByTheScheme(a);
    await expectSignedByTheScheme(b);
  });

  it('transfer to an ACS user, with a callback URL: the same request', async () => {
    const user = '8:acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444';
    const { sdk: a, ours: b } = await both(
      () =>
        sdk
          .getCallConnection(CALL)
          .transferCallToParticipant(
            { communicationUserId: user },
            { operationContext: 'ctx-2', operationCallbackUrl: 'https://app.example.com/events' },
          ),
      () =>
        ours().transfer(CALL, user, {
          operationContext: 'ctx-2',
          operationCallbackUri: 'https://app.example.com/events',
        }),
    );
    sameTarget(a, b);
    expect(a.body).toMatchObject(b.body as object);
    expect(b.body).toMatchObject({
      targetParticipant: { kind: 'communicationUser', communicationUser: { id: user } },
      operationCallbackUri: 'https://app.example.com/events',
    });
    await expectSignedByTheScheme(a);
    await expectSignedByTheScheme(b);
  });
});
