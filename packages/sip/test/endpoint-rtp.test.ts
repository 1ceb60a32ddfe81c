/**
 * RTP: the jitter buffer, the media protocol in both directions, the peer simulator's checks, and
 * a real UDP call whose outbound RTP is paced at 20 ms and cut by a barge-in.
 */
import { ProtocolError, base64Decode, type CallEvent } from '@switchboard/core';
import { RealtimeSimulator, bundledTracesDir, loadTrace } from '@switchboard/conformance';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JitterBuffer, RtpMediaProtocol, type SipEndpoint, type SipCall } from '../src/index.js';
import { RtpPeerSimulator } from '../src/testing.js';
import {
  PT_CN,
  parseRtp,
  parseTelephoneEvent,
  serializeRtp,
  serializeTelephoneEvent,
  type RtpPacket,
} from '../src/endpoint/rtp/packet.js';
import { RawUa, msg, offer, request, toTagOf, token } from './sipp/raw-ua.js';
import { endpointWithModel } from './support/endpoint.js';

function pcmu(ms: number, fill = 0x55): Uint8Array {
  return new Uint8Array(ms * 8).fill(fill);
}

function rtp(sequence: number, timestamp: number, options: Partial<RtpPacket> = {}): Uint8Array {
  return serializeRtp({
    payloadType: 0,
    marker: false,
    sequence,
    timestamp,
    ssrc: 0x1234,
    payload: pcmu(20),
    ...options,
  });
}

function audio(events: CallEvent[]): Array<Extract<CallEvent, { type: 'audio' }>> {
  return events.filter((e): e is Extract<CallEvent, { type: 'audio' }> => e.type === 'audio');
}

describe('JitterBuffer', () => {
  it('passes packets in order straight through', () => {
    const jb = new JitterBuffer<number>(3);
    expect(jb.push(10, 10).map((r) => r.item)).toEqual([10]);
    expect(jb.push(11, 11).map((r) => r.item)).toEqual([11]);
    expect(jb.stats).toMatchObject({ received: 2, released: 2, lost: 0, reordered: 0 });
  });

  it('puts a late packet back in its place', () => {
    const jb = new JitterBuffer<number>(3);
    jb.push(1, 1);
    expect(jb.push(3, 3)).toEqual([]);
    expect(jb.push(2, 2).map((r) => r.item)).toEqual([2, 3]);
    expect(jb.stats).toMatchObject({ reordered: 1, lost: 0 });
  });

  it('gives a missing packet up once `depth` packets wait behind it, and counts it', () => {
    const jb = new JitterBuffer<number>(3);
    jb.push(1, 1);
    expect(jb.push(3, 3)).toEqual([]);
    expect(jb.push(4, 4)).toEqual([]);
    expect(jb.push(5, 5)).toEqual([]);
    const out = jb.push(6, 6);
    expect(out.map((r) => [r.item, r.lostBefore])).toEqual([
      [3, 1],
      [4, 0],
      [5, 0],
      [6, 0],
    ]);
    expect(jb.stats.lost).toBe(1);
    // The lost one turns up after all: too late, dropped and counted.
    expect(jb.push(2, 2)).toEqual([]);
    expect(jb.stats.late).toBe(1);
  });

  it('drops duplicates, follows the 16-bit wrap, and resynchronises on a restarted sender', () => {
    const jb = new JitterBuffer<number>(2);
    jb.push(65534, 1);
    jb.push(65534, 1);
    expect(jb.stats.duplicates).toBe(1);
    expect(jb.push(65535, 2).map((r) => r.sequence)).toEqual([65535]);
    expect(jb.push(0, 3).map((r) => r.sequence)).toEqual([65536]);
    expect(jb.push(1, 4).map((r) => r.sequence)).toEqual([65537]);
    // A jump of thousands, confirmed by the next packet in sequence, is a new numbering, not
    // thousands of losses.
    expect(jb.push(20000, 5)).toEqual([]);
    expect(jb.push(20001, 6).map((r) => r.item)).toEqual([5, 6]);
    expect(jb.stats).toMatchObject({ lost: 0, resyncs: 1, strays: 0 });
  });

  it('drops a single packet far behind the numbering instead of rewinding to it, and counts no loss', () => {
    const jb = new JitterBuffer<number>(3);
    for (let seq = 1000; seq <= 1200; seq++) jb.push(seq, seq);
    // A copy of a packet from seconds ago (a very late duplicate, a stray source).
    expect(jb.push(1050, -1)).toEqual([]);
    // The stream goes on where it was, without waiting or counting 150 packets as lost.
    expect(jb.push(1201, 1201).map((r) => [r.item, r.lostBefore])).toEqual([[1201, 0]]);
    expect(jb.push(1202, 1202).map((r) => [r.item, r.lostBefore])).toEqual([[1202, 0]]);
    expect(jb.stats).toMatchObject({ lost: 0, resyncs: 0, strays: 1 });
  });

  it('drops a single packet far ahead of the numbering until a second one confirms the jump', () => {
    const jb = new JitterBuffer<number>(3);
    jb.push(10, 10);
    expect(jb.push(30000, -1)).toEqual([]);
    expect(jb.push(11, 11).map((r) => r.item)).toEqual([11]);
    expect(jb.stats).toMatchObject({ lost: 0, resyncs: 0, strays: 1 });
    // The stray still waiting at the end of the stream is counted too.
    jb.push(40000, -2);
    jb.flush();
    expect(jb.stats.strays).toBe(2);
  });

  it('flushes what it holds at the end of a stream, counting the holes', () => {
    const jb = new JitterBuffer<number>(5);
    jb.push(1, 1);
    jb.push(3, 3);
    jb.push(5, 5);
    expect(jb.flush().map((r) => [r.item, r.lostBefore])).toEqual([
      [3, 1],
      [5, 1],
    ]);
    expect(jb.stats.lost).toBe(2);
  });
});

