import { describe, expect, it } from 'vitest';
import { PlaybackLedger } from '../src/index.js';

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
    expect(ledger.snapshot()).toEqual([{ ...key('a'), sentMs: 200, ackedMs: 0, playedMs: 150 }]);
  });

  it('re-anchors on an ack: a carrier that started late is not credited with time it did not play', () => {
    const { clock, ledger } = ledgerAt();
    const first = ledger.recordSent(key('a'), 100, true)!;
    ledger.recordSent(key('a'), 100, true);
    clock.now += 180; // the first chunk's ack is 80 ms late: the carrier started late
    expect(ledger.ack(first)).toBe('acked');
    clock.now += 30;
    expect(ledger.snapshot()[0]!.playedMs).toBe(130);
  });

  it('never reports more than was sent, nor past an unacknowledged mark it is still waiting for', () => {
    const { clock, ledger } = ledgerAt();
    ledger.recordSent(key('a'), 40, true);
    clock.now += 10_000;
    expect(ledger.snapshot()[0]!.playedMs).toBe(40);
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
    expect(ledger.snapshot()[0]!.playedMs).toBe(60);
  });
});
