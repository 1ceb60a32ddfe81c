import {
  ConfigError,
  ProtocolError,
  concatBytes,
  pcm16ToBytes,
  type CallEvent,
  type OutboundCommand,
} from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectSession,
  errorsOf,
  startFakeRest,
  until,
  useTransportRig,
  type FakeRest,
} from '@switchboard/conformance/testing';
import { WavixCallControl, WavixRealtimeTransport, type WavixRealtimeTransportOptions } from '../src/index.js';
import { WavixPeerSimulator } from '../src/testing.js';

const STREAM = '123e4567-e89b-12d3-a456-426614174000';
const CALL = '5dccb6b0-f35c-488c-867b-86fb012c4415';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<WavixRealtimeTransportOptions> = {}) =>
    new WavixRealtimeTransport({ wavixWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

const start: CallEvent = {
  type: 'call_start',
  streamId: STREAM,
  callId: CALL,
  customParameters: {},
  format: { encoding: 'l16', sampleRate: 24000, channels: 1 },
  raw: null,
};

/** 20 ms of PCM16 24 kHz, different for each seed. */
function frame(seed: number): Uint8Array {
  const samples = new Int16Array(480).map((_, i) => Math.round(Math.sin((i + seed * 13) / 9) * 6000));
  return pcm16ToBytes(samples);
}

const audioOf = (commands: OutboundCommand[]) =>
  commands.filter((c): c is Extract<OutboundCommand, { type: 'audio' }> => c.type === 'audio');

describe('WavixRealtimeTransport', () => {
  it('refuses a missing socket or a bad option with a ConfigError that names it', () => {
    expect(() => new WavixRealtimeTransport({} as WavixRealtimeTransportOptions)).toThrow(/wavixWebSocket/);
    expect(() => rig.make({ frameMs: 7 })).toThrow(ConfigError);
    expect(() => rig.make({ callControl: {} as WavixCallControl })).toThrow(/callControl/);
  });

  it('hands the caller’s PCM16 24 kHz to the model byte for byte, back in order, and the model speaks PCM 24 kHz', async () => {
    const t = rig.make();
    const peer = new WavixPeerSimulator();
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start);
    await until(() => t.callStart !== undefined);
    expect(t.modelAudioFormat).toEqual({ type: 'audio/pcm', rate: 24000 });
    const audio = Array.from({ length: 8 }, (_, i) => frame(i));
    const frames = audio.flatMap((payload) => peer.encodeInbound({ type: 'audio', payload })).map(String);
    // Wavix delivered two frames the wrong way round: media.chunk puts them back.
    [frames[2], frames[3]] = [frames[3]!, frames[2]!];
    for (const f of frames) rig.carrier.deliver(f);
    await until(() => rig.model.inputAudio().byteLength === 8 * 960);
    expect(rig.model.inputAudio()).toEqual(concatBytes(audio));
    expect(t.metrics.framesMissing).toBe(0);
  });

  it('keeps the call’s own outbound channel from the model, and pads no gap where chunks count both channels', async () => {
    const t = rig.make();
    const peer = new WavixPeerSimulator({ tracks: 'both' });
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start);
    await until(() => t.callStart !== undefined);
    rig.model.respond('resp_1', 'item_1', [frame(50), frame(51)], { done: false });
    await until(() => rig.carrier.sent.some((f) => String(f).startsWith('{"event":"media"')));
    for (const f of rig.carrier.sent) peer.decodeOutbound(f);
    const audio = Array.from({ length: 6 }, (_, i) => frame(i));
    const frames = audio.flatMap((payload) => peer.encodeInbound({ type: 'audio', payload })).map(String);
    expect(frames.filter((f) => f.includes('"track":"outbound"'))).toHaveLength(6);
    for (const f of frames) rig.carrier.deliver(f);
    await until(() => rig.model.inputAudio().byteLength >= 6 * 960);
    expect(rig.model.inputAudio()).toEqual(concatBytes(audio));
    expect(t.metrics.framesMissing).toBe(0);
  });

  it('sends Wavix whole 20 ms frames naming the stream, marks it echoes, and clear at a barge-in', async () => {
    const t = rig.make();
    const peer = new WavixPeerSimulator();
    rig.send(peer, start);
    await t.connect({ apiKey: 'sk-test' });
    const reply = [frame(1), frame(2).subarray(0, 700), frame(3)];
    rig.model.respond('resp_1', 'item_1', reply, { done: false });
    await until(() => rig.carrier.sent.some((f) => String(f).startsWith('{"event":"mark"')));
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => rig.carrier.sent.some((f) => f === `{"event":"clear","stream_id":"${STREAM}"}`));
    const commands = rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f));
    const audio = audioOf(commands);
    expect(audio.length).toBeGreaterThan(0);
    expect(audio.every((c) => c.payload.byteLength === 960)).toBe(true);
    // Nothing resampled: what the model said is what Wavix plays, a frame at a time.
    const sent = concatBytes(audio.map((c) => c.payload));
    const said = concatBytes(reply);
    expect(sent.subarray(0, Math.min(sent.byteLength, said.byteLength))).toEqual(
      said.subarray(0, Math.min(sent.byteLength, said.byteLength)),
    );
  });

  it('turns bad frames into ProtocolError events and goes on with the call', async () => {
    const t = rig.make();
    const errors = errorsOf(t);
    const peer = new WavixPeerSimulator();
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start, { type: 'audio', payload: frame(1) });
    rig.carrier.deliver('not json');
    rig.carrier.deliver('{"event":"media","media":{"payload":12}}');
    rig.carrier.deliver('{"event":"media","media":{"payload":"AA=="}}'); // half a sample
    rig.carrier.deliver(JSON.stringify({ event: 'start', call_id: CALL })); // no stream id
    rig.carrier.deliver(new Uint8Array([1, 2, 3]));
    rig.send(peer, { type: 'audio', payload: frame(2) });
    await until(() => rig.model.inputAudio().byteLength === 2 * 960);
    expect(errors).toHaveLength(5);
    expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect(t.streamId).toBe(STREAM);
    expect(t.status).toBe('connected');
    expect(t.metrics.malformedFrames).toBe(5);
  });

  it('emits call_start with the application’s parameters and every raw frame as wavix_message', async () => {
    const t = rig.make({ customParameters: ({ callId }) => ({ caller: `known:${callId}` }) });
    const starts: unknown[] = [];
    t.on('call_start', (e) => starts.push(e));
    const { session, rawEvents } = await connectSession(t);
    rig.send(new WavixPeerSimulator(), start, { type: 'playback_ack', name: 'none-pending' });
    await until(() => rawEvents('wavix_message').length === 3);
    expect(rawEvents('wavix_message')).toEqual(['connected', 'start', 'mark']);
    expect(starts).toEqual([
      expect.objectContaining({ callId: CALL, streamId: STREAM, customParameters: { caller: `known:${CALL}` } }),
    ]);
    session.close();
  });

  it('ends the call on stop', async () => {
    const t = rig.make();
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    await t.connect({ apiKey: 'sk-test' });
    rig.send(new WavixPeerSimulator(), start, { type: 'call_end' });
    await until(() => ends.length === 1);
    expect(ends).toEqual([expect.objectContaining({ reason: 'stop' })]);
  });
});

