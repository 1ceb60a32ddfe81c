/**
 * The endpoint's SIP mechanics against a bare UDP user agent, with short RFC 3261 timers:
 * retransmissions, ACK handling, CANCEL/BYE/OPTIONS answers, hang-up, transfer, allow list.
 */
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SipEndpoint, type SipCall, type SipEndpointOptions } from '../src/index.js';
import { bodyText } from '../src/endpoint/sip/message.js';
import { TimerSet } from '../src/endpoint/sip/transactions.js';
import { RawUa, answerTo, msg, offer, request, toTagOf, token } from './sipp/raw-ua.js';
import { RTP_PORTS, T1, endpointWith as endpointWithoutModel } from './support/endpoint.js';

/**
 * An endpoint without a model, with the default RTP timeout; an INVITE whose custom parameter Reject names a status is
 * refused with it.
 */
function endpointWith(options: SipEndpointOptions = {}): Promise<SipEndpoint> {
  return endpointWithoutModel({
    rtp: { ports: RTP_PORTS },
    onInvite: (invite) => {
      const status = invite.customParameters['Reject'];
      return status ? { status: Number(status) } : true;
    },
    ...options,
  });
}

function branchOf(text: string): string {
  return /branch=([^;\s]+)/.exec(text)![1]!;
}

