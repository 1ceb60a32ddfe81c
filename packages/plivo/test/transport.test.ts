import { ConfigError, ProtocolError, concatBytes, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectSession,
  errorsOf,
  ManualClock,
  startFakeRest,
  tick,
  until,
  useTransportRig,
} from '@switchboard/conformance/testing';
import { PlivoCallControl, PlivoRealtimeTransport, type PlivoRealtimeTransportOptions } from '../src/index.js';
import { PlivoPeerSimulator } from '../src/testing.js';

const STREAM = '87654321-4321-4321-4321-cba987654321';
const CALL = '12345678-1234-1234-1234-123456789abc';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<PlivoRealtimeTransportOptions> = {}) =>
    new PlivoRealtimeTransport({ plivoWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

const start: CallEvent = {
  type: 'call_start',
  streamId: STREAM,
  callId: CALL,
  customParameters: { userId: '12345' },
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  raw: null,
};

const frame = (seed: number) => new Uint8Array(160).map((_, i) => (seed * 11 + i) & 0x7f);

describe('PlivoRealtimeTransport', () => {
  it('refuses a missing socket with a ConfigError that names the option', () => {
    expect(() => new PlivoRealtimeTransport({} as PlivoRealtimeTransportOptions)).toThrow(/plivoWebSocket/);
    expect(() => new PlivoRealtimeTransport({} as PlivoRealtimeTransportOptions)).toThrow(ConfigError);
  });

  it('forwards μ-law audio in order and switches the model to audio/pcmu on start', async () => {
    const t = rig.make();
    const peer = new PlivoPeerSimulator();
    rig.send(peer, start);
    await t.connect({ apiKey: 'sk-test' });
    t.updateSessionConfig({});
    const update = (await rig.model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as unknown as {
      session: { audio: { input: { format: unknown } } };
    };
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcmu' });
    const audio = [frame(1), frame(2), frame(3)];
    rig.send(peer, ...audio.map((payload): CallEvent => ({ type: 'audio', payload })));
    await until(() => rig.model.inputAudio().byteLength === 480);
    expect(rig.model.inputAudio()).toEqual(concatBytes(audio));
  });

  it('turns bad frames (wrong codec, missing stream id, wrong field types) into ProtocolError events and goes on', async () => {
    const t = rig.make();
    const errors = errorsOf(t);
    const peer = new PlivoPeerSimulator();
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start, { type: 'audio', payload: frame(1) });
    rig.carrier.deliver('{"event":"media","media":{"payload":["x"]}}');
    rig.carrier.deliver('{"event":"dtmf","dtmf":"5"}');
    rig.carrier.deliver(JSON.stringify({ event: 'start', start: { callId: CALL } }));
    rig.carrier.deliver(
      JSON.stringify({
        event: 'start',
        start: { streamId: 'S2', mediaFormat: { encoding: 'audio/x-alaw', sampleRate: 8000 } },
      }),
    );
    rig.send(peer, { type: 'audio', payload: frame(2) }, { type: 'dtmf', digit: '3' });
    await until(() => rig.model.inputAudio().byteLength === 320);
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect(t.streamId).toBe(STREAM);
    expect(t.status).toBe('connected');
  });

  it('clears with clearAudio, takes clearedAudio as the confirmation and plays the next reply normally', async () => {
    const t = rig.make();
    const errors = errorsOf(t);
    const peer = new PlivoPeerSimulator();
    rig.send(peer, start);
    await t.connect({ apiKey: 'sk-test' });
    rig.model.respond('resp_1', 'item_1', [new Uint8Array(1600).fill(1)], { done: false });
    await until(() => rig.carrier.sent.length >= 2);
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => rig.carrier.sent.some((f) => String(f).includes('"clearAudio"')));
    // Plivo never returns the dropped checkpoint: only clearedAudio comes back.
    rig.send(peer, { type: 'playback_cleared' });
    const truncate = (await rig.model.waitFor((e) => e.type === 'conversation.item.truncate')) as unknown as {
      item_id: string;
      audio_end_ms: number;
    };
    expect(truncate.item_id).toBe('item_1');
    rig.model.finish('resp_1', 'item_1', 'cancelled');
    const before = rig.carrier.sent.length;
    rig.model.respond('resp_2', 'item_2', [new Uint8Array(800).fill(2)]);
    await until(() => rig.carrier.sent.slice(before).some((f) => String(f).includes('"checkpoint"')));
    const commands: OutboundCommand[] = rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f));
    expect(commands.map((c) => c.type)).toEqual(['audio', 'mark', 'clear', 'audio', 'mark']);
    const mark = commands.at(-1) as Extract<OutboundCommand, { type: 'mark' }>;
    rig.send(peer, { type: 'playback_ack', name: mark.name });
    await until(() => t.metrics.staleAcks === 0 && errors.length === 0);
    expect(errors).toEqual([]);
  });

  it("a checkpoint acknowledged as `played` (the name in Plivo's FAQ) counts: the barge-in truncates at what it says was heard", async () => {
    // The playout clock stands still, so only the acknowledgement can say the audio played.
    const clock = new ManualClock();
    const t = rig.make({ now: clock.now, clock });
    rig.send(new PlivoPeerSimulator(), start);
    await t.connect({ apiKey: 'sk-test' });
    // Two deltas of 500 ms of μ-law, each followed by its checkpoint.
    rig.model.respond('resp_1', 'item_1', [new Uint8Array(4000).fill(1), new Uint8Array(4000).fill(2)], {
      done: false,
    });
    const checkpoints = () =>
      rig.carrier.sent
        .map((f) => JSON.parse(String(f)) as { event: string; name?: string })
        .filter((m) => m.event === 'checkpoint');
    await until(() => checkpoints().length === 2);
    rig.carrier.deliver(JSON.stringify({ event: 'played', streamId: STREAM, name: checkpoints()[0]!.name }));
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    const truncate = (await rig.model.waitFor((e) => e.type === 'conversation.item.truncate')) as unknown as {
      item_id: string;
      audio_end_ms: number;
    };
    expect(truncate.item_id).toBe('item_1');
    expect(truncate.audio_end_ms).toBe(500);
  });

  it('emits every raw frame as plivo_message and ends the call when Plivo closes the socket', async () => {
    const t = rig.make();
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    const { session, seen, rawEvents } = await connectSession(t);
    rig.send(new PlivoPeerSimulator(), start, { type: 'dtmf', digit: '#' });
    await until(() => rawEvents('plivo_message').length === 2);
    expect(rawEvents('plivo_message')).toEqual(['start', 'dtmf']);
    expect(seen.some((e) => e.type === 'dtmf' && e.digit === '#')).toBe(true);
    rig.carrier.close();
    await until(() => ends.length === 1);
    expect(ends).toMatchObject([{ type: 'call_end', reason: 'carrier_closed' }]);
    session.close();
  });

  it('hangs up through call control only once Plivo says the goodbye played (its last checkpoint came back)', async () => {
    let acked = false;
    /** For each hang-up request: whether Plivo had acknowledged the goodbye when it came. */
    const hangUps: boolean[] = [];
    const api = await startFakeRest(() => {
      hangUps.push(acked);
      return { status: 204 };
    });
    try {
      const callControl = new PlivoCallControl({
        authId: 'MAZDQ1ZJY0ZDA2ZTJMZA',
        authToken: 'token',
        baseUrl: api.url,
      });
      // The playout clock stands still: only Plivo's playedStream can say the audio played.
      const clock = new ManualClock();
      const t = rig.make({ now: clock.now, clock, callControl });
      const ends: Array<{ reason?: string }> = [];
      t.on('call_end', (e) => ends.push(e as { reason?: string }));
      const peer = new PlivoPeerSimulator();
      rig.send(peer, start);
      await t.connect({ apiKey: 'sk-test' });
      rig.model.respond('resp_1', 'item_1', [new Uint8Array(4000).fill(1)]);
      const checkpoint = () =>
        rig.carrier.sent
          .map((f) => JSON.parse(String(f)) as { event: string; name?: string })
          .find((m) => m.event === 'checkpoint');
      await until(() => checkpoint() !== undefined);
      const ending = t.endAfterPlayback();
      // A second of the transport's time passes (well within the 15 s bound) without the acknowledgement.
      for (let i = 0; i < 10; i++) {
        clock.advance(100);
        await tick();
      }
      expect(ends).toEqual([]);
      acked = true;
      rig.send(peer, { type: 'playback_ack', name: checkpoint()!.name! });
      await expect(ending).resolves.toMatchObject({ reason: 'agent_hangup', heardAll: true });
      expect(hangUps).toEqual([true]);
      expect(api.requests.map((r) => [r.method, r.path])).toEqual([
        ['DELETE', `/v1/Account/MAZDQ1ZJY0ZDA2ZTJMZA/Call/${CALL}/`],
      ]);
      expect(ends).toMatchObject([{ reason: 'agent_hangup' }]);
    } finally {
      await api.stop();
    }
  });
});
