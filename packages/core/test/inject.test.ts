import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  concatBytes,
  type InjectedAudioEvent,
  type ProtocolCapabilities,
  type TelephonyRealtimeTransportOptions,
} from '../src/index.js';
import { until, wire } from '@switchboard/conformance/testing';
import { useCoreTransport } from './helpers/transport.js';

const CLIP = 0x11;
const MODEL = 0x22;
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

const rig = useCoreTransport({ beforeEach, afterEach });
let events: InjectedAudioEvent[];
beforeEach(() => {
  events = [];
});

async function connected(
  capabilities: Partial<ProtocolCapabilities> = {},
  options: Partial<TelephonyRealtimeTransportOptions> = {},
) {
  const t = rig.make(capabilities, options);
  t.on('injected_audio', (e) => events.push(e));
  return rig.start(t);
}

/** ms of audio at the carrier whose bytes are all `fill` (8 bytes per ms of μ-law). */
const sentMs = (fill: number) =>
  rig.carrier
    .commands()
    .filter((c) => c.type === 'audio' && (c as { payload: Uint8Array }).payload.every((b) => b === fill))
    .reduce((ms, c) => ms + (c as { payload: Uint8Array }).payload.byteLength / 8, 0);
const marks = () => rig.carrier.commands().filter((c) => c.type === 'mark') as Array<{ type: 'mark'; name: string }>;
const ackAll = () => {
  for (const m of marks()) rig.carrier.deliver(wire.ack(m.name));
};
const settle = () => new Promise((r) => setTimeout(r, 10));

