/**
 * Placing a call (RFC 3261 §13.2, the UAC side of an INVITE): our offer in the INVITE, its
 * client transaction (retransmitted over UDP until a response, RFC 3261 §17.1.1), a digest
 * challenge (401/407) answered once, the answer read from the 2xx, the 2xx acknowledged (and
 * again for each retransmission of it), and the call handed back with its transport.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CallControlError, ConfigError } from '@switchboard/core';
import { logger } from '@switchboard/core/protocol';
import { attachTransport } from './answer.js';
import { SipCall, hostPort } from './call.js';
import type { EndpointHost } from './host.js';
import { RtpSession } from './rtp/session.js';
import { buildOffer, negotiateAnswer, type NegotiatedMedia } from './sdp.js';
import { newBranch } from './sip/fields.js';
import {
  bodyText,
  parseNameAddr,
  parseSipUri,
  SipHeaders,
  textBody,
  type SipRequest,
  type SipResponse,
} from './sip/message.js';
import type { SipTarget } from './sip/sockets.js';
import { clientTransactionKey, type SipTimers, type TimerSet } from './sip/transactions.js';

const log = logger('sip:endpoint');

export type SipDialOptions = {
  /** Our URI in `From`. Default `sip:switchboard@<advertised address>:<port>`. */
  from?: string;
  /** A display name in `From`. */
  displayName?: string;
  /** Header fields added to the INVITE (`X-Campaign: spring`); `X-` ones become the call's custom parameters. */
  headers?: Record<string, string>;
  /** Answers a digest challenge (401 or 407) from the trunk, once (MD5 or SHA-256, `qop=auth` or none). */
  auth?: { username: string; password: string };
  /**
   * How long the far end may ring, ms: then the INVITE is cancelled (CANCEL, RFC 3261 §9) and the
   * call rejects with the 487 that answers it. Default 60 000.
   */
  ringTimeoutMs?: number;
};

/** How long a placed call may ring by default, ms. */
export const DEFAULT_RING_TIMEOUT_MS = 60_000;

/** What placing a call needs of the endpoint, besides what answering one does. */
export interface DialHost extends EndpointHost {
  readonly port: number;
  readonly timers: SipTimers;
  readonly timerSet: TimerSet;
  send(message: SipRequest, target: SipTarget): void;
  /** Routes the responses of a client transaction (by branch and method) to it; `abort` as the endpoint closes. */
  track(key: string, client: { receive(response: SipResponse): void; abort(): void }): void;
  untrack(key: string): void;
}

function tag(): string {
  return randomBytes(6).toString('hex');
}

/** The next hop of a request to `uri` (no DNS: an address or a name the OS resolves when sending). */
function targetOf(uri: string): SipTarget {
  const parsed = parseSipUri(uri);
  if (!parsed) throw new ConfigError(`Not a SIP URI: ${JSON.stringify(uri)}.`);
  if ((parsed.params['transport'] ?? 'udp').toLowerCase() !== 'udp')
    throw new ConfigError('Calls are placed over UDP only.');
  return { transport: 'udp', address: parsed.host.replace(/^\[|\]$/g, ''), port: parsed.port ?? 5060 };
}

