import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { ConfigError, detectMediaProtocol } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { type CarrierSocketPair, FakeRealtimeServer, openCarrierSocket, until } from '@switchboard/conformance/testing';
import {
  VonageCallControl,
  VonageRealtimeTransport,
  connectWebSocketNcco,
  vonageCandidate,
  type VonageConnectAction,
  type VonageRealtimeTransportOptions,
} from '../src/index.js';
import { rsaKeyPair } from './helpers.js';

const CALL_UUID = '63f61863-4a51-4f6b-86e1-46edebcf9356';

/**
 * The first frame Vonage sends on the socket, as its WebSocket guide shows it
 * (https://developer.vonage.com/en/voice/voice-api/concepts/websockets): the event, the
 * endpoint's content-type, then the NCCO's headers — here those an answer webhook built with
 * connectWebSocketNcco.
 */
function connectedFrame(): string {
  const ncco = connectWebSocketNcco({
    uri: 'wss://bridge.example.com/socket',
    answer: new URLSearchParams({
      uuid: CALL_UUID,
      from: '447700900000',
      to: '447700900001',
      conversation_uuid: 'CON-1',
    }),
    headers: { app: 'demo' },
  });
  const endpoint = (ncco[0] as VonageConnectAction).endpoint[0]!;
  return JSON.stringify({
    event: 'websocket:connected',
    'content-type': endpoint['content-type'],
    ...endpoint.headers,
  });
}

let model: FakeRealtimeServer;
let modelUrl: string;
let socketPair: CarrierSocketPair;
let vonage: WebSocket;
let bridgeSide: Promise<WebSocket>;
let transport: VonageRealtimeTransport | undefined;
const binary: Uint8Array[] = [];
const text: string[] = [];

beforeEach(async () => {
  model = new FakeRealtimeServer();
  modelUrl = await model.start();
  socketPair = await openCarrierSocket('/socket');
  ({ carrier: vonage, bridgeSide } = socketPair);
  binary.length = 0;
  text.length = 0;
  vonage.on('message', (data, isBinary) => {
    if (isBinary) binary.push(new Uint8Array(data as Buffer));
    else text.push(String(data));
  });
});

afterEach(async () => {
  transport?.close();
  transport = undefined;
  await socketPair.close();
  await model.stop();
});

