/**
 * The inbound RTP timeline: 32-bit timestamp wraps, senders that restart their clock, and
 * timestamps that cannot be right, from the media protocol alone and through the transport to
 * the model.
 */
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { concatBytes, type CallEvent, type MediaConnection, type MediaFrame } from '@switchboard/core';
import { RealtimeSimulator, type SimulatedSession } from '@switchboard/conformance';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JitterBuffer, RtpMediaProtocol, SipRealtimeTransport } from '../src/index.js';
import { RtpPeerSimulator } from '../src/testing.js';
import { parseRtp, parseTelephoneEvent, serializeRtp, type RtpPacket } from '../src/endpoint/rtp/packet.js';

type AudioEvent = Extract<CallEvent, { type: 'audio' }>;

const WRAP = 2 ** 32;
/** One hour of 8 kHz samples. */
const HOUR = 8000 * 3600;

/** 20 ms of μ-law near silence, told apart by its first byte. */
function frame(index: number): Uint8Array {
  const payload = new Uint8Array(160).fill(0xff);
  payload[0] = 0xf0 + (index % 15);
  return payload;
}

function rtp(sequence: number, timestamp: number, options: Partial<RtpPacket> = {}): Uint8Array {
  return serializeRtp({
    payloadType: 0,
    marker: false,
    sequence: sequence & 0xffff,
    timestamp: timestamp >>> 0,
    ssrc: 0x1234,
    payload: frame(sequence),
    ...options,
  });
}

function audio(events: CallEvent[]): AudioEvent[] {
  return events.filter((e): e is AudioEvent => e.type === 'audio');
}

function decodeAll(protocol: RtpMediaProtocol, packets: Uint8Array[]): AudioEvent[] {
  return audio(packets.flatMap((p) => protocol.decode(p)));
}

describe('JitterBuffer restarts', () => {
  it('marks the first packet of a new numbering, once', () => {
    const jb = new JitterBuffer<number>(3);
    const released = [10, 11, 12, 30_000, 30_001, 30_002].flatMap((seq) => jb.push(seq, seq));
    expect(released.map((r) => [r.item, r.restart])).toEqual([
      [10, false],
      [11, false],
      [12, false],
      [30_000, true],
      [30_001, false],
      [30_002, false],
    ]);
  });
});