describe('RtpMediaProtocol inbound', () => {
  it('turns RTP into ordered audio with an audio-only sequence and RTP-derived timestamps', () => {
    const protocol = new RtpMediaProtocol();
    const events = [
      ...protocol.decode(rtp(100, 4_294_967_136)), // 160 samples before the 32-bit wrap
      ...protocol.decode(rtp(102, 160)),
      ...protocol.decode(rtp(101, 0)),
    ];
    expect(audio(events).map((e) => [e.sequence, e.timestampMs])).toEqual([
      [1, 0],
      [2, 20],
      [3, 40],
    ]);
    expect(protocol.stats).toMatchObject({ packetsIn: 3, reordered: 1, lost: 0 });
  });

  it('does not replay stale audio or pad silence for a single packet far behind the stream', () => {
    const protocol = new RtpMediaProtocol();
    const events: CallEvent[] = [];
    for (let i = 0; i <= 200; i++) events.push(...protocol.decode(rtp(1000 + i, 160 * i)));
    events.push(...protocol.decode(rtp(1050, 160 * 50, { payload: pcmu(20, 0x11) })));
    for (let i = 201; i <= 205; i++) events.push(...protocol.decode(rtp(1000 + i, 160 * i)));
    const out = audio(events);
    // Every audio event in order, contiguous, without the stale copy.
    expect(out).toHaveLength(206);
    expect(out.map((e) => e.sequence)).toEqual(out.map((_, i) => i + 1));
    expect(out.map((e) => e.timestampMs)).toEqual(out.map((_, i) => 20 * i));
    expect(out.some((e) => e.payload[0] === 0x11)).toBe(false);
    expect(protocol.stats).toMatchObject({ lost: 0, strays: 1 });
  });

  it('surfaces an RFC 4733 digit once, despite the three end packets', () => {
    const protocol = new RtpMediaProtocol();
    const event = (seq: number, end: boolean, duration: number) =>
      serializeRtp({
        payloadType: 101,
        marker: seq === 11,
        sequence: seq,
        timestamp: 800,
        ssrc: 0x1234,
        payload: serializeTelephoneEvent({ event: 11, end, volume: 10, duration }),
      });
    const events = [10, 11, 12, 13, 14, 15].flatMap((seq) =>
      seq === 10
        ? protocol.decode(rtp(10, 640))
        : protocol.decode(event(seq, seq >= 13, seq >= 13 ? 800 : 160 * (seq - 10))),
    );
    expect(events.filter((e) => e.type === 'dtmf')).toEqual([{ type: 'dtmf', digit: '#', durationMs: 100 }]);
    // Audio after the digit keeps its own sequence: the event packets were no loss.
    const after = audio(protocol.decode(rtp(16, 1600)));
    expect(after[0]!.sequence).toBe(2);
  });

  it('still surfaces a digit whose end packets were all lost, when the next one starts', () => {
    const protocol = new RtpMediaProtocol();
    const start = (seq: number, ts: number, code: number) =>
      serializeRtp({
        payloadType: 101,
        marker: true,
        sequence: seq,
        timestamp: ts,
        ssrc: 1,
        payload: serializeTelephoneEvent({ event: code, end: false, volume: 10, duration: 160 }),
      });
    const events = [...protocol.decode(start(1, 0, 1)), ...protocol.decode(start(2, 2000, 2))];
    expect(events).toEqual([{ type: 'dtmf', digit: '1', durationMs: 20 }]);
  });

  it('continues a new SSRC where the old one ended; ignores RTCP and payload types not negotiated', () => {
    const protocol = new RtpMediaProtocol();
    protocol.decode(rtp(1, 1000));
    const next = audio(protocol.decode(rtp(5000, 777_777, { ssrc: 0x9999 })));
    expect(next[0]!.timestampMs).toBe(20);
    expect(next[0]!.sequence).toBe(2);
    expect(
      protocol.decode(
        serializeRtp({
          payloadType: 18,
          marker: false,
          sequence: 5001,
          timestamp: 777_937,
          ssrc: 0x9999,
          payload: pcmu(20),
        }),
      ),
    ).toEqual([]);
    expect(protocol.decode(Uint8Array.of(0x80, 200, 0, 6, 0, 0, 0, 1, ...new Uint8Array(20)))).toEqual([]);
    expect(protocol.stats).toMatchObject({ ssrcChanges: 1, unknownPayloadType: 1, rtcpIn: 1 });
  });

  it('a malformed telephone-event packet costs only itself, never the audio released with it', () => {
    const protocol = new RtpMediaProtocol();
    const badEvent = (sequence: number, timestamp: number) =>
      serializeRtp({ payloadType: 101, marker: true, sequence, timestamp, ssrc: 0x1234, payload: Uint8Array.of(1, 2) });
    const got: CallEvent[] = [...protocol.decode(rtp(1, 0)), ...protocol.decode(rtp(3, 320))];
    // It fills the hole packet 3 waits behind: refused on arrival, not when the hole is released.
    expect(() => protocol.decode(badEvent(2, 160))).toThrow(ProtocolError);
    for (const seq of [4, 5, 6]) got.push(...protocol.decode(rtp(seq, 160 * (seq - 1))));
    expect(audio(got).map((e) => e.timestampMs)).toEqual([0, 40, 60, 80, 100]);
    expect(protocol.stats.lost).toBe(1);
    // Held behind another hole when the call ends: the BYE still flushes the audio and ends the call.
    const end: CallEvent[] = [...protocol.decode(rtp(8, 160 * 7))];
    expect(() => protocol.decode(badEvent(9, 160 * 8))).toThrow(ProtocolError);
    end.push(
      ...protocol.decode(
        'BYE sip:agent@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKbye\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n',
      ),
    );
    expect(end.map((e) => e.type)).toEqual(['audio', 'call_end']);
  });

  it("reads the packets a re-INVITE leaves in the jitter buffer with the old stream's payload types", () => {
    const peer = new RtpPeerSimulator();
    const protocol = new RtpMediaProtocol();
    protocol.decode(rtp(1, 0));
    expect(protocol.decode(rtp(3, 320))).toEqual([]); // held: 2 is missing
    const [invite] = peer.encodeInbound({
      type: 'call_start',
      callId: 'call-2',
      streamId: 'stream-2',
      format: { encoding: 'pcma', sampleRate: 8000, channels: 1 },
      customParameters: {},
      raw: null,
    });
    const events = protocol.decode(invite as string);
    expect(events.map((e) => e.type)).toEqual(['audio', 'call_start']);
    expect(audio(events)[0]!.timestampMs).toBe(40);
    expect(protocol.stats.unknownPayloadType).toBe(0);
    expect(protocol.media.codec).toBe('pcma');
  });

  it('throws ProtocolError for a malformed packet or a text frame that is not SIP', () => {
    const protocol = new RtpMediaProtocol();
    expect(() => protocol.decode(Uint8Array.of(0x40, 0, 0, 1))).toThrow(ProtocolError);
    expect(() => protocol.decode(Uint8Array.of(0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0))).toThrow(/version 1/);
    expect(() => protocol.decode('{"event":"media"}')).toThrow(ProtocolError);
  });

  it('announces the call from an INVITE, ends it on BYE', () => {
    const peer = new RtpPeerSimulator();
    const protocol = new RtpMediaProtocol();
    const [invite] = peer.encodeInbound({
      type: 'call_start',
      callId: 'call-1',
      streamId: 'stream-1',
      format: { encoding: 'pcma', sampleRate: 8000, channels: 1 },
      customParameters: { caller: '+1555', 'Account-Id': '42' },
      raw: null,
    });
    const [start] = protocol.decode(invite as string);
    expect(start).toMatchObject({
      type: 'call_start',
      callId: 'call-1',
      streamId: 'call-1/stream-1',
      format: { encoding: 'pcma' },
      customParameters: { caller: '+1555', 'Account-Id': '42' },
    });
    expect(protocol.media.codec).toBe('pcma');
    const [bye] = peer.encodeInbound({ type: 'call_end' });
    expect(protocol.decode(bye as string)).toEqual([{ type: 'call_end', reason: 'bye' }]);
  });
});

