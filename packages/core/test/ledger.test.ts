import { describe, expect, it } from 'vitest';
import { PlaybackLedger } from '../src/protocol.js';

const key = (itemId: string, responseId = 'r1') => ({ responseId, itemId, contentIndex: 0 });

function ledgerAt(start = 1000) {
  const clock = { now: start };
  return { clock, ledger: new PlaybackLedger({ now: () => clock.now }) };
}

describe('PlaybackLedger', () => {
  it('plays chunks back to back from when they were sent', () => {
    const { clock, ledger } = ledgerAt();
    ledger.recordSent(key('a'), 100, true);
    ledger.recordSent(key('a'), 100, true);
    clock.now += 150;
    expect(ledger.snapshot()).toEqual([
      { ...key('a'), sentMs: 200, contentMs: 0, ackedMs: 0, playedMs: 150, awaitingAck: true },
    ]);
  });

  it('re-anchors on acks that show a steady delay: a carrier that started late is not credited with time it did not play', () => {
    const { clock, ledger } = ledgerAt();
    const marks = Array.from({ length: 10 }, () => ledger.recordSent(key('a'), 100, true)!);
    // The carrier started 80 ms late and plays on from there: each ack comes 80 ms after the
    // schedule's end of its chunk.
    clock.now += 180;
    ledger.ack(marks[0]!);
    for (const mark of marks.slice(1, 7)) {
      clock.now += 100;
      ledger.ack(mark);
    }
    // Seven acks are no full window: the schedule still stands (by it the 9th chunk started 10 ms ago).
    clock.now += 30;
    expect(ledger.snapshot()[0]!.playedMs).toBe(810);
    // The eighth shows the delay on every ack of a full window: the 9th chunk started only now.
    clock.now += 70;
    ledger.ack(marks[7]!);
    clock.now += 30;
    expect(ledger.snapshot()[0]!.playedMs).toBe(830);
  });

  it('keeps a steady ack delay, but does not let one ack delayed on its way drag the schedule back', () => {
    const { clock, ledger } = ledgerAt();
    const marks = Array.from({ length: 12 }, () => ledger.recordSent(key('a'), 100, true)!);
    // The carrier acks each chunk 20 ms after the schedule's end of it: its steady delay.
    clock.now += 120;
    ledger.ack(marks[0]!);
    for (const mark of marks.slice(1, 10)) {
      clock.now += 100;
      ledger.ack(mark);
    }
    // The 11th ack arrives 70 ms later than that (a stall on its way back); the carrier went on
    // playing the 12th chunk from the 11th's end.
    clock.now += 170;
    ledger.ack(marks[10]!);
    expect(ledger.snapshot()[0]!.playedMs).toBe(1100 + 70);
    // Without that history the same late ack is taken for a delay on its way too: one ack cannot
    // tell a stall from a carrier that started late.
    const fresh = ledgerAt();
    const first = fresh.ledger.recordSent(key('a'), 100, true)!;
    fresh.ledger.recordSent(key('a'), 100, true);
    fresh.clock.now += 190;
    fresh.ledger.ack(first);
    expect(fresh.ledger.snapshot()[0]!.playedMs).toBe(190);
  });

  it('takes an ack earlier than the schedule as it is (a carrier that acknowledges what it queued)', () => {
    const { clock, ledger } = ledgerAt();
    const first = ledger.recordSent(key('a'), 100, true)!;
    ledger.recordSent(key('a'), 100, true);
    clock.now += 10;
    ledger.ack(first);
    clock.now += 30;
    expect(ledger.snapshot()[0]!.playedMs).toBe(130);
  });

  it('never reports more than was sent, and knows when an ack is still outstanding', () => {
    const { clock, ledger } = ledgerAt();
    ledger.recordSent(key('a'), 40, true);
    clock.now += 10_000;
    expect(ledger.snapshot()[0]).toMatchObject({ playedMs: 40, sentMs: 40, awaitingAck: true });
  });

  it('never credits a chunk past its end while its mark is outstanding, even with later chunks queued', () => {
    const { clock, ledger } = ledgerAt();
    const first = ledger.recordSent(key('a'), 100, true)!;
    ledger.recordSent(key('a'), 100, true);
    clock.now += 100;
    ledger.ack(first);
    clock.now += 150; // 150 ms into a 100 ms chunk: its ack is late, the carrier has not finished it
    expect(ledger.snapshot()[0]!.playedMs).toBe(200);
    expect(ledger.snapshot()[0]!.awaitingAck).toBe(true);
  });

  it('keeps the schedule anchored when a finished response is forgotten while the next one plays', () => {
    const { clock, ledger } = ledgerAt();
    // Response 1: one second of audio, sent at once; it ends while still playing.
    const marksA = [1, 2, 3, 4, 5].map(() => ledger.recordSent(key('a', 'r1'), 200, true)!);
    ledger.responseDone('r1');
    // Response 2 starts sending while response 1 is still playing.
    clock.now += 500;
    ledger.recordSent(key('b', 'r2'), 500, true);
    ledger.recordSent(key('b', 'r2'), 500, true);
    clock.now += 500;
    ledger.ack(marksA[4]!); // response 1 fully played at t=1000: forgotten
    clock.now += 100;
    const items = ledger.snapshot();
    expect(items.map((i) => i.itemId)).toEqual(['b']);
    // Response 2 started playing when response 1 ended, 100 ms ago: not when it was sent.
    expect(items[0]!.playedMs).toBe(100);
  });

  it('caps what a truncation may keep at the model’s audio, without frame padding', () => {
    const { ledger } = ledgerAt();
    ledger.addContent(key('a'), 31.25);
    ledger.recordSent(key('a'), 40, true); // padded to two 20 ms frames
    expect(ledger.snapshot()[0]).toMatchObject({ contentMs: 31.25, sentMs: 40 });
  });

  it('an ack settles every earlier chunk (the carrier plays in order)', () => {
    const { ledger } = ledgerAt();
    ledger.recordSent(key('a'), 100, true);
    const second = ledger.recordSent(key('a'), 100, true)!;
    ledger.ack(second);
    expect(ledger.snapshot()[0]!.ackedMs).toBe(200);
  });

  it('tracks items separately: a later item starts when the earlier one ends', () => {
    const { clock, ledger } = ledgerAt();
    ledger.recordSent(key('a'), 100, true);
    ledger.recordSent(key('b', 'r2'), 100, true);
    clock.now += 120;
    const byItem = Object.fromEntries(ledger.snapshot().map((i) => [i.itemId, i.playedMs]));
    expect(byItem).toEqual({ a: 100, b: 20 });
  });

  it('after clear, marks of the old generation are stale and foreign names unknown', () => {
    const { ledger } = ledgerAt();
    const old = ledger.recordSent(key('a'), 100, true)!;
    ledger.clear();
    expect(ledger.generation).toBe(1);
    expect(ledger.ack(old)).toBe('stale');
    expect(ledger.ack('someone-else')).toBe('unknown');
    expect(ledger.snapshot()).toEqual([]);
  });

  it('forgets a finished response once the caller heard all of it', () => {
    const { ledger } = ledgerAt();
    const mark = ledger.recordSent(key('a'), 100, true)!;
    ledger.responseDone('r1');
    expect(ledger.snapshot()).toHaveLength(1);
    ledger.ack(mark);
    expect(ledger.snapshot()).toEqual([]);
  });

  it('runs on the schedule alone when the carrier sends no acknowledgements', () => {
    const { clock, ledger } = ledgerAt();
    expect(ledger.recordSent(key('a'), 100, false)).toBeUndefined();
    clock.now += 60;
    expect(ledger.snapshot()[0]).toMatchObject({ playedMs: 60, awaitingAck: false });
  });

  it('without acknowledgements, forgets what the schedule says was played once the response is done', () => {
    const { clock, ledger } = ledgerAt();
    for (let i = 0; i < 50; i++) ledger.recordSent(key('a'), 20, false);
    ledger.responseDone('r1');
    expect(ledger.snapshot()).toHaveLength(1);
    clock.now += 1000;
    ledger.recordSent(key('b', 'r2'), 20, false);
    expect(ledger.snapshot().map((i) => i.itemId)).toEqual(['b']);
  });

  it('queuedMs: what the carrier has not played yet by the schedule, restarted by an ack and emptied by a clear', () => {
    const { clock, ledger } = ledgerAt();
    const first = ledger.recordSent(key('a'), 100, true)!;
    ledger.recordSent(key('a'), 100, true);
    expect(ledger.queuedMs()).toBe(200);
    clock.now += 50;
    expect(ledger.queuedMs()).toBe(150);
    // The first chunk's ack comes 50 ms early (a carrier that acknowledges what it queued): the
    // second chunk starts playing now.
    ledger.ack(first);
    expect(ledger.queuedMs()).toBe(100);
    clock.now += 500;
    expect(ledger.queuedMs()).toBe(0);
    ledger.recordSent(key('b'), 100, false);
    ledger.clear();
    expect(ledger.queuedMs()).toBe(0);
  });
});
