/**
 * The peer simulators' audio: the caller's audio, in whatever telephony format the test supplies,
 * turned into the format the carrier puts on the wire.
 */
import { decodeALaw, decodeMuLaw, encodeALaw, encodeMuLaw } from './audio/g711.js';
import { pcm16FromBytes, pcm16ToBytes } from './audio/pcm.js';
import { Resampler } from './audio/resampler.js';
import type { AudioFormat } from './types.js';

/**
 * Returns a function that converts chunks of audio from `from` to `to` (μ-law, A-law or 16-bit
 * little-endian PCM, any rate), resampling with state kept across chunks, so one converter serves
 * one call. Audio already in `to` is returned as it is.
 */
export function peerAudioConverter(from: AudioFormat, to: AudioFormat): (bytes: Uint8Array) => Uint8Array {
  const resampler = from.sampleRate === to.sampleRate ? undefined : new Resampler(from.sampleRate, to.sampleRate);
  if (from.encoding === to.encoding && !resampler) return (bytes) => bytes;
  return (bytes) => {
    let samples =
      from.encoding === 'pcmu'
        ? decodeMuLaw(bytes)
        : from.encoding === 'pcma'
          ? decodeALaw(bytes)
          : pcm16FromBytes(bytes);
    if (resampler) samples = resampler.process(samples);
    return to.encoding === 'pcmu'
      ? encodeMuLaw(samples)
      : to.encoding === 'pcma'
        ? encodeALaw(samples)
        : pcm16ToBytes(samples);
  };
}
