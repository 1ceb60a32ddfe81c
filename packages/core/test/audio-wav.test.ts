import { describe, expect, it } from 'vitest';
import { decodeWav, encodeWav } from '../src/audio/index.js';

const ascii = (view: DataView, at: number) =>
  String.fromCharCode(...Array.from({ length: 4 }, (_, i) => view.getUint8(at + i)));

/** Build a RIFF/WAVE file from raw chunks, padding odd-sized chunk bodies. */
function riff(chunks: Array<[string, Uint8Array]>): Uint8Array {
  const size = chunks.reduce((n, [, body]) => n + 8 + body.length + (body.length & 1), 4);
  const out = new Uint8Array(8 + size);
  const view = new DataView(out.buffer);
  const id = (at: number, text: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = text.charCodeAt(i);
  };
  id(0, 'RIFF');
  view.setUint32(4, size, true);
  id(8, 'WAVE');
  let at = 12;
  for (const [name, body] of chunks) {
    id(at, name);
    view.setUint32(at + 4, body.length, true);
    out.set(body, at + 8);
    at += 8 + body.length + (body.length & 1);
  }
  return out;
}

function fmt(options: {
  tag?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  extra?: Uint8Array;
}): Uint8Array {
  const { tag = 1, channels = 1, rate = 8000, bits = 16, extra } = options;
  const body = new Uint8Array(16 + (extra ? 2 + extra.length : 0));
  const view = new DataView(body.buffer);
  const block = (channels * bits) / 8;
  view.setUint16(0, tag, true);
  view.setUint16(2, channels, true);
  view.setUint32(4, rate, true);
  view.setUint32(8, rate * block, true);
  view.setUint16(12, block, true);
  view.setUint16(14, bits, true);
  if (extra) {
    view.setUint16(16, extra.length, true);
    body.set(extra, 18);
  }
  return body;
}

function int16le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setInt16(i * 2, v, true));
  return out;
}

describe('WAV', () => {
  it('writes a 44-byte PCM16 mono header followed by little-endian samples', () => {
    const bytes = encodeWav(Int16Array.of(1, -2, 0x1234), 24000);
    expect(bytes.length).toBe(50);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(ascii(view, 0)).toBe('RIFF');
    expect(view.getUint32(4, true)).toBe(42);
    expect(ascii(view, 8)).toBe('WAVE');
    expect(ascii(view, 12)).toBe('fmt ');
    expect(view.getUint32(16, true)).toBe(16);
    expect(view.getUint16(20, true)).toBe(1);
    expect(view.getUint16(22, true)).toBe(1);
    expect(view.getUint32(24, true)).toBe(24000);
    expect(view.getUint32(28, true)).toBe(48000);
    expect(view.getUint16(32, true)).toBe(2);
    expect(view.getUint16(34, true)).toBe(16);
    expect(ascii(view, 36)).toBe('data');
    expect(view.getUint32(40, true)).toBe(6);
    expect(Array.from(bytes.subarray(44))).toEqual([1, 0, 0xfe, 0xff, 0x34, 0x12]);
  });

  it('round-trips samples and rate', () => {
    const samples = Int16Array.from({ length: 4001 }, (_, i) => ((i * 40503) % 65536) - 32768);
    const decoded = decodeWav(encodeWav(samples, 16000));
    expect(decoded.sampleRate).toBe(16000);
    expect(Array.from(decoded.samples)).toEqual(Array.from(samples));
  });

  it('round-trips an empty recording', () => {
    const decoded = decodeWav(encodeWav(new Int16Array(0), 8000));
    expect(decoded.sampleRate).toBe(8000);
    expect(decoded.samples.length).toBe(0);
  });

  it('reads a file at an odd offset inside a larger buffer', () => {
    const file = encodeWav(Int16Array.of(300, -300), 8000);
    const backing = new Uint8Array(file.length + 3);
    backing.set(file, 1);
    expect(Array.from(decodeWav(backing.subarray(1, 1 + file.length)).samples)).toEqual([300, -300]);
  });

  it('skips unknown chunks, including odd-sized ones, before the data', () => {
    const file = riff([
      ['fmt ', fmt({ rate: 48000 })],
      ['LIST', Uint8Array.of(1, 2, 3)],
      ['data', int16le([5, -6, 7])],
    ]);
    expect(decodeWav(file)).toEqual({ sampleRate: 48000, samples: Int16Array.of(5, -6, 7) });
  });

  it('takes the first channel of a stereo file', () => {
    const file = riff([
      ['fmt ', fmt({ channels: 2 })],
      ['data', int16le([1, 100, 2, 200, 3, 300])],
    ]);
    expect(Array.from(decodeWav(file).samples)).toEqual([1, 2, 3]);
  });

  it('accepts the extensible format when its sub-format is PCM', () => {
    const extra = new Uint8Array(22);
    extra[6] = 1; // sub-format GUID begins with the PCM tag
    const file = riff([
      ['fmt ', fmt({ tag: 0xfffe, extra })],
      ['data', int16le([9])],
    ]);
    expect(Array.from(decodeWav(file).samples)).toEqual([9]);
  });

  it('reads what is present of a data chunk that claims more', () => {
    const file = encodeWav(Int16Array.of(1, 2, 3, 4), 8000);
    new DataView(file.buffer).setUint32(40, 0xffffffff, true);
    expect(Array.from(decodeWav(file.subarray(0, 44 + 5)).samples)).toEqual([1, 2]);
  });

  it.each([
    ['too short', new Uint8Array(8)],
    ['not RIFF', new TextEncoder().encode('RIFX\0\0\0\0WAVEfmt ')],
    ['not WAVE', riff([['data', int16le([1])]]).fill(0x41, 8, 12)],
    [
      '8-bit PCM',
      riff([
        ['fmt ', fmt({ bits: 8 })],
        ['data', Uint8Array.of(1, 2)],
      ]),
    ],
    [
      '32-bit float',
      riff([
        ['fmt ', fmt({ tag: 3, bits: 32 })],
        ['data', new Uint8Array(8)],
      ]),
    ],
    [
      'μ-law',
      riff([
        ['fmt ', fmt({ tag: 7, bits: 8 })],
        ['data', new Uint8Array(8)],
      ]),
    ],
    ['no data chunk', riff([['fmt ', fmt({})]])],
    [
      'data before fmt',
      riff([
        ['data', int16le([1])],
        ['fmt ', fmt({})],
      ]),
    ],
    [
      'a truncated fmt chunk',
      riff([
        ['fmt ', new Uint8Array(10)],
        ['data', int16le([1])],
      ]),
    ],
  ])('rejects %s with a TypeError', (_name, bytes) => {
    expect(() => decodeWav(bytes)).toThrow(TypeError);
  });

  it('refuses an invalid sample rate when encoding', () => {
    expect(() => encodeWav(new Int16Array(1), 0)).toThrow(RangeError);
  });
});