/** `Authorization` for a digest challenge (RFC 2617 / RFC 8760), or undefined when it cannot be answered. */
export function digestAnswer(
  challenge: string,
  credentials: { username: string; password: string },
  method: string,
  uri: string,
): string | undefined {
  const match = /^\s*Digest\s+(.*)$/is.exec(challenge);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const m of match[1]!.matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g))
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  const algorithm = (params['algorithm'] ?? 'MD5').toUpperCase();
  const hash = algorithm === 'MD5' ? 'md5' : algorithm === 'SHA-256' ? 'sha256' : undefined;
  const { realm, nonce } = params;
  if (!hash || realm === undefined || nonce === undefined) return undefined;
  const h = (text: string) => createHash(hash).update(text, 'utf8').digest('hex');
  const ha1 = h(`${credentials.username}:${realm}:${credentials.password}`);
  const ha2 = h(`${method}:${uri}`);
  const qops = (params['qop'] ?? '').split(',').map((q) => q.trim().toLowerCase());
  const quote = (text: string) => `"${text.replace(/(["\\])/g, '\\$1')}"`;
  const fields = [
    `username=${quote(credentials.username)}`,
    `realm=${quote(realm)}`,
    `nonce=${quote(nonce)}`,
    `uri=${quote(uri)}`,
    `algorithm=${algorithm}`,
  ];
  if (qops.includes('auth')) {
    const cnonce = randomBytes(8).toString('hex');
    fields.push(`response="${h(`${ha1}:${nonce}:00000001:${cnonce}:auth:${ha2}`)}"`, 'qop=auth', 'nc=00000001');
    fields.push(`cnonce="${cnonce}"`);
  } else if (params['qop'] === undefined) {
    fields.push(`response="${h(`${ha1}:${nonce}:${ha2}`)}"`);
  } else return undefined;
  if (params['opaque'] !== undefined) fields.push(`opaque=${quote(params['opaque'])}`);
  return `Digest ${fields.join(', ')}`;
}

/** An INVITE client transaction: resolves with its final response; re-ACKs what comes after. */
function sendInvite(
  host: DialHost,
  invite: SipRequest,
  target: SipTarget,
  ringTimeoutMs: number,
): { final: Promise<SipResponse>; ackWith(ack: SipRequest, to: SipTarget): void } {
  const key = clientTransactionKey(invite)!;
  const { t1, t2 } = host.timers;
  let ack: { request: SipRequest; to: SipTarget } | undefined;
  let state: 'calling' | 'proceeding' | 'done' = 'calling';
  let resolveFinal!: (response: SipResponse) => void;
  const final = new Promise<SipResponse>((resolve) => (resolveFinal = resolve));
  const settle = (response: SipResponse) => {
    state = 'done';
    host.timerSet.cancel(retransmit);
    host.timerSet.cancel(timeout);
    resolveFinal(response);
    // Answer the final response's retransmissions for a while (RFC 6026's Accepted state).
    host.timerSet.after(64 * t1, () => host.untrack(key));
  };
  let interval = t1;
  let retransmit: ReturnType<TimerSet['after']> | undefined;
  const again = () => {
    retransmit = host.timerSet.after(interval, () => {
      if (state !== 'calling') return;
      host.send(invite, target);
      interval = Math.min(interval * 2, t2);
      again();
    });
  };
  const timedOut = (): SipResponse => ({
    type: 'response',
    status: 408,
    reason: 'Request Timeout',
    headers: invite.headers.clone(),
    body: new Uint8Array(0),
  });
  // Timer B: nothing at all came back. After a provisional response the far end rings as long as it likes.
  const timeout = host.timerSet.after(64 * t1, () => {
    if (state !== 'calling') return;
    host.untrack(key);
    settle(timedOut());
  });
  const receive = (response: SipResponse) => {
    if (response.status < 200) {
      if (state === 'calling') state = 'proceeding';
      if (ringing) cancel();
      return;
    }
    if (response.status >= 300) {
      // A failure's ACK belongs to the transaction: same branch, the response's To (RFC 3261 §17.1.1.3).
      host.send(
        {
          type: 'request',
          method: 'ACK',
          uri: invite.uri,
          headers: new SipHeaders([
            ['Via', invite.headers.list('via')[0]!],
            ['Max-Forwards', '70'],
            ['From', invite.headers.get('from')!],
            ['To', response.headers.get('to') ?? invite.headers.get('to')!],
            ['Call-ID', invite.headers.get('call-id')!],
            ['CSeq', `${invite.headers.get('cseq')!.trim().split(/\s+/)[0]} ACK`],
            ['Content-Length', '0'],
          ]),
          body: new Uint8Array(0),
        },
        target,
      );
    } else if (state === 'done' && ack) host.send(ack.request, ack.to);
    if (state !== 'done') settle(response);
  };
  // Ringing too long: CANCEL (same branch), answered by a 487. Not before a provisional response
  // came (RFC 3261 §9.1): until then the far end may not know the INVITE yet.
  let cancelled = false;
  const cancel = () => {
    if (cancelled || state === 'done') return;
    cancelled = true;
    const request: SipRequest = {
      type: 'request',
      method: 'CANCEL',
      uri: invite.uri,
      headers: new SipHeaders([
        ['Via', invite.headers.list('via')[0]!],
        ['Max-Forwards', '70'],
        ['From', invite.headers.get('from')!],
        ['To', invite.headers.get('to')!],
        ['Call-ID', invite.headers.get('call-id')!],
        ['CSeq', `${invite.headers.get('cseq')!.trim().split(/\s+/)[0]} CANCEL`],
        ['Content-Length', '0'],
      ]),
      body: new Uint8Array(0),
    };
    log('call %s rang for %d ms: cancelling', invite.headers.get('call-id'), ringTimeoutMs);
    void host.callContext().sendRequest(request, target);
    // A far end that never answers the INVITE after all.
    host.timerSet.after(64 * t1, () => {
      if (state === 'done') return;
      host.untrack(key);
      settle(timedOut());
    });
  };
  let ringing = false;
  const ring = host.timerSet.after(ringTimeoutMs, () => {
    ringing = true;
    if (state === 'proceeding') cancel();
  });
  void final.then(() => host.timerSet.cancel(ring));
  host.track(key, {
    receive,
    abort: () => {
      if (state !== 'done') settle(timedOut());
    },
  });
  host.send(invite, target);
  again();
  return { final, ackWith: (request, to) => (ack = { request, to }) };
}

