import { describe, expect, it } from 'vitest';
import { attributeAgain, type AttributionStep } from '../src/attribution.js';
import { bridgeCancelLimits, OutputAttribution, type RecordedEmit } from '../src/replay.js';

describe('OutputAttribution', () => {
  it('gives the carrier’s chunks to the items in the order the model sent them, however late they play', () => {
    const a = new OutputAttribution();
    a.modelSent('item_1', 100);
    a.modelSent('item_1', 60);
    // The model moves on to item 2 while the paced bridge still holds most of item 1.
    a.modelSent('item_2', 50);
    expect([40, 40, 40].map((ms) => a.carrierPlays(ms))).toEqual(['item_1', 'item_1', 'item_1']);
    // Item 1's last 40 ms come padded to a 60 ms frame: the padding stays with item 1.
    expect(a.carrierPlays(60)).toBe('item_1');
    expect(a.carrierPlays(20)).toBe('item_2');
    expect(a.carrierPlays(30)).toBe('item_2');
    // Beyond the last item the model sent: its padding.
    expect(a.carrierPlays(20)).toBe('item_2');
  });

  it('keeps an item open while the model is still sending it, however small what is left', () => {
    const a = new OutputAttribution();
    a.modelSent('item_1', 7.25);
    a.modelSent('item_1', 0.375);
    expect(a.carrierPlays(7.25)).toBe('item_1');
    expect(a.carrierPlays(0.375)).toBe('item_1');
    a.modelSent('item_1', 131);
    expect(a.carrierPlays(131)).toBe('item_1');
  });

  it('expects nothing more of an item the bridge cut, nor of any item once the carrier clears', () => {
    const a = new OutputAttribution();
    a.modelSent('item_1', 100);
    expect(a.carrierPlays(20)).toBe('item_1');
    a.cut(['item_1']);
    a.modelSent('item_1', 100); // a delta still in flight when the bridge cut the item
    a.modelSent('item_2', 40);
    expect(a.carrierPlays(20)).toBe('item_2');
    a.clear();
    a.modelSent('item_2', 40);
    a.modelSent('item_3', 20);
    expect(a.carrierPlays(20)).toBe('item_3');
  });

  it('expects nothing while no audio of a live item is pending', () => {
    const a = new OutputAttribution();
    expect(a.carrierPlays(20)).toBeUndefined();
    a.modelSent('item_1', 20);
    a.clear();
    expect(a.carrierPlays(20)).toBeUndefined();
  });

  it('expects of a capped item only what the bridge forwarded, and hands the next item none of its chunks', () => {
    // The bridge forwarded 100 ms of item 1 before it cancelled the response; 60 ms more were
    // dropped on arrival. The resampler's tail (2 ms) went with them.
    const a = new OutputAttribution({ limits: new Map([['item_1', 100]]), limitSlackMs: 2.25 });
    a.modelSent('item_1', 80);
    a.modelSent('item_1', 80);
    a.modelSent('item_2', 40);
    expect([40, 40, 18].map((ms) => a.carrierPlays(ms))).toEqual(['item_1', 'item_1', 'item_1']);
    expect(a.carrierPlays(20)).toBe('item_2');
    expect(a.carrierPlays(20)).toBe('item_2');
    // Without the cap, item 2's first chunk would have gone to item 1.
    const uncapped = new OutputAttribution();
    uncapped.modelSent('item_1', 160);
    uncapped.modelSent('item_2', 40);
    expect([40, 40, 18, 20].map((ms) => uncapped.carrierPlays(ms)).at(-1)).toBe('item_1');
  });
});

describe('bridgeCancelLimits', () => {
  const emit = (name: string, event?: Record<string, unknown>): RecordedEmit => ({
    at: 0,
    name,
    args: event ? [event] : [],
  });
  const delta = (responseId: string, itemId: string, ms: number) =>
    emit('response.output_audio.delta', { response_id: responseId, item_id: itemId, delta: 'x'.repeat(ms) });
  const limits = (events: RecordedEmit[]) => Object.fromEntries(bridgeCancelLimits(events, (b64) => b64.length));

  it('caps the item of the response generating at a barge-in at the audio the bridge had before it', () => {
    const events = [
      emit('response.created', { response: { id: 'r1' } }),
      delta('r1', 'i1', 100),
      delta('r1', 'i1', 30),
      emit('audio_interrupted'),
      delta('r1', 'i1', 70), // on its way when the bridge cancelled: dropped
      emit('response.done', { response: { id: 'r1' } }),
      emit('response.created', { response: { id: 'r2' } }),
      delta('r2', 'i2', 50),
    ];
    expect(limits(events)).toEqual({ i1: 130 });
  });

  it('caps nothing when no audio came after the barge-in, or when no response was generating', () => {
    expect(
      limits([
        emit('response.created', { response: { id: 'r1' } }),
        delta('r1', 'i1', 100),
        emit('audio_interrupted'),
        emit('response.done', { response: { id: 'r1' } }),
      ]),
    ).toEqual({});
    // Done before the barge-in: nothing was cancelled, the next response is expected in full.
    const events = [
      emit('response.created', { response: { id: 'r1' } }),
      delta('r1', 'i1', 100),
      emit('response.done', { response: { id: 'r1' } }),
      emit('audio_interrupted'),
      emit('response.created', { response: { id: 'r2' } }),
      delta('r2', 'i2', 50),
    ];
    expect(limits(events)).toEqual({});
  });

  it('caps at zero the item of a response cancelled before any of its audio reached the bridge', () => {
    expect(
      limits([emit('response.created', { response: { id: 'r1' } }), emit('audio_interrupted'), delta('r1', 'i1', 40)]),
    ).toEqual({ i1: 0 });
  });
});

