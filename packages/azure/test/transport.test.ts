import { ConfigError, ProtocolError, type CallEvent, type OutboundCommand } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectSession,
  errorsOf,
  startFakeRest,
  until,
  useTransportRig,
  type FakeRest,
} from '@switchboard/conformance/testing';
import { AzureCallAutomation, AzureRealtimeTransport, type AzureRealtimeTransportOptions } from '../src/index.js';
import { AzurePeerSimulator } from '../src/testing.js';

const SUBSCRIPTION = '89e8cb59-b991-48b0-b154-1db84f16a077';
const CALL = '18dea47f-b081-4107-9a5c-4300819d2c6c';
const ACCESS_KEY = Buffer.from('an-acs-access-key-of-32-bytes!!!').toString('base64');

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<AzureRealtimeTransportOptions> = {}) =>
    new AzureRealtimeTransport({
      azureWebSocket: carrier,
      url,
      inputAudioInactivityTimeoutMs: null,
      callConnectionId: CALL,
      ...options,
    }),
);

const start = (sampleRate: 16000 | 24000 = 16000): CallEvent => ({
  type: 'call_start',
  streamId: SUBSCRIPTION,
  customParameters: {},
  format: { encoding: 'l16', sampleRate, channels: 1 },
  raw: null,
});

/** Model audio (PCM16 24 kHz) of `ms` milliseconds. */
const pcm24k = (ms: number, value = 1000) => new Uint8Array(new Int16Array(ms * 24).fill(value).buffer);

/** What the bridge sent ACS, as ACS reads it (the peer rejects anything ACS would not take). */
const commands = (peer: AzurePeerSimulator): OutboundCommand[] =>
  rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f));
const audioBytes = (peer: AzurePeerSimulator) =>
  commands(peer).reduce((n, c) => n + (c.type === 'audio' ? c.payload.byteLength : 0), 0);

describe('AzureRealtimeTransport', () => {
  it('refuses a missing socket and a callAutomation that is not one with ConfigErrors', () => {
    expect(() => new AzureRealtimeTransport({} as AzureRealtimeTransportOptions)).toThrow(/azureWebSocket/);
    expect(() => new AzureRealtimeTransport({} as AzureRealtimeTransportOptions)).toThrow(ConfigError);
    expect(() => rig.make({ callAutomation: {} as AzureCallAutomation })).toThrow(/callAutomation/);
  });

  it('starts the call with the call connection id, resamples 16 kHz PCM for the model, and surfaces DTMF', async () => {
    const t = rig.make();
    const dtmf: unknown[] = [];
    t.on('dtmf', (e) => dtmf.push(e));
    const peer = new AzurePeerSimulator();
    rig.send(peer, start());
    await t.connect({ apiKey: 'sk-test' });
    await until(() => t.callStart !== undefined);
    expect(t.callStart).toMatchObject({ callId: CALL, streamId: SUBSCRIPTION, format: { sampleRate: 16000 } });
    t.updateSessionConfig({});
    const update = (await rig.model.waitFor((e) => e.type === 'session.update' && !!e.session?.audio)) as unknown as {
      session: { audio: { input: { format: unknown } } };
    };
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcm', rate: 24000 });
    rig.send(peer, { type: 'audio', payload: new Uint8Array(640).fill(3) }, { type: 'dtmf', digit: '#' });
    await until(() => rig.model.inputAudio().byteLength > 0 && dtmf.length === 1);
    expect(dtmf).toEqual([{ type: 'dtmf', digit: '#' }]);
  });

  it('passes a 24 kHz stream to the model byte for byte: no resampling at the model’s own rate', async () => {
    const t = rig.make({ sampleRate: 24000 });
    const peer = new AzurePeerSimulator({ sampleRate: 24000 });
    rig.send(peer, start(24000));
    await t.connect({ apiKey: 'sk-test' });
    const payload = Uint8Array.from({ length: 960 * 3 }, (_, i) => (i * 13) & 0xff);
    rig.send(peer, { type: 'audio', payload });
    await until(() => rig.model.inputAudio().byteLength >= payload.byteLength);
    expect(rig.model.inputAudio().subarray(0, payload.byteLength)).toEqual(payload);
  });

  it('sends the model’s audio as whole 20 ms AudioData frames, no marks, and StopAudio at a barge-in', async () => {
    const t = rig.make({ sampleRate: 24000 });
    const errors = errorsOf(t);
    const peer = new AzurePeerSimulator({ sampleRate: 24000 });
    rig.send(peer, start(24000));
    await t.connect({ apiKey: 'sk-test' });
    // Deltas of awkward sizes (35 ms, 90 ms, 410 ms, 3 ms), then enough that the caller's barge-in
    // comes while the reply is still playing, however slow the machine.
    rig.model.respond('resp_1', 'item_1', [pcm24k(35), pcm24k(90), pcm24k(410), pcm24k(3), pcm24k(30_000)]);
    await until(() => audioBytes(peer) >= 960 * 20);
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => commands(peer).some((c) => c.type === 'clear'));
    // decodeOutbound refused nothing: every AudioData held whole 20 ms frames of 24 kHz PCM.
    const sent = commands(peer);
    expect(sent.every((c) => c.type === 'audio' || c.type === 'clear')).toBe(true);
    expect(sent.at(-1)).toEqual({ type: 'clear' });
    expect(rig.carrier.sent.some((f) => String(f).includes('"mark"'))).toBe(false);
    expect(errors).toEqual([]);
  });

  it('paces its output: no more than the lead (1 s by default) of unplayed audio goes to ACS at once', async () => {
    const t = rig.make();
    const peer = new AzurePeerSimulator();
    rig.send(peer, start());
    await t.connect({ apiKey: 'sk-test' });
    // Five seconds of model audio at once; the bridge keeps all but the lead until ACS has played
    // it. The bound grows with the time taken, so a slow machine loosens it instead of failing it.
    const began = Date.now();
    rig.model.respond('resp_1', 'item_1', [pcm24k(5000)]);
    await until(() => audioBytes(peer) > 0);
    const sentMs = audioBytes(peer) / 32; // 16 kHz PCM: 32 bytes a ms
    expect(sentMs).toBeLessThanOrEqual(1000 + (Date.now() - began) + 100);
    expect(sentMs).toBeLessThan(5000);
  });

  it('turns bad frames into ProtocolError events and goes on with the call', async () => {
    const t = rig.make();
    const errors = errorsOf(t);
    const peer = new AzurePeerSimulator();
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start());
    rig.carrier.deliver('{"kind":"AudioData","audioData":{"data":true}}');
    rig.carrier.deliver('{"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"s2","sampleRate":8000}}');
    rig.carrier.deliver('{"kind":"DtmfData","dtmfData":{"data":5}}');
    rig.carrier.deliver('not json');
    const dtmf: unknown[] = [];
    t.on('dtmf', (e) => dtmf.push(e));
    rig.send(peer, { type: 'audio', payload: new Uint8Array(640).fill(1) }, { type: 'dtmf', digit: '9' });
    await until(() => dtmf.length === 1 && rig.model.inputAudio().byteLength > 0);
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect(t.streamId).toBe(SUBSCRIPTION);
  });

  it('emits every raw frame as azure_message, and ends the call when ACS closes the socket', async () => {
    const t = rig.make();
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    const { session, seen } = await connectSession(t);
    const peer = new AzurePeerSimulator();
    rig.send(peer, start(), { type: 'dtmf', digit: '1' });
    await until(() => seen.filter((e) => e.type === 'azure_message').length === 2);
    const kinds = seen.filter((e) => e.type === 'azure_message').map((e) => (e.message as { kind: string }).kind);
    expect(kinds).toEqual(['AudioMetadata', 'DtmfData']);
    rig.carrier.close();
    await until(() => ends.length === 1);
    session.close();
  });
});

