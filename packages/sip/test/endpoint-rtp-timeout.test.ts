/**
 * The RTP timeout: a call whose far end sends no RTP (nor RTCP) is hung up with a BYE; a call on
 * hold follows the hold timeout instead, and the RTP timeout again once resumed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { SipEndpoint, type SipCall, type SipEndpointOptions } from '../src/endpoint/index.js';
import { serializeRtp } from '../src/endpoint/rtp/packet.js';
import type { SipMessage } from '../src/endpoint/sip/message.js';
import { RawUa, msg, offer, request, toTagOf, token } from './sipp/raw-ua.js';

const T1 = 40;
/** The RTP timeout of these tests, ms. */
const RTP_TIMEOUT = 300;
/** How long a test waits for something that must happen (a loaded machine may be slow). */
const DEADLINE = 15_000;

async function endpointWith(options: SipEndpointOptions = {}): Promise<SipEndpoint> {
  const endpoint = new SipEndpoint({
    host: '127.0.0.1',
    port: 0,
    transports: ['udp'],
    timers: { t1: T1, t2: 8 * T1, t4: 10 * T1 },
    ...options,
    rtp: { ports: { min: 30000, max: 40000 }, timeoutMs: RTP_TIMEOUT, ...options.rtp },
    // No model here: the transport only buffers the caller's audio.
    transport: { url: 'ws://127.0.0.1:9/v1/realtime' },
  });
  await endpoint.listen();
  return endpoint;
}

