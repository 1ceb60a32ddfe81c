import { ConfigError, ProtocolError, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectSession, errorsOf, until, useTransportRig } from '@switchboard/conformance/testing';
import { GenesysRealtimeTransport, genesysTransfer, type GenesysRealtimeTransportOptions } from '../src/index.js';
import { GenesysPeerSimulator } from '../src/testing.js';

const SESSION = 'e160e428-53e2-487c-977d-96989bf5c99d';
const CONVERSATION = '30b0e395-84d3-4570-ac13-9a62d8f514c0';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<GenesysRealtimeTransportOptions> = {}) =>
    new GenesysRealtimeTransport({ genesysWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

const start: CallEvent = {
  type: 'call_start',
  streamId: SESSION,
  callId: CONVERSATION,
  from: '+13175551234',
  to: '+18005550199',
  customParameters: { intent: 'billing' },
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  raw: null,
};

/** Model audio (PCM16 24 kHz) of `ms` milliseconds. */
const pcm24k = (ms: number, value = 1000) => new Uint8Array(new Int16Array(ms * 24).fill(value).buffer);

/** Genesys's side: reads every frame the bridge sent since the last call (throwing where Genesys would refuse). */
function genesys(peer: GenesysPeerSimulator) {
  let read = 0;
  const commands: OutboundCommand[] = [];
  return {
    commands,
    pump(): OutboundCommand[] {
      const sent = rig.carrier.sent;
      for (; read < sent.length; read++) commands.push(...peer.decodeOutbound(sent[read]!));
      return commands;
    },
    /** Genesys sends what `peer` writes for `events`, after reading what the bridge sent. */
    send(...events: CallEvent[]) {
      this.pump();
      for (const event of events) for (const frame of peer.encodeInbound(event)) rig.carrier.deliver(frame);
      this.pump();
    },
  };
}

describe('GenesysRealtimeTransport', () => {
  it('refuses a missing socket with a ConfigError that names the option', () => {
    expect(() => new GenesysRealtimeTransport({} as GenesysRealtimeTransportOptions)).toThrow(/genesysWebSocket/);
    expect(() => new GenesysRealtimeTransport({} as GenesysRealtimeTransportOptions)).toThrow(ConfigError);
  });

  it('answers open, passes PCMU through to the model, and answers pings', async () => {
    const t = rig.make();
    const starts: unknown[] = [];
    t.on('call_start', (e) => starts.push(e));
    const peer = new GenesysPeerSimulator({ pingEvery: 2 });
    const g = genesys(peer);
    g.send(start);
    expect(peer.opened).toBe(true);
    expect(starts).toMatchObject([
      { callId: CONVERSATION, streamId: SESSION, customParameters: { intent: 'billing' } },
    ]);
    expect(t.openParameters?.participant).toMatchObject({ ani: '+13175551234', dnis: '+18005550199' });
    await t.connect({ apiKey: 'sk-test' });
    t.updateSessionConfig({});
    const update = (await rig.model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as unknown as {
      session: { audio: { input: { format: unknown } } };
    };
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcmu' });
    for (let i = 0; i < 4; i++) g.send({ type: 'audio', payload: new Uint8Array(160).fill(0x55) });
    await until(() => rig.model.inputAudio().byteLength >= 640);
    g.pump();
    expect(peer.unansweredPings).toBe(0);
  });

  it('sends the model’s audio in whole 200 ms binary frames, and barges in with a barge_in event', async () => {
    const t = rig.make();
    const errors = errorsOf(t);
    const peer = new GenesysPeerSimulator();
    const g = genesys(peer);
    g.send(start);
    await t.connect({ apiKey: 'sk-test' });
    rig.model.respond('resp_1', 'item_1', [pcm24k(350), pcm24k(90)], { done: false });
    await until(() => g.pump().filter((c) => c.type === 'audio').length >= 2);
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => g.pump().some((c) => c.type === 'clear'));
    const audio = g.commands.filter((c): c is Extract<OutboundCommand, { type: 'audio' }> => c.type === 'audio');
    // Whole 200 ms frames (1600 bytes of PCMU), several to a message when they leave together.
    for (const c of audio) expect(c.payload.byteLength % 1600).toBe(0);
    expect(audio.every((c) => c.payload.byteLength <= 64_000)).toBe(true);
    expect(peer.bargeIns).toBe(1);
    expect(errors).toEqual([]);
  });

  it('resamples L16 8 kHz for the model, and sends its audio back as whole 200 ms of L16', async () => {
    const t = rig.make({ audioHook: { formats: ['L16'] } });
    const peer = new GenesysPeerSimulator({ format: 'L16', stereo: true });
    const g = genesys(peer);
    g.send({ ...start, format: { encoding: 'l16', sampleRate: 8000, channels: 1 } });
    await t.connect({ apiKey: 'sk-test' });
    t.updateSessionConfig({});
    const update = (await rig.model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as unknown as {
      session: { audio: { input: { format: unknown } } };
    };
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcm', rate: 24000 });
    g.send({ type: 'audio', payload: new Uint8Array(320).fill(3) });
    await until(() => rig.model.inputAudio().byteLength > 0);
    rig.model.respond('resp_1', 'item_1', [pcm24k(250)]);
    await until(() => g.pump().some((c) => c.type === 'audio'));
    const audio = g.commands.filter((c): c is Extract<OutboundCommand, { type: 'audio' }> => c.type === 'audio');
    for (const c of audio) expect(c.payload.byteLength % 3200).toBe(0);
  });

  it('hangs up with disconnect and the output variables, and closes once Genesys closed the session', async () => {
    const t = rig.make();
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    const peer = new GenesysPeerSimulator();
    const g = genesys(peer);
    g.send(start);
    await t.connect({ apiKey: 'sk-test' });
    t.setOutputVariables({ outcome: 'resolved' });
    await t.disconnect({ info: 'done', outputVariables: { transfer: 'billing' } });
    g.pump();
    expect(g.commands).toContainEqual({ type: 'hangup' });
    expect(peer.outputVariables).toEqual({ outcome: 'resolved', transfer: 'billing' });
    expect(ends).toMatchObject([{ reason: 'agent_hangup' }]);
    // The socket stays open for Genesys's close transaction.
    expect(rig.carrier.closed).toBe(false);
    g.send({ type: 'call_end' });
    expect(rig.carrier.closed).toBe(true);
    expect(JSON.parse(String(rig.carrier.sent.at(-1)))).toMatchObject({ type: 'closed' });
    expect(rig.carrier.listenerCount).toBe(0);
  });

  it('asks Genesys to disconnect when the call ends on the bridge’s side, and closes after the timeout without an answer', async () => {
    const t = rig.make({ closeTimeoutMs: 50 });
    const peer = new GenesysPeerSimulator();
    const g = genesys(peer);
    g.send(start);
    t.end('model_disconnected');
    g.pump();
    const disconnect = JSON.parse(String(rig.carrier.sent.at(-1))) as { type: string; parameters: unknown };
    expect(disconnect).toMatchObject({
      type: 'disconnect',
      parameters: { reason: 'error', info: 'model_disconnected' },
    });
    expect(rig.carrier.closed).toBe(false);
    await until(() => rig.carrier.closed);
    expect(rig.carrier.listenerCount).toBe(0);
  });

  it('transfers by output variables: genesysTransfer sets them, and the session ends completed', async () => {
    const t = rig.make();
    const peer = new GenesysPeerSimulator();
    const g = genesys(peer);
    g.send(start);
    const transfer = genesysTransfer();
    await transfer({ name: 'billing', destination: 'Billing queue', reason: 'invoice', transport: t });
    t.end('transferred');
    g.pump();
    expect(peer.outputVariables).toEqual({ transfer: 'Billing queue', transferReason: 'invoice' });
    expect(JSON.parse(String(rig.carrier.sent.at(-1)))).toMatchObject({
      type: 'disconnect',
      parameters: { reason: 'completed' },
    });
    const other = rig.make();
    await expect(
      genesysTransfer({ variable: 'target' })({ name: 'x', destination: 'y', transport: other }),
    ).resolves.toBeUndefined();
    expect(() => genesysTransfer({ variable: '' })).toThrow(ConfigError);
    await expect(
      genesysTransfer()({ name: 'x', destination: 'y', transport: {} as GenesysRealtimeTransport }),
    ).rejects.toThrow(ConfigError);
  });

  it('closes at once when Genesys closed the session first', async () => {
    const t = rig.make();
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    const g = genesys(new GenesysPeerSimulator());
    g.send(start, { type: 'call_end' });
    expect(ends).toMatchObject([{ reason: 'end' }]);
    expect(rig.carrier.closed).toBe(true);
    expect(JSON.parse(String(rig.carrier.sent.at(-1)))).toMatchObject({ type: 'closed' });
  });

  it('pauses and resumes the caller’s audio on request', () => {
    const t = rig.make();
    expect(t.pauseAudio(true)).toBe(false);
    const peer = new GenesysPeerSimulator();
    const g = genesys(peer);
    g.send(start);
    expect(t.pauseAudio(true)).toBe(true);
    g.send({ type: 'audio', payload: new Uint8Array(160) });
    expect(t.audioHook.paused).toBe(true);
    expect(t.pauseAudio(false)).toBe(true);
    g.send({ type: 'audio', payload: new Uint8Array(160) });
    expect(t.audioHook.paused).toBe(false);
  });

  it('turns bad frames into ProtocolError events and goes on with the call', async () => {
    const t = rig.make();
    const errors = errorsOf(t);
    const dtmf: unknown[] = [];
    t.on('dtmf', (e) => dtmf.push(e));
    rig.carrier.deliver(new Uint8Array(160));
    const peer = new GenesysPeerSimulator();
    const g = genesys(peer);
    g.send(start);
    for (const bad of peer.malformedFrames()) rig.carrier.deliver(bad);
    rig.carrier.deliver('{"version":"2","type":"ping","seq":99}');
    g.send({ type: 'dtmf', digit: '9' });
    await until(() => dtmf.length === 1);
    expect(errors.length).toBe(5);
    expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect(t.streamId).toBe(SESSION);
  });

  it('emits every raw message as genesys_message', async () => {
    const t = rig.make();
    const { session, rawEvents, seen } = await connectSession(t);
    const g = genesys(new GenesysPeerSimulator({ pingEvery: 1 }));
    g.send(start);
    g.send({ type: 'audio', payload: new Uint8Array(160) });
    g.send({ type: 'call_end' });
    expect(rawEvents('genesys_message')).toHaveLength(4);
    const raw = seen.filter((e) => e.type === 'genesys_message').map((e) => (e.message as { type: string }).type);
    expect(raw).toEqual(['open', 'audio', 'ping', 'close']);
    session.close();
  });
});
