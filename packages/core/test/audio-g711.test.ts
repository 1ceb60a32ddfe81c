import { describe, expect, it } from 'vitest';
import {
  ALAW_SILENCE,
  MULAW_SILENCE,
  aLawToLinear,
  decodeALaw,
  decodeMuLaw,
  encodeALaw,
  encodeMuLaw,
  linearToALaw,
  linearToMuLaw,
  muLawToLinear,
} from '../src/audio/index.js';

/**
 * Reference expansion written from the G.711 tables: μ-law level (14-bit) is
 * ((2m + 33) << e) - 33, A-law level (13-bit) is 2m + 1 in segment 0 and (2m + 33) << (e - 1)
 * above; scaled to 16 bits by 4 and 8.
 */
function referenceMuLaw(byte: number): number {
  const inverted = ~byte & 0xff;
  const e = (inverted >> 4) & 7;
  const m = inverted & 15;
  const magnitude = (((2 * m + 33) << e) - 33) * 4;
  return (inverted & 0x80 ? -magnitude : magnitude) + 0; // + 0 turns -0 into 0
}
function referenceALaw(byte: number): number {
  const toggled = byte ^ 0x55;
  const e = (toggled >> 4) & 7;
  const m = toggled & 15;
  const magnitude = (e === 0 ? 2 * m + 1 : (2 * m + 33) << (e - 1)) * 8;
  return toggled & 0x80 ? magnitude : -magnitude;
}

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
const allSamples = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

describe('G.711 μ-law', () => {
  it('decodes the ITU reference codes', () => {
    expect(muLawToLinear(0xff)).toBe(0);
    expect(muLawToLinear(0x7f)).toBe(0);
    expect(muLawToLinear(0x00)).toBe(-32124);
    expect(muLawToLinear(0x80)).toBe(32124);
    expect(muLawToLinear(0xfe)).toBe(8);
    expect(muLawToLinear(0x7e)).toBe(-8);
  });

  it('decodes every code to the level of the G.711 table', () => {
    for (let b = 0; b < 256; b++) expect(muLawToLinear(b), `code ${b}`).toBe(referenceMuLaw(b));
  });

  it('encodes the ITU reference levels and clips beyond the largest one', () => {
    expect(linearToMuLaw(0)).toBe(0xff);
    expect(linearToMuLaw(-32124)).toBe(0x00);
    expect(linearToMuLaw(32124)).toBe(0x80);
    expect(linearToMuLaw(32767)).toBe(0x80);
    expect(linearToMuLaw(-32768)).toBe(0x00);
    expect(linearToMuLaw(8)).toBe(0xfe);
    expect(linearToMuLaw(-8)).toBe(0x7e);
  });

  it('maps every code back to itself, except negative zero which becomes zero', () => {
    for (let b = 0; b < 256; b++) {
      expect(linearToMuLaw(muLawToLinear(b)), `code ${b}`).toBe(b === 0x7f ? 0xff : b);
      expect(muLawToLinear(linearToMuLaw(muLawToLinear(b)))).toBe(muLawToLinear(b));
    }
  });

  it('quantizes monotonically with an error within half a segment step', () => {
    const problems: string[] = [];
    let previous = -Infinity;
    for (let s = -32768; s <= 32767; s++) {
      const level = muLawToLinear(linearToMuLaw(s));
      if (level < previous) problems.push(`${s} -> ${level} below ${previous}`);
      if (Math.abs(s) <= 32124 && Math.abs(level - s) > Math.max(8, Math.abs(s) / 16))
        problems.push(`${s} -> ${level}`);
      previous = level;
    }
    expect(problems).toEqual([]);
  });

  it('array codecs agree with the single-sample functions for every value', () => {
    const decoded = decodeMuLaw(allBytes);
    for (let b = 0; b < 256; b++) expect(decoded[b]).toBe(muLawToLinear(b));
    const encoded = encodeMuLaw(allSamples);
    for (let i = 0; i < allSamples.length; i++) {
      if (encoded[i] !== linearToMuLaw(allSamples[i]!)) expect.fail(`sample ${allSamples[i]}`);
    }
  });

  it('names 0xff as silence', () => {
    expect(MULAW_SILENCE).toBe(0xff);
    expect(muLawToLinear(MULAW_SILENCE)).toBe(0);
  });
});

