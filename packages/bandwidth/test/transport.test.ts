import { ConfigError, ProtocolError, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ManualClock,
  connectSession,
  errorsOf,
  startFakeRest,
  until,
  useTransportRig,
  type FakeRest,
} from '@switchboard/conformance/testing';
import {
  BandwidthCallControl,
  BandwidthRealtimeTransport,
  type BandwidthRealtimeTransportOptions,
} from '../src/index.js';
import { BandwidthPeerSimulator } from '../src/testing.js';

const STREAM = 's-2a913f94-93e8-4b06-8d54-1b4c3d5c8f3a';
const CALL = 'c-2a913f94-6a486f3a-3cae-4034-bcc3-f0c9fa77ca2f';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<BandwidthRealtimeTransportOptions> = {}) =>
    new BandwidthRealtimeTransport({
      bandwidthWebSocket: carrier,
      url,
      inputAudioInactivityTimeoutMs: null,
      ...options,
    }),
);

const start: CallEvent = {
  type: 'call_start',
  streamId: STREAM,
  callId: CALL,
  customParameters: { internal_id: 'call_ABC' },
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  raw: null,
};

function frame(seed: number): Uint8Array {
  return new Uint8Array(160).map((_, i) => (seed * 7 + i) & 0x7f);
}

/** The commands the bridge sent, as Bandwidth's side reads them (it refuses anything it would not play). */
const commands = (peer: BandwidthPeerSimulator): OutboundCommand[] =>
  rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f));
const audioMs = (peer: BandwidthPeerSimulator) =>
  commands(peer).reduce((ms, c) => ms + (c.type === 'audio' ? c.payload.byteLength / 8 : 0), 0);

describe('BandwidthRealtimeTransport', () => {
  it('refuses a missing socket with a ConfigError that names the option', () => {
    expect(() => new BandwidthRealtimeTransport({} as BandwidthRealtimeTransportOptions)).toThrow(ConfigError);
    expect(() => new BandwidthRealtimeTransport({} as BandwidthRealtimeTransportOptions)).toThrow(/bandwidthWebSocket/);
  });

  it('runs the model in μ-law both ways and gives it the caller’s track only, not the outbound track', async () => {
    const t = rig.make();
    // Both tracks streamed: every caller frame is followed by one of what the call hears.
    const peer = new BandwidthPeerSimulator({ tracks: 'both' });
    rig.send(peer, start);
    await t.connect({ apiKey: 'sk-test' });
    t.updateSessionConfig({});
    const update = (await rig.model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as unknown as {
      session: { audio: { input: { format: unknown }; output: { format: unknown } } };
    };
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcmu' });
    expect(update.session.audio.output.format).toEqual({ type: 'audio/pcmu' });
    rig.send(peer, { type: 'audio', payload: frame(1) }, { type: 'audio', payload: frame(2) });
    await until(() => rig.model.inputAudio().byteLength >= 320);
    expect(Array.from(rig.model.inputAudio())).toEqual([...frame(1), ...frame(2)]);
  });

  it('turns bad frames into ProtocolError events and goes on with the call', async () => {
    const t = rig.make();
    const errors = errorsOf(t);
    const peer = new BandwidthPeerSimulator();
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start, { type: 'audio', payload: frame(1) });
    rig.carrier.deliver('not json');
    rig.carrier.deliver('{"eventType":"media","track":"inbound","payload":12}');
    rig.carrier.deliver('{"eventType":"start","metadata":{"callId":"c-x"}}'); // no stream id
    rig.carrier.deliver(
      JSON.stringify({
        eventType: 'start',
        metadata: {
          streamId: 's-x',
          tracks: [{ name: 'inbound', mediaFormat: { encoding: 'audio/L16', sampleRate: 16000 } }],
        },
      }),
    );
    rig.send(peer, { type: 'audio', payload: frame(2) });
    await until(() => rig.model.inputAudio().byteLength === 320);
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect((errors[3] as Error).message).toMatch(/not supported/);
    expect(t.streamId).toBe(STREAM);
    expect(t.status).toBe('connected');
    expect(t.metrics.malformedFrames).toBe(4);
  });

  it('emits call_start with the stream params and every raw frame as bandwidth_message through a RealtimeSession', async () => {
    const t = rig.make();
    const starts: unknown[] = [];
    t.on('call_start', (e) => starts.push(e));
    const { session, rawEvents } = await connectSession(t);
    rig.send(new BandwidthPeerSimulator(), start, { type: 'audio', payload: frame(3) });
    await until(() => rawEvents('bandwidth_message').length === 2);
    expect(starts).toEqual([
      expect.objectContaining({ callId: CALL, streamId: STREAM, customParameters: { internal_id: 'call_ABC' } }),
    ]);
    session.close();
  });

  it('paces playAudio a lead ahead of the playout clock, sends no marks, and on barge-in clears and truncates at the clock', async () => {
    const clock = new ManualClock();
    const t = rig.make({ clock, now: clock.now, leadMs: 200 });
    const peer = new BandwidthPeerSimulator();
    rig.send(peer, start);
    await t.connect({ apiKey: 'sk-test' });
    // Two seconds of the model's μ-law at once, in 100 ms deltas.
    const deltas = Array.from({ length: 20 }, (_, i) => new Uint8Array(800).fill(i + 1));
    rig.model.respond('resp_1', 'item_1', deltas, { done: false });
    await until(() => audioMs(peer) + t.outputQueuedBytes / 8 >= 2000);
    expect(audioMs(peer)).toBe(200);
    clock.advance(500);
    expect(audioMs(peer)).toBe(700);
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    const truncate = (await rig.model.waitFor((e) => e.type === 'conversation.item.truncate')) as unknown as {
      audio_end_ms: number;
    };
    expect(truncate.audio_end_ms).toBe(500);
    expect(commands(peer).at(-1)).toEqual({ type: 'clear' });
    expect(commands(peer).some((c) => c.type === 'mark')).toBe(false);
    // Whole 20 ms packets only (the peer refuses anything else), and nothing more after the clear.
    clock.advance(5000);
    expect(audioMs(peer)).toBe(700);
  });
});

