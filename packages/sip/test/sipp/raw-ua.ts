/**
 * A bare SIP user agent over UDP for tests that need exact control of what is sent and when
 * (retransmissions, missing ACKs, malformed datagrams), with an RTP socket of its own.
 */
import { createSocket, type Socket } from 'node:dgram';
import { parseSipMessage, type SipMessage } from '../../src/endpoint/sip/message.js';

export type Received = { at: number; text: string; message: SipMessage | undefined };
export type RtpReceived = { at: number; bytes: Uint8Array };

let counter = 0;
export function token(prefix = ''): string {
  counter++;
  return `${prefix}${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 8)}`;
}

export class RawUa {
  readonly sip: Socket;
  readonly rtp: Socket;
  readonly inbox: Received[] = [];
  readonly rtpInbox: RtpReceived[] = [];
  #waiters: Array<{ filter: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
  #cursor = 0;

  private constructor(sip: Socket, rtp: Socket) {
    this.sip = sip;
    this.rtp = rtp;
    sip.on('message', (data) => {
      const text = data.toString('utf8');
      let message: SipMessage | undefined;
      try {
        message = parseSipMessage(new Uint8Array(data));
      } catch {
        message = undefined;
      }
      const received = { at: performance.now(), text, message };
      this.inbox.push(received);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.filter(received)) return true;
        w.resolve(received);
        return false;
      });
    });
    rtp.on('message', (data) => this.rtpInbox.push({ at: performance.now(), bytes: new Uint8Array(data) }));
  }

  static async open(): Promise<RawUa> {
    const bind = (socket: Socket) =>
      new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => resolve());
      });
    const sip = createSocket('udp4');
    const rtp = createSocket('udp4');
    await bind(sip);
    await bind(rtp);
    return new RawUa(sip, rtp);
  }

  get port(): number {
    return this.sip.address().port;
  }

  get rtpPort(): number {
    return this.rtp.address().port;
  }

  send(text: string | Uint8Array, port: number): void {
    this.sip.send(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, port, '127.0.0.1');
  }

  sendRtp(bytes: Uint8Array, port: number): void {
    this.rtp.send(bytes, port, '127.0.0.1');
  }

  /** The next message (after those already taken) that passes `filter`. */
  next(filter: (r: Received) => boolean = () => true, timeoutMs = 3000): Promise<Received> {
    for (let i = this.#cursor; i < this.inbox.length; i++) {
      if (filter(this.inbox[i]!)) {
        this.#cursor = i + 1;
        return Promise.resolve(this.inbox[i]!);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `no matching SIP message within ${timeoutMs} ms; inbox:\n${this.inbox.map((r) => r.text.split('\r\n')[0]).join('\n')}`,
          ),
        );
      }, timeoutMs);
      const done = (r: Received) => {
        clearTimeout(timer);
        this.#cursor = this.inbox.indexOf(r) + 1;
        resolve(r);
      };
      this.#waiters.push({ filter, resolve: done });
    });
  }

  /**
   * Waits for a response with this status and, when given, this CSeq: a method (`'INVITE'`) or a
   * whole CSeq (`'2 INVITE'`). A request within a dialog needs the whole CSeq: the endpoint may
   * still be retransmitting the 200 of an earlier INVITE that a busy machine read the ACK of late.
   */
  response(status: number, cseq?: string, timeoutMs?: number): Promise<Received> {
    return this.next((r) => {
      if (r.message?.type !== 'response' || r.message.status !== status) return false;
      const header = r.message.headers.get('cseq') ?? '';
      return cseq === undefined || header === cseq || header.endsWith(` ${cseq}`);
    }, timeoutMs);
  }

  request(method: string, timeoutMs?: number): Promise<Received> {
    return this.next((r) => r.message?.type === 'request' && r.message.method === method, timeoutMs);
  }

  /** Everything received from now for `ms`. */
  async quiet(ms: number): Promise<Received[]> {
    const from = this.inbox.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.inbox.slice(from);
  }

  close(): void {
    this.sip.close();
    this.rtp.close();
  }
}

export type RequestSpec = {
  method: string;
  /** The endpoint's SIP port. */
  port: number;
  ua: RawUa;
  callId: string;
  fromTag: string;
  toTag?: string;
  branch?: string;
  cseq: number;
  cseqMethod?: string;
  headers?: string[];
  body?: string;
  contentType?: string;
  uri?: string;
};

/** A request as text, from the raw UA to the endpoint. */
export function request(spec: RequestSpec): string {
  const body = spec.body ?? '';
  const lines = [
    `${spec.method} ${spec.uri ?? `sip:agent@127.0.0.1:${spec.port}`} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${spec.ua.port};branch=${spec.branch ?? token('z9hG4bK')};rport`,
    `From: "Raw" <sip:raw@127.0.0.1:${spec.ua.port}>;tag=${spec.fromTag}`,
    `To: <sip:agent@127.0.0.1:${spec.port}>${spec.toTag ? `;tag=${spec.toTag}` : ''}`,
    `Call-ID: ${spec.callId}`,
    `CSeq: ${spec.cseq} ${spec.cseqMethod ?? spec.method}`,
    `Contact: <sip:raw@127.0.0.1:${spec.ua.port}>`,
    'Max-Forwards: 70',
    ...(spec.headers ?? []),
  ];
  if (body) lines.push(`Content-Type: ${spec.contentType ?? 'application/sdp'}`);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** The raw UA's answer (no body) to a request the endpoint sent (BYE, REFER, UPDATE, …). */
export function answerTo(of: SipMessage, status = 200, reason = 'OK'): string {
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

/** An SDP offer for the raw UA's RTP socket. */
export function offer(ua: RawUa, payloads = '0 101 13', extra: string[] = []): string {
  const lines = [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${ua.rtpPort} RTP/AVP ${payloads}`,
  ];
  for (const pt of payloads.split(' ')) {
    if (pt === '0') lines.push('a=rtpmap:0 PCMU/8000');
    if (pt === '8') lines.push('a=rtpmap:8 PCMA/8000');
    if (pt === '13') lines.push('a=rtpmap:13 CN/8000');
    if (pt === '18') lines.push('a=rtpmap:18 G729/8000');
    if (pt === '101') lines.push('a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15');
  }
  lines.push('a=ptime:20', 'a=sendrecv', ...extra);
  return `${lines.join('\r\n')}\r\n`;
}

/** The response as a message (throws when it could not be parsed). */
export function msg(r: Received): SipMessage {
  if (!r.message) throw new Error(`unparseable: ${r.text}`);
  return r.message;
}

/** The To tag of a response. */
export function toTagOf(r: Received): string {
  const to = msg(r).headers.get('to') ?? '';
  const match = /;tag=([^;>\s]+)/.exec(to);
  if (!match) throw new Error(`no To tag in ${to}`);
  return match[1]!;
}