describe('RtpMediaProtocol inbound timeline', () => {
  it('runs on across a 32-bit wrap in the middle of a call', () => {
    const start = WRAP - 160 * 50;
    const packets = Array.from({ length: 100 }, (_, i) => rtp(7000 + i, start + 160 * i));
    const out = decodeAll(new RtpMediaProtocol(), packets);
    expect(out).toHaveLength(100);
    expect(out.map((e) => e.timestampMs)).toEqual(out.map((_, i) => 20 * i));
  });

  it('never emits a negative timestamp for a packet timed before the stream began: it continues where the audio ended', () => {
    const protocol = new RtpMediaProtocol();
    const out = decodeAll(protocol, [
      rtp(1, 80_000),
      rtp(2, 80_160),
      // The sender's clock went back before the first packet (same SSRC, numbering in order).
      rtp(3, 1_000),
      rtp(4, 1_160),
    ]);
    expect(out.map((e) => e.timestampMs)).toEqual([0, 20, 40, 60]);
    expect(protocol.stats.timestampRebases).toBe(1);
  });

  it('takes a talkspurt that starts behind the previous packet (marker bit) as a restarted clock', () => {
    const protocol = new RtpMediaProtocol();
    const out = decodeAll(protocol, [
      rtp(1, 500_000),
      rtp(2, 500_160),
      rtp(3, 500_320),
      // Half a second back, with the marker: the sender restarted its clock, not a replay.
      rtp(4, 496_320, { marker: true }),
      rtp(5, 496_480),
    ]);
    expect(out.map((e) => e.timestampMs)).toEqual([0, 20, 40, 60, 80]);
    expect(protocol.stats.timestampRebases).toBe(1);
  });

  it('starts a new time base when the sender restarts its numbering under the same SSRC', () => {
    const protocol = new RtpMediaProtocol();
    const first = Array.from({ length: 10 }, (_, i) => rtp(100 + i, 3_000_000 + 160 * i));
    // New sequence numbers and a new random timestamp base, 2^31 + a bit away.
    const second = Array.from({ length: 10 }, (_, i) => rtp(40_000 + i, 3_000_000 + 2 ** 31 + 777 + 160 * i));
    const out = decodeAll(protocol, [...first, ...second]);
    expect(out.map((e) => e.timestampMs)).toEqual(out.map((_, i) => 20 * i));
    expect(protocol.stats).toMatchObject({ resyncs: 1, timestampRebases: 1, lost: 0 });
  });

  it("passes a timestamp jump forward as it is: silence the sender suppressed is the transport's to pad", () => {
    const out = decodeAll(new RtpMediaProtocol(), [rtp(1, 0), rtp(2, 160), rtp(3, 160 + 8000 * 5, { marker: true })]);
    expect(out.map((e) => e.timestampMs)).toEqual([0, 20, 5020]);
  });

  it('never emits a negative or non-finite timestamp, whatever the timestamps, numbering, markers and sources', () => {
    const packet = fc.record({
      seqStep: fc.oneof(fc.constant(1), fc.integer({ min: -5, max: 5 }), fc.integer({ min: 0, max: 0xffff })),
      tsStep: fc.oneof(
        fc.constant(160),
        fc.integer({ min: -20_000, max: 20_000 }),
        fc.integer({ min: 0, max: WRAP - 1 }),
      ),
      marker: fc.boolean(),
      ssrc: fc.constantFrom(1, 2),
      payloadType: fc.constantFrom(0, 0, 0, 13, 101),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: WRAP - 1 }),
        fc.array(packet, { maxLength: 120 }),
        (seq0, ts0, steps) => {
          const protocol = new RtpMediaProtocol();
          let seq = seq0;
          let ts = ts0;
          for (const step of steps) {
            seq = (seq + step.seqStep) & 0xffff;
            ts = (ts + step.tsStep) >>> 0;
            const payload =
              step.payloadType === 101
                ? Uint8Array.of(1, 0x0a, 0, 160)
                : step.payloadType === 13
                  ? Uint8Array.of(60)
                  : frame(seq);
            for (const event of audio(
              protocol.decode(
                rtp(seq, ts, { marker: step.marker, ssrc: step.ssrc, payloadType: step.payloadType, payload }),
              ),
            )) {
              if (!(Number.isFinite(event.timestampMs) && event.timestampMs! >= 0)) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a sender with a steady clock gets timestamps exactly 20 ms apart, wherever its 32-bit clock starts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: WRAP - 1 }),
        fc.integer({ min: 1, max: 200 }),
        (seq0, ts0, count) => {
          const packets = Array.from({ length: count }, (_, i) => rtp(seq0 + i, ts0 + 160 * i, { marker: i === 0 }));
          const out = decodeAll(new RtpMediaProtocol(), packets);
          return out.length === count && out.every((e, i) => e.timestampMs === 20 * i);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('RtpPeerSimulator timestamps', () => {
  it('gives back-to-back digits their own RTP timestamps, so both reach the bridge', () => {
    const peer = new RtpPeerSimulator();
    const protocol = new RtpMediaProtocol();
    const frames = [
      ...peer.encodeInbound({ type: 'audio', payload: frame(0) }),
      ...peer.encodeInbound({ type: 'dtmf', digit: '1' }),
      ...peer.encodeInbound({ type: 'dtmf', digit: '2' }),
      ...peer.encodeInbound({ type: 'audio', payload: frame(1) }),
    ] as Uint8Array[];
    const events = frames.flatMap((f) => protocol.decode(f));
    expect(events.filter((e) => e.type === 'dtmf').map((e) => (e as { digit: string }).digit)).toEqual(['1', '2']);
    const packets = frames.map((f) => parseRtp(f));
    const digits = packets.filter((p) => p.payloadType === 101);
    const starts = [...new Set(digits.map((p) => p.timestamp))];
    expect(starts).toHaveLength(2);
    // The audio after the digits starts where the second one ended.
    const second = digits.filter((p) => p.timestamp === starts[1]);
    const end = (starts[1]! + parseTelephoneEvent(second.at(-1)!.payload).duration) >>> 0;
    expect(packets.at(-1)!.timestamp).toBe(end);
  });

  it('sends no timestamp it cannot compute: an audio event with a non-finite timestamp continues the stream', () => {
    const peer = new RtpPeerSimulator();
    const [a] = peer.encodeInbound({ type: 'audio', payload: frame(0), timestampMs: 0 }) as Uint8Array[];
    const [b] = peer.encodeInbound({ type: 'audio', payload: frame(1), timestampMs: Number.NaN }) as Uint8Array[];
    expect((parseRtp(b!).timestamp - parseRtp(a!).timestamp) >>> 0).toBe(160);
  });
});

/** A carrier socket in memory: the test plays the phone's RTP. */
class FakeRtp implements MediaConnection {
  closed = false;
  readonly bufferedAmount = 0;
  #message = new Set<(frame: MediaFrame) => void>();
  #close = new Set<(code?: number, reason?: string) => void>();
  send(): void {}
  onMessage(handler: (frame: MediaFrame) => void) {
    this.#message.add(handler);
    return () => void this.#message.delete(handler);
  }
  onClose(handler: (code?: number, reason?: string) => void) {
    this.#close.add(handler);
    return () => void this.#close.delete(handler);
  }
  onError() {
    return () => undefined;
  }
  close(code = 1000, reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    for (const handler of [...this.#close]) handler(code, reason);
  }
  deliver(frame: MediaFrame): void {
    for (const handler of [...this.#message]) handler(frame);
  }
}

describe('the inbound timeline through the transport to the model', () => {
  let simulator: RealtimeSimulator;

  beforeAll(async () => {
    simulator = new RealtimeSimulator();
    await simulator.start();
  });

  afterAll(async () => {
    await simulator?.stop();
  });

  /**
   * Plays `packets` into a transport, 20 ms apart on the transport's clock, and returns what the
   * model received with the transport's metrics.
   */
  async function play(packets: Uint8Array[]) {
    let now = 1_000_000;
    const connection = new FakeRtp();
    const transport = new SipRealtimeTransport({
      connection,
      url: `${simulator.url}?model=gpt-realtime`,
      now: () => now,
    });
    const session = new RealtimeSession(new RealtimeAgent({ name: 'Test agent', instructions: 'Listen.' }), {
      transport,
      model: 'gpt-realtime',
    });
    session.on('error', () => undefined);
    const modelSession = new Promise<SimulatedSession>((resolve) => simulator.once('session', resolve));
    await session.connect({ apiKey: 'sk-test' });
    const model = await modelSession;
    for (const packet of packets) {
      connection.deliver(packet);
      now += 20;
    }
    // Whatever the jitter buffer still holds goes with the end of the stream.
    connection.deliver(
      'BYE sip:agent@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKend\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n',
    );
    connection.close();
    await model.closed;
    session.close();
    return { received: concatBytes(model.inputAudio), metrics: transport.metrics, stats: transport.rtpStats };
  }

  it('a 32-bit wrap mid-call gives the model contiguous audio, without padding or resynchronising', async () => {
    const start = WRAP - 160 * 100;
    const packets = Array.from({ length: 200 }, (_, i) => rtp(60_000 + i, start + 160 * i));
    const { received, metrics } = await play(packets);
    expect(received).toEqual(concatBytes(packets.map((p) => parseRtp(p).payload)));
    expect(metrics.gapsPaddedMs).toBe(0);
    expect(metrics.timestampResyncs).toBe(0);
  }, 30_000);

  it('a single packet timed hours ahead costs no silence', async () => {
    const packets = Array.from({ length: 100 }, (_, i) => rtp(10 + i, 5_000 + 160 * i + (i === 50 ? 3 * HOUR : 0)));
    const { received, metrics } = await play(packets);
    expect(received).toEqual(concatBytes(packets.map((p) => parseRtp(p).payload)));
    expect(metrics.gapsPaddedMs).toBe(0);
    expect(metrics.gapsUnpaddedMs).toBe(0);
  }, 30_000);

  it('a single packet timed hours behind (before the stream began) costs no silence', async () => {
    const packets = Array.from({ length: 100 }, (_, i) => rtp(10 + i, 5 * HOUR + 160 * i - (i === 50 ? 4 * HOUR : 0)));
    const { received, metrics, stats } = await play(packets);
    expect(received).toEqual(concatBytes(packets.map((p) => parseRtp(p).payload)));
    expect(metrics.gapsPaddedMs).toBe(0);
    expect(metrics.gapsUnpaddedMs).toBe(0);
    expect(stats.timestampRebases + metrics.timestampResyncs).toBeGreaterThan(0);
  }, 30_000);

  it('a sender that restarts its clock mid-call (marker bit, new base behind) costs no silence', async () => {
    const packets = Array.from({ length: 100 }, (_, i) =>
      i < 50 ? rtp(10 + i, 2 * HOUR + 160 * i) : rtp(10 + i, 1_000 + 160 * (i - 50), { marker: i === 50 }),
    );
    const { received, metrics } = await play(packets);
    expect(received).toEqual(concatBytes(packets.map((p) => parseRtp(p).payload)));
    expect(metrics.gapsPaddedMs).toBe(0);
  }, 30_000);
});