describe('RtpMediaProtocol outbound', () => {
  it("packetizes audio at 20 ms: sequence +1, contiguous timestamps, the marker on a talkspurt's first packet", () => {
    let now = 1000;
    const protocol = new RtpMediaProtocol({ now: () => now });
    const first = protocol.encode({ type: 'audio', payload: pcmu(60) }).map((p) => parseRtp(p as Uint8Array));
    expect(first.map((p) => p.payload.byteLength)).toEqual([160, 160, 160]);
    expect(first.map((p) => p.marker)).toEqual([true, false, false]);
    expect(first.map((p) => (p.sequence - first[0]!.sequence) & 0xffff)).toEqual([0, 1, 2]);
    expect(first.map((p) => (p.timestamp - first[0]!.timestamp) >>> 0)).toEqual([0, 160, 320]);
    expect(new Set(first.map((p) => p.ssrc)).size).toBe(1);
    // Half a second of silence: the next talkspurt's timestamp follows the clock, with a marker.
    now += 500;
    const [next] = protocol.encode({ type: 'audio', payload: pcmu(20) }).map((p) => parseRtp(p as Uint8Array));
    expect(next!.marker).toBe(true);
    expect((next!.timestamp - first[0]!.timestamp) >>> 0).toBe(4000);
    expect(next!.sequence).toBe((first[2]!.sequence + 1) & 0xffff);
  });

  it('marks a barge-in with comfort noise and starts the next audio as a new talkspurt', () => {
    const protocol = new RtpMediaProtocol({ now: () => 0 });
    const sent = protocol.encode({ type: 'audio', payload: pcmu(40) }).map((p) => parseRtp(p as Uint8Array));
    const [cn] = protocol.encode({ type: 'clear' }).map((p) => parseRtp(p as Uint8Array));
    expect(cn!.payloadType).toBe(PT_CN);
    expect((cn!.timestamp - sent[0]!.timestamp) >>> 0).toBe(320);
    const [after] = protocol.encode({ type: 'audio', payload: pcmu(20) }).map((p) => parseRtp(p as Uint8Array));
    expect(after!.marker).toBe(true);
    // Without CN negotiated there is nothing to send, and no clear capability.
    const plain = new RtpMediaProtocol({ media: { ...protocol.media, comfortNoisePayloadType: undefined } });
    expect(plain.capabilities.clear).toBe(false);
    expect(plain.encode({ type: 'clear' })).toEqual([]);
  });

  it('sends RFC 4733 digits: a first packet with the marker, updates, three end packets', () => {
    const protocol = new RtpMediaProtocol({ now: () => 0, dtmf: { toneMs: 100, gapMs: 50 } });
    const packets = protocol.encode({ type: 'dtmf', digits: '1#x' }).map((p) => parseRtp(p as Uint8Array));
    // Two digits ('x' is none): four updates (20 to 80 ms) and three end packets (100 ms) each.
    expect(packets).toHaveLength(14);
    const events = packets.map((p) => ({ ts: p.timestamp, marker: p.marker, ...parseTelephoneEvent(p.payload) }));
    const first = events.slice(0, 7);
    expect(first.map((e) => e.duration)).toEqual([160, 320, 480, 640, 800, 800, 800]);
    expect(first.map((e) => e.end)).toEqual([false, false, false, false, true, true, true]);
    expect(first.map((e) => e.marker)).toEqual([true, false, false, false, false, false, false]);
    expect(new Set(first.map((e) => e.ts)).size).toBe(1);
    expect(events[7]!.event).toBe(11);
    expect((events[7]!.ts - events[0]!.ts) >>> 0).toBe(1200);
    expect(protocol.stats.dtmfOut).toBe(2);
    const plain = new RtpMediaProtocol({ media: { ...protocol.media, telephoneEventPayloadType: undefined } });
    expect(plain.capabilities.dtmfOut).toBe(false);
  });

  it('is checked by the peer simulator as strictly as a careful receiver', () => {
    const peer = new RtpPeerSimulator();
    const protocol = new RtpMediaProtocol({ now: () => 0 });
    const packets = protocol.encode({ type: 'audio', payload: pcmu(40) }) as Uint8Array[];
    expect(peer.decodeOutbound(packets[0]!)).toMatchObject([{ type: 'audio' }]);
    expect(() => peer.decodeOutbound(packets[0]!)).toThrow(/sequence/);
    const gap = new RtpPeerSimulator();
    const a = parseRtp(packets[0]!);
    gap.decodeOutbound(packets[0]!);
    expect(() =>
      gap.decodeOutbound(
        serializeRtp({ ...a, marker: false, sequence: (a.sequence + 1) & 0xffff, timestamp: a.timestamp + 480 }),
      ),
    ).toThrow(/within a talkspurt/);
    const size = new RtpPeerSimulator();
    expect(() => size.decodeOutbound(serializeRtp({ ...a, payload: pcmu(10) }))).toThrow(/expected 160/);
    expect(() => new RtpPeerSimulator().decodeOutbound(serializeRtp({ ...a, payloadType: 96 }))).toThrow(/not offered/);
  });
});

