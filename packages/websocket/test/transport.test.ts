import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { ConfigError, ProtocolError } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { FakeCarrier, FakeRealtimeServer, ManualClock, tick, until } from '@switchboard/conformance/testing';
import { RawWebSocketRealtimeTransport, type RawWebSocketRealtimeTransportOptions } from '../src/index.js';
import { RawWebSocketPeerSimulator } from '../src/testing.js';

const isFullUpdate = (e: { type: string; session?: unknown }) =>
  e.type === 'session.update' && typeof (e.session as { audio?: unknown })?.audio === 'object';

const VONAGE_CONNECTED = JSON.stringify({
  event: 'websocket:connected',
  'content-type': 'audio/l16;rate=16000',
  uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
  from: '447700900000',
  to: '447700900001',
  campaign: 'spring',
});
const ASTERISK_START =
  'MEDIA_START connection_id:c0ffee channel:PJSIP/alice-00000001 format:ulaw optimal_frame_size:160 ptime:20';
const JAMBONZ_METADATA = JSON.stringify({
  callSid: 'js-1',
  from: '+15085551212',
  to: '+15085551313',
  direction: 'inbound',
  sampleRate: 8000,
  mixType: 'mono',
});

let server: FakeRealtimeServer;
let url: string;
let carrier: FakeCarrier;
let transport: RawWebSocketRealtimeTransport | undefined;

beforeEach(async () => {
  server = new FakeRealtimeServer();
  url = await server.start();
  carrier = new FakeCarrier();
});

afterEach(async () => {
  transport?.close();
  transport = undefined;
  await server.stop();
});

function makeTransport(
  preset: RawWebSocketRealtimeTransportOptions['preset'],
  options: Partial<RawWebSocketRealtimeTransportOptions> = {},
) {
  transport = new RawWebSocketRealtimeTransport({
    websocket: carrier,
    preset,
    url,
    inputAudioInactivityTimeoutMs: null,
    ...options,
  });
  return transport;
}

/** Binary frames the bridge sent the carrier. */
const binary = () => carrier.sent.filter((f): f is Uint8Array => f instanceof Uint8Array);
/** Text frames the bridge sent the carrier. */
const text = () => carrier.sent.filter((f): f is string => typeof f === 'string');

function errorsOf(t: RawWebSocketRealtimeTransport): unknown[] {
  const errors: unknown[] = [];
  t.on('error', (e) => errors.push(e.error));
  return errors;
}

/** An Asterisk call on a manual clock (paced, the preset's default), connected to the model. */
async function pacedAsteriskCall() {
  const clock = new ManualClock();
  const t = makeTransport('asterisk', { clock });
  carrier.deliver(ASTERISK_START);
  await t.connect({ apiKey: 'sk-test' });
  await server.waitFor(isFullUpdate);
  return { t, clock };
}

