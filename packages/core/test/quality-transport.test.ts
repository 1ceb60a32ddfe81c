/**
 * Call quality end to end: carrier streams with known jitter, reordering, loss and gaps go through
 * the transport on a clock moved by hand, and `transport.quality()` (and `call_end`'s `quality`)
 * report what was injected; model audio sent with known pauses shows the underruns. Two of the
 * bundled Twilio traces (`out-of-order`, `timestamp-gap`) are replayed frame by frame at their
 * own times through Twilio's protocol and measured against their frames.
 */
import { join } from 'node:path';
import { bundledTracesDir, loadTrace } from '@switchboard/conformance';
import { FakeCarrier, ManualClock, until, wire } from '@switchboard/conformance/testing';
import { TwilioMediaStreamProtocol } from '@switchboard/twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { estimateMos, TelephonyRealtimeTransport, type CallEndEvent } from '../src/index.js';
import { useCoreTransport } from './helpers/transport.js';

const rig = useCoreTransport({ beforeEach, afterEach });
const WAIT_MS = 30_000;
const frame = (fill: number) => new Uint8Array(160).fill(fill); // 20 ms of μ-law
const near = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.max(1e-9, expected * 0.022));

/** RFC 3550 6.4.1, written out: J += (|D| − J) / 16 over consecutive arrivals. */
function rfc3550(frames: Array<{ at: number; ts: number }>): number {
  let jitter = 0;
  for (let i = 1; i < frames.length; i++) {
    const d = Math.abs(frames[i]!.at - frames[i]!.ts - (frames[i - 1]!.at - frames[i - 1]!.ts));
    jitter += (d - jitter) / 16;
  }
  return jitter;
}

const sentAudioMs = () =>
  rig.carrier
    .commands()
    .reduce((ms, c) => ms + (c.type === 'audio' ? (c as { payload: Uint8Array }).payload.byteLength / 8 : 0), 0);

describe('inbound quality through the transport', () => {
  it('reports the reordering, loss, late frame, gap, jitter and forwarding delay of a stream with known faults', async () => {
    const t = await rig.connected();
    const ends: CallEndEvent[] = [];
    t.on('call_end', (e) => ends.push(e));
    // 30 frames, 20 ms apart in the media; one arrives every 20 ms. Frame 7 is held up until the
    // end (given up after the reorder window, then late), and 10 comes after 11.
    const order = [0, 1, 2, 3, 4, 5, 6, 8, 9, 11, 10, 12, 13];
    for (let seq = 14; seq < 30; seq++) order.push(seq);
    order.push(7);
    const arrivals: Array<{ at: number; ts: number }> = [];
    order.forEach((seq, k) => {
      if (k > 0) rig.clock.advance(20);
      arrivals.push({ at: rig.clock.now(), ts: 20 * seq });
      rig.carrier.deliver(wire.audio(frame(seq + 1), seq, 20 * seq));
    });
    const q = t.quality();
    expect(q.inbound.frames).toBe(30);
    expect(q.inbound.audioMs).toBe(600);
    expect(q.inbound.reorderedFrames).toBe(2);
    expect(q.inbound.lostFrames).toBe(1);
    expect(q.inbound.lateFrames).toBe(1);
    expect(q.inbound.gapsPaddedMs).toBe(20);
    // 20 ms lost of 600 sent: 580 used, 20 lost.
    expect(q.inbound.lossPercent).toBeCloseTo((100 * 20) / 600, 9);
    expect(q.inbound.jitterMs).toBeCloseTo(rfc3550(arrivals), 9);
    expect(q.inbound.jitterMs).toBeGreaterThan(0);
    // 8, 9, 11, 10 and 12 waited in the reorder buffer for 13 (100, 80, 60, 40, 20 ms); the rest
    // went on at once (the clock does not move while a frame is handled). The late 7 never went.
    expect(q.forwarding.earlyFrames).toBe(0);
    expect(q.forwarding.delayMs.count).toBe(29);
    expect(q.forwarding.delayMs.max).toBe(100);
    expect(q.forwarding.delayMs.mean).toBeCloseTo(300 / 29, 9);
    expect(q.forwarding.delayMs.p50).toBe(0);
    near(q.forwarding.delayMs.p95, 80);
    // The counters are in the metrics too.
    expect(t.metrics.framesReordered).toBe(2);

    rig.carrier.deliver(wire.stop());
    expect(ends).toHaveLength(1);
    expect(ends[0]!.quality).toEqual(t.quality());
    expect(ends[0]!.quality!.inbound.frames).toBe(30);
  });

  it('measures jitter against the nominal frame duration where frames carry no sequence numbers or timestamps', async () => {
    const t = await rig.connected();
    // Arrivals alternate 6 ms late and on time: |D| = 6 ms at each of 9 differences.
    for (let i = 0; i < 10; i++) {
      rig.clock.advance(i === 0 ? 0 : i % 2 === 1 ? 26 : 14);
      rig.carrier.deliver(wire.audio(frame(i + 1)));
    }
    const q = t.quality();
    expect(q.inbound.jitterMs).toBeCloseTo(6 * (1 - (15 / 16) ** 9), 9);
    expect(q.inbound.reorderedFrames).toBe(0);
    expect(q.inbound.lossPercent).toBe(0);
  });

  it('leaves early media out of the forwarding delay and counts it apart', async () => {
    const t = rig.make();
    rig.carrier.deliver(wire.start());
    for (let i = 0; i < 5; i++) {
      rig.clock.advance(20);
      rig.carrier.deliver(wire.audio(frame(1), i, 20 * i));
    }
    await t.connect({ apiKey: 'sk-test' });
    // Eight frames after: one of them is timed, standing for all eight.
    for (let i = 5; i < 13; i++) {
      rig.clock.advance(20);
      rig.carrier.deliver(wire.audio(frame(1), i, 20 * i));
    }
    const q = t.quality();
    expect(q.forwarding.earlyFrames).toBe(5);
    expect(q.forwarding.delayMs.count).toBe(8);
    expect(q.inbound.frames).toBe(13);
  });
});