describe('a call over real UDP', () => {
  let simulator: RealtimeSimulator;
  let endpoint: SipEndpoint;
  let ua: RawUa;

  beforeAll(async () => {
    simulator = new RealtimeSimulator();
    await simulator.start();
    endpoint = await endpointWithModel(simulator.url, { ports: { min: 40000, max: 50000 } });
    ua = await RawUa.open();
  });

  afterAll(async () => {
    ua?.close();
    await endpoint?.close();
    await simulator?.stop();
  });

  it("paces the model's audio at 20 ms per packet, stops it on a barge-in with CN, and sends digits", async () => {
    const trace = await loadTrace(join(bundledTracesDir(), 'barge-in.jsonl'));
    const frames = trace.frames
      .filter((f) => f.frame.event === 'media' && f.t <= 6500)
      .map((f) => base64Decode((f.frame.media as { payload: string }).payload));
    const callId = token('call-');
    const fromTag = token('f');
    const called = new Promise<SipCall>((resolve) => endpoint.once('call', resolve));
    ua.send(
      request({ method: 'INVITE', port: endpoint.port, ua, callId, fromTag, cseq: 1, body: offer(ua, '0 101 13') }),
      endpoint.port,
    );
    const ok = await ua.response(200, 'INVITE');
    const toTag = toTagOf(ok);
    const port = Number(/m=audio (\d+)/.exec(new TextDecoder().decode(msg(ok).body))![1]);
    ua.send(request({ method: 'ACK', port: endpoint.port, ua, callId, fromTag, toTag, cseq: 1 }), endpoint.port);
    const call = await called;

    // The caller's audio in real time, 20 ms per packet.
    const t0 = performance.now();
    for (let i = 0; i < frames.length; i++) {
      const due = t0 + i * 20;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      ua.sendRtp(
        serializeRtp({
          payloadType: 0,
          marker: i === 0,
          sequence: 500 + i,
          timestamp: 9000 + i * 160,
          ssrc: 0xabcdef,
          payload: frames[i]!,
        }),
        port,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 300));

    const packets = ua.rtpInbox.map((r) => ({ at: r.at, ...parseRtp(r.bytes) }));
    const audioPackets = packets.filter((p) => p.payloadType === 0);
    expect(audioPackets.length).toBeGreaterThan(25);
    // One source, sequence numbers without a gap, 160-byte payloads.
    expect(new Set(packets.map((p) => p.ssrc)).size).toBe(1);
    for (let i = 1; i < packets.length; i++) expect(packets[i]!.sequence).toBe((packets[i - 1]!.sequence + 1) & 0xffff);
    expect(audioPackets.every((p) => p.payload.byteLength === 160)).toBe(true);
    // Paced: about one packet per 20 ms, timestamps contiguous within the talkspurt.
    const gaps = audioPackets
      .slice(1)
      .map((p, i) => p.at - audioPackets[i]!.at)
      .filter((_, i) => !audioPackets[i + 1]!.marker);
    const sorted = [...gaps].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    expect(median).toBeGreaterThan(15);
    expect(median).toBeLessThan(25);
    for (let i = 1; i < audioPackets.length; i++) {
      if (!audioPackets[i]!.marker)
        expect((audioPackets[i]!.timestamp - audioPackets[i - 1]!.timestamp) >>> 0).toBe(160);
    }
    // The caller spoke over the reply: the endpoint said so with comfort noise, and the model truncated.
    const metrics = call.transport.metrics;
    expect(metrics.bargeIns).toBeGreaterThanOrEqual(1);
    const cn = packets.find((p) => p.payloadType === PT_CN);
    expect(cn).toBeDefined();
    expect(metrics.truncations.length).toBeGreaterThanOrEqual(1);
    expect(call.transport.rtpStats.lost).toBe(0);

    // Digits out.
    const before = ua.rtpInbox.length;
    expect(call.sendDtmf('7')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const dtmf = ua.rtpInbox
      .slice(before)
      .map((r) => parseRtp(r.bytes))
      .filter((p) => p.payloadType === 101);
    expect(dtmf.map((p) => parseTelephoneEvent(p.payload)).filter((e) => e.end)).toHaveLength(3);
    expect(parseTelephoneEvent(dtmf[0]!.payload).event).toBe(7);

    ua.send(request({ method: 'BYE', port: endpoint.port, ua, callId, fromTag, toTag, cseq: 2 }), endpoint.port);
    await ua.response(200, 'BYE');
    expect(call.endReason).toBe('bye');
  }, 30_000);
});