describe('playAudio', () => {
  it('sends the clip in frames, at most the lead ahead of the playout clock, and ends once it was played', async () => {
    const t = await connected();
    const clip = t.playAudio(bytes(8000, CLIP), { name: 'greeting' });
    expect(events[0]).toEqual({ type: 'injected_audio', id: clip.id, name: 'greeting', phase: 'start' });
    // Only the lead has left: the rest waits for the carrier to play it.
    expect(sentMs(CLIP)).toBeGreaterThan(0);
    expect(sentMs(CLIP)).toBeLessThanOrEqual(240);
    for (let i = 0; i < 30 && sentMs(CLIP) < 1000; i++) {
      rig.clock.advance(100);
      ackAll();
    }
    expect(sentMs(CLIP)).toBe(1000);
    rig.clock.advance(300);
    ackAll();
    const result = await clip.done;
    expect(result).toEqual({ id: clip.id, name: 'greeting', sentMs: 1000, playedMs: 1000, reason: 'finished' });
    expect(events.at(-1)).toEqual({ type: 'injected_audio', phase: 'end', ...result });
    expect(t.metrics.injectedAudioMs).toBe(1000);
    // Not a reply: no response latency measured, nothing told to the model.
    expect(t.metrics.responseLatenciesMs).toEqual([]);
    expect(rig.server.ofType('conversation.item.truncate')).toEqual([]);
  });

  it('an interruptible clip is cleared by a barge-in, with what the caller heard, and the model is told nothing', async () => {
    const t = await connected();
    const clip = t.playAudio(bytes(8000, CLIP));
    // The carrier is 100 ms into the first batch, not yet acknowledged.
    rig.clock.advance(100);
    t.interrupt();
    const result = await clip.done;
    expect(result.reason).toBe('interrupted');
    expect(result.playedMs).toBeGreaterThan(0);
    expect(result.playedMs).toBeLessThan(result.sentMs);
    expect(rig.carrier.commands().some((c) => c.type === 'clear')).toBe(true);
    const before = sentMs(CLIP);
    rig.clock.advance(1000);
    expect(sentMs(CLIP)).toBe(before);
    await settle();
    expect(rig.server.ofType('conversation.item.truncate')).toEqual([]);
    expect(rig.server.ofType('response.cancel')).toEqual([]);
  });

  it('the caller starting to speak (speech_started) clears an interruptible clip', async () => {
    const t = await connected();
    const clip = t.playAudio(bytes(8000, CLIP), { loop: true });
    rig.clock.advance(50);
    rig.server.send({
      type: 'input_audio_buffer.speech_started',
      event_id: 'ev_1',
      item_id: 'item_in',
      audio_start_ms: 0,
    });
    await expect(clip.done).resolves.toMatchObject({ reason: 'interrupted' });
    expect(rig.carrier.commands().some((c) => c.type === 'clear')).toBe(true);
    expect(t.metrics.bargeIns).toBe(1);
  });

  it('a clip that is not interruptible plays on through a barge-in', async () => {
    const t = await connected({ playbackAck: 'none' });
    const clip = t.playAudio(bytes(4000, CLIP), { interruptible: false });
    rig.clock.advance(100);
    t.interrupt();
    expect(rig.carrier.commands().some((c) => c.type === 'clear')).toBe(false);
    expect(t.metrics.bargeIns).toBe(0);
    for (let i = 0; i < 20; i++) rig.clock.advance(100);
    await expect(clip.done).resolves.toMatchObject({ reason: 'finished', sentMs: 500, playedMs: 500 });
  });

  it('yields to the model’s audio: no clip frame after the model’s first, and none of the model’s audio is lost', async () => {
    const t = await connected();
    const clip = t.playAudio(bytes(80000, CLIP), { loop: true });
    rig.clock.advance(100);
    ackAll();
    rig.server.respond('resp_1', 'item_1', [bytes(800, MODEL), bytes(800, MODEL), bytes(800, MODEL)]);
    await until(() => sentMs(MODEL) >= 300);
    const order = rig.carrier
      .commands()
      .filter((c) => c.type === 'audio')
      .map((c) => (c as { payload: Uint8Array }).payload[0]);
    expect(order.lastIndexOf(CLIP)).toBeLessThan(order.indexOf(MODEL));
    for (let i = 0; i < 10; i++) {
      rig.clock.advance(100);
      ackAll();
    }
    const result = await clip.done;
    expect(result.reason).toBe('yielded');
    expect(result.playedMs).toBe(result.sentMs);
    expect(sentMs(MODEL)).toBe(300);
    expect(t.metrics.truncations).toEqual([]);
  });

  it('loops until stop(), and what was sent plays out (the playout clock)', async () => {
    const t = await connected({ playbackAck: 'none' });
    const clip = t.playAudio(bytes(800, CLIP), { loop: true, name: 'hold' });
    for (let i = 0; i < 10; i++) rig.clock.advance(100);
    expect(sentMs(CLIP)).toBeGreaterThan(800);
    clip.stop();
    clip.stop();
    const sent = sentMs(CLIP);
    rig.clock.advance(500);
    expect(sentMs(CLIP)).toBe(sent);
    const result = await clip.done;
    expect(result).toMatchObject({ reason: 'stopped', name: 'hold', sentMs: sent, playedMs: sent });
  });

  it('a looped clip runs on with no silence between its passes, however it falls on the frames', async () => {
    const t = await connected({ playbackAck: 'none' });
    // 25 ms of μ-law: passes end mid-frame. No byte of it is μ-law silence (0xff), the padding.
    const clipBytes = new Uint8Array(200).map((_, i) => 1 + i);
    const clip = t.playAudio(clipBytes, { loop: true });
    for (let i = 0; i < 10; i++) rig.clock.advance(100);
    clip.stop();
    rig.clock.advance(1000);
    await clip.done;
    const sent = concatBytes(
      rig.carrier
        .commands()
        .filter((c) => c.type === 'audio')
        .map((c) => (c as { payload: Uint8Array }).payload),
    );
    expect(sent.byteLength).toBeGreaterThan(4 * clipBytes.byteLength);
    expect(sent.byteLength % 160).toBe(0);
    const expected = new Uint8Array(sent.byteLength).map((_, i) => clipBytes[i % clipBytes.byteLength]!);
    expect(sent).toEqual(expected);
  });

  it('a looped clip at another rate holds its level from first frame to last: no filter delay or tail', async () => {
    const t = rig.make({ playbackAck: 'none' });
    rig.carrier.deliver(wire.start('S1', 'l16', 16000));
    // 200 ms of a 1 kHz tone at 8 kHz, whole cycles: seamless as a loop.
    const tone = new Int16Array(1600).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)));
    const clip = t.playAudio(tone, { loop: true, format: { encoding: 'l16', sampleRate: 8000, channels: 1 } });
    for (let i = 0; i < 10; i++) rig.clock.advance(100);
    clip.stop();
    rig.clock.advance(1000);
    await clip.done;
    const frames = rig.carrier
      .commands()
      .filter((c) => c.type === 'audio')
      .map((c) => (c as { payload: Uint8Array }).payload);
    const samples = new Int16Array(concatBytes(frames).slice().buffer);
    expect(samples.length).toBeGreaterThan(3 * 3200);
    // Every 10 ms holds the tone at its level (RMS 8000/√2), none of it silence.
    const level = 8000 / Math.SQRT2;
    for (let at = 0; at + 160 <= samples.length; at += 160) {
      let energy = 0;
      for (let i = at; i < at + 160; i++) energy += samples[i]! * samples[i]!;
      expect(Math.abs(Math.sqrt(energy / 160) - level) / level, `10 ms from sample ${at}`).toBeLessThan(0.05);
    }
  });

  it('the call ending settles it with call_end, and leaves no timer behind', async () => {
    const t = await connected();
    const clip = t.playAudio(bytes(8000, CLIP), { loop: true });
    rig.clock.advance(50);
    t.end();
    await expect(clip.done).resolves.toMatchObject({ reason: 'call_end' });
    expect(rig.clock.pending).toBe(0);
    // A clip asked for after the end is over at once.
    await expect(t.playAudio(bytes(800, CLIP)).done).resolves.toMatchObject({ reason: 'call_end', sentMs: 0 });
  });

  it('waits for the carrier’s stream, and plays in the format its start announced', async () => {
    const t = rig.make({ playbackAck: 'none' });
    const clip = t.playAudio(new Int16Array(800).fill(500), { name: 'early' });
    rig.clock.advance(100);
    expect(rig.carrier.commands()).toEqual([]);
    rig.carrier.deliver(wire.start('S1', 'l16', 16000));
    for (let i = 0; i < 10; i++) rig.clock.advance(100);
    const result = await clip.done;
    // 800 samples at the carrier's 16 kHz: 50 ms, padded to whole 20 ms frames of 16-bit samples.
    expect(result).toMatchObject({ reason: 'finished', sentMs: 60 });
    const bytes = rig.carrier
      .commands()
      .filter((c) => c.type === 'audio')
      .reduce((n, c) => n + (c as { payload: Uint8Array }).payload.byteLength, 0);
    expect(bytes).toBe(1920);
  });

  it('converts L16 samples at another rate to the carrier’s format', async () => {
    const t = await connected({ playbackAck: 'none' });
    const samples = new Int16Array(16000).fill(1000); // one second at 16 kHz
    const clip = t.playAudio(samples, { format: { encoding: 'l16', sampleRate: 16000, channels: 1 } });
    for (let i = 0; i < 20; i++) rig.clock.advance(100);
    const result = await clip.done;
    expect(result.reason).toBe('finished');
    expect(Math.abs(result.sentMs - 1000)).toBeLessThanOrEqual(20);
  });

  it('refuses what is not audio, or a format it cannot play, with a ConfigError', async () => {
    const t = await connected();
    expect(() => t.playAudio('beep' as never)).toThrow(ConfigError);
    expect(() =>
      t.playAudio(bytes(10, 1), { format: { encoding: 'opus' as never, sampleRate: 8000, channels: 1 } }),
    ).toThrow(ConfigError);
    expect(() => t.playAudio(bytes(10, 1), { format: { encoding: 'l16', sampleRate: 0, channels: 1 } })).toThrow(
      ConfigError,
    );
  });

  it('endAfterPlayback stops a looping clip and hangs up once what was sent of it played', async () => {
    const t = await connected();
    const clip = t.playAudio(bytes(800, CLIP), { loop: true });
    rig.clock.advance(100);
    let ended = false;
    const ending = t.endAfterPlayback().then((r) => ((ended = true), r));
    const sent = sentMs(CLIP);
    rig.clock.advance(1000);
    await settle();
    expect(sentMs(CLIP)).toBe(sent);
    expect(ended).toBe(false);
    expect(rig.carrier.closed).toBe(false);
    ackAll();
    await expect(clip.done).resolves.toMatchObject({ reason: 'stopped', playedMs: sent });
    await expect(ending).resolves.toMatchObject({ heardAll: true });
    expect(rig.carrier.closed).toBe(true);
  });
});
