/**
 * The endpoint against a real SIP peer: sipp scenarios (test/sipp/*.xml) on 127.0.0.1, with the
 * realtime simulator standing in for the model.
 */
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { base64Decode, concatBytes } from '@switchboard/core';
import { RealtimeSimulator, bundledTracesDir, loadTrace, type SimulatedSession } from '@switchboard/conformance';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipEndpoint, type SipCall, type SipEndpointOptions } from '../src/index.js';
import { serializeRtp, serializeTelephoneEvent, dtmfEventCode } from '../src/endpoint/rtp/packet.js';
import { canPlayPcap, haveSipp, runSipp, writePcap, type PcapPacket, type SippRun } from './sipp/sipp.js';

const SIPP = haveSipp();
/** Replaying RTP from a pcap needs a raw socket. */
const PCAP = SIPP && canPlayPcap();
// A developer's machine may lack sipp (or root); CI installs it (`.ci/run`) and must run these.
if (process.env.CI === 'true' && !PCAP) {
  throw new Error(
    'CI: the sipp tests need sipp (Debian package sip-tester, installed by .ci/run) and root for its pcap playback',
  );
}

/** The caller's side of a corpus trace as RTP: its μ-law frames, and its digits as RFC 4733 events. */
async function traceCapture(
  name: string,
  limitMs = Infinity,
): Promise<{ pcap: Uint8Array; audio: Uint8Array; digits: string[]; durationMs: number; packets: number }> {
  const trace = await loadTrace(join(bundledTracesDir(), `${name}.jsonl`));
  type Item = { atMs: number; build: (seq: number) => Uint8Array };
  const items: Item[] = [];
  const audio: Uint8Array[] = [];
  const digits: string[] = [];
  const ssrc = 0x5eed1234;
  let position = 0;
  let first = true;
  for (const { t, frame } of trace.frames) {
    if (t > limitMs) break;
    if (frame.event === 'media') {
      const media = frame.media as { payload: string; timestamp: string };
      const payload = base64Decode(media.payload);
      const ts = Number(media.timestamp) * 8;
      const marker = first;
      first = false;
      audio.push(payload);
      items.push({
        atMs: t,
        build: (seq) => serializeRtp({ payloadType: 0, marker, sequence: seq, timestamp: ts, ssrc, payload }),
      });
      position = ts + payload.byteLength;
    } else if (frame.event === 'dtmf') {
      const digit = (frame.dtmf as { digit: string }).digit;
      const code = dtmfEventCode(digit)!;
      digits.push(digit);
      const ts = position;
      // A 100 ms key press: a first packet, updates every 20 ms, the end three times.
      for (let d = 160; d < 800; d += 160) {
        const duration = d;
        items.push({
          atMs: t + d / 8 - 20,
          build: (seq) =>
            serializeRtp({
              payloadType: 101,
              marker: duration === 160,
              sequence: seq,
              timestamp: ts,
              ssrc,
              payload: serializeTelephoneEvent({ event: code, end: false, volume: 10, duration }),
            }),
        });
      }
      for (let i = 0; i < 3; i++) {
        items.push({
          atMs: t + 80 + i * 20,
          build: (seq) =>
            serializeRtp({
              payloadType: 101,
              marker: false,
              sequence: seq,
              timestamp: ts,
              ssrc,
              payload: serializeTelephoneEvent({ event: code, end: true, volume: 10, duration: 800 }),
            }),
        });
      }
    }
  }
  items.sort((a, b) => a.atMs - b.atMs);
  const packets: PcapPacket[] = items.map((item, index) => ({
    atMs: item.atMs,
    payload: item.build((1000 + index) & 0xffff),
  }));
  return {
    pcap: writePcap(packets),
    audio: concatBytes(audio),
    digits,
    durationMs: items.at(-1)!.atMs,
    packets: packets.length,
  };
}

function explain(run: SippRun): string {
  return `sipp exited ${run.code}\n--- errors\n${run.errors.slice(-3000)}\n--- stderr\n${run.stderr.slice(-2000)}\n--- messages\n${run.messages.slice(-6000)}`;
}

