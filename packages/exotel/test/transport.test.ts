import { ConfigError, ProtocolError, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectSession, errorsOf, until, useTransportRig } from '@switchboard/conformance/testing';
import { ExotelRealtimeTransport, type ExotelRealtimeTransportOptions } from '../src/index.js';
import { ExotelPeerSimulator } from '../src/testing.js';

const SID = 'b2e4e7f0a1c34d5e9f8a7b6c5d4e3f21';
const CALL = 'c1d2e3f4a5b6c7d8e9f0a1b2c3d41a2b';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<ExotelRealtimeTransportOptions> = {}) =>
    new ExotelRealtimeTransport({ exotelWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

const start: CallEvent = {
  type: 'call_start',
  streamId: SID,
  callId: CALL,
  customParameters: { key1: 'value1' },
  format: { encoding: 'l16', sampleRate: 8000, channels: 1 },
  raw: null,
};

/** Model audio (PCM16 24 kHz) of `ms` milliseconds. */
const pcm24k = (ms: number, value = 1000) => {
  const samples = new Int16Array(ms * 24).fill(value);
  return new Uint8Array(samples.buffer);
};

describe('ExotelRealtimeTransport', () => {
  it('refuses a missing socket with a ConfigError that names the option', () => {
    expect(() => new ExotelRealtimeTransport({} as ExotelRealtimeTransportOptions)).toThrow(/exotelWebSocket/);
    expect(() => new ExotelRealtimeTransport({} as ExotelRealtimeTransportOptions)).toThrow(ConfigError);
  });

  it('resamples slin 8 kHz to PCM16 24 kHz for the model', async () => {
    const t = rig.make();
    const peer = new ExotelPeerSimulator();
    rig.send(peer, start);
    await t.connect({ apiKey: 'sk-test' });
    t.updateSessionConfig({});
    const update = (await rig.model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as unknown as {
      session: { audio: { input: { format: unknown } } };
    };
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcm', rate: 24000 });
    rig.send(peer, { type: 'audio', payload: new Uint8Array(1600).fill(3) });
    await until(() => rig.model.inputAudio().byteLength > 0);
  });

  it('sends the model’s audio only in chunks Exotel plays without gaps, with marks, and clears on barge-in', async () => {
    const t = rig.make();
    const errors: unknown[] = [];
    t.on('error', (e) => errors.push(e));
    const peer = new ExotelPeerSimulator();
    rig.send(peer, start);
    await t.connect({ apiKey: 'sk-test' });
    // Deltas of awkward sizes: 35 ms, 90 ms, 410 ms, 3 ms.
    rig.model.respond('resp_1', 'item_1', [pcm24k(35), pcm24k(90), pcm24k(410), pcm24k(3)]);
    await until(() => rig.carrier.sent.filter((f) => String(f).includes('"mark"')).length >= 2);
    rig.model.respond('resp_2', 'item_2', [pcm24k(700)], { done: false });
    await until(() => rig.carrier.sent.filter((f) => String(f).includes('"mark"')).length >= 3);
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => rig.carrier.sent.some((f) => String(f).includes('"clear"')));
    // The peer rejects any chunk outside the rules: decoding everything proves the framing.
    const commands: OutboundCommand[] = rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f));
    const audio = commands.filter((c): c is Extract<OutboundCommand, { type: 'audio' }> => c.type === 'audio');
    expect(audio.length).toBeGreaterThan(1);
    for (const c of audio) {
      expect(c.payload.byteLength).toBeGreaterThanOrEqual(3200);
      expect(c.payload.byteLength % 320).toBe(0);
    }
    // 538 ms of model audio = 8608 bytes of slin 8 kHz, padded to whole frames only at the end.
    const first = audio.slice(0, audio.length - 1).reduce((n, c) => n + c.payload.byteLength, 0);
    expect(first).toBeGreaterThanOrEqual(8608);
    expect(commands.at(-1)).toEqual({ type: 'clear' });
    expect(errors).toEqual([]);
  });

  it('turns bad frames into ProtocolError events and goes on with the call', async () => {
    const t = rig.make();
    const errors = errorsOf(t);
    const peer = new ExotelPeerSimulator();
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start);
    rig.carrier.deliver('{"event":"media","media":{"payload":true}}');
    rig.carrier.deliver(JSON.stringify({ event: 'start', start: { call_sid: CALL } }));
    rig.carrier.deliver(
      JSON.stringify({
        event: 'start',
        stream_sid: 'S2',
        start: { media_format: { encoding: 'audio/x-alaw', sample_rate: '8000' } },
      }),
    );
    rig.carrier.deliver('{"event":"dtmf","dtmf":{"digit":5}}');
    const dtmf: unknown[] = [];
    t.on('dtmf', (e) => dtmf.push(e));
    rig.send(
      peer,
      { type: 'audio', payload: new Uint8Array(320).fill(1) },
      { type: 'dtmf', digit: '9', durationMs: 80 },
    );
    await until(() => dtmf.length === 1 && rig.model.inputAudio().byteLength > 0);
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect(dtmf).toEqual([{ type: 'dtmf', digit: '9', durationMs: 80 }]);
    expect(t.streamId).toBe(SID);
  });

  it('emits every raw frame as exotel_message and ends the call on stop', async () => {
    const t = rig.make();
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    const { session, rawEvents } = await connectSession(t);
    rig.send(new ExotelPeerSimulator(), start, { type: 'call_end' });
    await until(() => ends.length === 1);
    expect(rawEvents('exotel_message')).toEqual(['connected', 'start', 'stop']);
    expect(ends).toMatchObject([{ type: 'call_end', reason: 'callended' }]);
    session.close();
  });
});