describe('outbound quality through the transport', () => {
  it('counts an underrun when the model’s next audio comes after the carrier played everything', async () => {
    const t = await rig.connected({ playbackAck: 'mark' });
    rig.server.respond('resp_1', 'item_1', [new Uint8Array(800).fill(1)], { done: false });
    await until(() => sentAudioMs() === 100, WAIT_MS);
    // The carrier plays the 100 ms, then has nothing for 50 ms.
    rig.clock.advance(150);
    rig.server.delta('resp_1', 'item_1', new Uint8Array(800).fill(2));
    await until(() => sentAudioMs() === 200, WAIT_MS);
    // 50 ms into those 100: 50 ms still to play when the next comes.
    rig.clock.advance(50);
    rig.server.delta('resp_1', 'item_1', new Uint8Array(800).fill(3));
    await until(() => sentAudioMs() === 300, WAIT_MS);
    // A new response long after is a new reply, not an underrun.
    rig.clock.advance(5000);
    rig.server.respond('resp_2', 'item_2', [new Uint8Array(800).fill(4)], { done: false });
    await until(() => sentAudioMs() === 400, WAIT_MS);
    const q = t.quality();
    expect(q.outbound.underruns).toBe(1);
    expect(q.outbound.underrunMs).toBe(50);
    expect(t.metrics.outputUnderruns).toBe(1);
    expect(q.outbound.leadMs.count).toBe(2);
    expect(q.outbound.leadMs.max).toBe(50);
    expect(q.outbound.leadMs.p50).toBe(0);
  });

  it('shows a paced carrier kept between half the lead and the lead, with no underrun', async () => {
    const t = await rig.connected({ playbackAck: 'none', pacing: { leadMs: 200 } });
    const deltas = Array.from({ length: 30 }, (_, i) => new Uint8Array(800).fill(i + 1));
    rig.server.respond('resp_1', 'item_1', deltas, { done: false });
    await until(() => sentAudioMs() + t.outputQueuedBytes / 8 >= 3000, WAIT_MS);
    for (let i = 0; i < 60; i++) rig.clock.advance(50);
    expect(sentAudioMs()).toBe(3000);
    const q = t.quality();
    expect(q.outbound.underruns).toBe(0);
    expect(q.outbound.leadMs.count).toBeGreaterThan(10);
    expect(q.outbound.leadMs.max).toBeLessThanOrEqual(200);
    expect(q.outbound.leadMs.p50).toBeGreaterThanOrEqual(100 * 0.978);
  });

  it('starts the playout clock afresh after a barge-in clears the carrier', async () => {
    const t = await rig.connected({ playbackAck: 'mark' });
    rig.server.respond('resp_1', 'item_1', [new Uint8Array(8000).fill(1)], { done: false });
    await until(() => sentAudioMs() === 1000, WAIT_MS);
    rig.clock.advance(200);
    rig.server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => rig.carrier.commands().some((c) => c.type === 'clear'), WAIT_MS);
    rig.server.finish('resp_1', 'item_1', 'cancelled');
    rig.server.respond('resp_2', 'item_2', [new Uint8Array(800).fill(2)], { done: false });
    await until(() => sentAudioMs() === 1100, WAIT_MS);
    rig.clock.advance(300);
    rig.server.delta('resp_2', 'item_2', new Uint8Array(800).fill(3));
    await until(() => sentAudioMs() === 1200, WAIT_MS);
    // Without the clear, the 800 ms left of the first reply would have hidden this 200 ms underrun.
    expect(t.quality().outbound.underruns).toBe(1);
    expect(t.quality().outbound.underrunMs).toBe(200);
  });
});

