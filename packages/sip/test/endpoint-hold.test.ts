/**
 * Hold (RFC 3264 §8.4): while the caller holds the call no RTP leaves, the model's audio waits
 * and does not count as heard, and the resume continues the stream (sequence, timestamps on the
 * media clock, the marker bit) so that a barge-in afterwards truncates at what was heard.
 */
import type { CallEvent } from '@switchboard/core';
import { RealtimeSimulator, longReplyScript, type SimulatedSession } from '@switchboard/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RtpMediaProtocol, type SipEndpoint, type SipCall } from '../src/index.js';
import { PT_PCMU, parseRtp } from '../src/endpoint/rtp/packet.js';
import { RawUa, msg, offer, token } from './sipp/raw-ua.js';
import { dial, endpointWithModel, until } from './support/endpoint.js';

const SDP = (direction: string, address = '127.0.0.1') =>
  [
    'v=0',
    `o=- 1 1 IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    'm=audio 40000 RTP/AVP 0 101',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    `a=${direction}`,
    '',
  ].join('\r\n');

function sipRequest(method: string, cseq: number, body: string): string {
  return [
    `${method} sip:agent@127.0.0.1 SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK' + token(),
    'From: <sip:a@127.0.0.1>;tag=1',
    'To: <sip:agent@127.0.0.1>;tag=2',
    'Call-ID: hold-call',
    `CSeq: ${cseq} ${method}`,
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

function flowEvents(events: CallEvent[]): boolean[] {
  return events
    .filter((e): e is Extract<CallEvent, { type: 'flow_control' }> => e.type === 'flow_control')
    .map((e) => e.paused);
}

describe('RtpMediaProtocol on hold', () => {
  it('pauses the flow on a sendonly or inactive offer, or c=0.0.0.0, and resumes on sendrecv; a recvonly caller is still sent to', () => {
    let now = 0;
    const protocol = new RtpMediaProtocol({ invite: sipRequest('INVITE', 1, SDP('sendrecv')), now: () => now });
    expect(flowEvents(protocol.open())).toEqual([]);
    expect(flowEvents(protocol.decode(sipRequest('INVITE', 2, SDP('sendonly'))))).toEqual([true]);
    // Still held: nothing new to say.
    expect(flowEvents(protocol.decode(sipRequest('INVITE', 3, SDP('inactive'))))).toEqual([]);
    expect(flowEvents(protocol.decode(sipRequest('INVITE', 4, SDP('sendrecv'))))).toEqual([false]);
    // The caller only listens: we still send.
    expect(flowEvents(protocol.decode(sipRequest('INVITE', 5, SDP('recvonly'))))).toEqual([]);
    expect(flowEvents(protocol.decode(sipRequest('INVITE', 6, SDP('sendrecv', '0.0.0.0'))))).toEqual([true]);
    // A session refresh without an offer changes nothing.
    expect(flowEvents(protocol.decode(sipRequest('INVITE', 7, '')))).toEqual([]);
    // The answer to our offer, in the ACK of a re-INVITE without one.
    expect(flowEvents(protocol.decode(sipRequest('ACK', 7, SDP('sendrecv'))))).toEqual([false]);
    expect(flowEvents(protocol.decode(sipRequest('INVITE', 8, '')))).toEqual([]);
    expect(flowEvents(protocol.decode(sipRequest('ACK', 8, SDP('sendonly'))))).toEqual([true]);
    now = 1000;
    expect(protocol.encode({ type: 'audio', payload: new Uint8Array(160) })).toEqual([]);
    expect(protocol.encode({ type: 'dtmf', digits: '1' })).toEqual([]);
  });

  it('sends nothing while held, then goes on with the next sequence number, a marker and the media clock', () => {
    let now = 0;
    const protocol = new RtpMediaProtocol({ invite: sipRequest('INVITE', 1, SDP('sendrecv')), now: () => now });
    protocol.open();
    const before = [0, 1, 2].map(() => {
      const [packet] = protocol.encode({ type: 'audio', payload: new Uint8Array(160) }) as Uint8Array[];
      now += 20;
      return parseRtp(packet!);
    });
    protocol.decode(sipRequest('INVITE', 2, SDP('inactive')));
    now += 5000;
    expect(protocol.encode({ type: 'audio', payload: new Uint8Array(160) })).toEqual([]);
    protocol.decode(sipRequest('INVITE', 3, SDP('sendrecv')));
    const [packet] = protocol.encode({ type: 'audio', payload: new Uint8Array(160) }) as Uint8Array[];
    const after = parseRtp(packet!);
    const last = before.at(-1)!;
    expect(after.marker).toBe(true);
    expect(after.sequence).toBe((last.sequence + 1) & 0xffff);
    expect(after.ssrc).toBe(last.ssrc);
    // The timestamp follows the media clock across the hold: the last packet left at 40 ms, this
    // one at 5060 ms (8 samples a ms).
    expect((after.timestamp - last.timestamp) >>> 0).toBe(8 * (5060 - 40));
  });

  it('starts a call that begins on hold paused', () => {
    const protocol = new RtpMediaProtocol({ invite: sipRequest('INVITE', 1, SDP('inactive')) });
    const events = protocol.open();
    expect(events.map((e) => e.type)).toEqual(['call_start', 'flow_control']);
    expect(flowEvents(events)).toEqual([true]);
  });

  it('pauses a held stream again after the call_start of a re-INVITE that also changed the codec', () => {
    const protocol = new RtpMediaProtocol({ invite: sipRequest('INVITE', 1, SDP('sendrecv')) });
    protocol.open();
    const pcma = SDP('sendonly')
      .replace('RTP/AVP 0 101', 'RTP/AVP 8 101')
      .replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000');
    const events = protocol.decode(sipRequest('INVITE', 2, pcma));
    expect(events.map((e) => e.type)).toEqual(['call_start', 'flow_control']);
    expect(flowEvents(events)).toEqual([true]);
  });
});

describe('a held call over real UDP with a model', () => {
  let simulator: RealtimeSimulator;
  let endpoint: SipEndpoint;
  let ua: RawUa | undefined;

  beforeAll(async () => {
    simulator = new RealtimeSimulator({ script: longReplyScript(), generationSpeed: 4 });
    await simulator.start();
    endpoint = await endpointWithModel(simulator.url, { ports: { min: 40000, max: 50000 }, timeoutMs: null });
  });

  afterEach(() => {
    ua?.close();
    ua = undefined;
  });

  afterAll(async () => {
    await endpoint?.close();
    await simulator?.stop();
  });

  /** The caller's view of our audio: PCMU packets in arrival order. */
  function audioIn(u: RawUa) {
    return u.rtpInbox.map((r) => parseRtp(r.bytes)).filter((p) => p.payloadType === PT_PCMU);
  }

  async function setUp(u: RawUa) {
    const model = simulator.nextSession();
    const { call, callId, reinvite } = await dial(u, endpoint, { callId: token('hold-') });
    const session: SimulatedSession = await model;
    await until(() => call.transport.status === 'connected' && session.sessionUpdates.length > 0, 'the model session');
    return {
      call,
      session,
      callId,
      /** A re-INVITE (with an offer, or none when `sdp` is undefined); resolves with its 200 OK. */
      reinvite: (sdp: string | undefined, ackBody?: string) =>
        reinvite(sdp, { status: 200, ...(ackBody ? { ackBody } : {}) }),
    };
  }

  /**
   * The held call sends no RTP from now while the model generates `ms` more of its reply (or
   * finishes it), and a little after.
   */
  async function expectNothingSentWhileGenerating(call: SipCall, session: SimulatedSession, ms: number) {
    const sentAtHold = call.rtp.counters.packetsOut;
    const generated = () => session.responses[0]?.audioMsSent ?? 0;
    const generatedAtHold = generated();
    await until(
      () => generated() >= generatedAtHold + ms || session.responses[0]?.status !== 'in_progress',
      'the model to generate more audio',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(call.rtp.counters.packetsOut).toBe(sentAtHold);
  }

  it('sends no RTP on hold, resumes the stream with a marker, and truncates a barge-in at what the caller heard', async () => {
    const u = (ua = await RawUa.open());
    const { call, session, reinvite } = await setUp(u);
    call.transport.sendEvent({ type: 'response.create' });
    await until(() => audioIn(u).length >= 10, 'the reply to play');

    const answer = await reinvite(offer(u).replace('a=sendrecv', 'a=sendonly'));
    expect(new TextDecoder().decode(msg(answer).body)).toContain('a=recvonly');
    expect(call.held).toBe(true);
    // The hold took effect before its 200 OK left: whatever was sent so far left before it. The
    // model goes on generating a good second of the reply meanwhile; none of it may leave.
    await expectNothingSentWhileGenerating(call, session, 1500);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const heardBeforeHold = audioIn(u);

    await reinvite(offer(u));
    expect(call.held).toBe(false);
    await until(() => audioIn(u).length >= heardBeforeHold.length + 10, 'the reply to resume');
    const resumed = audioIn(u).slice(heardBeforeHold.length);
    const last = heardBeforeHold.at(-1)!;
    expect(resumed[0]!.marker).toBe(true);
    expect(resumed[0]!.sequence).toBe((last.sequence + 1) & 0xffff);
    expect(resumed[0]!.ssrc).toBe(last.ssrc);
    expect((resumed[0]!.timestamp - last.timestamp) >>> 0).toBeGreaterThan(160);
    for (let i = 1; i < resumed.length; i++) expect(resumed[i]!.sequence).toBe((resumed[i - 1]!.sequence + 1) & 0xffff);

    // A barge-in: the truncation counts only audio the caller could hear (nothing from the hold).
    call.transport.interrupt();
    await until(() => session.truncations.length > 0, 'the truncation');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sentMs = audioIn(u).length * 20;
    const truncation = session.truncations[0]!;
    expect(truncation.audioEndMs).toBeLessThanOrEqual(sentMs);
    // At most the pacing lead (40 ms) and a packet were on their way and not yet played.
    expect(truncation.audioEndMs).toBeGreaterThanOrEqual(sentMs - 80);
  }, 60_000);

  it('holds on the answer in the ACK of a re-INVITE without an offer, and resumes on the next', async () => {
    const u = (ua = await RawUa.open());
    const { call, session, reinvite } = await setUp(u);
    call.transport.sendEvent({ type: 'response.create' });
    await until(() => audioIn(u).length >= 5, 'the reply to play');

    // Our offer goes in the 200 OK; the caller answers sendonly in the ACK: on hold.
    const ok = await reinvite(undefined, offer(u).replace('a=sendrecv', 'a=sendonly'));
    expect(new TextDecoder().decode(msg(ok).body)).toContain('a=sendrecv');
    await until(() => call.held, 'the hold from the ACK');
    await expectNothingSentWhileGenerating(call, session, 1000);

    const heard = audioIn(u).length;
    await reinvite(undefined, offer(u));
    await until(() => !call.held, 'the resume from the ACK');
    await until(() => audioIn(u).length >= heard + 5, 'the reply to resume');
  }, 60_000);
});