/**
 * Places a call to `uri` through `host` (the endpoint): resolves with the answered call, its
 * transport ready for a `RealtimeSession`; rejects with a CallControlError carrying the final
 * status when the far end refused it (or 408 when nothing answered).
 */
export async function placeCall(host: DialHost, uri: string, options: SipDialOptions = {}): Promise<SipCall> {
  if (typeof uri !== 'string' || !/^sips?:[^\s<>]+$/i.test(uri))
    throw new ConfigError(`The call target must be a sip: URI, got ${JSON.stringify(uri)}.`);
  const target = targetOf(uri);
  const ringMs = options.ringTimeoutMs;
  if (
    ringMs !== undefined &&
    !(typeof ringMs === 'number' && Number.isFinite(ringMs) && ringMs > 0 && ringMs <= 2_147_483_647)
  )
    throw new ConfigError(`\`ringTimeoutMs\` must be a positive number of ms, got ${String(ringMs)}.`);
  const from = options.from ?? `sip:switchboard@${hostPort(host.advertisedAddress, host.port)}`;
  if (!/^sips?:[^\s<>]+$/i.test(from))
    throw new ConfigError(`\`from\` must be a sip: URI, got ${JSON.stringify(from)}.`);
  const extra: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(name) || typeof value !== 'string' || /[\r\n]/.test(value))
      throw new ConfigError(`\`headers\`: ${JSON.stringify(name)} is not a header field one can send.`);
    extra.push([name, value]);
  }
  const rtpOptions = host.options.rtp ?? {};
  const rtp = await RtpSession.open({
    host: rtpOptions.host ?? host.options.host ?? '0.0.0.0',
    ...(rtpOptions.ports ? { ports: rtpOptions.ports } : {}),
    ...(rtpOptions.latch !== undefined ? { latch: rtpOptions.latch } : {}),
    trustedAddresses: [target.address],
  });
  try {
    const localTag = tag();
    const callId = `${randomBytes(12).toString('hex')}@switchboard`;
    const sessionId = String(Math.floor(Math.random() * 1e9));
    const sdp = buildOffer(
      {
        address: rtpOptions.advertisedAddress ?? host.advertisedAddress,
        port: rtp.localPort,
        sessionId,
        sessionVersion: 1,
      },
      host.options.media,
    );
    const name = options.displayName ? `"${options.displayName.replace(/["\\\r\n]/g, '')}" ` : '';
    let cseq = 1;
    const build = (authorization?: [string, string]): SipRequest => ({
      type: 'request',
      method: 'INVITE',
      uri,
      headers: new SipHeaders([
        ['Via', `SIP/2.0/UDP ${hostPort(host.advertisedAddress, host.port)};branch=${newBranch()};rport`],
        ['Max-Forwards', '70'],
        ['From', `${name}<${from}>;tag=${localTag}`],
        ['To', `<${uri}>`],
        ['Call-ID', callId],
        ['CSeq', `${cseq} INVITE`],
        ['Contact', host.contact('udp')],
        ['User-Agent', host.userAgent],
        ...(authorization ? [authorization] : []),
        ...extra,
        ['Content-Type', 'application/sdp'],
      ]),
      body: textBody(sdp),
    });
    let invite = build();
    const ringTimeoutMs = options.ringTimeoutMs ?? DEFAULT_RING_TIMEOUT_MS;
    let sent = sendInvite(host, invite, target, ringTimeoutMs);
    let response = await sent.final;
    if ((response.status === 401 || response.status === 407) && options.auth) {
      const challenge = response.headers.get(response.status === 401 ? 'www-authenticate' : 'proxy-authenticate');
      const answer = challenge ? digestAnswer(challenge, options.auth, 'INVITE', uri) : undefined;
      if (answer) {
        cseq++;
        invite = build([response.status === 401 ? 'Authorization' : 'Proxy-Authorization', answer]);
        sent = sendInvite(host, invite, target, ringTimeoutMs);
        response = await sent.final;
      }
    }
    if (response.status < 200 || response.status >= 300)
      throw new CallControlError(`The call was not answered: ${response.status} ${response.reason}`, {
        status: response.status,
      });
    // The dialog exists: acknowledge the 2xx, at the far end's Contact (RFC 3261 §13.2.2.4).
    const contact = response.headers.list('contact')[0];
    const remoteTarget = (contact && parseNameAddr(contact)?.uri) || uri;
    const routes = response.headers.list('record-route').reverse();
    let ackTarget: SipTarget = target;
    try {
      ackTarget = targetOf(routes[0] ? (parseNameAddr(routes[0])?.uri ?? remoteTarget) : remoteTarget);
    } catch {
      // A Contact we cannot reach directly: the ACK goes where the INVITE went.
    }
    const ack: SipRequest = {
      type: 'request',
      method: 'ACK',
      uri: remoteTarget,
      headers: new SipHeaders([
        ['Via', `SIP/2.0/UDP ${hostPort(host.advertisedAddress, host.port)};branch=${newBranch()};rport`],
        ['Max-Forwards', '70'],
        ['From', invite.headers.get('from')!],
        ['To', response.headers.get('to')!],
        ['Call-ID', callId],
        ['CSeq', `${cseq} ACK`],
        ...routes.map((route): [string, string] => ['Route', route]),
        ['User-Agent', host.userAgent],
        ['Content-Length', '0'],
      ]),
      body: new Uint8Array(0),
    };
    sent.ackWith(ack, ackTarget);
    host.send(ack, ackTarget);
    let media: NegotiatedMedia | undefined;
    let problem: unknown;
    try {
      media = negotiateAnswer(bodyText(response), host.options.media);
    } catch (error) {
      problem = error;
    }
    if (media?.remoteAddress && media.remotePort)
      rtp.setRemote({ address: media.remoteAddress, port: media.remotePort });
    const call = new SipCall(host.callContext(), {
      invite,
      source: target,
      localTag,
      rtp,
      media,
      hangupAfterTransfer: host.options.hangupAfterTransfer ?? true,
      rtpTimeouts: host.rtpTimeouts,
      answer: response,
    });
    host.addDialog(call);
    if (!media) {
      // Answered with nothing we can use: hang the dialog up (BYE) and say why.
      void call.answerFailed();
      throw new CallControlError(`The answer's SDP cannot be used: ${(problem as Error)?.message}`, { cause: problem });
    }
    attachTransport(host, call, invite, media);
    log('call %s placed to %s: %s', callId, uri, media.codec);
    return call;
  } catch (error) {
    if (!rtp.closed) rtp.close();
    throw error;
  }
}
