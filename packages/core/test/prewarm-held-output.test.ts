import { describe, expect, it } from 'vitest';
import { HeldOutput, type HeldOutputSink } from '../src/prewarm/held-output.js';

const G711 = { type: 'audio/pcmu' } as const;
const PCM = { type: 'audio/pcm', rate: 24000 } as const;
const key = (responseId: string) => ({ responseId, itemId: `item-${responseId}`, contentIndex: 0 });

function recordingSink(cancelled: string[] = []): HeldOutputSink & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    cancelled: (k) => cancelled.includes(k.responseId),
    play: (k, audio) => log.push(`play ${k.responseId} ${audio.byteLength}`),
    flush: (k) => log.push(`flush ${k.responseId}`),
    dropped: (bytes) => log.push(`dropped ${bytes}`),
    done: (responseId) => log.push(`done ${responseId}`),
  };
}

describe('HeldOutput', () => {
  it('plays what it held in order once, with the ends of parts and responses where they came', () => {
    const held = new HeldOutput();
    expect(held.hold(key('r1'), new Uint8Array(160), G711)).toBe(true);
    expect(held.hold(key('r1'), new Uint8Array(80), G711)).toBe(true);
    held.holdFlush(key('r1'), G711);
    held.holdDone('r1');
    expect(held.bytes).toBe(240);
    const sink = recordingSink();
    held.release(sink, G711);
    expect(sink.log).toEqual(['play r1 160', 'play r1 80', 'flush r1', 'done r1']);
    // Released: nothing is held any more, and a second release plays nothing.
    expect(held.hold(key('r2'), new Uint8Array(10), G711)).toBe(false);
    held.release(sink, G711);
    expect(sink.log).toHaveLength(4);
  });

  it('refuses audio beyond its bound, and drops a cancelled response or another model format on release', () => {
    const held = new HeldOutput(300);
    expect(held.hold(key('r1'), new Uint8Array(200), G711)).toBe(true);
    expect(held.hold(key('r1'), new Uint8Array(200), G711)).toBe(false);
    expect(held.hold(key('r2'), new Uint8Array(100), G711)).toBe(true);
    const cancelled = recordingSink(['r2']);
    held.release(cancelled, G711);
    expect(cancelled.log).toEqual(['play r1 200', 'dropped 100']);

    const other = new HeldOutput();
    other.hold(key('r3'), new Uint8Array(160), G711);
    const sink = recordingSink();
    other.release(sink, PCM);
    expect(sink.log).toEqual(['dropped 160']);
  });

  it('discard() forgets what it held and returns its size', () => {
    const held = new HeldOutput();
    held.hold(key('r1'), new Uint8Array(160), G711);
    expect(held.discard()).toBe(160);
    const sink = recordingSink();
    held.release(sink, G711);
    expect(sink.log).toEqual([]);
  });
});
