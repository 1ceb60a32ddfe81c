import { describe, expect, it } from 'vitest';
import type { AudioFormat } from '../src/types.js';
import {
  bytesPerMs,
  bytesPerSample,
  durationMs,
  pcm16FromBytes,
  pcm16ToBytes,
  silence,
  silenceByte,
} from '../src/audio/index.js';

const pcmu8k: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const pcma8k: AudioFormat = { encoding: 'pcma', sampleRate: 8000, channels: 1 };
const l16_16k: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };
const l16_24k: AudioFormat = { encoding: 'l16', sampleRate: 24000, channels: 1 };

describe('pcm16FromBytes', () => {
  it('reads little-endian signed samples', () => {
    const samples = pcm16FromBytes(Uint8Array.of(0x34, 0x12, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f));
    expect(Array.from(samples)).toEqual([0x1234, -1, -32768, 32767]);
  });

  it('ignores a trailing odd byte', () => {
    expect(Array.from(pcm16FromBytes(Uint8Array.of(0x01, 0x00, 0x02)))).toEqual([1]);
    expect(pcm16FromBytes(Uint8Array.of(0x05)).length).toBe(0);
  });

  it('reads bytes that start at an odd offset, as a copy', () => {
    const backing = Uint8Array.of(0xaa, 0x34, 0x12, 0xfe, 0xff, 0x00);
    const bytes = backing.subarray(1, 5);
    const samples = pcm16FromBytes(bytes);
    expect(Array.from(samples)).toEqual([0x1234, -2]);
    backing[1] = 0;
    expect(samples[0]).toBe(0x1234);
  });

  it('reads aligned bytes without copying them', () => {
    const backing = Uint8Array.of(0, 0, 0x01, 0x00, 0x02, 0x00);
    const samples = pcm16FromBytes(backing.subarray(2));
    expect(Array.from(samples)).toEqual([1, 2]);
    backing[2] = 7;
    expect(samples[0]).toBe(7);
  });
});

describe('pcm16ToBytes', () => {
  it('writes little-endian bytes', () => {
    expect(Array.from(pcm16ToBytes(Int16Array.of(0x1234, -2, -32768)))).toEqual([0x34, 0x12, 0xfe, 0xff, 0x00, 0x80]);
  });

  it('covers exactly the samples of a subarray, sharing their memory', () => {
    const all = Int16Array.of(1, 2, 3, 4);
    const bytes = pcm16ToBytes(all.subarray(1, 3));
    expect(Array.from(bytes)).toEqual([2, 0, 3, 0]);
    all[1] = 0x0102;
    expect(Array.from(bytes.subarray(0, 2))).toEqual([0x02, 0x01]);
  });

  it('round-trips through pcm16FromBytes', () => {
    const samples = Int16Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 65536) - 32768);
    expect(Array.from(pcm16FromBytes(pcm16ToBytes(samples)))).toEqual(Array.from(samples));
  });
});

describe('format arithmetic', () => {
  it('knows the sample size of each encoding', () => {
    expect(bytesPerSample(pcmu8k)).toBe(1);
    expect(bytesPerSample(pcma8k)).toBe(1);
    expect(bytesPerSample(l16_16k)).toBe(2);
  });

  it('counts bytes per millisecond', () => {
    expect(bytesPerMs(pcmu8k)).toBe(8);
    expect(bytesPerMs(l16_16k)).toBe(32);
    expect(bytesPerMs(l16_24k)).toBe(48);
    expect(bytesPerMs({ encoding: 'pcmu', sampleRate: 11025, channels: 1 })).toBeCloseTo(11.025, 10);
  });

  it('measures the duration of whole samples', () => {
    expect(durationMs(pcmu8k, 160)).toBe(20);
    expect(durationMs(l16_24k, 960)).toBe(20);
    expect(durationMs(l16_24k, 961)).toBe(20);
    expect(durationMs(l16_16k, 0)).toBe(0);
    expect(durationMs(pcma8k, 1)).toBe(0.125);
  });
});

describe('silence', () => {
  it('uses the silence code of each encoding', () => {
    expect(silenceByte(pcmu8k)).toBe(0xff);
    expect(silenceByte(pcma8k)).toBe(0xd5);
    expect(silenceByte(l16_16k)).toBe(0);
  });

  it('fills the requested duration with silence', () => {
    const mu = silence(pcmu8k, 20);
    expect(mu.length).toBe(160);
    expect(mu.every((b) => b === 0xff)).toBe(true);
    const a = silence(pcma8k, 10);
    expect(a.length).toBe(80);
    expect(a.every((b) => b === 0xd5)).toBe(true);
    const l16 = silence(l16_24k, 10);
    expect(l16.length).toBe(480);
    expect(l16.every((b) => b === 0)).toBe(true);
  });

  it('rounds to whole samples and never goes negative', () => {
    expect(silence(l16_16k, 0.1).length).toBe(4); // 1.6 samples -> 2
    expect(silence(pcmu8k, 0.01).length).toBe(0);
    expect(silence(pcmu8k, -5).length).toBe(0);
    expect(silence(pcmu8k, Number.NaN).length).toBe(0);
  });
});
