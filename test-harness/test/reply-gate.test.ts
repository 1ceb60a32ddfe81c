import { describe, expect, it } from 'vitest';
import { answerGate, replyGate } from '../src/reply-gate.js';

describe('replyGate', () => {
  const utterances = [
    { startMs: 500, endMs: 2540 },
    { startMs: 4340, endMs: 5923 },
    { startMs: 7740, endMs: 9119 },
  ];

  it('lets every frame go when the reply reached the carrier in time', () => {
    let chunks = 0;
    const hold = replyGate({ utterances, chunksReceived: () => chunks, realNow: () => 0 });
    const held: number[] = [];
    for (let t = 0; t <= 10_000; t += 20) {
      if (t === 3000 || t === 6500) chunks += 10; // each reply begins before the next utterance
      if (hold(t)) held.push(t);
    }
    expect(held).toEqual([]);
  });

  it('holds the next utterance until reply audio arrives, then lets the rest go', () => {
    // A starved machine: the caller is at the second utterance before any of the reply came.
    let chunks = 3;
    const hold = replyGate({ utterances, chunksReceived: () => chunks, realNow: () => 0 });
    for (let t = 0; t < 4340; t += 20) expect(hold(t)).toBe(false);
    expect(hold(4340)).toBe(true);
    expect(hold(4340)).toBe(true);
    chunks++;
    expect(hold(4340)).toBe(false);
    for (let t = 4360; t < 7740; t += 20) expect(hold(t)).toBe(false);
    // The audio that arrived while the caller spoke counts for the next reply only once it ended.
    expect(hold(7740)).toBe(true);
  });

  it('counts a reply still playing when the utterance ended as audio to speak over', () => {
    let chunks = 50;
    const hold = replyGate({
      utterances: [
        { startMs: 500, endMs: 2540 },
        { startMs: 12_340, endMs: 13_923 },
      ],
      chunksReceived: () => chunks,
      realNow: () => 0,
    });
    for (let t = 0; t < 12_340; t += 20) {
      if (t === 5000) chunks += 50; // a long reply, paced out to the carrier
      expect(hold(t)).toBe(false);
    }
    expect(hold(12_340)).toBe(false);
  });

  it('holds an utterance no longer than its bound', () => {
    let now = 0;
    const hold = replyGate({ utterances, chunksReceived: () => 0, realNow: () => now, maxHoldMs: 5000 });
    for (let t = 0; t < 4340; t += 20) hold(t);
    expect(hold(4340)).toBe(true);
    now = 4999;
    expect(hold(4340)).toBe(true);
    now = 5000;
    expect(hold(4340)).toBe(false);
    expect(hold(4360)).toBe(false);
  });
});

describe('answerGate', () => {
  it('holds the end of the call until the answer was heard, then never again', () => {
    let answered = false;
    const hold = answerGate({ fromT: 12_500, answered: () => answered, realNow: () => 0 });
    for (let t = 0; t < 12_500; t += 20) expect(hold(t)).toBe(false);
    expect(hold(12_500)).toBe(true);
    expect(hold(12_500)).toBe(true);
    answered = true;
    expect(hold(12_500)).toBe(false);
    answered = false;
    expect(hold(12_520)).toBe(false);
  });

  it('lets the caller hang up after the longest hold when no answer comes', () => {
    let now = 0;
    const hold = answerGate({ fromT: 100, answered: () => false, realNow: () => now, maxHoldMs: 1000 });
    expect(hold(100)).toBe(true);
    now = 999;
    expect(hold(100)).toBe(true);
    now = 1000;
    expect(hold(100)).toBe(false);
    expect(hold(120)).toBe(false);
  });
});
