import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { ConfigError, type AudioFormat } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { type CarrierSocketPair, FakeRealtimeServer, openCarrierSocket, until } from '@switchboard/conformance/testing';
import { TwilioRealtimeTransport, type TwilioRealtimeTransportOptions } from '../src/index.js';
import { TwilioPeerSimulator } from '../src/testing.js';

let model: FakeRealtimeServer;
let modelUrl: string;
let socketPair: CarrierSocketPair;
let twilio: WebSocket;
let transport: TwilioRealtimeTransport | undefined;
let peer: TwilioPeerSimulator;
let bridgeSide: Promise<WebSocket>;

beforeEach(async () => {
  model = new FakeRealtimeServer();
  modelUrl = await model.start();
  socketPair = await openCarrierSocket('/media-stream');
  ({ carrier: twilio, bridgeSide } = socketPair);
  peer = new TwilioPeerSimulator({ callSid: 'CA' + 'a'.repeat(32), streamSid: 'MZ' + 'b'.repeat(32) });
});

afterEach(async () => {
  transport?.close();
  transport = undefined;
  await socketPair.close();
  await model.stop();
});

/** What Twilio received from the bridge, decoded and validated as Twilio validates it. */
const received: Array<ReturnType<TwilioPeerSimulator['decodeOutbound']>[number]> = [];
const rejected: string[] = [];
beforeEach(() => {
  received.length = 0;
  rejected.length = 0;
  twilio.on('message', (data) => {
    try {
      received.push(...peer.decodeOutbound(String(data)));
    } catch (error) {
      rejected.push((error as Error).message);
    }
  });
});

async function makeTransport(options: Partial<TwilioRealtimeTransportOptions> = {}) {
  const socket = await bridgeSide;
  transport = new TwilioRealtimeTransport({
    twilioWebSocket: socket,
    url: modelUrl,
    inputAudioInactivityTimeoutMs: null,
    ...options,
  });
  return transport;
}

function sendFromTwilio(...events: Parameters<TwilioPeerSimulator['encodeInbound']>[0][]) {
  for (const event of events) for (const frame of peer.encodeInbound(event)) twilio.send(frame);
}

const start = (format: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 }) => ({
  type: 'call_start' as const,
  streamId: 'MZ' + 'b'.repeat(32),
  callId: 'CA' + 'a'.repeat(32),
  format,
  customParameters: { caller: '+15550001111' },
  raw: null,
});

describe('TwilioRealtimeTransport', () => {
  it('takes the SDK adapter’s options and refuses a missing socket with a clear error', () => {
    expect(() => new TwilioRealtimeTransport({} as TwilioRealtimeTransportOptions)).toThrow(ConfigError);
    expect(() => new TwilioRealtimeTransport({} as TwilioRealtimeTransportOptions)).toThrow(/twilioWebSocket/);
  });

  it('emits every Twilio frame as twilio_message, visible as transport_event on the session', async () => {
    const t = await makeTransport();
    const session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), { transport: t });
    const events: any[] = [];
    session.on('transport_event', (e) => events.push(e));
    await session.connect({ apiKey: 'sk-test' });
    sendFromTwilio(start(), { type: 'dtmf', digit: '7' });
    await until(() => events.filter((e) => e.type === 'twilio_message').length >= 3);
    const raw = events.filter((e) => e.type === 'twilio_message').map((e) => e.message.event);
    expect(raw).toEqual(['connected', 'start', 'dtmf']);
    expect(
      events.find((e) => e.type === 'twilio_message' && e.message.event === 'start').message.start.customParameters,
    ).toEqual({
      caller: '+15550001111',
    });
    expect(events.some((e) => e.type === 'dtmf' && e.digit === '7')).toBe(true);
    session.close();
  });

  it('forces g711_ulaw under a RealtimeSession configured for PCM, as Twilio needs', async () => {
    const t = await makeTransport();
    sendFromTwilio(start());
    await until(() => t.streamId !== undefined);
    const session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), {
      transport: t,
      config: { audio: { output: { format: 'pcm16' } } },
    });
    await session.connect({ apiKey: 'sk-test' });
    const update = (await model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as any;
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcmu' });
    expect(update.session.audio.output.format).toEqual({ type: 'audio/pcmu' });
    session.close();
  });

  it('negotiates SignalWire L16 16 kHz streams to PCM16 24 kHz', async () => {
    const t = await makeTransport();
    sendFromTwilio(start({ encoding: 'l16', sampleRate: 16000, channels: 1 }));
    await until(() => t.carrierFormat.encoding === 'l16');
    await t.connect({ apiKey: 'sk-test' });
    const update = (await model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as any;
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcm', rate: 24000 });
  });

  it('sends Twilio only valid media, mark and clear frames for the active stream', async () => {
    const t = await makeTransport();
    sendFromTwilio(start());
    await until(() => t.streamId !== undefined);
    await t.connect({ apiKey: 'sk-test' });
    model.respond('resp_1', 'item_1', [new Uint8Array(800).fill(1), new Uint8Array(800).fill(2)], { done: false });
    await until(() => received.filter((c) => c.type === 'mark').length === 2);
    model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => received.some((c) => c.type === 'clear'));
    expect(rejected).toEqual([]);
    expect(
      received.filter((c) => c.type === 'audio').every((c) => c.type === 'audio' && c.payload.byteLength % 160 === 0),
    ).toBe(true);
  });

  it('pads with a second of silence when Twilio stops sending media while the caller is speaking', async () => {
    const t = await makeTransport({ inputAudioInactivityTimeoutMs: 30 });
    sendFromTwilio(start());
    await until(() => t.streamId !== undefined);
    await t.connect({ apiKey: 'sk-test' });
    sendFromTwilio({ type: 'audio', payload: new Uint8Array(160).fill(3), timestampMs: 0, sequence: 1 });
    await until(() => model.inputAudio().byteLength === 160);
    model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => model.inputAudio().byteLength === 160 + 8000);
    expect(
      model
        .inputAudio()
        .subarray(160)
        .every((b) => b === 0xff),
    ).toBe(true);
    expect(t.metrics.inactivityPaddedMs).toBe(1000);
  });
});
