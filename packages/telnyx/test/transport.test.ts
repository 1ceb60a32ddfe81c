import { ConfigError, ProtocolError, concatBytes, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectSession,
  errorsOf,
  startFakeRest,
  until,
  useTransportRig,
  type FakeRest,
} from '@switchboard/conformance/testing';
import { TelnyxCallControl, TelnyxRealtimeTransport, type TelnyxRealtimeTransportOptions } from '../src/index.js';
import { TelnyxPeerSimulator } from '../src/testing.js';

const STREAM = '32DE0DEA-53CB-4B21-89A4-9E1819C043BC';
const CALL = 'v2:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<TelnyxRealtimeTransportOptions> = {}) =>
    new TelnyxRealtimeTransport({ telnyxWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

const start: CallEvent = {
  type: 'call_start',
  streamId: STREAM,
  callId: CALL,
  customParameters: { customer_id: 'customer_123' },
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  raw: null,
};

function frame(seed: number): Uint8Array {
  return new Uint8Array(160).map((_, i) => (seed * 7 + i) & 0x7f);
}

describe('TelnyxRealtimeTransport', () => {
  it('refuses a missing socket with a ConfigError that names the option', () => {
    expect(() => new TelnyxRealtimeTransport({} as TelnyxRealtimeTransportOptions)).toThrow(ConfigError);
    expect(() => new TelnyxRealtimeTransport({} as TelnyxRealtimeTransportOptions)).toThrow(/telnyxWebSocket/);
  });

  it('puts media frames Telnyx delivered out of order back in order before the model hears them', async () => {
    const t = rig.make();
    const peer = new TelnyxPeerSimulator({ swapEvery: 4 });
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start);
    const audio = Array.from({ length: 12 }, (_, i) => frame(i));
    const order: number[] = [];
    for (const payload of audio) {
      for (const f of peer.encodeInbound({ type: 'audio', payload })) {
        order.push(Number(JSON.parse(f as string).media.chunk));
        rig.carrier.deliver(f);
      }
    }
    expect(order).not.toEqual([...order].sort((a, b) => a - b)); // the wire really was out of order
    await until(() => rig.model.inputAudio().byteLength === 12 * 160);
    expect(rig.model.inputAudio()).toEqual(concatBytes(audio));
    expect(t.metrics.lateFramesDropped).toBe(0);
    expect(t.metrics.framesMissing).toBe(0);
  });

  it('turns bad frames into ProtocolError events and goes on with the call', async () => {
    const t = rig.make();
    const errors = errorsOf(t);
    const peer = new TelnyxPeerSimulator();
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start, { type: 'audio', payload: frame(1) });
    rig.carrier.deliver('not json');
    rig.carrier.deliver('{"event":"media","media":{"payload":12}}');
    rig.carrier.deliver('{"event":"dtmf","dtmf":{"digit":4}}');
    rig.carrier.deliver(JSON.stringify({ event: 'start', start: { call_control_id: CALL } })); // no stream id
    rig.carrier.deliver(
      JSON.stringify({
        event: 'start',
        stream_id: 'S2',
        start: { media_format: { encoding: 'G722', sample_rate: 16000 } },
      }),
    );
    rig.send(peer, { type: 'audio', payload: frame(2) }, { type: 'dtmf', digit: '9' });
    await until(() => rig.model.inputAudio().byteLength === 320);
    expect(errors).toHaveLength(5);
    expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect((errors[4] as Error).message).toMatch(/not supported/);
    expect(t.streamId).toBe(STREAM);
    expect(t.status).toBe('connected');
    expect(t.metrics.malformedFrames).toBe(5);
  });

  it('emits call_start, dtmf and every raw frame as telnyx_message through a RealtimeSession', async () => {
    const t = rig.make();
    const starts: unknown[] = [];
    t.on('call_start', (e) => starts.push(e));
    const { session, seen, rawEvents } = await connectSession(t);
    rig.send(new TelnyxPeerSimulator(), start, { type: 'dtmf', digit: '5' });
    await until(() => rawEvents('telnyx_message').length === 3);
    expect(rawEvents('telnyx_message')).toEqual(['connected', 'start', 'dtmf']);
    expect(starts).toEqual([
      expect.objectContaining({ callId: CALL, streamId: STREAM, customParameters: { customer_id: 'customer_123' } }),
    ]);
    expect(seen.some((e) => e.type === 'dtmf' && e.digit === '5')).toBe(true);
    session.close();
  });

  it('sends Telnyx only frames it plays (whole 20 ms chunks, marks, clear) and configures the model for PCMU', async () => {
    const t = rig.make();
    const peer = new TelnyxPeerSimulator();
    rig.send(peer, start);
    await t.connect({ apiKey: 'sk-test' });
    t.updateSessionConfig({});
    const update = (await rig.model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as unknown as {
      session: { audio: { output: { format: unknown } } };
    };
    expect(update.session.audio.output.format).toEqual({ type: 'audio/pcmu' });
    rig.model.respond('resp_1', 'item_1', [new Uint8Array(250).fill(1), new Uint8Array(330).fill(2)], { done: false });
    await until(() => rig.carrier.sent.length >= 2);
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => rig.carrier.sent.some((f) => f === '{"event":"clear"}'));
    const commands: OutboundCommand[] = rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f));
    expect(commands.some((c) => c.type === 'mark')).toBe(true);
    const audio = commands.filter((c): c is Extract<OutboundCommand, { type: 'audio' }> => c.type === 'audio');
    expect(audio.length).toBeGreaterThan(0);
    expect(audio.every((c) => c.payload.byteLength % 160 === 0)).toBe(true);
  });

  it('bridges an L16 stream at 22050 Hz: the model hears PCM16 24 kHz, Telnyx gets whole 20 ms chunks', async () => {
    const t = rig.make({ bidirectionalCodec: 'L16' });
    const peer = new TelnyxPeerSimulator({ bidirectionalCodec: 'L16' });
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, { ...start, format: { encoding: 'l16', sampleRate: 22050, channels: 1 } });
    await until(() => t.callStart !== undefined);
    expect(t.modelAudioFormat).toEqual({ type: 'audio/pcm', rate: 24000 });
    // 200 ms of caller audio (20 ms = 441 samples) reach the model as about 200 ms at 24 kHz.
    for (let i = 0; i < 10; i++) rig.send(peer, { type: 'audio', payload: new Uint8Array(882).fill(i + 1) });
    await until(() => rig.model.inputAudio().byteLength >= 9000);
    rig.model.respond('resp_1', 'item_1', [new Uint8Array(24000 * 2 * 0.1).fill(3)], { done: false });
    await until(() => rig.carrier.sent.some((f) => typeof f === 'string' && f.startsWith('{"event":"media"')));
    const audio = rig.carrier.sent
      .flatMap((f) => peer.decodeOutbound(f))
      .filter((c): c is Extract<OutboundCommand, { type: 'audio' }> => c.type === 'audio');
    expect(audio.length).toBeGreaterThan(0);
    expect(audio.every((c) => c.payload.byteLength % 882 === 0)).toBe(true);
  });
});