describe('AzureRealtimeTransport hang-up through Call Automation', () => {
  let api: FakeRest;
  beforeEach(async () => {
    api = await startFakeRest(() => ({ status: 204 }));
  });
  afterEach(async () => {
    await api.stop();
  });

  it('terminates the call (callConnections/{id}:terminate) once the goodbye has played, then ends the call', async () => {
    const callAutomation = new AzureCallAutomation({ endpoint: api.url, accessKey: ACCESS_KEY });
    const t = rig.make({ callAutomation });
    const ends: unknown[] = [];
    t.on('call_end', (e) => ends.push(e));
    const peer = new AzurePeerSimulator();
    await t.connect({ apiKey: 'sk-test' });
    rig.send(peer, start());
    await until(() => t.callStart !== undefined, 20_000);
    rig.model.respond('resp_1', 'item_1', [pcm24k(200)]);
    await until(() => audioBytes(peer) > 0, 20_000);
    await t.endAfterPlayback({ timeoutMs: 60_000 });
    await until(() => api.requests.length === 1 && ends.length === 1, 20_000);
    expect(api.requests[0]).toMatchObject({
      method: 'POST',
      path: `/calling/callConnections/${CALL}:terminate?api-version=2025-05-15`,
    });
    expect(ends).toEqual([expect.objectContaining({ reason: 'agent_hangup' })]);
  });

  it('leaves the hang-up to a hangUp option given with callAutomation', async () => {
    const callAutomation = new AzureCallAutomation({ endpoint: api.url, accessKey: ACCESS_KEY });
    const asked: unknown[] = [];
    const t = rig.make({ callAutomation, hangUp: (request) => void asked.push(request) });
    await t.connect({ apiKey: 'sk-test' });
    rig.send(new AzurePeerSimulator(), start());
    await until(() => t.callStart !== undefined, 20_000);
    await expect(t.endAfterPlayback()).resolves.toMatchObject({ heardAll: true });
    expect(asked).toEqual([expect.objectContaining({ reason: 'agent_hangup', callId: CALL })]);
    expect(api.requests).toHaveLength(0);
  });
});
