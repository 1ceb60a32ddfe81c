/**
 * The quality maths, against values worked out by hand: the fixed-bucket histogram's percentiles,
 * RFC 3550 interarrival jitter, reordering, the forwarding delay, the playout clock's underruns,
 * and the G.107 E-model.
 */
import { describe, expect, it } from 'vitest';
import { estimateMos, type AudioFormat } from '../src/index.js';
import { createMetrics } from '../src/metrics.js';
import { CallQuality } from '../src/quality/call-quality.js';
import { mosFromR } from '../src/quality/emodel.js';
import { Histogram, summarize } from '../src/quality/histogram.js';

const MULAW: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
/** Bucket precision: a percentile is within 2.2% of a recorded value. */
const near = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * 0.022);

function meter() {
  let time = 0;
  const metrics = createMetrics();
  const quality = new CallQuality(metrics, { now: () => time });
  return {
    metrics,
    quality,
    at(ms: number) {
      time = ms;
      return quality;
    },
  };
}

describe('Histogram', () => {
  it('reports zeros when nothing was recorded', () => {
    expect(new Histogram().summary()).toEqual({ count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  });

  it('gives back a value recorded alone exactly', () => {
    const h = new Histogram();
    for (let i = 0; i < 10; i++) h.record(42);
    expect(h.summary()).toEqual({ count: 10, mean: 42, p50: 42, p95: 42, p99: 42, max: 42 });
  });

  it('puts 1..100 ms at their nearest-rank percentiles within the bucket precision, mean and max exact', () => {
    const h = new Histogram();
    for (let v = 100; v >= 1; v--) h.record(v);
    const s = h.summary();
    expect(s.count).toBe(100);
    expect(s.mean).toBe(50.5);
    expect(s.max).toBe(100);
    near(s.p50, 50);
    near(s.p95, 95);
    near(s.p99, 99);
  });

  it('keeps zeros apart from small values and ignores negative or non-finite ones', () => {
    const h = new Histogram();
    for (let i = 0; i < 99; i++) h.record(0);
    h.record(5);
    h.record(-1);
    h.record(Number.NaN);
    h.record(Infinity);
    expect(h.count).toBe(100);
    expect(h.quantile(0.5)).toBe(0);
    expect(h.quantile(0.99)).toBe(0);
    expect(h.max).toBe(5);
  });

  it('holds microseconds and hours in the same fixed buckets', () => {
    const h = new Histogram();
    h.record(0.02);
    h.record(0.02);
    h.record(3_600_000);
    near(h.quantile(0.5), 0.02);
    expect(h.max).toBe(3_600_000);
    // A million more values change the counts, not the memory: there is no per-value storage.
    for (let i = 0; i < 1_000_000; i++) h.record(i % 40);
    expect(h.count).toBe(1_000_003);
    near(h.quantile(0.5), 19);
  });

  it('summarizes a short list exactly (per-turn figures)', () => {
    expect(summarize([300, 100, 200, 400])).toEqual({ count: 4, mean: 250, p50: 200, p95: 400, p99: 400, max: 400 });
    expect(summarize([])).toEqual({ count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  });
});

describe('RFC 3550 interarrival jitter', () => {
  // 20 ms frames whose arrivals alternate 6 ms late and on time: every transit difference |D| is 6 ms,
  // so after n differences J = 6·(1 − (15/16)^n).
  const expected = (n: number) => 6 * (1 - (15 / 16) ** n);

  it('from the carrier’s timestamps', () => {
    const m = meter();
    for (let i = 0; i < 10; i++) m.at(1000 + 20 * i + (i % 2) * 6).frameIn(i, 20 * i, 160, MULAW);
    const r = m.quality.report();
    expect(r.inbound.jitterMs).toBeCloseTo(expected(9), 9);
    // 6·(1 − 0.9375^9) = 6·(1 − 0.55942) = 2.6435
    expect(r.inbound.jitterMs).toBeCloseTo(2.6435, 3);
    near(r.inbound.jitter.max, expected(9));
    expect(r.inbound.jitter.count).toBe(9);
    expect(r.inbound.frames).toBe(10);
    expect(r.inbound.audioMs).toBe(200);
  });

  it('from sequence numbers times the frame duration where there are no timestamps', () => {
    const m = meter();
    for (let i = 0; i < 10; i++) m.at(1000 + 20 * i + (i % 2) * 6).frameIn(100 + i, undefined, 160, MULAW);
    expect(m.quality.report().inbound.jitterMs).toBeCloseTo(expected(9), 9);
  });

  it('from the frames’ own durations where the carrier gives neither', () => {
    const m = meter();
    for (let i = 0; i < 10; i++) m.at(1000 + 20 * i + (i % 2) * 6).frameIn(undefined, undefined, 160, MULAW);
    expect(m.quality.report().inbound.jitterMs).toBeCloseTo(expected(9), 9);
  });

  it('is zero for frames that arrive exactly on time', () => {
    const m = meter();
    for (let i = 0; i < 50; i++) m.at(20 * i).frameIn(i, 20 * i, 160, MULAW);
    expect(m.quality.report().inbound.jitterMs).toBe(0);
  });

  it('starts afresh at a new time base instead of counting a clock jump as jitter', () => {
    const m = meter();
    m.at(0).frameIn(0, 0, 160, MULAW);
    m.at(20).frameIn(1, 20, 160, MULAW);
    m.at(40).frameIn(2, 900_000, 160, MULAW);
    m.at(66).frameIn(3, 900_020, 160, MULAW);
    // Two differences were counted: 0, then 6 ms.
    expect(m.quality.report().inbound.jitterMs).toBeCloseTo(6 / 16, 9);
  });
});

describe('reordering and the forwarding delay', () => {
  it('counts frames that arrive after a higher sequence number (a duplicate of the highest is not one)', () => {
    const m = meter();
    for (const seq of [0, 1, 3, 2, 4, 4, 7, 5, 6, 8]) m.quality.frameIn(seq, undefined, 160, MULAW);
    expect(m.metrics.framesReordered).toBe(3);
  });

  it('times a held frame until the arrival that released it, and one in eight of the others, leaving early media out', () => {
    const m = meter();
    m.at(0).frameIn(0, 0, 160, MULAW);
    m.quality.forwarded(0, true);
    m.at(20).frameIn(2, 40, 160, MULAW); // held: 1 is missing
    m.at(40).frameIn(1, 20, 160, MULAW);
    m.at(40.5).forwarded(1, true);
    m.quality.forwarded(2, true); // held from 20 to the arrival at 40
    // Frames 3..8 go straight on, each taking 0.5 ms: the 8th frame that did so is timed.
    for (let seq = 3; seq <= 8; seq++) {
      m.at(20 * seq).frameIn(seq, 20 * seq, 160, MULAW);
      m.at(20 * seq + 0.5).forwarded(seq, true);
    }
    m.at(200).frameIn(undefined, undefined, 160, MULAW);
    m.at(200).forwarded(undefined, false);
    const r = m.quality.report();
    expect(r.forwarding.earlyFrames).toBe(1);
    // The held frame (20 ms) and one timed frame standing for eight (0.5 ms).
    expect(r.forwarding.delayMs.count).toBe(9);
    expect(r.forwarding.delayMs.max).toBe(20);
    expect(r.forwarding.delayMs.mean).toBeCloseTo((20 + 8 * 0.5) / 9, 9);
    near(r.forwarding.delayMs.p50, 0.5);
  });
});

describe('underruns and the pacing lead (playout clock)', () => {
  it('counts the carrier running dry in the middle of a response, and the lead each later send found', () => {
    const m = meter();
    m.at(0).audioSent(100, 'r1'); // plays 0..100
    m.at(150).audioSent(100, 'r1'); // 50 ms of silence first: an underrun; plays 150..250
    m.at(200).audioSent(100, 'r1'); // 50 ms still queued; plays to 350
    m.at(1000).audioSent(100, 'r2'); // a new response: its first audio is no underrun
    m.at(1010).audioSent(40, undefined); // a clip, not the model's: queued behind r2, plays to 1140
    m.at(1020).audioSent(100, 'r2'); // 120 ms queued
    const r = m.quality.report();
    expect(r.outbound.underruns).toBe(1);
    expect(r.outbound.underrunMs).toBe(50);
    expect(r.outbound.leadMs.count).toBe(3);
    expect(r.outbound.leadMs.max).toBe(120);
    near(r.outbound.leadMs.p50, 50);
    expect(m.metrics.outputUnderruns).toBe(1);
  });

  it('starts the playout clock afresh after a clear', () => {
    const m = meter();
    m.at(0).audioSent(1000, 'r1');
    m.quality.cleared();
    m.at(500).audioSent(100, 'r1');
    m.at(700).audioSent(100, 'r1');
    const r = m.quality.report();
    // Only the last send is mid-response after the clear, and it found the carrier 100 ms dry.
    expect(r.outbound.underruns).toBe(1);
    expect(r.outbound.underrunMs).toBe(100);
  });
});

describe('E-model (ITU-T G.107, simplified)', () => {
  it('gives G.711’s ceiling with no delay and no loss: R = 93.2, MOS 4.41', () => {
    const e = estimateMos({ delayMs: 0, lossPercent: 0 });
    expect(e.rFactor).toBeCloseTo(93.2, 9);
    // 1 + 0.035·93.2 + 93.2·33.2·6.8·7e-6 = 1 + 3.262 + 0.147287
    expect(e.mos).toBeCloseTo(4.40929, 4);
  });

  it('takes 1% random loss with Bpl 4.3: Ie,eff = 95·1/(1 + 4.3) = 17.92, MOS 3.83', () => {
    const e = estimateMos({ delayMs: 0, lossPercent: 1 });
    expect(e.rFactor).toBeCloseTo(93.2 - 95 / 5.3, 9);
    expect(e.mos).toBeCloseTo(3.8337, 3);
  });

  it('takes 200 ms of one-way delay: Id = 0.024·200 + 0.11·22.7 = 7.297, MOS 4.23', () => {
    const e = estimateMos({ delayMs: 200, lossPercent: 0 });
    expect(e.rFactor).toBeCloseTo(93.2 - 7.297, 9);
    expect(e.mos).toBeCloseTo(4.2262, 3);
  });

  it('stays between 1 and 4.5', () => {
    expect(estimateMos({ delayMs: 0, lossPercent: 100 }).mos).toBe(1);
    expect(estimateMos({ delayMs: 5000, lossPercent: 50 }).mos).toBe(1);
    expect(mosFromR(120)).toBe(4.5);
    expect(mosFromR(-3)).toBe(1);
    expect(estimateMos({ delayMs: Number.NaN, lossPercent: Number.NaN }).mos).toBeCloseTo(4.40929, 4);
  });

  it('is what the call report gives for its loss and delay', () => {
    const m = meter();
    for (let i = 0; i < 100; i++) {
      if (i === 50 || i === 51) continue;
      m.at(20 * i).frameIn(i, 20 * i, 160, MULAW);
      m.quality.forwarded(i, true);
    }
    m.metrics.framesMissing = 2;
    const r = m.quality.report();
    expect(r.inbound.lossPercent).toBeCloseTo(2, 9);
    // No jitter, no forwarding delay: the delay is one 20 ms frame.
    expect(r.mos.delayMs).toBeCloseTo(20, 9);
    expect(r.mos.score).toBeCloseTo(estimateMos({ delayMs: 20, lossPercent: 2 }).mos, 12);
  });
});