describe('WavixRealtimeTransport hang-up through Call Control', () => {
  let api: FakeRest;
  beforeEach(async () => {
    api = await startFakeRest(() => ({ status: 200, body: { success: true } }));
  });
  afterEach(async () => {
    await api.stop();
  });

  it('sends DELETE /v1/calls/{id} only once Wavix played the goodbye, then ends the call', async () => {
    const callControl = new WavixCallControl({ apiKey: 'wavix_test_key', baseUrl: api.url });
    const t = rig.make({ callControl });
    const peer = new WavixPeerSimulator();
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start);
    await until(() => t.callStart !== undefined, 20_000);
    t.updateSessionConfig({});
    await rig.model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio, 20_000);
    rig.model.respond('resp_1', 'item_1', [frame(1), frame(2), frame(3)]);
    const commands = () => rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f));
    const marks = () => commands().filter((c): c is Extract<OutboundCommand, { type: 'mark' }> => c.type === 'mark');
    await until(() => audioOf(commands()).length > 0, 20_000);
    const ending = t.endAfterPlayback({ timeoutMs: 60_000 });
    await until(() => audioOf(commands()).length >= 3 && marks().length > 0, 20_000);
    // Everything is at Wavix, nothing acknowledged as played: the call is still up.
    expect(api.requests).toHaveLength(0);
    expect(ends).toHaveLength(0);
    let acked = 0;
    await until(() => {
      for (const mark of marks().slice(acked)) rig.send(peer, { type: 'playback_ack', name: mark.name });
      acked = marks().length;
      return ends.length > 0;
    }, 20_000);
    await expect(ending).resolves.toMatchObject({ reason: 'agent_hangup', heardAll: true });
    expect(api.requests.map((r) => [r.method, r.path])).toEqual([['DELETE', `/v1/calls/${CALL}`]]);
  });

  it('leaves the hang-up to a hangUp option given with callControl', async () => {
    const callControl = new WavixCallControl({ apiKey: 'wavix_test_key', baseUrl: api.url });
    const asked: unknown[] = [];
    const t = rig.make({ callControl, hangUp: (request) => void asked.push(request) });
    await t.connect({ apiKey: 'sk-test' });
    rig.send(new WavixPeerSimulator(), start);
    await until(() => t.callStart !== undefined, 20_000);
    await expect(t.endAfterPlayback()).resolves.toMatchObject({ heardAll: true });
    expect(asked).toEqual([expect.objectContaining({ reason: 'agent_hangup', callId: CALL })]);
    expect(api.requests).toHaveLength(0);
  });
});