describe('G.711 A-law', () => {
  it('decodes the ITU reference codes', () => {
    expect(aLawToLinear(0xd5)).toBe(8);
    expect(aLawToLinear(0x55)).toBe(-8);
    expect(aLawToLinear(0xaa)).toBe(32256);
    expect(aLawToLinear(0x2a)).toBe(-32256);
  });

  it('decodes every code to the level of the G.711 table', () => {
    for (let b = 0; b < 256; b++) expect(aLawToLinear(b), `code ${b}`).toBe(referenceALaw(b));
  });

  it('encodes the ITU reference levels and clips beyond the largest one', () => {
    expect(linearToALaw(8)).toBe(0xd5);
    expect(linearToALaw(0)).toBe(0xd5);
    expect(linearToALaw(-8)).toBe(0x55);
    expect(linearToALaw(32256)).toBe(0xaa);
    expect(linearToALaw(-32256)).toBe(0x2a);
    expect(linearToALaw(32767)).toBe(0xaa);
    expect(linearToALaw(-32768)).toBe(0x2a);
  });

  it('maps every code back to itself', () => {
    for (let b = 0; b < 256; b++) {
      expect(linearToALaw(aLawToLinear(b)), `code ${b}`).toBe(b);
      expect(aLawToLinear(linearToALaw(aLawToLinear(b)))).toBe(aLawToLinear(b));
    }
  });

  it('quantizes monotonically with an error within half a segment step', () => {
    const problems: string[] = [];
    let previous = -Infinity;
    for (let s = -32768; s <= 32767; s++) {
      const level = aLawToLinear(linearToALaw(s));
      if (level < previous) problems.push(`${s} -> ${level} below ${previous}`);
      if (Math.abs(s) <= 32256 && Math.abs(level - s) > Math.max(8, Math.abs(s) / 16))
        problems.push(`${s} -> ${level}`);
      previous = level;
    }
    expect(problems).toEqual([]);
  });

  it('array codecs agree with the single-sample functions for every value', () => {
    const decoded = decodeALaw(allBytes);
    for (let b = 0; b < 256; b++) expect(decoded[b]).toBe(aLawToLinear(b));
    const encoded = encodeALaw(allSamples);
    for (let i = 0; i < allSamples.length; i++) {
      if (encoded[i] !== linearToALaw(allSamples[i]!)) expect.fail(`sample ${allSamples[i]}`);
    }
  });

  it('names 0xd5 as silence', () => {
    expect(ALAW_SILENCE).toBe(0xd5);
    expect(Math.abs(aLawToLinear(ALAW_SILENCE))).toBe(8);
  });
});

describe('G.711 array codecs', () => {
  it('write into a caller buffer and return the filled part', () => {
    const out = new Int16Array(10).fill(123);
    const decoded = decodeMuLaw(Uint8Array.of(0x00, 0x80, 0xff), out);
    expect(Array.from(decoded)).toEqual([-32124, 32124, 0]);
    expect(decoded.buffer).toBe(out.buffer);
    expect(out[3]).toBe(123);

    const bytes = new Uint8Array(4);
    const encoded = encodeALaw(Int16Array.of(32256, -32256, 8, -8), bytes);
    expect(encoded).toBe(bytes);
    expect(Array.from(bytes)).toEqual([0xaa, 0x2a, 0xd5, 0x55]);
  });

  it('reject a caller buffer that is too short', () => {
    expect(() => decodeALaw(new Uint8Array(4), new Int16Array(3))).toThrow(RangeError);
    expect(() => encodeMuLaw(new Int16Array(4), new Uint8Array(3))).toThrow(RangeError);
  });

  it('keep a ramp of samples within the quantization bound through encode and decode', () => {
    const ramp = Int16Array.from({ length: 2000 }, (_, i) => Math.round(-30000 + i * 30));
    for (const [encode, decode] of [
      [encodeMuLaw, decodeMuLaw],
      [encodeALaw, decodeALaw],
    ] as const) {
      const back = decode(encode(ramp));
      for (let i = 0; i < ramp.length; i++) {
        const s = ramp[i]!;
        expect(Math.abs(back[i]! - s)).toBeLessThanOrEqual(Math.max(8, Math.abs(s) / 16));
      }
    }
  });

  it('handle empty input', () => {
    expect(decodeMuLaw(new Uint8Array(0)).length).toBe(0);
    expect(encodeALaw(new Int16Array(0)).length).toBe(0);
  });
});
