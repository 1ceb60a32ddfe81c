import { describe, expect, it } from 'vitest';
import { decodeMuLaw, encodeALaw, encodeMuLaw } from '../src/audio/g711.js';
import { pcm16FromBytes, pcm16ToBytes } from '../src/audio/pcm.js';
import { peerAudioConverter } from '../src/peer-audio.js';
import type { AudioFormat } from '../src/types.js';

const format = (encoding: AudioFormat['encoding'], sampleRate: number): AudioFormat => ({
  encoding,
  sampleRate,
  channels: 1,
});

describe('peerAudioConverter', () => {
  it('hands audio already in the wire format back untouched', () => {
    const bytes = Uint8Array.of(1, 2, 3, 4);
    expect(peerAudioConverter(format('l16', 16000), format('l16', 16000))(bytes)).toBe(bytes);
    expect(peerAudioConverter(format('pcmu', 8000), format('pcmu', 8000))(bytes)).toBe(bytes);
  });

  it('changes the encoding at one rate', () => {
    const samples = Int16Array.from([0, 1000, -1000, 8000, -8000, 32000]);
    const muLaw = encodeMuLaw(samples);
    expect(peerAudioConverter(format('pcmu', 8000), format('l16', 8000))(muLaw)).toEqual(
      pcm16ToBytes(decodeMuLaw(muLaw)),
    );
    expect(peerAudioConverter(format('l16', 8000), format('pcma', 8000))(pcm16ToBytes(samples))).toEqual(
      encodeALaw(samples),
    );
    expect(peerAudioConverter(format('l16', 8000), format('pcmu', 8000))(pcm16ToBytes(samples))).toEqual(muLaw);
  });

  it('resamples with its state kept across chunks', () => {
    const convert = peerAudioConverter(format('l16', 8000), format('l16', 24000));
    const tone = Int16Array.from({ length: 800 }, (_, i) =>
      Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)),
    );
    let out = 0;
    for (let i = 0; i < 5; i++)
      out += pcm16FromBytes(convert(pcm16ToBytes(tone.subarray(i * 160, i * 160 + 160)))).length;
    expect(out).toBeGreaterThan(2300);
    expect(out).toBeLessThanOrEqual(2400);
  });
});