describe('OutputAttribution on a loaded machine: cuts and clears where the bridge sent them', () => {
  /** `n` carrier frames of `ms` each, sent by the bridge from `sentAt` on, 20 ms apart. */
  const frames = (a: OutputAttribution, n: number, ms: number, sentAt: number) =>
    Array.from({ length: n }, (_, k) => a.carrierPlays(ms, sentAt + k * 20));

  it('gives an item the frames the bridge sent before its truncate, however late the carrier reads them', () => {
    // The first reply played out long ago; the second had 100 ms (five frames) on their way to the
    // carrier when the caller barged in. The truncate reached the model before the carrier, starved,
    // read those frames: they are still the second reply's, not the first's.
    const a = new OutputAttribution();
    a.modelSent('item_1', 3671.125, 3568);
    expect(new Set(frames(a, 184, 20, 3580))).toEqual(new Set(['item_1']));
    a.modelSent('item_2', 100, 10861);
    a.modelSent('item_2', 100, 10900);
    a.cut(['item_2'], 10995);
    expect(frames(a, 5, 20, 10870)).toEqual(['item_2', 'item_2', 'item_2', 'item_2', 'item_2']);
    a.clear(10990);
    a.modelSent('item_3', 100, 13918);
    expect(frames(a, 5, 20, 13930)).toEqual(['item_3', 'item_3', 'item_3', 'item_3', 'item_3']);
  });

  it('cuts at a clear only the items the model had begun before the bridge sent it', () => {
    // The carrier reads the barge-in's clear late, after the model began its next reply: that
    // reply's audio is not cut with the one the clear stopped.
    const a = new OutputAttribution();
    a.modelSent('item_1', 2400, 10861);
    expect(new Set(frames(a, 60, 20, 10870))).toEqual(new Set(['item_1']));
    a.cut(['item_1'], 12095);
    a.modelSent('item_2', 100, 13918);
    a.clear(12082);
    a.modelSent('item_2', 100, 14018);
    expect(frames(a, 10, 20, 13930)).toEqual(Array.from({ length: 10 }, () => 'item_2'));
  });

  it('still cuts what a truncate stopped once the carrier is past the point where the bridge sent it', () => {
    // No clear (the carrier's stream was replaced): the item's unsent rest is not expected, and the
    // next item's frames, sent after the truncate, are the next item's.
    const a = new OutputAttribution();
    a.modelSent('item_1', 1000, 0);
    expect(new Set(frames(a, 10, 20, 10))).toEqual(new Set(['item_1']));
    a.cut(['item_1'], 250);
    a.modelSent('item_1', 100, 260); // in flight when the model got the truncate: not expected
    a.modelSent('item_2', 100, 400);
    expect(frames(a, 5, 20, 410)).toEqual(['item_2', 'item_2', 'item_2', 'item_2', 'item_2']);
  });
});

describe('attributeAgain', () => {
  it('places cuts and clears by when the bridge sent each frame, when that is known only after the call', () => {
    // A bridge in another process: live, the frames' send times were unknown, and the truncate seen
    // before the carrier read the second reply's first frames handed them to the first reply.
    const steps: AttributionStep[] = [
      { step: 'sent', itemId: 'item_1', ms: 100, at: 0 },
      ...Array.from({ length: 5 }, (_, k) => ({ step: 'plays' as const, ms: 20, frame: k })),
      { step: 'sent', itemId: 'item_2', ms: 100, at: 500 },
      { step: 'cut', itemIds: ['item_2'], at: 700 },
      ...Array.from({ length: 5 }, (_, k) => ({ step: 'plays' as const, ms: 20, frame: 5 + k })),
      { step: 'clear', frame: 10 },
    ];
    const sentAt = [10, 30, 50, 70, 90, 510, 530, 550, 570, 590, 690];
    expect(attributeAgain(steps).slice(5)).toEqual(['item_1', 'item_1', 'item_1', 'item_1', 'item_1']);
    expect(attributeAgain(steps, { sentAtOf: (frame) => sentAt[frame] }).slice(5)).toEqual([
      'item_2',
      'item_2',
      'item_2',
      'item_2',
      'item_2',
    ]);
  });
});
