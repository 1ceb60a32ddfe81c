/**
 * Session timers (RFC 4028), the answering side: the caller refreshes with re-INVITEs; a call it
 * stops refreshing is hung up with a BYE before the interval ends.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { SipEndpoint, type SipCall, type SipEndpointOptions } from '../src/index.js';
import type { SipMessage } from '../src/endpoint/sip/message.js';
import { expiryDelayMs, readSessionTimer } from '../src/endpoint/session-timer.js';
import { parseSipMessage, type SipRequest } from '../src/endpoint/sip/message.js';
import { RawUa, answerTo, msg, offer, request, token, type Received } from './sipp/raw-ua.js';
import { DEADLINE, byeFrom, dial, endpointWith as endpointWithoutModel, until } from './support/endpoint.js';

const TIMER = ['Supported: timer'];

/** An endpoint without a model that only the session timer hangs up (no RTP timeout). */
function endpointWith(options: SipEndpointOptions = {}): Promise<SipEndpoint> {
  return endpointWithoutModel({ sessionTimers: { minSeconds: 1 }, ...options });
}

function isBye(r: Received): boolean {
  return r.message?.type === 'request' && r.message.method === 'BYE';
}

describe('readSessionTimer', () => {
  const invite = (...headers: string[]): SipRequest =>
    parseSipMessage(
      [
        'INVITE sip:a@127.0.0.1 SIP/2.0',
        'Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKst',
        'From: <sip:b@c>;tag=1',
        'To: <sip:a@127.0.0.1>',
        'Call-ID: st',
        'CSeq: 1 INVITE',
        ...headers,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    ) as SipRequest;

  it('runs a timer the caller refreshes; none where the caller cannot or wants us to refresh and takes no UPDATE', () => {
    expect(readSessionTimer(invite('Supported: timer', 'Session-Expires: 1800'), 90)).toEqual({
      seconds: 1800,
      refresher: 'uac',
    });
    expect(readSessionTimer(invite('k: timer, 100rel', 'x: 1800;refresher=uac'), 90)).toEqual({
      seconds: 1800,
      refresher: 'uac',
    });
    expect(readSessionTimer(invite('Require: timer', 'Session-Expires: 600;refresher=UAC'), 90)).toEqual({
      seconds: 600,
      refresher: 'uac',
    });
    expect(readSessionTimer(invite('Supported: timer', 'Session-Expires: 1800;refresher=uas'), 90)).toBeUndefined();
    expect(readSessionTimer(invite('Session-Expires: 1800'), 90)).toBeUndefined();
    expect(readSessionTimer(invite('Supported: timer'), 90)).toBeUndefined();
    expect(readSessionTimer(invite('Supported: timer', 'Session-Expires: soon'), 90)).toBeUndefined();
    expect(readSessionTimer(invite('Supported: timer', 'Session-Expires: 60'), 90)).toEqual({
      tooSmall: true,
      minSeconds: 90,
    });
    expect(readSessionTimer(invite('Supported: timer', 'Session-Expires: 99999999999'), 90)).toBeUndefined();
  });

  it('makes us the refresher where the caller asks for it or cannot refresh, when it takes UPDATE', () => {
    const allow = 'Allow: INVITE, ACK, CANCEL, BYE, UPDATE';
    expect(readSessionTimer(invite('Supported: timer', allow, 'Session-Expires: 1800;refresher=uas'), 90)).toEqual({
      seconds: 1800,
      refresher: 'uas',
    });
    // A proxy asked for the timer on behalf of a caller without the extension.
    expect(readSessionTimer(invite(allow, 'Session-Expires: 1800'), 90)).toEqual({ seconds: 1800, refresher: 'uas' });
    // Such a caller cannot take a 422: it gets our minimum.
    expect(readSessionTimer(invite(allow, 'Session-Expires: 60'), 90)).toEqual({ seconds: 90, refresher: 'uas' });
  });

  it('hangs up a little before the session expires: by the smaller of 32 s and a third of it', () => {
    expect(expiryDelayMs(1800)).toBe(1768_000);
    expect(expiryDelayMs(90)).toBe(60_000);
    expect(expiryDelayMs(3)).toBe(2000);
  });
});

describe('SipEndpoint session timers', () => {
  let endpoint: SipEndpoint;
  let ua: RawUa;

  beforeAll(async () => {
    endpoint = await endpointWith();
    endpoint.on('call', () => undefined);
  });

  afterEach(() => {
    ua?.close();
    ua = undefined as unknown as RawUa;
  });

  afterAll(async () => {
    await endpoint.close();
  });

  async function establish(ep: SipEndpoint, headers: string[]) {
    const dialog = await dial(ua, ep, { headers });
    const reinvite = async (extra: string[]): Promise<SipMessage> =>
      msg(await dialog.reinvite(offer(ua), { headers: extra }));
    return { call: dialog.call, ok: msg(dialog.ok), reinvite };
  }

  /** Hangs up from the endpoint's side, the BYE answered. */
  async function hangUp(call: SipCall, ep = endpoint): Promise<void> {
    const done = call.hangup();
    await byeFrom(ua, ep);
    await done;
  }

  it('answers with the interval and Require: timer, and hangs up with a BYE when the caller never refreshes', async () => {
    ua = await RawUa.open();
    const { call, ok } = await establish(endpoint, [...TIMER, 'Session-Expires: 1;refresher=uac']);
    expect(ok.headers.get('session-expires')).toBe('1;refresher=uac');
    expect(ok.headers.list('require')).toContain('timer');
    expect(ok.headers.list('supported')).toContain('timer');
    expect(call.sessionExpires).toBe(1);
    await byeFrom(ua, endpoint);
    await until(() => call.state === 'ended', 'the call to end');
    expect(call.endReason).toBe('session_expired');
  });

  it('keeps a call the caller refreshes with re-INVITEs, and hangs up once the refreshes stop', async () => {
    ua = await RawUa.open();
    const { call, reinvite } = await establish(endpoint, [...TIMER, 'Session-Expires: 2']);
    // Refreshes every 200 ms for twice the interval.
    const t0 = performance.now();
    while (performance.now() - t0 < 4000) {
      const response = await reinvite([...TIMER, 'Session-Expires: 2;refresher=uac']);
      expect(response.type === 'response' && response.status).toBe(200);
      expect(response.headers.get('session-expires')).toBe('2;refresher=uac');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(ua.inbox.some(isBye)).toBe(false);
    expect(call.state).toBe('confirmed');
    await byeFrom(ua, endpoint);
    await until(() => call.state === 'ended', 'the call to end');
    expect(call.endReason).toBe('session_expired');
  }, 30_000);

  it('turns the timer off when a re-INVITE asks for none', async () => {
    ua = await RawUa.open();
    const { call, reinvite } = await establish(endpoint, [...TIMER, 'Session-Expires: 1']);
    const response = await reinvite([]);
    expect(response.headers.get('session-expires')).toBeUndefined();
    expect(call.sessionExpires).toBeUndefined();
    const quiet = await ua.quiet(1500);
    expect(quiet.some(isBye)).toBe(false);
    expect(call.state).toBe('confirmed');
    await hangUp(call);
  });

  it('answers 422 with Min-SE to an interval below the minimum, to an INVITE and a re-INVITE', async () => {
    const strict = await endpointWith({ sessionTimers: { minSeconds: 90 } });
    strict.on('call', () => undefined);
    try {
      ua = await RawUa.open();
      const callId = token('call-');
      ua.send(
        request({
          method: 'INVITE',
          port: strict.port,
          ua,
          callId,
          fromTag: token('f'),
          cseq: 1,
          body: offer(ua),
          headers: [...TIMER, 'Session-Expires: 30'],
        }),
        strict.port,
      );
      const refused = msg(await ua.response(422, 'INVITE', DEADLINE));
      expect(refused.type === 'response' && refused.reason).toBe('Session Interval Too Small');
      expect(refused.headers.get('min-se')).toBe('90');
      expect(strict.calls).toEqual([]);

      const { call, reinvite } = await establish(strict, [...TIMER, 'Session-Expires: 1800']);
      expect(call.sessionExpires).toBe(1800);
      const again = await reinvite([...TIMER, 'Session-Expires: 10']);
      expect(again.type === 'response' && again.status).toBe(422);
      expect(call.sessionExpires).toBe(1800);
      await hangUp(call, strict);
    } finally {
      await strict.close();
    }
  });

  it('runs no timer for a caller without the extension or one that wants the endpoint to refresh', async () => {
    ua = await RawUa.open();
    const plain = await establish(endpoint, ['Session-Expires: 1']);
    expect(plain.ok.headers.get('session-expires')).toBeUndefined();
    expect(plain.ok.headers.list('require')).toEqual([]);
    expect(plain.call.sessionExpires).toBeUndefined();
    const uas = await establish(endpoint, [...TIMER, 'Session-Expires: 1;refresher=uas']);
    expect(uas.ok.headers.get('session-expires')).toBeUndefined();
    const quiet = await ua.quiet(1500);
    expect(quiet.some(isBye)).toBe(false);
    await hangUp(plain.call);
    await hangUp(uas.call);
  });

  it('refreshes with UPDATE at half the interval when the caller wants the endpoint to, and hangs up when a refresh finds no dialog', async () => {
    ua = await RawUa.open();
    const { call, ok } = await establish(endpoint, [
      ...TIMER,
      'Allow: INVITE, ACK, CANCEL, BYE, UPDATE',
      'Session-Expires: 2;refresher=uas',
    ]);
    expect(ok.headers.get('session-expires')).toBe('2;refresher=uas');
    // We refresh: nothing for the caller to be required to do.
    expect(ok.headers.list('require')).toEqual([]);
    expect(call.sessionRefresher).toBe('uas');
    // Two refreshes answered: the call stays up well past its first interval.
    for (let i = 0; i < 2; i++) {
      const update = msg(await ua.request('UPDATE', DEADLINE));
      expect(update.headers.get('session-expires')).toBe('2;refresher=uas');
      expect(update.headers.get('call-id')).toBe(call.callId);
      expect(update.headers.get('cseq')).toMatch(/^\d+ UPDATE$/);
      ua.send(
        answerTo(update).replace('Content-Length: 0', 'Session-Expires: 2;refresher=uas\r\nContent-Length: 0'),
        endpoint.port,
      );
    }
    expect(ua.inbox.some(isBye)).toBe(false);
    expect(call.state).toBe('confirmed');
    // The third finds the dialog gone at the far end: the endpoint hangs up.
    const last = msg(await ua.request('UPDATE', DEADLINE));
    ua.send(answerTo(last, 481, 'Call/Transaction Does Not Exist'), endpoint.port);
    await byeFrom(ua, endpoint);
    await until(() => call.state === 'ended', 'the call to end');
    expect(call.endReason).toBe('session_expired');
  }, 30_000);

  it('accepts Require: timer; with session timers off it is an unsupported extension (420)', async () => {
    ua = await RawUa.open();
    const { call } = await establish(endpoint, ['Require: timer', 'Session-Expires: 1800']);
    expect(call.sessionExpires).toBe(1800);
    await hangUp(call);
    const off = await endpointWith({ sessionTimers: false });
    off.on('call', () => undefined);
    try {
      ua.send(
        request({
          method: 'INVITE',
          port: off.port,
          ua,
          callId: token('call-'),
          fromTag: token('f'),
          cseq: 1,
          body: offer(ua),
          headers: ['Require: timer', 'Session-Expires: 1800'],
        }),
        off.port,
      );
      const refused = msg(await ua.response(420, 'INVITE', DEADLINE));
      expect(refused.headers.get('unsupported')).toBe('timer');
    } finally {
      await off.close();
    }
  });

  it('refuses a minimum that is no whole number of seconds', () => {
    for (const minSeconds of [0, -1, 1.5, Number.NaN])
      expect(() => new SipEndpoint({ sessionTimers: { minSeconds } })).toThrow(ConfigError);
  });
});