describe('Twilio traces with known hazards', () => {
  /** Replays a bundled trace's frames at their own times into a transport that never reaches a model. */
  async function replay(name: string) {
    const trace = await loadTrace(join(bundledTracesDir(), `${name}.jsonl`));
    const clock = new ManualClock();
    const carrier = new FakeCarrier();
    const t = rig.adopt(
      new TelephonyRealtimeTransport({
        connection: carrier,
        protocol: new TwilioMediaStreamProtocol(),
        url: rig.url,
        clock,
        carrierIdleTimeoutMs: null,
        inputAudioInactivityTimeoutMs: null,
      }),
    );
    const start = clock.now();
    const media: Array<{ at: number; ts: number; seq: number }> = [];
    for (const { t: at, frame } of trace.frames) {
      clock.advance(start + at - clock.now());
      const m = frame.media as { chunk?: string; timestamp?: string } | undefined;
      if (frame.event === 'media' && m) media.push({ at: clock.now(), ts: Number(m.timestamp), seq: Number(m.chunk) });
      carrier.deliver(JSON.stringify(frame));
    }
    return { t, media };
  }

  it('out-of-order: every frame that came after a later one is counted, none lost, jitter as RFC 3550 gives it', async () => {
    const { t, media } = await replay('out-of-order');
    let max = -Infinity;
    let reordered = 0;
    for (const { seq } of media) {
      if (seq < max) reordered++;
      else max = seq;
    }
    expect(reordered).toBeGreaterThan(50);
    const q = t.quality();
    expect(q.inbound.frames).toBe(media.length);
    expect(q.inbound.reorderedFrames).toBe(reordered);
    expect(q.inbound.lostFrames).toBe(0);
    expect(q.inbound.lateFrames).toBe(0);
    expect(q.inbound.lossPercent).toBe(0);
    expect(q.inbound.jitterMs).toBeCloseTo(rfc3550(media), 9);
    expect(q.inbound.jitter.max).toBeGreaterThan(0);
  });

  it('timestamp-gap: the two lost seconds are the loss, and a stream on time has no jitter', async () => {
    const { t, media } = await replay('timestamp-gap');
    let holeMs = 0;
    for (let i = 1; i < media.length; i++) holeMs += media[i]!.ts - media[i - 1]!.ts - 20;
    expect(holeMs).toBe(2000);
    const q = t.quality();
    expect(t.metrics.gapsPaddedMs + t.metrics.gapsUnpaddedMs).toBe(holeMs);
    expect(q.inbound.lossPercent).toBeCloseTo((100 * holeMs) / (media.length * 20 + holeMs), 9);
    expect(q.inbound.jitterMs).toBe(0);
    expect(q.inbound.reorderedFrames).toBe(0);
    // The loss alone takes the estimate down from G.711's ceiling (4.41) to the E-model's figure for it.
    expect(q.mos.score).toBe(estimateMos({ delayMs: q.mos.delayMs, lossPercent: q.inbound.lossPercent }).mos);
    expect(q.mos.score).toBeLessThan(estimateMos({ delayMs: q.mos.delayMs, lossPercent: 0 }).mos - 1);
  });
});

describe('a call that carried no audio', () => {
  it('ends with no quality report (no score to flatter the figures); transport.quality() still answers', async () => {
    const t = await rig.connected();
    const ends: CallEndEvent[] = [];
    t.on('call_end', (e) => ends.push(e));
    rig.carrier.deliver(wire.stop());
    expect(ends).toHaveLength(1);
    expect(ends[0]!.reason).toBe('stop');
    expect(ends[0]).not.toHaveProperty('quality');
    expect(t.quality().inbound.frames).toBe(0);
  });
});