describe.skipIf(!SIPP)('SipEndpoint with sipp', () => {
  let simulator: RealtimeSimulator;
  let endpoint: SipEndpoint;
  const calls: SipCall[] = [];
  const sessions: RealtimeSession[] = [];
  const digitsOf = new Map<SipCall, string[]>();
  /** What each call's custom parameters were inside the `call` listener. */
  const parametersAtCall = new Map<SipCall, Record<string, string>>();

  async function start(options: SipEndpointOptions = {}): Promise<SipEndpoint> {
    const ep = new SipEndpoint({
      host: '127.0.0.1',
      port: 0,
      rtp: { ports: { min: 20000, max: 30000 } },
      transport: { url: `${simulator.url}?model=gpt-realtime` },
      // A caller that asks for it (X-Ring-Ms) rings that long before the answer.
      onInvite: async (invite) => {
        const ringMs = Number(invite.customParameters['Ring-Ms'] ?? 0);
        if (ringMs > 0) await new Promise((resolve) => setTimeout(resolve, ringMs));
        return true;
      },
      ...options,
    });
    ep.on('call', (call) => {
      calls.push(call);
      parametersAtCall.set(call, { ...call.customParameters });
      const digits: string[] = [];
      digitsOf.set(call, digits);
      call.transport.on('dtmf', (event) => digits.push(event.digit));
      const session = new RealtimeSession(new RealtimeAgent({ name: 'Test agent', instructions: 'Answer briefly.' }), {
        transport: call.transport,
        model: 'gpt-realtime',
      });
      session.on('error', () => undefined);
      sessions.push(session);
      void session.connect({ apiKey: 'sk-test' }).catch(() => undefined);
    });
    await ep.listen();
    return ep;
  }

  beforeAll(async () => {
    simulator = new RealtimeSimulator();
    await simulator.start();
    endpoint = await start();
  });

  afterAll(async () => {
    for (const session of sessions) session.close();
    await endpoint?.close();
    await simulator?.stop();
  });

  it.skipIf(!PCAP)(
    "answers an INVITE with SDP, carries the trace's audio and digits to the model in order, ends on BYE",
    async () => {
      const capture = await traceCapture('dtmf');
      const before = calls.length;
      const modelSession = new Promise<SimulatedSession>((resolve) => simulator.once('session', resolve));
      const run = await runSipp({
        scenario: 'uac-call.xml',
        port: endpoint.port,
        files: { 'trace.pcap': capture.pcap },
        pauseMs: Math.ceil(capture.durationMs) + 400,
      });
      expect(run.code, explain(run)).toBe(0);
      expect(calls.length).toBe(before + 1);
      const call = calls.at(-1)!;
      expect(call.state).toBe('ended');
      expect(call.endReason).toBe('bye');
      const transport = call.transport;
      expect(parametersAtCall.get(call)).toEqual({ caller: '+15551230000', campaign: 'sipp' });
      expect(transport.callStart?.customParameters).toEqual({ caller: '+15551230000', campaign: 'sipp' });
      expect(transport.callStart?.from).toMatch(/^sip:\+15551230000@127\.0\.0\.1:\d+$/);
      expect(transport.callStart?.callId).toBe(call.callId);
      const model = await modelSession;
      await model.closed;
      const received = concatBytes(model.inputAudio);
      const stats = transport.rtpStats;
      // Every frame of the trace, in order; a frame lost on the way may only be silence.
      expect(stats.lost).toBe(transport.metrics.framesMissing);
      expect(received.byteLength).toBeGreaterThanOrEqual(capture.audio.byteLength);
      let differing = 0;
      for (let i = 0; i < capture.audio.byteLength; i++) if (received[i] !== capture.audio[i]) differing++;
      expect(differing).toBeLessThanOrEqual(stats.lost * 160);
      expect(stats.duplicates + stats.late).toBe(0);
      // Each digit once, in order, although every event ended with three end packets.
      expect(digitsOf.get(call)).toEqual(capture.digits);
      expect(stats.dtmfIn).toBe(capture.digits.length);
      // The model's reply went back to sipp as RTP.
      expect(call.rtp.counters.packetsOut).toBeGreaterThan(0);
      expect(transport.status).toBe('disconnected');
    },
    60_000,
  );

  it('answers a retransmitted INVITE once: one call, the copy absorbed by the transaction', async () => {
    const before = calls.length;
    const absorbed = endpoint.counters.retransmissionsAbsorbed;
    // -nr: sipp would otherwise take the cached 180 for a retransmission and resend its copy of
    // the INVITE in answer, forever.
    const run = await runSipp({ scenario: 'uac-retransmit.xml', port: endpoint.port, args: ['-nr'] });
    expect(run.code, explain(run)).toBe(0);
    expect(calls.length).toBe(before + 1);
    // Both copies matched the transaction: the first got the cached 180 again, the second nothing.
    expect(endpoint.counters.retransmissionsAbsorbed).toBe(absorbed + 2);
    expect(run.messages.match(/SIP\/2\.0 180/g)?.length).toBe(2);
    expect(run.messages.match(/SIP\/2\.0 200/g)?.length).toBe(2); // the INVITE's and the BYE's
    const call = calls.at(-1)!;
    expect(call.media?.codec).toBe('pcma');
    expect(call.transport.carrierFormat.encoding).toBe('pcma');
    expect(call.endReason).toBe('bye');
  }, 30_000);

  it('answers CANCEL before the answer with 200, the INVITE with 487, and never starts the call', async () => {
    const before = calls.length;
    const run = await runSipp({ scenario: 'uac-cancel.xml', port: endpoint.port });
    expect(run.code, explain(run)).toBe(0);
    expect(calls.length).toBe(before);
    // The 487 was acknowledged: it was sent once, never retransmitted.
    expect(run.messages.match(/SIP\/2\.0 487/g)?.length).toBe(1);
  }, 30_000);

  it('answers malformed requests with 400 and keeps serving', async () => {
    const bad = endpoint.counters.badRequests;
    const run = await runSipp({ scenario: 'uac-malformed.xml', port: endpoint.port });
    expect(run.code, explain(run)).toBe(0);
    expect(endpoint.counters.badRequests).toBe(bad + 3);
  }, 30_000);

  it.skipIf(!PCAP)(
    'carries a call over TCP',
    async () => {
      const capture = await traceCapture('no-stop', 2000);
      const before = calls.length;
      const run = await runSipp({
        scenario: 'uac-call.xml',
        port: endpoint.port,
        transport: 'tcp',
        files: { 'trace.pcap': capture.pcap },
        pauseMs: Math.ceil(capture.durationMs) + 300,
      });
      expect(run.code, explain(run)).toBe(0);
      expect(calls.length).toBe(before + 1);
      const call = calls.at(-1)!;
      expect(call.remote.transport).toBe('tcp');
      expect(call.endReason).toBe('bye');
      expect(call.transport.rtpStats.released).toBe(capture.packets);
    },
    30_000,
  );

  it('hangs up with a BYE a call whose caller sends no RTP, once the RTP timeout passed', async () => {
    const quick = await start({ rtp: { ports: { min: 20000, max: 30000 }, timeoutMs: 300 } });
    try {
      const before = calls.length;
      const run = await runSipp({ scenario: 'uac-silent.xml', port: quick.port, timeoutS: 30 });
      expect(run.code, explain(run)).toBe(0);
      expect(run.messages).toMatch(/^BYE sip:caller@/m);
      expect(calls.length).toBe(before + 1);
      const call = calls.at(-1)!;
      expect(call.endReason).toBe('rtp_timeout');
      expect(call.state).toBe('ended');
      expect(quick.calls).toEqual([]);
    } finally {
      await quick.close();
    }
  }, 60_000);

  it('keeps a held call up without RTP beyond the RTP timeout, and hangs up once it resumed and stayed quiet', async () => {
    // Long enough that sipp's re-INVITE comes in time on a loaded machine; the hold lasts longer.
    const timeoutMs = 800;
    const quick = await start({ rtp: { ports: { min: 20000, max: 30000 }, timeoutMs } });
    try {
      const before = calls.length;
      const run = await runSipp({ scenario: 'uac-hold.xml', port: quick.port, pauseMs: 3 * timeoutMs, timeoutS: 30 });
      expect(run.code, explain(run)).toBe(0);
      // Exactly one BYE: the one after the resume.
      expect(run.messages.match(/^BYE sip:/gm)?.length).toBe(1);
      expect(calls.length).toBe(before + 1);
      const call = calls.at(-1)!;
      expect(call.endReason).toBe('rtp_timeout');
      expect(call.held).toBe(false);
    } finally {
      await quick.close();
    }
  }, 60_000);

  it('hangs up with a BYE a call whose session timer the caller never refreshes (RFC 4028)', async () => {
    const quick = await start({
      rtp: { ports: { min: 20000, max: 30000 }, timeoutMs: null },
      sessionTimers: { minSeconds: 1 },
    });
    try {
      const before = calls.length;
      const run = await runSipp({ scenario: 'uac-session-timer.xml', port: quick.port, timeoutS: 30 });
      expect(run.code, explain(run)).toBe(0);
      expect(calls.length).toBe(before + 1);
      const call = calls.at(-1)!;
      expect(call.sessionExpires).toBe(1);
      expect(call.endReason).toBe('session_expired');
    } finally {
      await quick.close();
    }
  }, 60_000);

  it('challenges an INVITE with digest authentication (MD5, qop=auth) and answers the authenticated one', async () => {
    const secured = await start({
      auth: {
        realm: 'switchboard.test',
        algorithms: ['MD5'],
        credentials: (user) => (user === 'alice' ? 'wonderland' : undefined),
      },
    });
    try {
      const before = calls.length;
      const run = await runSipp({
        scenario: 'uac-auth.xml',
        port: secured.port,
        args: ['-au', 'alice', '-ap', 'wonderland'],
      });
      expect(run.code, explain(run)).toBe(0);
      expect(secured.counters.challenges).toBe(1);
      expect(calls.length).toBe(before + 1);
      expect(calls.at(-1)!.username).toBe('alice');

      // Wrong password: challenged again, never answered (sipp gives up on the unexpected 401).
      const refused = await runSipp({
        scenario: 'uac-auth.xml',
        port: secured.port,
        args: ['-au', 'alice', '-ap', 'wrong'],
        timeoutS: 3,
      });
      expect(refused.code).not.toBe(0);
      expect(secured.counters.challenges).toBe(3);
      expect(calls.length).toBe(before + 1);
    } finally {
      await secured.close();
    }
  }, 60_000);
});