describe('TelnyxRealtimeTransport hang-up through Call Control', () => {
  let api: FakeRest;
  beforeEach(async () => {
    api = await startFakeRest(() => ({ status: 200, body: { data: { result: 'ok' } } }));
  });
  afterEach(async () => {
    await api.stop();
  });

  it('sends actions/hangup for the call control id only once Telnyx played the goodbye, then ends the call', async () => {
    const callControl = new TelnyxCallControl({ apiKey: 'KEY_test', baseUrl: api.url });
    const t = rig.make({ callControl });
    const peer = new TelnyxPeerSimulator();
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start);
    await until(() => t.callStart !== undefined, 20_000);
    t.updateSessionConfig({});
    await rig.model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio, 20_000);
    rig.model.respond('resp_1', 'item_1', [new Uint8Array(1600).fill(1), new Uint8Array(1600).fill(2)]);
    const marks = () =>
      rig.carrier.sent
        .flatMap((f) => peer.decodeOutbound(f))
        .filter((c): c is Extract<OutboundCommand, { type: 'mark' }> => c.type === 'mark');
    const audioMs = () =>
      rig.carrier.sent
        .flatMap((f) => peer.decodeOutbound(f))
        .reduce((ms, c) => ms + (c.type === 'audio' ? c.payload.byteLength / 8 : 0), 0);
    // The goodbye is on its way to Telnyx when the agent hangs up.
    await until(() => audioMs() > 0, 20_000);
    const ending = t.endAfterPlayback({ timeoutMs: 60_000 });
    await until(() => audioMs() >= 400 && marks().length > 0, 20_000);
    // Everything is at Telnyx, nothing acknowledged as played: the call is still up.
    expect(api.requests).toHaveLength(0);
    expect(ends).toHaveLength(0);
    let acked = 0;
    await until(() => {
      for (const mark of marks().slice(acked)) rig.send(peer, { type: 'playback_ack', name: mark.name });
      acked = marks().length;
      return ends.length > 0;
    }, 20_000);
    await expect(ending).resolves.toMatchObject({ reason: 'agent_hangup', heardAll: true });
    expect(api.requests.map((r) => r.path)).toEqual([`/v2/calls/${CALL}/actions/hangup`]);
    expect(ends).toEqual([expect.objectContaining({ reason: 'agent_hangup' })]);
  });

  it('refuses a callControl that is not a TelnyxCallControl', () => {
    expect(() => rig.make({ callControl: {} as TelnyxCallControl })).toThrow(/callControl/);
  });

  it('leaves the hang-up to a hangUp option given with callControl', async () => {
    const callControl = new TelnyxCallControl({ apiKey: 'KEY_test', baseUrl: api.url });
    const asked: unknown[] = [];
    const t = rig.make({ callControl, hangUp: (request) => void asked.push(request) });
    await t.connect({ apiKey: 'sk-test' });
    rig.send(new TelnyxPeerSimulator(), start);
    await until(() => t.callStart !== undefined, 20_000);
    await expect(t.endAfterPlayback()).resolves.toMatchObject({ heardAll: true });
    expect(asked).toEqual([expect.objectContaining({ reason: 'agent_hangup', callId: CALL })]);
    expect(api.requests).toHaveLength(0);
  });
});
