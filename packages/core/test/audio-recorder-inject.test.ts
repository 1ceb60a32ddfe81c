import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallAudioRecorder, concatBytes, decodeMuLaw, encodeMuLaw, type OutboundCommand } from '../src/index.js';
import { until, wire } from '@switchboard/conformance/testing';
import { useCoreTransport } from './helpers/transport.js';

// Injected audio leaves through the same output path as the model's, so the recorder hears it as
// the caller did: on the playout schedule, the model's next reply after it.

const rig = useCoreTransport({ beforeEach, afterEach });
// No acks: the playout clock says what played, and the clock here is moved by hand.
beforeEach(() => void rig.make({ playbackAck: 'none' }));

/** `count` μ-law samples of a tone of `period` samples. */
const tone = (period: number, count: number) =>
  encodeMuLaw(Int16Array.from({ length: count }, (_, i) => Math.round(7000 * Math.sin((2 * Math.PI * i) / period))));

const audioSent = () =>
  rig.carrier
    .commands()
    .filter((c): c is Extract<OutboundCommand, { type: 'audio' }> => c.type === 'audio')
    .map((c) => c.payload);

describe('CallAudioRecorder and injected audio', () => {
  it('records a clip played into the call, then the reply it yielded to, as the caller heard them', async () => {
    const t = rig.transport!;
    let bytes = 0;
    const chunks: Uint8Array[] = [];
    const lines: string[] = [];
    const recorder = new CallAudioRecorder(t, {
      sink: { write: (b: Uint8Array) => void (chunks.push(b.slice()), (bytes += b.byteLength)) },
      events: { write: (l: string) => lines.push(l) },
      now: rig.clock.now,
    });
    rig.carrier.deliver(wire.start());
    await t.connect({ apiKey: 'sk-test' });
    const speak = (frames: number) => {
      for (let i = 0; i < frames; i++) {
        rig.clock.advance(20);
        rig.carrier.deliver(wire.audio(new Uint8Array(160).fill(0xff)));
      }
    };
    speak(10);
    // Hold music 200 ms in: fed a little ahead of the playout clock as time goes on.
    const clip = t.playAudio(tone(20, 8000), { name: 'hold' });
    speak(25);
    // 700 ms in, the model's reply arrives: the clip yields, its queued part plays out first.
    let replied = false;
    t.on('response.done', () => (replied = true));
    rig.server.respond('resp_1', 'item_1', [tone(10, 800), tone(10, 800)]);
    await until(() => replied, 20_000);
    speak(40);
    const result = await clip.done;
    expect(result.reason).toBe('yielded');
    rig.carrier.deliver(wire.stop());
    const done = await recorder.done;

    const file = concatBytes(chunks);
    file.set(done.header, 0);
    const view = new DataView(file.buffer);
    const right = Int16Array.from({ length: (file.byteLength - 44) / 4 }, (_, i) => view.getInt16(46 + 4 * i, true));
    // Silence until the clip started (200 ms), then everything the carrier got, back to back.
    const sent = decodeMuLaw(concatBytes(audioSent()));
    expect(right.subarray(0, 1600).every((s) => s === 0)).toBe(true);
    expect(Array.from(right.subarray(1600, 1600 + sent.length))).toEqual(Array.from(sent));
    expect(right.subarray(1600 + sent.length).every((s) => s === 0)).toBe(true);
    // The clip's share of it: what the injector says it sent.
    expect(result.sentMs).toBeGreaterThan(0);
    expect(sent.length).toBe(((result.sentMs + 200) * 8000) / 1000);
    const events = lines.map((l) => JSON.parse(l) as { at: number; type: string; phase?: string; reason?: string });
    expect(events.filter((e) => e.type === 'injected_audio')).toEqual([
      expect.objectContaining({ at: 200, phase: 'start', name: 'hold' }),
      expect.objectContaining({ phase: 'end', reason: 'yielded', name: 'hold' }),
    ]);
    expect(bytes).toBe(44 + done.stats.recordedMs * 32);
  });
});