describe('VonageRealtimeTransport', () => {
  it('refuses a missing socket with a clear error', () => {
    expect(() => new VonageRealtimeTransport({} as VonageRealtimeTransportOptions)).toThrow(ConfigError);
    expect(() => new VonageRealtimeTransport({} as VonageRealtimeTransportOptions)).toThrow(/vonageWebSocket/);
  });

  it('bridges a call from the websocket:connected frame: metadata, L16 16 kHz both ways, notify marks, clear', async () => {
    const t = new VonageRealtimeTransport({
      vonageWebSocket: await bridgeSide,
      url: modelUrl,
      inputAudioInactivityTimeoutMs: null,
    });
    transport = t;
    const session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), { transport: t });
    const starts: any[] = [];
    const events: any[] = [];
    t.on('call_start', (e) => starts.push(e));
    session.on('transport_event', (e) => events.push(e));
    vonage.send(connectedFrame());
    await until(() => starts.length === 1);
    expect(starts[0]).toMatchObject({
      callId: CALL_UUID,
      from: '447700900000',
      to: '447700900001',
      format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
      customParameters: { app: 'demo', conversation_uuid: 'CON-1' },
    });

    await session.connect({ apiKey: 'sk-test' });
    const update = (await model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as any;
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcm', rate: 24000 });

    // 100 ms of caller audio (binary L16 16 kHz, 20 ms frames) reaches the model as PCM16 24 kHz.
    for (let i = 0; i < 5; i++) vonage.send(new Uint8Array(640).fill(0x10));
    await until(() => model.inputAudio().byteLength >= 4000);

    vonage.send(JSON.stringify({ event: 'websocket:dtmf', digit: '5', duration: 260 }));
    await until(() => events.some((e) => e.type === 'dtmf'));
    expect(events.find((e) => e.type === 'dtmf')).toMatchObject({ digit: '5', durationMs: 260 });
    expect(events.filter((e) => e.type === 'vonage_message').map((e) => e.message.event)).toContain('websocket:dtmf');

    // The model's audio goes out as 20 ms binary L16 16 kHz frames, then a notify.
    model.respond('resp_1', 'item_1', [new Uint8Array(4800).fill(1)], { done: false });
    await until(() => text.some((f) => f.includes('"action":"notify"')));
    expect(binary.length).toBeGreaterThan(0);
    expect(binary.slice(0, -1).every((f) => f.byteLength === 640)).toBe(true);
    expect(binary.every((f) => f.byteLength % 2 === 0 && f.byteLength <= 640)).toBe(true);

    // Barge-in: the caller speaks, the bridge clears Vonage's queue.
    model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => text.includes('{"action":"clear"}'));
    session.close();
  });

  it('a 24 kHz endpoint (audio/l16;rate=24000) streams PCM16 24 kHz both ways in 20 ms frames of 960 bytes', async () => {
    const t = new VonageRealtimeTransport({
      vonageWebSocket: await bridgeSide,
      url: modelUrl,
      inputAudioInactivityTimeoutMs: null,
    });
    transport = t;
    const session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), { transport: t });
    const action = connectWebSocketNcco({
      uri: 'wss://bridge.example.com/socket',
      sampleRate: 24000,
      headers: { uuid: CALL_UUID },
    })[0] as VonageConnectAction;
    vonage.send(
      JSON.stringify({
        event: 'websocket:connected',
        'content-type': action.endpoint[0]!['content-type'],
        ...action.endpoint[0]!.headers,
      }),
    );
    await until(() => t.callStart !== undefined);
    expect(t.callStart).toMatchObject({
      callId: CALL_UUID,
      format: { encoding: 'l16', sampleRate: 24000, channels: 1 },
    });
    await session.connect({ apiKey: 'sk-test' });
    for (let i = 0; i < 5; i++) vonage.send(new Uint8Array(960).fill(0x10));
    await until(() => model.inputAudio().byteLength >= 4800);
    model.respond('resp_1', 'item_1', [new Uint8Array(4800).fill(1)], { done: false });
    await until(() => text.some((f) => f.includes('"action":"notify"')));
    expect(binary.length).toBe(5);
    expect(binary.every((f) => f.byteLength === 960)).toBe(true);
    session.close();
  });

  it('hangs up through call control with the call uuid the NCCO put in the headers', async () => {
    const t = new VonageRealtimeTransport({ vonageWebSocket: await bridgeSide, url: modelUrl });
    transport = t;
    vonage.send(connectedFrame());
    await until(() => t.callStart !== undefined);
    const requests: Array<{ url: string; body: unknown }> = [];
    const calls = new VonageCallControl({
      applicationId: 'app-1',
      privateKey: rsaKeyPair().privateKey,
      fetch: async (url, init) => {
        requests.push({ url: String(url), body: JSON.parse(String(init?.body)) });
        return new Response(null, { status: 204 });
      },
    });
    await calls.hangup(t.callStart!.callId!);
    expect(requests).toEqual([{ url: `https://api.nexmo.com/v1/calls/${CALL_UUID}`, body: { action: 'hangup' } }]);
  });

  it('accepts a socket whose carrier was detected from its first frame', async () => {
    const socket = await bridgeSide;
    const detecting = detectMediaProtocol(socket, [vonageCandidate]);
    vonage.send(connectedFrame());
    const { protocol, connection } = await detecting;
    expect(protocol.name).toBe('vonage');
    const t = new VonageRealtimeTransport({ vonageWebSocket: connection, url: modelUrl });
    transport = t;
    await until(() => t.callStart !== undefined);
    expect(t.callStart!.callId).toBe(CALL_UUID);
  });
});
