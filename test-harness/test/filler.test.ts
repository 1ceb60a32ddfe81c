import { describe, expect, it } from 'vitest';
import { encodeMuLaw, Resampler, type AudioFormat } from '@switchboard/core';
import { FILLER_FORMAT, fillerClip, isFillerAudio } from '../src/filler.js';
import { loadAgentReplies, MODEL_SAMPLE_RATE } from '../src/simulator/index.js';

const MULAW: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const L16_16K: AudioFormat = { encoding: 'l16', sampleRate: 16000, channels: 1 };

function resample(samples: Int16Array, from: number, to: number): Int16Array {
  const r = new Resampler(from, to);
  const head = r.process(samples);
  const tail = r.flush();
  const out = new Int16Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

function l16Bytes(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  samples.forEach((v, i) => view.setInt16(i * 2, v, true));
  return out;
}

/** 20 ms frames of `samples` at `rate`, encoded as `format`. */
function frames(samples: Int16Array, rate: number, format: AudioFormat): Uint8Array[] {
  const n = rate / 50;
  const out: Uint8Array[] = [];
  for (let i = 0; i + n <= samples.length; i += n) {
    const part = samples.subarray(i, i + n);
    out.push(format.encoding === 'pcmu' ? encodeMuLaw(part) : l16Bytes(part));
  }
  return out;
}

describe('the filler and the model audio told apart', () => {
  const speech = loadAgentReplies().flatMap((t) => (t.kind === 'audio' ? [t.audio] : []));

  it('finds the filler in every 20 ms frame, as μ-law 8 kHz and as L16 16 kHz', () => {
    const clip = fillerClip();
    const mulaw = frames(clip, FILLER_FORMAT.sampleRate, MULAW);
    const wide = frames(resample(clip, 8000, 16000), 16000, L16_16K);
    expect(mulaw.every((f) => isFillerAudio(f, MULAW))).toBe(true);
    // The resampler's first and last few ms ramp; the frames between are the steady tones.
    expect(wide.slice(1, -1).every((f) => isFillerAudio(f, L16_16K))).toBe(true);
  });

  it('finds the filler in a frame padded with silence', () => {
    const padded = new Int16Array(160);
    padded.set(fillerClip().subarray(0, 100));
    expect(isFillerAudio(encodeMuLaw(padded), MULAW)).toBe(true);
  });

  it('never takes a frame of the recorded agent replies, or silence, for the filler', () => {
    let judged = 0;
    for (const reply of speech) {
      for (const [format, rate] of [
        [MULAW, 8000],
        [L16_16K, 16000],
      ] as const) {
        for (const frame of frames(resample(reply, MODEL_SAMPLE_RATE, rate), rate, format)) {
          expect(isFillerAudio(frame, format)).toBe(false);
          judged++;
        }
      }
    }
    expect(judged).toBeGreaterThan(1000);
    expect(isFillerAudio(new Uint8Array(160).fill(0xff), MULAW)).toBe(false);
  });
});