describe('RawWebSocketRealtimeTransport', () => {
  it('refuses a missing socket or preset with a clear error', () => {
    expect(() => new RawWebSocketRealtimeTransport({} as RawWebSocketRealtimeTransportOptions)).toThrow(/websocket/);
    expect(
      () =>
        new RawWebSocketRealtimeTransport({ websocket: carrier } as unknown as RawWebSocketRealtimeTransportOptions),
    ).toThrow(/preset/);
    expect(() => new RawWebSocketRealtimeTransport({ websocket: carrier, preset: 'twilio' as 'vonage' })).toThrow(
      ConfigError,
    );
  });

  it('bridges a Vonage call: metadata, L16 16 kHz resampled both ways, notify marks, clear on barge-in', async () => {
    const t = makeTransport('vonage');
    const starts: unknown[] = [];
    const raw: any[] = [];
    t.on('call_start', (e) => starts.push(e));
    t.on('*', (e: any) => e.type === 'vonage_message' && raw.push(e.message));
    carrier.deliver(VONAGE_CONNECTED);
    expect(starts).toEqual([
      expect.objectContaining({
        callId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
        from: '447700900000',
        customParameters: { campaign: 'spring' },
      }),
    ]);
    expect(raw[0]).toMatchObject({ event: 'websocket:connected', campaign: 'spring' });

    await t.connect({ apiKey: 'sk-test' });
    const update = (await server.waitFor(isFullUpdate)) as any;
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcm', rate: 24000 });

    // 100 ms of caller audio at 16 kHz becomes 100 ms at 24 kHz.
    for (let i = 0; i < 5; i++) carrier.deliver(new Uint8Array(640));
    await until(() => server.ofType('input_audio_buffer.append').length >= 5);
    expect(server.inputAudio().byteLength).toBe(4800);

    // 200 ms of model audio (24 kHz) leaves as 20 ms L16 16 kHz frames, each delta followed by a notify.
    server.respond('resp_1', 'item_1', [new Uint8Array(4800), new Uint8Array(4800)], { done: false });
    await until(() => text().filter((f) => f.includes('"notify"')).length === 2);
    expect(binary().every((f) => f.byteLength === 640)).toBe(true);
    expect(binary().length).toBeGreaterThanOrEqual(9);
    const marks = text()
      .map((f) => JSON.parse(f))
      .filter((m) => m.action === 'notify')
      .map((m) => m.payload.name as string);
    carrier.deliver(JSON.stringify({ event: 'websocket:notify', payload: { name: marks[0] } }));

    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await server.waitFor((e) => e.type === 'conversation.item.truncate');
    expect(text()).toContain('{"action":"clear"}');
    carrier.deliver('{"event":"websocket:cleared"}');
    expect(t.metrics.bargeIns).toBe(1);
  });

  it('turns bad frames into ProtocolError events and goes on with the call', async () => {
    const t = makeTransport('vonage');
    const errors = errorsOf(t);
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    await t.connect({ apiKey: 'sk-test' });

    carrier.deliver(new Uint8Array(640)); // audio before the start
    carrier.deliver('{"event":"websocket:dtmf","digit":"1"}'); // control before the start
    carrier.deliver(VONAGE_CONNECTED);
    carrier.deliver('this is not json');
    carrier.deliver('{"event":"websocket:bogus"}');
    carrier.deliver('{"event":"websocket:dtmf","digit":7}');
    carrier.deliver(new Uint8Array(641)); // odd length for L16
    carrier.deliver(new Uint8Array(70_000)); // larger than the limit

    carrier.deliver(new Uint8Array(640).fill(1));
    await until(() => server.inputAudio().byteLength > 0);
    expect(errors).toHaveLength(7);
    expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect((errors as ProtocolError[]).map((e) => e.message)).toEqual([
      expect.stringMatching(/audio before the call started/),
      expect.stringMatching(/control message before the call started/),
      expect.stringMatching(/not valid JSON/),
      expect.stringMatching(/unknown event/),
      expect.stringMatching(/digit/),
      expect.stringMatching(/2 bytes per sample/),
      expect.stringMatching(/larger than the 65536-byte limit/),
    ]);
    expect(t.metrics.malformedFrames).toBe(7);
    expect(ends).toEqual([]);
    expect(t.status).toBe('connected');
  });

  it('holds output on Asterisk MEDIA_XOFF and sends it on MEDIA_XON; DTMF_END and HANGUP', async () => {
    const t = makeTransport({ preset: 'asterisk', leadMs: null });
    const digits: string[] = [];
    t.on('dtmf', (e) => digits.push(e.digit));
    carrier.deliver(ASTERISK_START);
    await t.connect({ apiKey: 'sk-test' });
    const update = (await server.waitFor(isFullUpdate)) as any;
    expect(update.session.audio.output.format).toEqual({ type: 'audio/pcmu' });

    carrier.deliver('DTMF_END digit:4');
    expect(digits).toEqual(['4']);

    carrier.deliver('MEDIA_XOFF');
    server.respond('resp_1', 'item_1', [new Uint8Array(800).fill(5)], { done: false });
    await until(() => t.outputQueuedBytes === 800);
    expect(binary()).toHaveLength(0);
    carrier.deliver('MEDIA_XON');
    expect(binary().map((f) => f.byteLength)).toEqual([160, 160, 160, 160, 160]);
    expect(t.outputQueuedBytes).toBe(0);
    expect(t.metrics.flowPauses).toBe(1);

    expect(t.hangup()).toBe(true);
    expect(text().at(-1)).toBe('HANGUP');
  });

  it('paces Asterisk output to the lead, without acks, on the transport clock', async () => {
    const { t, clock } = await pacedAsteriskCall();
    // Five 400 ms deltas of μ-law: one second (the lead) leaves at once, the rest as the playout
    // clock drains the carrier's queue, half a lead at a time.
    server.respond(
      'resp_1',
      'item_1',
      Array.from({ length: 5 }, () => new Uint8Array(3200)),
      { done: false },
    );
    await until(() => t.outputQueuedBytes === 8000);
    expect(binary()).toHaveLength(50);
    expect(binary().every((f) => f.byteLength === 160)).toBe(true);
    expect(text()).toEqual([]); // no marks: chan_websocket acknowledges nothing
    clock.advance(499);
    expect(binary()).toHaveLength(50);
    clock.advance(1);
    expect(binary()).toHaveLength(75);
    clock.advance(500);
    expect(binary()).toHaveLength(100);
    expect(t.outputQueuedBytes).toBe(0);
  });

  it('on a barge-in while Asterisk has paused the flow, flushes, drops what waits, and resumes with the next reply only', async () => {
    const { t, clock } = await pacedAsteriskCall();
    server.respond(
      'resp_1',
      'item_1',
      Array.from({ length: 5 }, () => new Uint8Array(3200).fill(1)),
      { done: false },
    );
    await until(() => t.outputQueuedBytes === 8000);
    carrier.deliver('MEDIA_XOFF');
    clock.advance(600);
    expect(binary()).toHaveLength(50); // paused: nothing more leaves, however long the lead has played
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await server.waitFor((e) => e.type === 'conversation.item.truncate');
    expect(text().at(-1)).toBe('FLUSH_MEDIA');
    expect(t.outputQueuedBytes).toBe(0);
    expect(t.metrics.interruptedBytesDiscarded).toBe(8000);
    carrier.deliver('MEDIA_XON'); // chan_websocket resumes once the flush emptied its queue
    server.respond('resp_2', 'item_2', [new Uint8Array(800).fill(2)], { done: false });
    await until(() => binary().length === 55);
    expect(
      binary()
        .slice(50)
        .every((f) => f.byteLength === 160 && f[0] === 2),
    ).toBe(true);
    expect(t.outputQueuedBytes).toBe(0);
  });

  it('counts what waits behind MEDIA_XOFF as unsent when Asterisk hangs up, and leaves no timer', async () => {
    const { t, clock } = await pacedAsteriskCall();
    carrier.deliver('MEDIA_XOFF');
    server.respond('resp_1', 'item_1', [new Uint8Array(1600)], { done: false });
    await until(() => t.outputQueuedBytes === 1600);
    carrier.close();
    expect(t.metrics.outputUnsentBytes).toBe(1600);
    expect(clock.pending).toBe(0);
  });

  it('bridges a jambonz listen: metadata frame, killAudio on barge-in, disconnect on hang-up', async () => {
    const t = makeTransport('jambonz');
    const raw: any[] = [];
    t.on('*', (e: any) => e.type === 'jambonz_message' && raw.push(e.message));
    carrier.deliver(JAMBONZ_METADATA);
    expect(t.callStart).toMatchObject({
      callId: 'js-1',
      format: { encoding: 'l16', sampleRate: 8000 },
      customParameters: { direction: 'inbound' },
    });
    expect(raw[0]).toMatchObject({ callSid: 'js-1' });
    await t.connect({ apiKey: 'sk-test' });
    await server.waitFor(isFullUpdate);
    carrier.deliver(new Uint8Array(320));
    await until(() => server.inputAudio().byteLength === 960);

    server.respond('resp_1', 'item_1', [new Uint8Array(4800)], { done: false });
    await until(() => binary().length >= 4);
    expect(binary().every((f) => f.byteLength === 320)).toBe(true);
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => text().includes('{"type":"killAudio"}'));
    expect(t.hangup()).toBe(true);
    expect(text().at(-1)).toBe('{"type":"disconnect"}');
  });

  it('starts a generic call on connect when the gateway announces nothing', async () => {
    const t = makeTransport({
      preset: 'generic',
      startOn: 'connect',
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    });
    const starts: any[] = [];
    t.on('call_start', (e) => starts.push(e));
    carrier.deliver(new Uint8Array(160).fill(0x7f));
    await tick();
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({ format: { encoding: 'pcmu', sampleRate: 8000 }, customParameters: {} });
    await t.connect({ apiKey: 'sk-test' });
    await until(() => server.inputAudio().byteLength === 160);
    expect(t.sendDtmf('12#')).toBe(true);
    expect(text().at(-1)).toBe('{"type":"dtmf","digits":"12#"}');
    carrier.deliver('{"type":"stop","reason":"gateway hung up"}');
    await until(() => t.status === 'disconnected');
  });

  it('works over a real ws socket with the peer simulator, audio in binary frames both ways', async () => {
    const bridge = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => bridge.once('listening', () => r()));
    const bridgeSide = new Promise<WebSocket>((resolve) => bridge.once('connection', resolve));
    const gateway = new WebSocket(`ws://127.0.0.1:${(bridge.address() as { port: number }).port}/socket`);
    await new Promise<void>((r) => gateway.once('open', () => r()));
    const peer = new RawWebSocketPeerSimulator({
      preset: 'vonage',
      format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
    });
    const commands: Array<{ type: string; bytes?: number }> = [];
    const binaryFlags: boolean[] = [];
    gateway.on('message', (data, isBinary) => {
      binaryFlags.push(isBinary);
      for (const c of peer.decodeOutbound(isBinary ? new Uint8Array(data as Buffer) : String(data))) {
        commands.push({ type: c.type, ...(c.type === 'audio' ? { bytes: c.payload.byteLength } : {}) });
      }
    });
    try {
      transport = new RawWebSocketRealtimeTransport({
        websocket: await bridgeSide,
        preset: 'vonage',
        url,
        inputAudioInactivityTimeoutMs: null,
      });
      const session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), { transport });
      await session.connect({ apiKey: 'sk-test' });
      const send = (event: Parameters<RawWebSocketPeerSimulator['encodeInbound']>[0]) => {
        for (const frame of peer.encodeInbound(event)) gateway.send(frame);
      };
      send({
        type: 'call_start',
        streamId: '',
        callId: 'call-9',
        format: peer.format,
        customParameters: {},
        raw: null,
      });
      for (let i = 0; i < 10; i++) send({ type: 'audio', payload: new Uint8Array(640).fill(i) });
      await until(() => server.inputAudio().byteLength === 10 * 960);
      server.respond('resp_1', 'item_1', [new Uint8Array(4800)], { done: false });
      await until(() => commands.some((c) => c.type === 'mark'));
      expect(commands.filter((c) => c.type === 'audio').every((c) => c.bytes === 640)).toBe(true);
      expect(binaryFlags.filter(Boolean).length).toBe(commands.filter((c) => c.type === 'audio').length);
      session.close();
    } finally {
      gateway.terminate();
      await new Promise<void>((r) => bridge.close(() => r()));
    }
  });
});
