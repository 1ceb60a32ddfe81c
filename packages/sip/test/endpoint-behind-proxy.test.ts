/**
 * The endpoint as a user agent server behind a SIP proxy (a load balancer such as Kamailio's
 * dispatcher): the raw UA plays the proxy, its requests carry its Via on top of the caller's.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { SipCall } from '../src/index.js';
import { rtpPeersOf } from '../src/endpoint/answer.js';
import { PT_PCMU, serializeRtp } from '../src/endpoint/rtp/packet.js';
import { parseSipMessage, type SipRequest } from '../src/endpoint/sip/message.js';
import { msg, offer, request, toTagOf, token } from './sipp/raw-ua.js';
import { DEADLINE, until, useEndpoints } from './support/endpoint.js';

const CALLER_VIA = (params: string) => `Via: SIP/2.0/UDP 10.1.2.3:5060;branch=${token('z9hG4bK')}${params}`;

function inviteWith(vias: string[]): SipRequest {
  const text = [
    'INVITE sip:agent@127.0.0.1 SIP/2.0',
    ...vias,
    'From: <sip:caller@10.1.2.3>;tag=1',
    'To: <sip:agent@127.0.0.1>',
    'Call-ID: proxied',
    'CSeq: 1 INVITE',
    'Max-Forwards: 69',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return parseSipMessage(text) as SipRequest;
}

describe('rtpPeersOf', () => {
  const proxy = { transport: 'udp' as const, address: '127.0.0.1', port: 5060 };
  const proxyVia = `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${token('z9hG4bK')}`;

  it('trusts the SIP peer alone for a direct call (one Via)', () => {
    expect(rtpPeersOf(inviteWith([CALLER_VIA(';received=127.0.0.1')]), proxy)).toEqual(['127.0.0.1']);
  });

  it("trusts, behind proxies, the caller's address the first proxy saw: the last Via's received, else its host", () => {
    expect(rtpPeersOf(inviteWith([proxyVia, CALLER_VIA(';received=203.0.113.9;rport=40000')]), proxy)).toEqual([
      '127.0.0.1',
      '203.0.113.9',
    ]);
    expect(rtpPeersOf(inviteWith([proxyVia, proxyVia, CALLER_VIA('')]), proxy)).toEqual(['127.0.0.1', '10.1.2.3']);
    // A host name is no address to compare packets with.
    const named = `Via: SIP/2.0/UDP phone.example.com:5060;branch=${token('z9hG4bK')}`;
    expect(rtpPeersOf(inviteWith([proxyVia, named]), proxy)).toEqual(['127.0.0.1']);
  });
});

describe('SipEndpoint behind a proxy', () => {
  const open = useEndpoints();
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });

  async function socketOn(address: string): Promise<Socket> {
    const socket = createSocket('udp4');
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    return socket;
  }

  it('answers an OPTIONS probe with 200 to the proxy, every Via returned in order', async () => {
    const endpoint = await open.endpoint();
    const ua = await open.ua();
    const callerVia = CALLER_VIA(';received=127.0.0.2;rport=5062');
    ua.send(
      request({
        method: 'OPTIONS',
        port: endpoint.port,
        ua,
        callId: token('probe-'),
        fromTag: token('f'),
        cseq: 1,
        uri: `sip:127.0.0.1:${endpoint.port}`,
        headers: [callerVia],
      }),
      endpoint.port,
    );
    const ok = msg(await ua.response(200, 'OPTIONS', DEADLINE));
    const vias = ok.headers.list('via');
    expect(vias).toHaveLength(2);
    expect(vias[0]).toMatch(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${ua.port};branch=\\S+;rport=${ua.port}$`));
    expect(vias[1]).toBe(callerVia.slice('Via: '.length));
    expect(ok.headers.get('allow')).toContain('INVITE');
  });

  it("accepts RTP from the caller's address behind the proxy (its SDP naming another), and latches to it", async () => {
    const endpoint = await open.endpoint();
    const ua = await open.ua();
    const called = new Promise<SipCall>((resolve) => endpoint.once('call', resolve));
    const callId = token('proxied-');
    const fromTag = token('f');
    // The caller's SDP names 127.0.0.3 (its private address, say); its packets come from
    // 127.0.0.2, which the proxy wrote into the caller's Via as `received`.
    const sdp = offer(ua).replaceAll('127.0.0.1', '127.0.0.3');
    ua.send(
      request({
        method: 'INVITE',
        port: endpoint.port,
        ua,
        callId,
        fromTag,
        cseq: 1,
        body: sdp,
        headers: [CALLER_VIA(';received=127.0.0.2;rport=5062'), `Record-Route: <sip:127.0.0.1:${ua.port};lr>`],
      }),
      endpoint.port,
    );
    const ok = await ua.response(200, 'INVITE', DEADLINE);
    ua.send(
      request({
        method: 'ACK',
        port: endpoint.port,
        ua,
        callId,
        fromTag,
        toTag: toTagOf(ok),
        cseq: 1,
        headers: [`Route: <sip:127.0.0.1:${ua.port};lr>`],
      }),
      endpoint.port,
    );
    const call = await called;
    const rtpPort = call.rtp.localPort;
    const packet = (sequence: number) =>
      serializeRtp({
        payloadType: PT_PCMU,
        marker: sequence === 1,
        sequence,
        timestamp: sequence * 160,
        ssrc: 0x1234,
        payload: new Uint8Array(160).fill(0xff),
      });
    // Someone else's packet is still dropped.
    const stranger = await socketOn('127.0.0.4');
    stranger.send(packet(1), rtpPort, '127.0.0.1');
    await until(() => call.rtp.counters.foreignDropped === 1, "the stranger's packet to be dropped");
    expect(call.rtp.counters.packetsIn).toBe(0);
    const caller = await socketOn('127.0.0.2');
    const heard = new Promise<number>((resolve) => caller.once('message', (_data, rinfo) => resolve(rinfo.port)));
    caller.send(packet(1), rtpPort, '127.0.0.1');
    await until(() => call.rtp.counters.packetsIn === 1, "the caller's packet to be taken");
    // The endpoint now sends to where the caller's audio comes from.
    call.rtp.send(packet(2));
    expect(await heard).toBe(rtpPort);
    expect(call.rtp.counters.foreignDropped).toBe(1);
  });
});
