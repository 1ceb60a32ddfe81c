/**
 * Admission of new calls: `maxCalls` counts calls being set up (in `onInvite`, in digest
 * authentication, waiting for their RTP port), not only answered ones; offers the RTP socket
 * cannot send to are refused; every call gets a stream id of its own.
 */
import { describe, expect, it } from 'vitest';
import { SipEndpoint, type SipCall, type SipInvite } from '../src/index.js';
import { rtpFamilies } from '../src/endpoint/rtp/session.js';
import { type RawUa, msg, offer, request, toTagOf, token } from './sipp/raw-ua.js';
import { haveSipp, runSipp, type SippRun } from './sipp/sipp.js';
import { DEADLINE, until, useEndpoints } from './support/endpoint.js';

const SIPP = haveSipp();

/** Final responses to INVITEs the raw UA received, by Call-ID (the first of each). */
function finals(ua: RawUa): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of ua.inbox) {
    const m = r.message;
    if (m?.type !== 'response' || m.status < 200 || !(m.headers.get('cseq') ?? '').endsWith(' INVITE')) continue;
    const callId = m.headers.get('call-id')!;
    if (!out.has(callId)) out.set(callId, m.status);
  }
  return out;
}

/** ACKs every 2xx to an INVITE the UA got (the endpoint stops retransmitting it). */
function ackAll(ua: RawUa, port: number, fromTags: Map<string, string>): void {
  const acked = new Set<string>();
  for (const r of ua.inbox) {
    const m = r.message;
    if (m?.type !== 'response' || m.status !== 200 || !(m.headers.get('cseq') ?? '').endsWith(' INVITE')) continue;
    const callId = m.headers.get('call-id')!;
    if (acked.has(callId)) continue;
    acked.add(callId);
    ua.send(
      request({ method: 'ACK', port, ua, callId, fromTag: fromTags.get(callId)!, toTag: toTagOf(r), cseq: 1 }),
      port,
    );
  }
}

