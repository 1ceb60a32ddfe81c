/**
 * Malformed SIP: a batch of broken datagrams gets 400 (or 505) where a response can be built and
 * is dropped where it cannot (RFC 3261 §18.3); the endpoint keeps serving. The parser never
 * throws anything but SipParseError, whatever the bytes.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipEndpoint } from '../src/index.js';
import { SipParseError, frameStreamMessage, parseSipMessage } from '../src/endpoint/sip/message.js';
import { RawUa, request, token } from './sipp/raw-ua.js';

describe('malformed SIP', () => {
  let endpoint: SipEndpoint;
  let ua: RawUa;

  beforeAll(async () => {
    endpoint = new SipEndpoint({
      host: '127.0.0.1',
      port: 0,
      timers: { t1: 40 },
      transport: { url: 'ws://127.0.0.1:9/v1/realtime' },
      onInvite: () => ({ status: 486 }),
    });
    await endpoint.listen();
    ua = await RawUa.open();
  });

  afterAll(async () => {
    ua.close();
    await endpoint.close();
  });

  /** A well-formed OPTIONS, for variations. */
  function options(extra: { headers?: string[]; cseq?: number } = {}): string {
    return request({
      method: 'OPTIONS',
      port: endpoint.port,
      ua,
      callId: token('m-'),
      fromTag: token('f'),
      cseq: extra.cseq ?? 1,
      headers: extra.headers ?? [],
    });
  }

  it('answers 400/505 where it can, drops what it cannot, and keeps serving', async () => {
    const good = options();
    const sep = good.indexOf('\r\n');
    const startLine = good.slice(0, sep);
    const replace = (from: RegExp, to: string) => good.replace(from, to);
    // [datagram, expected status or undefined for a silent drop]
    const batch: Array<[string | Uint8Array, number | undefined, string]> = [
      [Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff), undefined, 'binary garbage'],
      ['\x00\x01\x02\x03', undefined, 'STUN-like bytes'],
      ['hello world\r\n\r\n', undefined, 'not SIP at all'],
      [`${startLine} extra\r\n\r\n`, undefined, 'start line with four parts'],
      [replace(/\r\nVia:[^\r]*/, ''), undefined, 'no Via: nowhere to answer'],
      [replace(/\r\nCall-ID:[^\r]*/, ''), undefined, 'no Call-ID'],
      [replace(/CSeq: 1 OPTIONS/, 'CSeq: 99999999999 OPTIONS'), undefined, 'CSeq number out of range'],
      [replace(/Via: SIP\/2\.0\/UDP [^;]*/, 'Via: SIP/2.0/UDP'), undefined, 'Via without a host'],
      [replace(/SIP\/2\.0\r\n/, 'SIP/3.0\r\n'), 505, 'SIP/3.0'],
      [replace(/CSeq: 1 OPTIONS/, 'CSeq: 1 INVITE'), 400, 'CSeq method of another request'],
      [replace(/Max-Forwards: 70/, 'Max-Forwards: lots'), 400, 'non-numeric Max-Forwards'],
      [replace(/Content-Length: 0/, 'Content-Length: 500'), 400, 'Content-Length beyond the datagram'],
      [replace(/Content-Length: 0/, 'Content-Length: -1'), 400, 'negative Content-Length'],
      [replace(/Max-Forwards: 70/, 'Max-Forwards: 70\r\nthis line has no colon'), 400, 'header line without a colon'],
      [replace(/Max-Forwards: 70/, 'Max-Forwards: 70\r\nCall-ID: another@x'), 400, 'two different Call-IDs'],
      [replace(/Max-Forwards: 70/, 'Max-Forwards: 70\r\nX-Bad: a\u0001b'), 400, 'control character in a value'],
      [replace(/From: "Raw" </, 'From: "Raw <'), 400, 'unterminated quote in From'],
      [replace(/To: <sip:agent@127\.0\.0\.1:\d+>/, 'To: sip:agent@127.0.0.1 <'), 400, 'broken To'],
      [replace(/^OPTIONS sip:[^ ]+/, 'OPTIONS sip:agent@host with spaces'), undefined, 'spaces in the Request-URI'],
      [replace(/^OPTIONS/, 'OPT IONS'), undefined, 'broken method'],
      [replace(/^OPTIONS/, 'OPT\u00e9ONS'), undefined, 'non-token method'],
      [
        (() => {
          const [head, tail] = good.split('Max-Forwards: 70');
          return Buffer.concat([
            Buffer.from(`${head}Max-Forwards: 70\r\nX-Latin: `),
            Buffer.from([0xff, 0xfe]),
            Buffer.from(tail!),
          ]);
        })(),
        400,
        'invalid UTF-8 in a header',
      ],
      ['SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n', undefined, 'a response without CSeq'],
      ['SIP/2.0 999 Nope\r\n\r\n', undefined, 'a status beyond 699'],
      [
        replace(/^OPTIONS/, 'ACK').replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE'),
        undefined,
        'a malformed ACK is never answered',
      ],
      [
        `OPTIONS sip:a@b SIP/2.0\r\n${'X-Long: '.concat('a'.repeat(40_000))}\r\n\r\n`,
        undefined,
        'header section beyond the limit',
      ],
      ['\r\n\r\n', undefined, 'keep-alive'],
    ];
    const before = { ...endpoint.counters };
    for (const [datagram, status, label] of batch) {
      const from = ua.inbox.length;
      ua.send(datagram, endpoint.port);
      // Answered ones are answered within a few ms; give silent drops time to prove silent.
      const received =
        status === undefined ? await ua.quiet(60) : [await ua.next((r) => ua.inbox.indexOf(r) >= from, 1000)];
      if (status === undefined) {
        expect(received, label).toHaveLength(0);
      } else {
        const message = received[0]!.message;
        expect(message?.type === 'response' && message.status, label).toBe(status);
        expect(message?.headers.get('warning'), label).toMatch(/^399 /);
      }
    }
    const answered = batch.filter(([, status]) => status !== undefined).length;
    expect(endpoint.counters.badRequests - before.badRequests).toBe(answered);
    expect(endpoint.counters.malformed - before.malformed).toBeGreaterThanOrEqual(answered);
    // Still serving.
    ua.send(options(), endpoint.port);
    await ua.response(200, 'OPTIONS');
  });

  it('survives thousands of mutated requests and still answers', async () => {
    const base = request({
      method: 'INVITE',
      port: endpoint.port,
      ua,
      callId: 'fuzz@x',
      fromTag: 'f',
      cseq: 1,
      body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n',
    });
    const bytes = Buffer.from(base);
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const copy = Buffer.from(bytes);
      const edits = 1 + rand(6);
      for (let e = 0; e < edits; e++) copy[rand(copy.length)] = rand(256);
      const cut = rand(4) === 0 ? copy.subarray(0, rand(copy.length)) : copy;
      // The parser on its own: only SipParseError, never anything else.
      try {
        parseSipMessage(new Uint8Array(cut));
      } catch (error) {
        expect(error).toBeInstanceOf(SipParseError);
      }
      if (i % 4 === 0) ua.send(new Uint8Array(cut), endpoint.port);
    }
    await ua.quiet(300);
    ua.send(options(), endpoint.port);
    await ua.response(200, 'OPTIONS', 3000);
  });

  it('frames TCP streams by Content-Length and drops a connection that cannot be framed', async () => {
    const text = options().replace(`SIP/2.0/UDP 127.0.0.1:${ua.port}`, 'SIP/2.0/TCP 127.0.0.1:1');
    // Two messages in one write, split at an awkward place, after a keep-alive ping.
    const socket = connect(endpoint.port, '127.0.0.1');
    const chunks: string[] = [];
    socket.on('data', (d) => chunks.push(d.toString()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const second = text.replace(/CSeq: 1 OPTIONS/, 'CSeq: 2 OPTIONS');
    const stream = `\r\n\r\n${text}${second}`;
    socket.write(stream.slice(0, 37));
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write(stream.slice(37));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const all = chunks.join('');
    expect(all.startsWith('\r\n')).toBe(true); // the pong
    expect(all.match(/SIP\/2\.0 200 OK/g)).toHaveLength(2);
    // A message without Content-Length cannot be framed on a stream: the connection goes.
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(text.replace(/Content-Length: 0\r\n/, ''));
    await closed;
    expect(() => frameStreamMessage(new TextEncoder().encode('OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n'))).toThrow(
      SipParseError,
    );
    // And UDP still works.
    ua.send(options(), endpoint.port);
    await ua.response(200, 'OPTIONS');
  });
});
