import { Resampler, decodeMuLaw, encodeMuLaw } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { compareAudio, resampleAll } from '../src/similarity.js';

/** A voiced, speech-like test signal: a few harmonics with a slow pitch glide and an envelope. */
function voice(ms: number, rate: number): Int16Array {
  const n = Math.round((ms * rate) / 1000);
  const out = new Int16Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    phase += (2 * Math.PI * (140 + 40 * Math.sin(2 * Math.PI * 0.7 * t))) / rate;
    const envelope = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    out[i] = Math.round(8000 * envelope * (Math.sin(phase) + 0.5 * Math.sin(2 * phase) + 0.25 * Math.sin(3 * phase)));
  }
  return out;
}

describe('compareAudio', () => {
  it('finds identical audio identical', () => {
    const a = voice(1000, 8000);
    const s = compareAudio({ samples: a, sampleRate: 8000 }, { samples: a.slice(), sampleRate: 8000 });
    expect(s.snrDb).toBe(Infinity);
    expect(s.lagMs).toBe(0);
  });

  it('sees through μ-law and a round trip 8 → 16 → 24 kHz, the path a Vonage call takes to the model', () => {
    const original = decodeMuLaw(encodeMuLaw(voice(3000, 8000)));
    const at16 = new Resampler(8000, 16000).process(original);
    const at24 = new Resampler(16000, 24000).process(at16);
    const s = compareAudio({ samples: original, sampleRate: 8000 }, { samples: at24, sampleRate: 24000 });
    expect(s.snrDb).toBeGreaterThan(30);
    expect(s.lagMs).toBeGreaterThan(0); // the streaming filters' delay, found and removed
    expect(Math.abs(s.actualMs - 3000)).toBeLessThan(5);
  });

  it('reports audio in the wrong order as different', () => {
    const a = voice(2000, 8000);
    const swapped = new Int16Array(a.length);
    swapped.set(a.subarray(8000));
    swapped.set(a.subarray(0, 8000), a.length - 8000);
    const s = compareAudio({ samples: a, sampleRate: 8000 }, { samples: swapped, sampleRate: 8000 });
    expect(s.snrDb).toBeLessThan(5);
  });

  it('reports a dropped 20 ms frame in the middle as different', () => {
    const a = voice(2000, 8000);
    const dropped = new Int16Array(a.length - 160);
    dropped.set(a.subarray(0, 8000));
    dropped.set(a.subarray(8160), 8000);
    const s = compareAudio({ samples: a, sampleRate: 8000 }, { samples: dropped, sampleRate: 8000 });
    expect(s.snrDb).toBeLessThan(10);
  });
});

describe('resampleAll', () => {
  it('returns the whole signal at the new rate, aligned with the input', () => {
    const a = voice(500, 8000);
    const up = resampleAll(a, 8000, 24000);
    expect(up.length).toBe(a.length * 3);
    // Every third output sample sits on an input sample: close to it once the delay is removed.
    let error = 0;
    let energy = 0;
    for (let i = 100; i < a.length - 100; i++) {
      error += (up[i * 3]! - a[i]!) ** 2;
      energy += a[i]! ** 2;
    }
    expect(10 * Math.log10(energy / error)).toBeGreaterThan(30);
  });
});