describe('SipEndpoint transactions and dialogs', () => {
  let endpoint: SipEndpoint;
  let ua: RawUa;
  const calls: SipCall[] = [];

  beforeAll(async () => {
    endpoint = await endpointWith();
    endpoint.on('call', (call) => calls.push(call));
  });

  afterEach(() => {
    ua?.close();
    ua = undefined as unknown as RawUa;
  });

  afterAll(async () => {
    await endpoint.close();
  });

  function nextCall(ep = endpoint): Promise<SipCall> {
    return new Promise((resolve) => ep.once('call', resolve));
  }

  async function establish(ep = endpoint, headers: string[] = []) {
    const callId = token('call-');
    const fromTag = token('f');
    const invite = request({ method: 'INVITE', port: ep.port, ua, callId, fromTag, cseq: 1, body: offer(ua), headers });
    const called = nextCall(ep);
    ua.send(invite, ep.port);
    const ok = await ua.response(200, 'INVITE');
    const toTag = toTagOf(ok);
    ua.send(request({ method: 'ACK', port: ep.port, ua, callId, fromTag, toTag, cseq: 1 }), ep.port);
    const call = await called;
    return { callId, fromTag, toTag, call, invite, ok };
  }

  it('retransmits the 200 OK with T1 doubling up to T2 until the ACK, then stops', async () => {
    ua = await RawUa.open();
    const callId = token('call-');
    const fromTag = token('f');
    // The waits the endpoint schedules (what arrives when depends on how loaded the machine is).
    const waits: number[] = [];
    const schedule = TimerSet.prototype.after;
    const spy = vi.spyOn(TimerSet.prototype, 'after').mockImplementation(function (
      this: TimerSet,
      ms: number,
      fn: () => void,
    ) {
      waits.push(ms);
      return schedule.call(this, ms, fn);
    });
    try {
      ua.send(
        request({ method: 'INVITE', port: endpoint.port, ua, callId, fromTag, cseq: 1, body: offer(ua) }),
        endpoint.port,
      );
      await ua.response(100, 'INVITE');
      await ua.response(180, 'INVITE');
      for (let i = 0; i < 6; i++) await ua.response(200, 'INVITE');
    } finally {
      spy.mockRestore();
    }
    // The 2xx retransmissions: T1, doubling, capped at T2 (40, 80, 160, 320, 320 ms), beside the
    // 64×T1 give-up timer.
    expect(waits.filter((ms) => ms !== 64 * T1).slice(0, 5)).toEqual([T1, 2 * T1, 4 * T1, 8 * T1, 8 * T1]);
    expect(waits).toContain(64 * T1);
    const toTag = toTagOf(ua.inbox.at(-1)!);
    ua.send(request({ method: 'ACK', port: endpoint.port, ua, callId, fromTag, toTag, cseq: 1 }), endpoint.port);
    const after = await ua.quiet(3 * 8 * T1);
    expect(after.filter((r) => r.message?.type === 'response')).toHaveLength(0);
    const call = calls.find((c) => c.callId === callId)!;
    expect(call.state).toBe('confirmed');
    void call.hangup();
  });

  it('hangs up with a BYE when the 200 OK is never acknowledged (64×T1)', async () => {
    ua = await RawUa.open();
    const callId = token('call-');
    ua.send(
      request({ method: 'INVITE', port: endpoint.port, ua, callId, fromTag: token('f'), cseq: 1, body: offer(ua) }),
      endpoint.port,
    );
    const ok = await ua.response(200, 'INVITE');
    const bye = await ua.request('BYE', 64 * T1 + 2000);
    expect(bye.at - ok.at).toBeGreaterThan(64 * T1 - 50);
    const call = calls.find((c) => c.callId === callId)!;
    expect(call.endReason).toBe('ack_timeout');
    // The BYE is in the dialog: our From tag in its To, the endpoint's tag in its From.
    const byeMsg = msg(bye);
    expect(byeMsg.headers.get('to')).toContain(`tag=`);
    expect(byeMsg.headers.get('from')).toContain(`tag=${toTagOf(ok)}`);
    expect(byeMsg.type === 'request' && byeMsg.uri).toBe(`sip:raw@127.0.0.1:${ua.port}`);
  });

  it('hanging up before the ACK keeps the 200 OK going and sends the BYE only once the ACK came', async () => {
    ua = await RawUa.open();
    const callId = token('call-');
    const fromTag = token('f');
    const called = nextCall();
    ua.send(
      request({ method: 'INVITE', port: endpoint.port, ua, callId, fromTag, cseq: 1, body: offer(ua) }),
      endpoint.port,
    );
    const ok = await ua.response(200, 'INVITE');
    const call = await called;
    const done = call.hangup();
    // The media stops at once; the caller may not even have the 200 OK: it goes on, with no BYE yet.
    expect(call.state).toBe('ended');
    expect(call.rtp.closed).toBe(true);
    const meanwhile = await ua.quiet(4 * T1);
    expect(meanwhile.some((r) => r.message?.type === 'request' && r.message.method === 'BYE')).toBe(false);
    expect(meanwhile.some((r) => r.message?.type === 'response' && r.message.status === 200)).toBe(true);
    ua.send(
      request({ method: 'ACK', port: endpoint.port, ua, callId, fromTag, toTag: toTagOf(ok), cseq: 1 }),
      endpoint.port,
    );
    const bye = msg(await ua.request('BYE'));
    expect(bye.headers.get('from')).toContain(`tag=${toTagOf(ok)}`);
    ua.send(answerTo(bye), endpoint.port);
    await done;
    // The 200 OK retransmissions stopped with the ACK.
    expect((await ua.quiet(3 * 8 * T1)).filter((r) => r.message?.type === 'response')).toHaveLength(0);
    expect(endpoint.calls).not.toContain(call);
  });

  it('answers 482 to a copy of an answered INVITE that came another way (a merged request)', async () => {
    ua = await RawUa.open();
    const callId = token('call-');
    const fromTag = token('f');
    const invite = request({ method: 'INVITE', port: endpoint.port, ua, callId, fromTag, cseq: 1, body: offer(ua) });
    ua.send(invite, endpoint.port);
    const ok = await ua.response(200, 'INVITE');
    // The same request forked through another proxy: same Call-ID, From tag and CSeq, another branch.
    ua.send(invite.replace(branchOf(invite), token('z9hG4bK')), endpoint.port);
    await ua.response(482, 'INVITE');
    const call = calls.find((c) => c.callId === callId)!;
    const confirmed = new Promise<void>((resolve) => call.once('confirmed', () => resolve()));
    ua.send(
      request({ method: 'ACK', port: endpoint.port, ua, callId, fromTag, toTag: toTagOf(ok), cseq: 1 }),
      endpoint.port,
    );
    await confirmed;
    expect(calls.filter((c) => c.callId === callId)).toHaveLength(1);
    void call.hangup();
  });

  it('answers a retransmitted BYE from its cache and ends the call once', async () => {
    ua = await RawUa.open();
    const { callId, fromTag, toTag, call } = await establish();
    let ended = 0;
    call.on('ended', () => ended++);
    const bye = request({ method: 'BYE', port: endpoint.port, ua, callId, fromTag, toTag, cseq: 2 });
    ua.send(bye, endpoint.port);
    const first = await ua.response(200, 'BYE');
    ua.send(bye, endpoint.port);
    const second = await ua.response(200, 'BYE');
    expect(second.text).toBe(first.text);
    expect(ended).toBe(1);
    expect(call.endReason).toBe('bye');
    expect(call.transport.status).toBe('disconnected');
    expect(call.transport.callStart?.callId).toBe(callId);
    // A BYE for the ended dialog, in a new transaction: 481.
    ua.send(request({ method: 'BYE', port: endpoint.port, ua, callId, fromTag, toTag, cseq: 3 }), endpoint.port);
    await ua.response(481, 'BYE');
  });

  it('retransmits a 3xx–6xx to an INVITE until its ACK, which the transaction absorbs', async () => {
    ua = await RawUa.open();
    const callId = token('call-');
    const fromTag = token('f');
    const invite = request({
      method: 'INVITE',
      port: endpoint.port,
      ua,
      callId,
      fromTag,
      cseq: 1,
      body: offer(ua),
      headers: ['X-Reject: 486'],
    });
    ua.send(invite, endpoint.port);
    const busy = await ua.response(486, 'INVITE');
    await ua.response(486, 'INVITE');
    await ua.response(486, 'INVITE');
    const ack = request({
      method: 'ACK',
      port: endpoint.port,
      ua,
      callId,
      fromTag,
      toTag: toTagOf(busy),
      cseq: 1,
      branch: branchOf(invite),
    });
    ua.send(ack, endpoint.port);
    const after = await ua.quiet(10 * T1);
    expect(after.filter((r) => r.message?.type === 'response' && r.message.status === 486).length).toBeLessThanOrEqual(
      1,
    );
    expect(await ua.quiet(8 * T1 + 100)).toHaveLength(0);
    expect(calls.some((c) => c.callId === callId)).toBe(false);
  });

  it('answers what it does not do with the right status', async () => {
    ua = await RawUa.open();
    const port = endpoint.port;
    const base = { port, ua, fromTag: token('f') };
    const cases: Array<[string, number, (r: ReturnType<typeof msg>) => void]> = [
      [request({ ...base, method: 'CANCEL', callId: token('c'), cseq: 1 }), 481, () => undefined],
      [request({ ...base, method: 'BYE', callId: token('c'), cseq: 1 }), 481, () => undefined],
      [request({ ...base, method: 'FROBNICATE', callId: token('c'), cseq: 1 }), 501, () => undefined],
      [
        request({ ...base, method: 'REGISTER', callId: token('c'), cseq: 1 }),
        405,
        (r) => expect(r.headers.get('allow')).toContain('INVITE'),
      ],
      [
        request({ ...base, method: 'OPTIONS', callId: token('c'), cseq: 1, headers: ['Require: 100rel, timer'] }),
        420,
        (r) => expect(r.headers.get('unsupported')).toBe('100rel'),
      ],
      [
        request({ ...base, method: 'INVITE', callId: token('c'), cseq: 1, body: 'hello', contentType: 'text/plain' }),
        415,
        (r) => expect(r.headers.get('accept')).toBe('application/sdp'),
      ],
      [
        request({ ...base, method: 'INVITE', callId: token('c'), cseq: 1, body: offer(ua, '18') }),
        488,
        () => undefined,
      ],
      [
        request({
          ...base,
          method: 'INVITE',
          callId: token('c'),
          cseq: 1,
          body: offer(ua).replace('RTP/AVP', 'RTP/SAVP'),
        }),
        488,
        () => undefined,
      ],
      [
        request({ ...base, method: 'OPTIONS', callId: token('c'), cseq: 1, uri: 'http://example.com/' }),
        416,
        () => undefined,
      ],
      [
        request({ ...base, method: 'OPTIONS', callId: token('c'), cseq: 1 }).replace('SIP/2.0\r\n', 'SIP/3.0\r\n'),
        505,
        () => undefined,
      ],
      [
        request({ ...base, method: 'OPTIONS', callId: token('c'), cseq: 1 }),
        200,
        (r) => expect(r.headers.get('allow')).toContain('BYE'),
      ],
    ];
    for (const [text, status, check] of cases) {
      ua.send(text, port);
      // This request's answer, not a retransmission of the last one's (a slow machine's ACK is late).
      const callId = /^Call-ID: (\S+)$/m.exec(text)![1];
      const response = await ua.next(
        (r) => r.message?.type === 'response' && r.message.status >= 200 && r.message.headers.get('call-id') === callId,
      );
      const message = msg(response);
      expect(message.type === 'response' && message.status, text.split('\r\n')[0]).toBe(status);
      // Every final response to a request outside a dialog carries a To tag (RFC 3261 §8.2.6.2).
      expect(message.headers.get('to')).toContain(';tag=');
      check(message);
    }
  });

  it('hangs up with a BYE, retransmitted until answered', async () => {
    ua = await RawUa.open();
    const { call, fromTag, toTag } = await establish();
    const done = call.hangup();
    const bye1 = await ua.request('BYE');
    const bye2 = await ua.request('BYE');
    expect(branchOf(bye2.text)).toBe(branchOf(bye1.text));
    const bye = msg(bye1);
    expect(bye.headers.get('from')).toContain(`tag=${toTag}`);
    expect(bye.headers.get('to')).toContain(`tag=${fromTag}`);
    if (bye.type !== 'request') throw new Error('not a request');
    ua.send(answerTo(bye), endpoint.port);
    await done;
    expect(call.state).toBe('ended');
    expect(call.endReason).toBe('hangup');
    expect(call.transport.status).toBe('disconnected');
    expect(call.rtp.closed).toBe(true);
  });

  it('copies Record-Route into the 180 and the 200 OK, and sends its BYE along that route set', async () => {
    ua = await RawUa.open();
    // The first proxy is the raw UA itself, so the BYE arrives here.
    const routes = [`<sip:127.0.0.1:${ua.port};lr>`, '<sip:edge.invalid;lr>'];
    const callId = token('call-');
    const fromTag = token('f');
    const called = nextCall();
    ua.send(
      request({
        method: 'INVITE',
        port: endpoint.port,
        ua,
        callId,
        fromTag,
        cseq: 1,
        body: offer(ua),
        headers: routes.map((r) => `Record-Route: ${r}`),
      }),
      endpoint.port,
    );
    const ringing = msg(await ua.response(180, 'INVITE'));
    const ok = await ua.response(200, 'INVITE');
    expect(ringing.headers.getAll('record-route')).toEqual(routes);
    expect(msg(ok).headers.getAll('record-route')).toEqual(routes);
    ua.send(
      request({
        method: 'ACK',
        port: endpoint.port,
        ua,
        callId,
        fromTag,
        toTag: toTagOf(ok),
        cseq: 1,
        headers: routes.map((r) => `Route: ${r}`),
      }),
      endpoint.port,
    );
    const call = await called;
    const done = call.hangup();
    const bye = msg(await ua.request('BYE'));
    expect(bye.headers.getAll('route')).toEqual(routes);
    expect(bye.type === 'request' && bye.uri).toBe(`sip:raw@127.0.0.1:${ua.port}`);
    ua.send(answerTo(bye), endpoint.port);
    await done;
  });

  it('transfers with REFER, follows the NOTIFYs, and hangs up when the transfer succeeded', async () => {
    ua = await RawUa.open();
    const { call, callId, fromTag, toTag } = await establish();
    const progress: Array<{ status: number; final: boolean }> = [];
    call.on('transfer', (p) => progress.push({ status: p.status, final: p.final }));
    const transferred = call.transfer('sip:bob@example.com');
    const refer = msg(await ua.request('REFER'));
    expect(refer.headers.get('refer-to')).toBe('<sip:bob@example.com>');
    expect(refer.headers.get('referred-by')).toContain('sip:agent@');
    ua.send(answerTo(refer, 202, 'Accepted'), endpoint.port);
    await transferred;
    const notify = (cseq: number, fragment: string, state: string) =>
      request({
        method: 'NOTIFY',
        port: endpoint.port,
        ua,
        callId,
        fromTag,
        toTag,
        cseq,
        headers: ['Event: refer', `Subscription-State: ${state}`],
        body: `${fragment}\r\n`,
        contentType: 'message/sipfrag;version=2.0',
      });
    ua.send(notify(2, 'SIP/2.0 100 Trying', 'active;expires=60'), endpoint.port);
    await ua.response(200, 'NOTIFY');
    ua.send(notify(3, 'SIP/2.0 200 OK', 'terminated;reason=noresource'), endpoint.port);
    await ua.response(200, 'NOTIFY');
    const bye = msg(await ua.request('BYE'));
    ua.send(answerTo(bye), endpoint.port);
    expect(progress).toEqual([
      { status: 100, final: false },
      { status: 200, final: true },
    ]);
    expect(call.endReason).toBe('hangup');
  });

  it('refuses a transfer target that is not a URI, and reports a refused REFER', async () => {
    ua = await RawUa.open();
    const { call } = await establish();
    await expect(call.transfer('bob')).rejects.toThrow(/sip:, sips: or tel:/);
    const transferred = call.transfer('tel:+15550001111');
    const refer = msg(await ua.request('REFER'));
    ua.send(answerTo(refer, 603, 'Decline'), endpoint.port);
    await expect(transferred).rejects.toThrow(/603/);
    void call.hangup();
  });

  it('hangs up when the application closes the transport', async () => {
    ua = await RawUa.open();
    const { call } = await establish();
    call.transport.close();
    await ua.request('BYE');
    expect(call.state).toBe('ended');
    expect(call.endReason).toBe('hangup');
  });

  it('turns SIP INFO digits into dtmf events', async () => {
    ua = await RawUa.open();
    const { call, callId, fromTag, toTag } = await establish();
    const digits: Array<{ digit: string; durationMs?: number }> = [];
    call.transport.on('dtmf', (e) => digits.push({ digit: e.digit, durationMs: e.durationMs }));
    ua.send(
      request({
        method: 'INFO',
        port: endpoint.port,
        ua,
        callId,
        fromTag,
        toTag,
        cseq: 2,
        body: 'Signal=5\r\nDuration=160\r\n',
        contentType: 'application/dtmf-relay',
      }),
      endpoint.port,
    );
    await ua.response(200, 'INFO');
    ua.send(
      request({
        method: 'INFO',
        port: endpoint.port,
        ua,
        callId,
        fromTag,
        toTag,
        cseq: 3,
        body: '#',
        contentType: 'application/dtmf',
      }),
      endpoint.port,
    );
    await ua.response(200, 'INFO');
    expect(digits).toEqual([
      { digit: '5', durationMs: 160 },
      { digit: '#', durationMs: undefined },
    ]);
    // A CSeq lower than the last one is out of order (RFC 3261 §12.2.2).
    ua.send(
      request({
        method: 'INFO',
        port: endpoint.port,
        ua,
        callId,
        fromTag,
        toTag,
        cseq: 1,
        body: '1',
        contentType: 'application/dtmf',
      }),
      endpoint.port,
    );
    await ua.response(500, 'INFO');
    void call.hangup();
  });

  it('offers in the 200 OK when the INVITE has no SDP, and starts the call from the answer in the ACK', async () => {
    ua = await RawUa.open();
    const callId = token('call-');
    const fromTag = token('f');
    const called = nextCall();
    ua.send(request({ method: 'INVITE', port: endpoint.port, ua, callId, fromTag, cseq: 1 }), endpoint.port);
    const ok = await ua.response(200, 'INVITE');
    const sdp = bodyText(msg(ok));
    expect(sdp).toMatch(/m=audio \d+ RTP\/AVP 0 8 101 13/);
    ua.send(
      request({
        method: 'ACK',
        port: endpoint.port,
        ua,
        callId,
        fromTag,
        toTag: toTagOf(ok),
        cseq: 1,
        body: offer(ua, '8 101'),
      }),
      endpoint.port,
    );
    const call = await called;
    expect(call.media?.codec).toBe('pcma');
    expect(call.transport.callStart?.format.encoding).toBe('pcma');
    void call.hangup();
  });

  it('answers a re-INVITE; a new codec starts a new stream on the transport', async () => {
    ua = await RawUa.open();
    const { call, callId, fromTag, toTag } = await establish();
    const starts: string[] = [];
    call.transport.on('call_start', (e) => starts.push(e.format.encoding));
    ua.send(
      request({ method: 'INVITE', port: endpoint.port, ua, callId, fromTag, toTag, cseq: 2, body: offer(ua, '8 101') }),
      endpoint.port,
    );
    const ok = await ua.response(200, '2 INVITE');
    expect(bodyText(msg(ok))).toMatch(/RTP\/AVP 8 101/);
    expect(bodyText(msg(ok))).toMatch(/o=- \d+ 2 IN IP4/);
    ua.send(request({ method: 'ACK', port: endpoint.port, ua, callId, fromTag, toTag, cseq: 2 }), endpoint.port);
    expect(starts).toEqual(['pcma']);
    expect(call.transport.carrierFormat.encoding).toBe('pcma');
    // A refresh with the same offer changes nothing.
    ua.send(
      request({ method: 'INVITE', port: endpoint.port, ua, callId, fromTag, toTag, cseq: 3, body: offer(ua, '8 101') }),
      endpoint.port,
    );
    await ua.response(200, '3 INVITE');
    expect(starts).toEqual(['pcma']);
    void call.hangup();
    expect(endpoint.calls).not.toContain(call);
  });

  it("takes a re-INVITE's Contact as the new remote target and its offer as the call's stream", async () => {
    ua = await RawUa.open();
    const moved = await RawUa.open();
    try {
      const { call, callId, fromTag, toTag } = await establish();
      // A PBX moves the call: the re-INVITE names another contact and another codec.
      ua.send(
        request({
          method: 'INVITE',
          port: endpoint.port,
          ua,
          callId,
          fromTag,
          toTag,
          cseq: 2,
          body: offer(ua, '8 101'),
        }).replace(`Contact: <sip:raw@127.0.0.1:${ua.port}>`, `Contact: <sip:raw@127.0.0.1:${moved.port}>`),
        endpoint.port,
      );
      await ua.response(200, '2 INVITE');
      ua.send(request({ method: 'ACK', port: endpoint.port, ua, callId, fromTag, toTag, cseq: 2 }), endpoint.port);
      expect(call.media?.codec).toBe('pcma');
      void call.hangup();
      const bye = msg(await moved.request('BYE'));
      expect(bye.type === 'request' && bye.uri).toBe(`sip:raw@127.0.0.1:${moved.port}`);
    } finally {
      moved.close();
    }
  });

  it('reads only allowed source addresses', async () => {
    ua = await RawUa.open();
    const closed = await endpointWith({ allow: ['10.0.0.0/8', '2001:db8::/32'] });
    const open = await endpointWith({ allow: ['10.0.0.0/8', '127.0.0.0/8'] });
    try {
      ua.send(
        request({ method: 'OPTIONS', port: closed.port, ua, callId: token('c'), fromTag: token('f'), cseq: 1 }),
        closed.port,
      );
      ua.send(
        request({ method: 'OPTIONS', port: open.port, ua, callId: token('c'), fromTag: token('f'), cseq: 1 }),
        open.port,
      );
      await ua.response(200, 'OPTIONS');
      expect(await ua.quiet(200)).toHaveLength(0);
      expect(closed.counters.dropped).toBe(1);
      expect(closed.counters.requests).toBe(0);
      expect(open.counters.requests).toBe(1);
    } finally {
      await closed.close();
      await open.close();
    }
  });

  it("answers over a new TCP connection to the Via port once the request's connection closed", async () => {
    // The caller's listening port, named in its Via; its request comes from another (ephemeral) one.
    const received: string[] = [];
    const listener = createServer((socket) => socket.on('data', (chunk) => received.push(chunk.toString('utf8'))));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const listenPort = (listener.address() as AddressInfo).port;
    let decide!: (status: number) => void;
    const decision = new Promise<number>((resolve) => (decide = resolve));
    const tcp = await endpointWith({
      transports: ['tcp'],
      ringing: false,
      onInvite: async () => ({ status: await decision }),
    });
    const client = connect({ host: '127.0.0.1', port: tcp.port });
    try {
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      const trying = new Promise<void>((resolve) =>
        client.on('data', (chunk) => chunk.toString('utf8').startsWith('SIP/2.0 100') && resolve()),
      );
      client.write(
        [
          `INVITE sip:agent@127.0.0.1:${tcp.port};transport=tcp SIP/2.0`,
          `Via: SIP/2.0/TCP 127.0.0.1:${listenPort};branch=${token('z9hG4bK')}`,
          `From: <sip:caller@127.0.0.1:${listenPort}>;tag=${token('f')}`,
          `To: <sip:agent@127.0.0.1:${tcp.port}>`,
          `Call-ID: ${token('tcp-')}`,
          'CSeq: 1 INVITE',
          `Contact: <sip:caller@127.0.0.1:${listenPort};transport=tcp>`,
          'Max-Forwards: 70',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
      await trying;
      client.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      decide(486);
      const deadline = Date.now() + 3000;
      while (!received.join('').includes('SIP/2.0 486') && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(received.join('')).toContain('SIP/2.0 486');
    } finally {
      client.destroy();
      await tcp.close();
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it('answers 500 with the To tag of its 180 when deciding on the INVITE fails', async () => {
    ua = await RawUa.open();
    const failing = await endpointWith({
      onInvite: () => {
        throw new Error('the routing database is down');
      },
    });
    const errors: unknown[] = [];
    failing.on('error', (error) => errors.push(error));
    try {
      ua.send(
        request({
          method: 'INVITE',
          port: failing.port,
          ua,
          callId: token('call-'),
          fromTag: token('f'),
          cseq: 1,
          body: offer(ua),
        }),
        failing.port,
      );
      const ringing = await ua.response(180, 'INVITE');
      const failed = await ua.response(500, 'INVITE');
      expect(toTagOf(failed)).toBe(toTagOf(ringing));
      expect(errors).toHaveLength(1);
    } finally {
      await failing.close();
    }
  });

  it('reads no request from a host it connected to itself unless the allow list lets it in', async () => {
    ua = await RawUa.open();
    // The caller (allowed) names a Contact over TCP on a host the allow list leaves out.
    const evilRequests: string[] = [];
    const evil = createServer((socket) => {
      socket.once('data', () => {
        // Answer our BYE with a request of its own, on the connection the endpoint opened.
        socket.write(
          [
            `OPTIONS sip:agent@127.0.0.1 SIP/2.0`,
            `Via: SIP/2.0/TCP 127.0.0.2:5060;branch=${token('z9hG4bK')}`,
            `From: <sip:evil@127.0.0.2>;tag=${token('f')}`,
            'To: <sip:agent@127.0.0.1>',
            `Call-ID: ${token('evil-')}`,
            'CSeq: 1 OPTIONS',
            'Max-Forwards: 70',
            'Content-Length: 0',
            '',
            '',
          ].join('\r\n'),
        );
        socket.on('data', (chunk) => evilRequests.push(chunk.toString('utf8')));
      });
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.2', resolve));
    const evilPort = (evil.address() as AddressInfo).port;
    const guarded = await endpointWith({ allow: ['127.0.0.1/32'] });
    try {
      const callId = token('call-');
      const fromTag = token('f');
      const called = new Promise<SipCall>((resolve) => guarded.once('call', resolve));
      const invite = request({
        method: 'INVITE',
        port: guarded.port,
        ua,
        callId,
        fromTag,
        cseq: 1,
        body: offer(ua),
      }).replace(`Contact: <sip:raw@127.0.0.1:${ua.port}>`, `Contact: <sip:evil@127.0.0.2:${evilPort};transport=tcp>`);
      ua.send(invite, guarded.port);
      const ok = await ua.response(200, 'INVITE');
      ua.send(
        request({ method: 'ACK', port: guarded.port, ua, callId, fromTag, toTag: toTagOf(ok), cseq: 1 }),
        guarded.port,
      );
      const call = await called;
      void call.hangup();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(evilRequests.join('')).not.toContain('SIP/2.0 200');
      expect(guarded.counters.dropped).toBeGreaterThan(0);
    } finally {
      await guarded.close();
      await new Promise((resolve) => evil.close(resolve));
    }
  });

  it('leaves no timer behind once closed', async () => {
    const quiet = new SipEndpoint({ host: '127.0.0.1', port: 0, transports: ['udp', 'tcp'] });
    await quiet.listen();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await quiet.close();
      // The wait for the calls' BYEs (at most 2 s) must not outlive close() and hold the process up.
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('settles every transaction and timer once the calls are over', async () => {
    await new Promise((resolve) => setTimeout(resolve, 64 * T1 + 500));
    expect(endpoint.calls).toHaveLength(0);
    expect(endpoint.transactions).toBe(0);
  }, 10_000);
});
