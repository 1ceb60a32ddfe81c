/** SIP message parsing, SDP offer/answer, digest authentication and the address filter. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as sdpTransform from 'sdp-transform';
import { AddressFilter } from '../src/endpoint/addresses.js';
import { SdpError, buildAnswer, negotiateOffer } from '../src/endpoint/sdp.js';
import { DigestAuthenticator, parseDigestCredentials } from '../src/endpoint/sip/digest.js';
import {
  SipParseError,
  bodyText,
  createResponse,
  describeSipMessage,
  describeSipParseError,
  parseNameAddr,
  parseSipMessage,
  parseSipUri,
  parseVia,
  serializeSipMessage,
  type SipRequest,
} from '../src/endpoint/sip/message.js';

const INVITE = [
  'INVITE sip:agent@example.com SIP/2.0',
  'v: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKa1;rport, SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKb2',
  'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKc3',
  'f: "Alice \\"A\\" Smith" <sip:alice@example.com>;tag=1928',
  't: agent <sip:agent@example.com>',
  'i: a84b4c76e66710@pc33',
  'CSeq: 314159 INVITE',
  'Max-Forwards: 70',
  'Subject: folded',
  '  across two lines',
  'X-Account: 42',
  'c: application/sdp',
  'l: 4',
  '',
  'v=0\r\nignored after Content-Length',
].join('\r\n');

function request(text: string): SipRequest {
  const message = parseSipMessage(text);
  if (message.type !== 'request') throw new Error('not a request');
  return message;
}

describe('SIP messages', () => {
  it('reads compact forms, folded lines, comma-joined Vias, and cuts the body at Content-Length', () => {
    const invite = request(INVITE);
    expect(invite.method).toBe('INVITE');
    expect(invite.headers.get('call-id')).toBe('a84b4c76e66710@pc33');
    expect(invite.headers.get('Content-Type')).toBe('application/sdp');
    expect(invite.headers.get('subject')).toBe('folded across two lines');
    expect(invite.headers.list('via')).toHaveLength(3);
    expect(parseVia(invite.headers.list('via')[1]!)).toMatchObject({
      transport: 'TCP',
      host: '[2001:db8::1]',
      port: 5060,
      branch: 'z9hG4bKb2',
    });
    expect(bodyText(invite)).toBe('v=0\r');
    expect(parseNameAddr(invite.headers.get('from')!)).toMatchObject({
      displayName: 'Alice "A" Smith',
      uri: 'sip:alice@example.com',
      params: { tag: '1928' },
    });
  });

  it('writes what it reads, with Content-Length from the body', () => {
    const invite = request(INVITE);
    const again = request(new TextDecoder().decode(serializeSipMessage(invite)));
    expect(again.headers.entries().filter(([n]) => !/^(l|content-length)$/i.test(n))).toEqual(
      invite.headers.entries().filter(([n]) => !/^(l|content-length)$/i.test(n)),
    );
    expect(again.headers.get('content-length')).toBe('4');
  });

  it('builds responses that copy Via, From, To, Call-ID and CSeq, adding a To tag once', () => {
    const invite = request(INVITE);
    const response = createResponse(invite, 180, { toTag: 'xyz' });
    expect(response.headers.getAll('via')).toEqual(invite.headers.getAll('via'));
    expect(response.headers.get('to')).toBe('agent <sip:agent@example.com>;tag=xyz');
    expect(createResponse(invite, 100, { toTag: 'xyz' }).headers.get('to')).toBe('agent <sip:agent@example.com>');
  });

  it('reads name-addrs, addr-specs and SIP URIs', () => {
    expect(parseNameAddr('sip:bob@example.com;tag=9')).toMatchObject({
      uri: 'sip:bob@example.com',
      params: { tag: '9' },
    });
    expect(parseNameAddr('Bob <sips:bob@example.com:5061;transport=tls>;expires=60')).toMatchObject({
      displayName: 'Bob',
      uri: 'sips:bob@example.com:5061;transport=tls',
      params: { expires: '60' },
    });
    expect(parseNameAddr('<sip:bob@example.com')).toBeUndefined();
    expect(parseSipUri('sip:%2B1555@[2001:db8::5]:5080;transport=tcp;lr')).toMatchObject({
      user: '+1555',
      host: '[2001:db8::5]',
      port: 5080,
      params: { transport: 'tcp', lr: null },
    });
  });

  it('refuses malformed requests with a status, and says when it can be answered', () => {
    const cases: Array<[string, number, boolean]> = [
      [INVITE.replace('CSeq: 314159 INVITE', 'CSeq: 314159 BYE'), 400, true],
      [INVITE.replace('SIP/2.0\r\n', 'SIP/2.1\r\n'), 505, true],
      [INVITE.replace('l: 4', 'l: 99'), 400, true],
      [INVITE.replace('Max-Forwards: 70', 'Max-Forwards: 70\r\nmissing colon'), 400, true],
      [INVITE.replace(/i: [^\r]+/, 'i: has space'), 400, true],
      [INVITE.replace(/v: [^\r]+\r\nVia: [^\r]+/, 'Via: garbage'), 400, false],
      [INVITE.replace(/CSeq: [^\r]+/, 'CSeq: x INVITE'), 400, false],
      ['', 400, false],
    ];
    for (const [text, status, answerable] of cases) {
      let error: unknown;
      try {
        parseSipMessage(text);
      } catch (e) {
        error = e;
      }
      expect(error, text.slice(0, 60)).toBeInstanceOf(SipParseError);
      expect((error as SipParseError).status).toBe(status);
      expect((error as SipParseError).partial !== undefined, text.slice(0, 80)).toBe(answerable);
    }
  });

  it('describes a message for logs without the phone number in its Request-URI or in a malformed header', () => {
    const invite = request(
      INVITE.replace('INVITE sip:agent@example.com', 'INVITE sip:+15551234567@example.com;user=phone'),
    );
    expect(describeSipMessage(invite)).toBe('INVITE sip:…@example.com;user=phone');
    expect(describeSipMessage(request(INVITE.replace('sip:agent@example.com SIP', 'tel:+15551234567 SIP')))).toBe(
      'INVITE tel:…',
    );
    expect(describeSipMessage(request(INVITE.replace('sip:agent@example.com SIP', 'sip:example.com SIP')))).toBe(
      'INVITE sip:example.com',
    );
    let error: unknown;
    try {
      parseSipMessage(INVITE.replace(/f: [^\r]+/, 'f: +15551234567 <sip:+15551234567@example.com'));
    } catch (e) {
      error = e;
    }
    expect((error as SipParseError).message).toContain('15551234567');
    expect(describeSipParseError(error as SipParseError)).toBe('malformed From "…"');
  });
});

const OFFER = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=video 51372 RTP/AVP 31',
  'm=audio 49170 RTP/AVP 18 8 0 96 101 13',
  'a=rtpmap:18 G729/8000',
  'a=rtpmap:96 telephone-event/16000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:30',
  'a=sendonly',
  'a=label:main-audio',
  '',
].join('\r\n');

describe('SDP offer/answer', () => {
  it("takes the first accepted codec in the offer's order, telephone-event at 8 kHz, CN, and the offer's ptime", () => {
    const media = negotiateOffer(OFFER);
    expect(media).toMatchObject({
      codec: 'pcma',
      payloadType: 8,
      telephoneEventPayloadType: 101,
      comfortNoisePayloadType: 13,
      ptimeMs: 30,
      direction: 'recvonly',
      remoteAddress: '192.0.2.10',
      remotePort: 49170,
      remoteRtcpPort: 49171,
      label: 'main-audio',
      mediaIndex: 1,
    });
    const plain = negotiateOffer(OFFER, { codecs: ['pcmu'], comfortNoise: false, telephoneEvent: false });
    expect([plain.codec, plain.payloadType, plain.telephoneEventPayloadType, plain.comfortNoisePayloadType]).toEqual([
      'pcmu',
      0,
      undefined,
      undefined,
    ]);
  });

  it('answers the audio stream and refuses the others with port 0, in their places', () => {
    const media = negotiateOffer(OFFER);
    // The answer's fields as an SDP parser reads them (parseSdp promises only version and media).
    const answer = sdpTransform.parse(
      buildAnswer(OFFER, media, { address: '198.51.100.7', port: 20000, sessionId: '1', sessionVersion: 1 }),
    );
    expect(answer.media.map((m) => [m.type, m.port])).toEqual([
      ['video', 0],
      ['audio', 20000],
    ]);
    expect(answer.media[1]!.payloads).toBe('8 101 13');
    expect(answer.media[1]!.direction).toBe('recvonly');
    expect(answer.connection?.ip).toBe('198.51.100.7');
  });

  it('refuses what it cannot answer', () => {
    expect(() => negotiateOffer(OFFER.replace('18 8 0 96 101 13', '18 96'))).toThrow(SdpError);
    expect(() => negotiateOffer(OFFER.replace('m=audio 49170 RTP/AVP', 'm=audio 49170 RTP/SAVP'))).toThrow(/RTP\/SAVP/);
    expect(() => negotiateOffer('not sdp')).toThrow(SdpError);
    // A port no UDP packet can go to is refused (488), not accepted to fail every RTP send.
    expect(() => negotiateOffer(OFFER.replace('m=audio 49170', 'm=audio 70000'))).toThrow(/port 70000/);
    // A held stream (0.0.0.0) negotiates, with nowhere to send.
    expect(negotiateOffer(OFFER.replace(/c=IN IP4 192\.0\.2\.10/, 'c=IN IP4 0.0.0.0')).remoteAddress).toBeUndefined();
  });
});

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}
function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('digest authentication', () => {
  const invite = (authorization?: string) =>
    request(
      [
        'INVITE sip:agent@example.com SIP/2.0',
        'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx',
        'From: <sip:alice@example.com>;tag=1',
        'To: <sip:agent@example.com>',
        'Call-ID: c1',
        'CSeq: 2 INVITE',
        ...(authorization ? [`Authorization: ${authorization}`] : []),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  const answer = (
    challenge: string,
    hash: (s: string) => string,
    password: string,
    nc = '00000001',
    algorithm = 'MD5',
  ) => {
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    const ha1 = hash(`alice:switchboard.test:${password}`);
    const ha2 = hash('INVITE:sip:agent@example.com');
    const response = hash(`${ha1}:${nonce}:${nc}:0a4f113b:auth:${ha2}`);
    return `Digest username="alice", realm="switchboard.test", nonce="${nonce}", uri="sip:agent@example.com", response="${response}", algorithm=${algorithm}, qop=auth, nc=${nc}, cnonce="0a4f113b"`;
  };

  it('challenges with SHA-256 and MD5 when asked, accepts either, refuses a wrong password and a replayed count', async () => {
    const auth = new DigestAuthenticator({
      realm: 'switchboard.test',
      algorithms: ['SHA-256', 'MD5'],
      credentials: (user) => (user === 'alice' ? 'wonderland' : undefined),
    });
    const challenges = auth.challenge();
    expect(challenges.map((c) => /algorithm=([\w-]+)/.exec(c)![1])).toEqual(['SHA-256', 'MD5']);
    expect(await auth.verify(invite())).toMatchObject({ ok: false, stale: false });
    expect(await auth.verify(invite(answer(challenges[0]!, sha256, 'wonderland', '00000001', 'SHA-256')))).toEqual({
      ok: true,
      username: 'alice',
    });
    // Both challenges carry one nonce: its count goes on across algorithms, and may not repeat.
    const md5Answer = answer(challenges[1]!, md5, 'wonderland', '00000002');
    expect(await auth.verify(invite(md5Answer))).toEqual({ ok: true, username: 'alice' });
    expect(await auth.verify(invite(md5Answer))).toMatchObject({ ok: false, stale: true });
    expect(await auth.verify(invite(answer(challenges[1]!, md5, 'wonderland', '00000003')))).toMatchObject({
      ok: true,
    });
    expect(await auth.verify(invite(answer(challenges[1]!, md5, 'guess', '00000004')))).toMatchObject({
      ok: false,
      stale: false,
    });
    expect(await auth.verify(invite('Digest username="alice", garbage'))).toMatchObject({
      ok: false,
      badRequest: true,
    });
    // A nonce this endpoint never issued.
    expect(await auth.verify(invite(answer('nonce="AAAA"', md5, 'wonderland')))).toMatchObject({
      ok: false,
      stale: false,
    });
  });

  it('accepts a response without qop once per nonce, so a captured one cannot be replayed', async () => {
    const auth = new DigestAuthenticator({
      realm: 'switchboard.test',
      algorithms: ['MD5'],
      credentials: () => 'wonderland',
    });
    const nonce = /nonce="([^"]+)"/.exec(auth.challenge()[0]!)![1]!;
    const ha1 = md5('alice:switchboard.test:wonderland');
    const ha2 = md5('INVITE:sip:agent@example.com');
    const legacy = `Digest username="alice", realm="switchboard.test", nonce="${nonce}", uri="sip:agent@example.com", response="${md5(`${ha1}:${nonce}:${ha2}`)}"`;
    expect(await auth.verify(invite(legacy))).toEqual({ ok: true, username: 'alice' });
    // The same Authorization again (a replay, or a client reusing the nonce): a fresh challenge.
    expect(await auth.verify(invite(legacy))).toMatchObject({ ok: false, stale: true });
    // A nonce already counted with qop=auth cannot then be used without it.
    const nonce2 = /nonce="([^"]+)"/.exec(auth.challenge()[0]!)![1]!;
    expect(await auth.verify(invite(answer(`nonce="${nonce2}"`, md5, 'wonderland')))).toMatchObject({ ok: true });
    const legacy2 = legacy
      .replaceAll(nonce, nonce2)
      .replace(/response="[^"]+"/, `response="${md5(`${ha1}:${nonce2}:${ha2}`)}"`);
    expect(await auth.verify(invite(legacy2))).toMatchObject({ ok: false, stale: true });
  });

  it('takes HA1 instead of the password, and marks an expired nonce stale', async () => {
    const ha1 = md5('alice:switchboard.test:wonderland');
    const auth = new DigestAuthenticator({
      realm: 'switchboard.test',
      algorithms: ['MD5'],
      nonceTtlMs: 1,
      credentials: () => ({ ha1: { MD5: ha1 } }),
    });
    const [challenge] = auth.challenge();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await auth.verify(invite(answer(challenge!, md5, 'wonderland')))).toMatchObject({ ok: false, stale: true });
    expect(auth.challenge(true)[0]).toContain('stale=true');
  });

  it('parses credentials with quoted commas', () => {
    expect(parseDigestCredentials('Digest username="a,b", realm="r", nc=00000001')).toEqual({
      username: 'a,b',
      realm: 'r',
      nc: '00000001',
    });
    expect(parseDigestCredentials('Basic abc')).toBeUndefined();
  });
});

describe('AddressFilter', () => {
  it('matches addresses and CIDR ranges, IPv4 and IPv6, IPv4-mapped included', () => {
    const filter = new AddressFilter(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::1']);
    expect(filter.allows('10.200.3.4')).toBe(true);
    expect(filter.allows('11.0.0.1')).toBe(false);
    expect(filter.allows('192.0.2.7')).toBe(true);
    expect(filter.allows('192.0.2.8')).toBe(false);
    expect(filter.allows('::ffff:10.1.1.1')).toBe(true);
    expect(filter.allows('2001:db8:1::5')).toBe(true);
    expect(filter.allows('2001:db9::5')).toBe(false);
    expect(filter.allows('::1')).toBe(true);
    expect(filter.allows('not an address')).toBe(false);
    expect(() => new AddressFilter(['10.0.0.0/33'])).toThrow(TypeError);
    expect(() => new AddressFilter(['example.com'])).toThrow(TypeError);
  });
});