describe('SipEndpoint maxCalls', () => {
  const open = useEndpoints();

  it('never sets up more than maxCalls calls from a burst of INVITEs held in a slow onInvite; the rest get 486', async () => {
    const MAX = 4;
    const BURST = 16;
    const waiting: Array<() => void> = [];
    const invites: SipInvite[] = [];
    const ep = await open.endpoint({
      maxCalls: MAX,
      // Slow: nothing is decided until the test lets it.
      onInvite: (invite) => {
        invites.push(invite);
        return new Promise<boolean>((resolve) => waiting.push(() => resolve(true)));
      },
    });
    const calls: SipCall[] = [];
    ep.on('call', (call) => calls.push(call));
    const u = await open.ua();
    const fromTags = new Map<string, string>();
    for (let i = 0; i < BURST; i++) {
      const callId = token('burst-');
      const fromTag = token('f');
      fromTags.set(callId, fromTag);
      u.send(request({ method: 'INVITE', port: ep.port, ua: u, callId, fromTag, cseq: 1, body: offer(u) }), ep.port);
    }
    // Every INVITE is either in onInvite or refused.
    await until(
      () => invites.length + [...finals(u).values()].filter((s) => s === 486).length >= BURST,
      'every INVITE to be admitted or refused',
    );
    expect(invites.length).toBe(MAX);
    expect([...finals(u).values()]).toEqual(Array.from({ length: BURST - MAX }, () => 486));
    expect(ep.counters.busy).toBe(BURST - MAX);
    // Those admitted are answered once onInvite says so.
    for (const release of waiting.splice(0)) release();
    await until(
      () => [...finals(u).values()].filter((s) => s === 200).length === MAX,
      'the admitted calls to be answered',
    );
    expect(calls).toHaveLength(MAX);
    expect(new Set(calls.map((c) => c.callId))).toEqual(new Set(invites.map((i) => i.callId)));
    ackAll(u, ep.port, fromTags);

    // Full: one more is busy. A call that ends frees its place.
    const extra = token('extra-');
    u.send(
      request({ method: 'INVITE', port: ep.port, ua: u, callId: extra, fromTag: token('f'), cseq: 1, body: offer(u) }),
      ep.port,
    );
    await until(() => finals(u).get(extra) === 486, 'the INVITE beyond maxCalls to be refused');
    const byeFor = calls[0]!;
    u.send(
      request({
        method: 'BYE',
        port: ep.port,
        ua: u,
        callId: byeFor.callId,
        fromTag: fromTags.get(byeFor.callId)!,
        toTag: byeFor.localTag,
        cseq: 2,
      }),
      ep.port,
    );
    await until(() => byeFor.state === 'ended', 'the call to end');
    const next = token('next-');
    u.send(
      request({ method: 'INVITE', port: ep.port, ua: u, callId: next, fromTag: token('f'), cseq: 1, body: offer(u) }),
      ep.port,
    );
    await until(() => invites.length === MAX + 1, 'the next INVITE to reach onInvite');
    for (const release of waiting.splice(0)) release();
    await until(() => finals(u).get(next) === 200, 'the next call to be answered');
  }, 60_000);

  it('gives the place back when the INVITE is refused, cancelled or challenged', async () => {
    const waiting = new Map<string, (decision: boolean) => void>();
    const ep = await open.endpoint({
      maxCalls: 1,
      onInvite: (invite) => new Promise<boolean>((resolve) => waiting.set(invite.callId, resolve)),
    });
    ep.on('call', () => undefined);
    const u = await open.ua();
    const send = (callId: string, fromTag = token('f'), branch = token('z9hG4bK')) => {
      const text = request({
        method: 'INVITE',
        port: ep.port,
        ua: u,
        callId,
        fromTag,
        cseq: 1,
        body: offer(u),
        branch,
      });
      u.send(text, ep.port);
      return { callId, fromTag, branch };
    };

    // Refused by onInvite: the next one gets in.
    const first = send(token('a-'));
    await until(() => waiting.has(first.callId), 'the first INVITE in onInvite');
    const blocked = send(token('b-'));
    await until(() => finals(u).get(blocked.callId) === 486, 'the second INVITE to be busy');
    waiting.get(first.callId)!(false);
    await until(() => finals(u).get(first.callId) === 603, 'the first INVITE declined');

    // Cancelled while onInvite still runs: the place is free at once, not when onInvite returns.
    const second = send(token('c-'));
    await until(() => waiting.has(second.callId), 'the second INVITE in onInvite');
    u.send(
      request({
        method: 'CANCEL',
        port: ep.port,
        ua: u,
        callId: second.callId,
        fromTag: second.fromTag,
        cseq: 1,
        branch: second.branch,
      }),
      ep.port,
    );
    await until(() => finals(u).get(second.callId) === 487, 'the INVITE cancelled');
    const third = send(token('d-'));
    await until(
      () => waiting.has(third.callId),
      'the third INVITE in onInvite although the cancelled one has not returned',
    );
    waiting.get(second.callId)!(true);
    waiting.get(third.callId)!(true);
    await until(() => finals(u).get(third.callId) === 200, 'the third call answered');
    expect(ep.calls.map((c) => c.callId)).toEqual([third.callId]);
  }, 60_000);

  it.skipIf(!SIPP)(
    'holds to maxCalls against a burst of sipp callers',
    async () => {
      const MAX = 3;
      const BURST = 12;
      let settingUp = 0;
      let most = 0;
      let burstDone = false;
      const ep = await open.endpoint({
        maxCalls: MAX,
        // Slow: every admitted INVITE waits in onInvite until the whole burst has been answered
        // one way or the other, so the calls admitted all overlap.
        onInvite: async () => {
          settingUp++;
          most = Math.max(most, settingUp + ep.calls.length);
          await until(() => (burstDone ||= ep.counters.busy + settingUp >= BURST), 'the burst to arrive');
          settingUp--;
          return true;
        },
      });
      const answered: SipCall[] = [];
      ep.on('call', (call) => {
        answered.push(call);
        most = Math.max(most, settingUp + ep.calls.length);
      });
      const run: SippRun = await runSipp({
        scenario: 'uac-burst.xml',
        port: ep.port,
        pauseMs: 300,
        // All the calls at once: 12 of them at 1000 a second, up to 100 open at a time.
        args: ['-m', String(BURST), '-r', '1000', '-l', '100'],
      });
      expect(run.code, `sipp exited ${run.code}\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`).toBe(0);
      expect(answered).toHaveLength(MAX);
      expect(ep.counters.busy).toBe(BURST - MAX);
      expect(most).toBeLessThanOrEqual(MAX);
      expect(run.messages.match(/^SIP\/2\.0 486 /gm)?.length ?? 0).toBeGreaterThanOrEqual(BURST - MAX);
    },
    60_000,
  );

  it('refuses a maxCalls that is not a whole number', () => {
    expect(() => new SipEndpoint({ maxCalls: -1 })).toThrow(/maxCalls/);
    expect(() => new SipEndpoint({ maxCalls: 1.5 })).toThrow(/maxCalls/);
  });
});