/** The raw UA's answer to a request the endpoint sent. */
function answerTo(of: SipMessage, status = 200, reason = 'OK'): string {
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...of.headers.getAll('via').map((v) => `Via: ${v}`),
    `From: ${of.headers.get('from')}`,
    `To: ${of.headers.get('to')}`,
    `Call-ID: ${of.headers.get('call-id')}`,
    `CSeq: ${of.headers.get('cseq')}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function held(sdp: string, direction: 'sendonly' | 'inactive' | 'recvonly'): string {
  return sdp.replace('a=sendrecv', `a=${direction}`);
}

/** Polls `condition` until it holds, or fails after `DEADLINE`. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const end = performance.now() + DEADLINE;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('SipEndpoint RTP timeout', () => {
  let endpoint: SipEndpoint;
  let ua: RawUa;

  beforeAll(async () => {
    endpoint = await endpointWith({ rtp: { holdTimeoutMs: null } });
    endpoint.on('call', () => undefined);
  });

  afterEach(() => {
    ua?.close();
    ua = undefined as unknown as RawUa;
  });

  afterAll(async () => {
    await endpoint.close();
  });

  /** INVITE, 200 OK, ACK: the call, its dialog, and where the endpoint takes RTP. */
  async function establish(ep: SipEndpoint, body = offer(ua)) {
    const callId = token('call-');
    const fromTag = token('f');
    const called = new Promise<SipCall>((resolve) => ep.once('call', resolve));
    ua.send(request({ method: 'INVITE', port: ep.port, ua, callId, fromTag, cseq: 1, body }), ep.port);
    const ok = await ua.response(200, 'INVITE', DEADLINE);
    const toTag = toTagOf(ok);
    ua.send(request({ method: 'ACK', port: ep.port, ua, callId, fromTag, toTag, cseq: 1 }), ep.port);
    const call = await called;
    const rtpPort = Number(/m=audio (\d+)/.exec(new TextDecoder().decode(msg(ok).body))![1]);
    let cseq = 1;
    const reinvite = async (sdp: string) => {
      cseq++;
      ua.send(request({ method: 'INVITE', port: ep.port, ua, callId, fromTag, toTag, cseq, body: sdp }), ep.port);
      // This re-INVITE's 200 OK: not a retransmission of an earlier one (a slow machine's ACK may be late).
      await ua.next((r) => r.message?.type === 'response' && r.message.status === 200 && r.message.headers.get('cseq') === `${cseq} INVITE`, DEADLINE);
      ua.send(request({ method: 'ACK', port: ep.port, ua, callId, fromTag, toTag, cseq }), ep.port);
    };
    return { call, callId, fromTag, toTag, rtpPort, reinvite };
  }

  /**
   * Sends RTP every 20 ms until stopped: keeps a call up while the test sets up what it checks
   * (however slow the machine, the RTP timeout cannot run out before the hold it tests).
   */
  function keepAlive(rtpPort: number): () => void {
    let seq = 0;
    const send = () => {
      ua.sendRtp(serializeRtp({ payloadType: 0, marker: seq === 0, sequence: seq, timestamp: 160 * seq, ssrc: 0xabc, payload: new Uint8Array(160).fill(0xff) }), rtpPort);
      seq++;
    };
    send();
    const timer = setInterval(send, 20);
    return () => clearInterval(timer);
  }

  /** The BYE the endpoint sends, answered. */
  async function byeFromEndpoint(ep: SipEndpoint): Promise<SipMessage> {
    const bye = msg(await ua.request('BYE', DEADLINE));
    ua.send(answerTo(bye), ep.port);
    return bye;
  }

  it('hangs up with a BYE when no RTP comes for the RTP timeout', async () => {
    ua = await RawUa.open();
    const { call, callId } = await establish(endpoint);
    expect(call.held).toBe(false);
    expect(call.rtpTimeoutMs).toBe(RTP_TIMEOUT);
    const bye = await byeFromEndpoint(endpoint);
    expect(bye.headers.get('call-id')).toBe(callId);
    await until(() => call.state === 'ended', 'the call to end');
    expect(call.endReason).toBe('rtp_timeout');
    expect(call.transport.endReason).toBe('carrier_idle');
    // The dialog is gone.
    await until(() => endpoint.calls.length === 0, 'the dialog to be forgotten');
  });

  it('keeps a call up while RTP flows, and hangs up once it stops', async () => {
    ua = await RawUa.open();
    const { call, rtpPort } = await establish(endpoint);
    // RTP every 20 ms for four RTP timeouts: the call stays up all along.
    const t0 = performance.now();
    for (let i = 0; performance.now() - t0 < 4 * RTP_TIMEOUT; i++) {
      ua.sendRtp(serializeRtp({ payloadType: 0, marker: i === 0, sequence: i, timestamp: 160 * i, ssrc: 0xabc, payload: new Uint8Array(160).fill(0xff) }), rtpPort);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(ua.inbox.some((r) => r.message?.type === 'request' && r.message.method === 'BYE')).toBe(false);
    expect(call.state).toBe('confirmed');
    await byeFromEndpoint(endpoint);
    await until(() => call.state === 'ended', 'the call to end');
    expect(call.endReason).toBe('rtp_timeout');
  });

  it('takes RTCP as the far end being there', async () => {
    ua = await RawUa.open();
    const { call, rtpPort } = await establish(endpoint);
    // A receiver report on the RTCP port (RTP + 1) every 50 ms, no media at all.
    const rr = Uint8Array.of(0x80, 201, 0, 1, 0, 0, 0x0a, 0xbc);
    const t0 = performance.now();
    while (performance.now() - t0 < 4 * RTP_TIMEOUT) {
      ua.sendRtp(rr, rtpPort + 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(ua.inbox.some((r) => r.message?.type === 'request' && r.message.method === 'BYE')).toBe(false);
    expect(call.state).toBe('confirmed');
    expect(call.rtp.counters.rtcpIn).toBeGreaterThan(0);
    await byeFromEndpoint(endpoint);
    await until(() => call.state === 'ended', 'the call to end');
    expect(call.endReason).toBe('rtp_timeout');
  });

  it('does not hang up a call on hold (re-INVITE a=sendonly); the RTP timeout is back once the caller resumes', async () => {
    ua = await RawUa.open();
    const { call, reinvite, rtpPort } = await establish(endpoint, offer(ua));
    const stop = keepAlive(rtpPort);
    const timeouts: Array<number | null> = [];
    const set = call.transport.setCarrierIdleTimeout.bind(call.transport);
    vi.spyOn(call.transport, 'setCarrierIdleTimeout').mockImplementation((ms) => {
      timeouts.push(ms);
      set(ms);
    });
    await reinvite(held(offer(ua), 'sendonly'));
    stop();
    expect(call.held).toBe(true);
    expect(call.rtpTimeoutMs).toBeNull();
    // Quiet on hold for several RTP timeouts: no BYE.
    const during = await ua.quiet(5 * RTP_TIMEOUT);
    expect(during.some((r) => r.message?.type === 'request' && r.message.method === 'BYE')).toBe(false);
    expect(call.state).toBe('confirmed');
    await reinvite(offer(ua));
    expect(call.held).toBe(false);
    expect(timeouts).toEqual([null, RTP_TIMEOUT]);
    await byeFromEndpoint(endpoint);
    await until(() => call.state === 'ended', 'the call to end');
    expect(call.endReason).toBe('rtp_timeout');
  });

  it('treats an inactive stream, a recvonly caller and c=0.0.0.0 as hold; a call may start on hold', async () => {
    ua = await RawUa.open();
    const { call, reinvite } = await establish(endpoint, held(offer(ua), 'inactive'));
    expect(call.held).toBe(true);
    await reinvite(held(offer(ua), 'recvonly'));
    expect(call.held).toBe(true);
    await reinvite(offer(ua).replace('c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0'));
    expect(call.held).toBe(true);
    const during = await ua.quiet(5 * RTP_TIMEOUT);
    expect(during.some((r) => r.message?.type === 'request' && r.message.method === 'BYE')).toBe(false);
    await reinvite(offer(ua));
    expect(call.held).toBe(false);
    await byeFromEndpoint(endpoint);
    await until(() => call.state === 'ended', 'the call to end');
    expect(call.endReason).toBe('rtp_timeout');
  });

  it('applies the hold timeout on hold, when one is set', async () => {
    const ep = await endpointWith({ rtp: { holdTimeoutMs: 2 * RTP_TIMEOUT } });
    ep.on('call', () => undefined);
    try {
      ua = await RawUa.open();
      const { call, reinvite, rtpPort } = await establish(ep);
      const stop = keepAlive(rtpPort);
      const timeouts: Array<number | null> = [];
      const set = call.transport.setCarrierIdleTimeout.bind(call.transport);
      vi.spyOn(call.transport, 'setCarrierIdleTimeout').mockImplementation((ms) => {
        timeouts.push(ms);
        set(ms);
      });
      await reinvite(held(offer(ua), 'sendonly'));
      stop();
      expect(timeouts).toEqual([2 * RTP_TIMEOUT]);
      await byeFromEndpoint(ep);
      await until(() => call.state === 'ended', 'the call to end');
      expect(call.endReason).toBe('rtp_timeout');
      expect(call.held).toBe(true);
    } finally {
      await ep.close();
    }
  });

  it('keeps a call up without RTP when the RTP timeout is off', async () => {
    const ep = await endpointWith({ rtp: { timeoutMs: null } });
    ep.on('call', () => undefined);
    try {
      ua = await RawUa.open();
      const { call } = await establish(ep);
      expect(call.rtpTimeoutMs).toBeNull();
      const during = await ua.quiet(5 * RTP_TIMEOUT);
      expect(during.some((r) => r.message?.type === 'request' && r.message.method === 'BYE')).toBe(false);
      expect(call.state).toBe('confirmed');
    } finally {
      await ep.close();
    }
  });

  it('refuses an RTP timeout that is no positive number of ms', () => {
    for (const timeoutMs of [0, -1, Number.NaN, Infinity, 2 ** 31]) {
      expect(() => new SipEndpoint({ rtp: { timeoutMs } })).toThrow(ConfigError);
      expect(() => new SipEndpoint({ rtp: { holdTimeoutMs: timeoutMs } })).toThrow(ConfigError);
    }
    expect(() => new SipEndpoint({ rtp: { timeoutMs: '20000' as unknown as number } })).toThrow(ConfigError);
  });
});
