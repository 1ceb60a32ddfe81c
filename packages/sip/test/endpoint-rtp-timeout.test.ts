/**
 * The RTP timeout: a call whose far end sends no RTP (nor RTCP) is hung up with a BYE; a call on
 * hold follows the hold timeout instead, and the RTP timeout again once resumed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { SipEndpoint, type SipEndpointOptions } from '../src/index.js';
import { serializeRtp } from '../src/endpoint/rtp/packet.js';
import { RawUa, msg, offer } from './sipp/raw-ua.js';
import { NO_MODEL, RTP_PORTS, byeFrom, dial, endpointWith as endpointWithoutModel, until } from './support/endpoint.js';

/** The RTP timeout of these tests, ms. */
const RTP_TIMEOUT = 300;

/** An endpoint without a model whose RTP timeout is `RTP_TIMEOUT` unless `options.rtp` says otherwise. */
function endpointWith(options: SipEndpointOptions = {}): Promise<SipEndpoint> {
  return endpointWithoutModel({
    ...options,
    rtp: { ports: RTP_PORTS, timeoutMs: RTP_TIMEOUT, ...options.rtp },
    transport: { url: NO_MODEL },
  });
}

function held(sdp: string, direction: 'sendonly' | 'inactive' | 'recvonly'): string {
  return sdp.replace('a=sendrecv', `a=${direction}`);
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
    const dialog = await dial(ua, ep, { body });
    const rtpPort = Number(/m=audio (\d+)/.exec(new TextDecoder().decode(msg(dialog.ok).body))![1]);
    const reinvite = async (sdp: string) => void (await dialog.reinvite(sdp, { status: 200 }));
    return { ...dialog, rtpPort, reinvite };
  }

  /**
   * Sends RTP every 20 ms until stopped: keeps a call up while the test sets up what it checks
   * (however slow the machine, the RTP timeout cannot run out before the hold it tests).
   */
  function keepAlive(rtpPort: number): () => void {
    let seq = 0;
    const send = () => {
      ua.sendRtp(
        serializeRtp({
          payloadType: 0,
          marker: seq === 0,
          sequence: seq,
          timestamp: 160 * seq,
          ssrc: 0xabc,
          payload: new Uint8Array(160).fill(0xff),
        }),
        rtpPort,
      );
      seq++;
    };
    send();
    const timer = setInterval(send, 20);
    return () => clearInterval(timer);
  }

  it('hangs up with a BYE when no RTP comes for the RTP timeout', async () => {
    ua = await RawUa.open();
    const { call, callId } = await establish(endpoint);
    expect(call.held).toBe(false);
    expect(call.rtpTimeoutMs).toBe(RTP_TIMEOUT);
    const bye = await byeFrom(ua, endpoint);
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
      ua.sendRtp(
        serializeRtp({
          payloadType: 0,
          marker: i === 0,
          sequence: i,
          timestamp: 160 * i,
          ssrc: 0xabc,
          payload: new Uint8Array(160).fill(0xff),
        }),
        rtpPort,
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(ua.inbox.some((r) => r.message?.type === 'request' && r.message.method === 'BYE')).toBe(false);
    expect(call.state).toBe('confirmed');
    await byeFrom(ua, endpoint);
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
    await byeFrom(ua, endpoint);
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
    await byeFrom(ua, endpoint);
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
    await byeFrom(ua, endpoint);
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
      await byeFrom(ua, ep);
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