describe('SipEndpoint offers it cannot send to', () => {
  const open = useEndpoints();

  function ipv6(sdp: string): string {
    return sdp.replace('c=IN IP4 127.0.0.1', 'c=IN IP6 ::1');
  }

  it('answers an IPv6 offer to an IPv4-only endpoint with 488 and Warning 301; a re-INVITE too, and the call keeps its stream', async () => {
    const ep = await open.endpoint();
    const calls: SipCall[] = [];
    ep.on('call', (call) => calls.push(call));
    const u = await open.ua();
    const refused = token('v6-');
    u.send(
      request({
        method: 'INVITE',
        port: ep.port,
        ua: u,
        callId: refused,
        fromTag: token('f'),
        cseq: 1,
        body: ipv6(offer(u)),
      }),
      ep.port,
    );
    const response = msg(await u.next((r) => r.message?.type === 'response' && r.message.status >= 200, DEADLINE));
    expect(response.type === 'response' && response.status).toBe(488);
    expect(response.headers.get('warning')).toMatch(/^301 127\.0\.0\.1 ".*IPv6.*"$/);
    expect(calls).toHaveLength(0);

    // A call over IPv4 that a re-INVITE tries to move to IPv6: 488, the call goes on where it was.
    const callId = token('v4-');
    const fromTag = token('f');
    u.send(request({ method: 'INVITE', port: ep.port, ua: u, callId, fromTag, cseq: 1, body: offer(u) }), ep.port);
    const ok = await u.response(200, 'INVITE', DEADLINE);
    const toTag = toTagOf(ok);
    u.send(request({ method: 'ACK', port: ep.port, ua: u, callId, fromTag, toTag, cseq: 1 }), ep.port);
    await until(() => calls.length === 1, 'the call');
    u.send(
      request({ method: 'INVITE', port: ep.port, ua: u, callId, fromTag, toTag, cseq: 2, body: ipv6(offer(u)) }),
      ep.port,
    );
    const again = msg(
      await u.next(
        (r) =>
          r.message?.type === 'response' && r.message.status >= 200 && r.message.headers.get('cseq') === '2 INVITE',
        DEADLINE,
      ),
    );
    expect(again.type === 'response' && again.status).toBe(488);
    expect(calls[0]!.rtp.remote).toEqual({ address: '127.0.0.1', port: u.rtpPort });
    expect(calls[0]!.state).toBe('confirmed');
  }, 30_000);

  it('takes both families with RTP bound to ::, and sends to an IPv4 caller through a mapped address', async () => {
    const ep = await open.endpoint({ rtp: { host: '::', ports: { min: 30000, max: 40000 }, timeoutMs: null } });
    const calls: SipCall[] = [];
    ep.on('call', (call) => calls.push(call));
    const u = await open.ua();
    const v6 = token('v6-');
    u.send(
      request({
        method: 'INVITE',
        port: ep.port,
        ua: u,
        callId: v6,
        fromTag: token('f'),
        cseq: 1,
        body: ipv6(offer(u)),
      }),
      ep.port,
    );
    await until(() => finals(u).get(v6) !== undefined, 'the answer to the IPv6 offer');
    expect(finals(u).get(v6)).toBe(200);
    const callId = token('v4-');
    const fromTag = token('f');
    u.send(request({ method: 'INVITE', port: ep.port, ua: u, callId, fromTag, cseq: 1, body: offer(u) }), ep.port);
    const ok = await u.next(
      (r) => r.message?.type === 'response' && r.message.status === 200 && r.message.headers.get('call-id') === callId,
      DEADLINE,
    );
    u.send(request({ method: 'ACK', port: ep.port, ua: u, callId, fromTag, toTag: toTagOf(ok), cseq: 1 }), ep.port);
    await until(() => calls.some((c) => c.callId === callId), 'the IPv4 call');
    const call = calls.find((c) => c.callId === callId)!;
    expect(call.sendDtmf('5')).toBe(true);
    await until(() => u.rtpInbox.length >= 3, "the digit's RTP at the IPv4 caller");
    expect(call.rtp.counters.unsent).toBe(0);
  }, 30_000);

  it('knows which address families an RTP socket can send to', () => {
    expect([...rtpFamilies('0.0.0.0')]).toEqual([4]);
    expect([...rtpFamilies('127.0.0.1')]).toEqual([4]);
    expect([...rtpFamilies('::1')]).toEqual([6]);
    expect([...rtpFamilies('::')].sort()).toEqual([4, 6]);
  });
});

describe('SipEndpoint stream ids', () => {
  const open = useEndpoints();

  it('gives every call a stream id of its own, even when the caller labels every stream alike', async () => {
    const ep = await open.endpoint();
    const starts: string[] = [];
    ep.on('call', (call) => call.transport.on('call_start', (event) => starts.push(event.streamId)));
    const u = await open.ua();
    const labelled = offer(u, '0 101 13', ['a=label:1']);
    const callIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const callId = token('label-');
      const fromTag = token('f');
      callIds.push(callId);
      u.send(request({ method: 'INVITE', port: ep.port, ua: u, callId, fromTag, cseq: 1, body: labelled }), ep.port);
      // This call's 200 OK: on a loaded machine the previous one's may come again before its ACK landed.
      const ok = await u.next(
        (r) =>
          r.message?.type === 'response' &&
          r.message.status === 200 &&
          r.message.headers.get('call-id') === callId &&
          (r.message.headers.get('cseq') ?? '').endsWith(' INVITE'),
        DEADLINE,
      );
      u.send(request({ method: 'ACK', port: ep.port, ua: u, callId, fromTag, toTag: toTagOf(ok), cseq: 1 }), ep.port);
    }
    await until(() => starts.length === 3, 'three call_start events');
    expect(new Set(starts).size).toBe(3);
    // The label still shows: the Call-ID, then the label.
    expect([...starts].sort()).toEqual(callIds.map((callId) => `${callId}/1`).sort());
  }, 30_000);
});