describe('BandwidthRealtimeTransport hang-up through the Voice API', () => {
  let api: FakeRest;
  beforeEach(async () => {
    api = await startFakeRest(() => ({ status: 200, body: {} }));
  });
  afterEach(async () => {
    await api.stop();
  });

  it('ends the call with state completed once the playout clock says the goodbye was heard', async () => {
    const callControl = new BandwidthCallControl({
      accountId: '5555555',
      username: 'u',
      password: 'p',
      baseUrl: api.url,
    });
    const clock = new ManualClock();
    const t = rig.make({ callControl, clock, now: clock.now });
    const peer = new BandwidthPeerSimulator();
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start);
    await until(() => t.callStart !== undefined, 20_000);
    rig.model.respond('resp_1', 'item_1', [new Uint8Array(1600).fill(1), new Uint8Array(1600).fill(2)]);
    await until(() => audioMs(peer) >= 400, 20_000);
    const ending = t.endAfterPlayback({ timeoutMs: 60_000 });
    // Everything is at Bandwidth, and the clock says none of it was played: the call is still up.
    expect(api.requests).toHaveLength(0);
    expect(ends).toHaveLength(0);
    await until(() => {
      clock.advance(100);
      return ends.length > 0;
    }, 20_000);
    await expect(ending).resolves.toMatchObject({ reason: 'agent_hangup', heardAll: true });
    expect(api.requests.map((r) => [r.method, r.path, JSON.parse(r.body)])).toEqual([
      ['POST', `/accounts/5555555/calls/${CALL}`, { state: 'completed' }],
    ]);
  });

  it('refuses a callControl that is not a BandwidthCallControl', () => {
    expect(() => rig.make({ callControl: {} as BandwidthCallControl })).toThrow(/callControl/);
  });

  it('leaves the hang-up to a hangUp option given with callControl', async () => {
    const callControl = new BandwidthCallControl({
      accountId: '5555555',
      username: 'u',
      password: 'p',
      baseUrl: api.url,
    });
    const asked: unknown[] = [];
    const t = rig.make({ callControl, hangUp: (request) => void asked.push(request) });
    await t.connect({ apiKey: 'sk-test' });
    rig.send(new BandwidthPeerSimulator(), start);
    await until(() => t.callStart !== undefined, 20_000);
    await expect(t.endAfterPlayback()).resolves.toMatchObject({ heardAll: true });
    expect(asked).toEqual([expect.objectContaining({ reason: 'agent_hangup', callId: CALL })]);
    expect(api.requests).toHaveLength(0);
  });
});
