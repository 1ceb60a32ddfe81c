/**
 * Setting a new call up: an INVITE outside a dialog is authenticated, its offer negotiated, the
 * application asked (`onInvite`), an RTP port bound, and the call answered with a 200 OK and its
 * transport handed out; or the INVITE gets the final response that says why not.
 */
import { isIP } from 'node:net';
import { ConfigError } from '@switchboard/core';
import { logger } from '@switchboard/core/protocol';
import { SipCall } from './call.js';
import type { EndpointHost } from './host.js';
import type { SessionTimerOffer } from './session-timer.js';
import { ALLOW, TOO_SMALL, sanitize, type SipInvite } from './options.js';
import { RtpMediaProtocol, customParametersOf } from './protocol.js';
import { RtpSession } from './rtp/session.js';
import {
  SdpError,
  buildAnswer,
  buildOffer,
  negotiateAnswer,
  negotiateOffer,
  parseSdp,
  type NegotiatedMedia,
} from './sdp.js';
import {
  bodyText,
  createResponse,
  parseNameAddr,
  parseVia,
  textBody,
  type SipHeader,
  type SipRequest,
} from './sip/message.js';
import type { SipSource } from './sip/sockets.js';
import type { InviteServerTransaction } from './sip/transactions.js';
import { SipRealtimeTransport } from './transport.js';

const log = logger('sip:endpoint');

/** An INVITE being set up: cancelled, its To tag, its RTP session once bound, its maxCalls slot. */
export type Pending = { cancelled: boolean; localTag: string; rtp?: RtpSession; release?: () => void };

/** RFC 3261 §20.43 warn-code 301: the offer's network address format is not one we use. */
const INCOMPATIBLE_ADDRESS = 301;
/** RFC 3261 §20.43 warn-code 304: the offer's media type (here: every codec) is not available. */
const MEDIA_NOT_AVAILABLE = 304;

/** Why the endpoint cannot send to the stream's address, or undefined when it can. */
export function addressProblem(host: EndpointHost, media: NegotiatedMedia): string | undefined {
  const family = media.remoteFamily;
  if (family === undefined || host.rtpFamilies.has(family)) return undefined;
  return `RTP to an IPv${family} address (${media.remoteAddress}) is not possible from an IPv${family === 6 ? 4 : 6} RTP socket`;
}

/** The `Warning` of a 488: what in the offer could not be accepted. */
export function warningFor(host: EndpointHost, code: number, text: string): SipHeader {
  return ['Warning', `${code} ${host.advertisedAddress} "${sanitize(text)}"`];
}

/**
 * Reads an offer (a new call's or a re-INVITE's): the negotiated stream, or the 488 Warning that
 * says why it cannot be answered (no codec; an address the RTP socket cannot send to).
 */
export function readOffer(
  host: EndpointHost,
  request: SipRequest,
): { offer: ReturnType<typeof parseSdp>; media: NegotiatedMedia } | { warning: SipHeader } {
  let offer: ReturnType<typeof parseSdp>;
  let media: NegotiatedMedia;
  try {
    offer = parseSdp(bodyText(request));
    media = negotiateOffer(offer, host.options.media);
  } catch (error) {
    log('INVITE %s: %s', request.headers.get('call-id'), (error as SdpError).message);
    return { warning: warningFor(host, MEDIA_NOT_AVAILABLE, (error as Error).message) };
  }
  const problem = addressProblem(host, media);
  if (problem) {
    log('INVITE %s: %s', request.headers.get('call-id'), problem);
    return { warning: warningFor(host, INCOMPATIBLE_ADDRESS, problem) };
  }
  return { offer, media };
}

/**
 * Where the caller's RTP may come from besides its SDP's address: the SIP peer's address (a phone
 * behind NAT sends from there) and, when the INVITE came through proxies (several Vias), the
 * caller's own, as the first proxy saw it: the last Via's `received`, else its host. Behind a
 * proxy the SIP peer is the proxy, so without this a phone behind NAT, whose SDP names its
 * private address, could not be followed to where its audio comes from.
 */
export function rtpPeersOf(request: SipRequest, source: SipSource): string[] {
  const peers = [source.address];
  const vias = request.headers.list('via');
  if (vias.length < 2) return peers;
  const origin = parseVia(vias[vias.length - 1]!);
  const received = origin?.params['received'];
  const address = (received ?? origin?.host ?? '').replace(/^\[|\]$/g, '');
  if (isIP(address) !== 0 && !peers.includes(address)) peers.push(address);
  return peers;
}

export async function answerInvite(
  host: EndpointHost,
  request: SipRequest,
  source: SipSource,
  tx: InviteServerTransaction,
  pending: Pending,
): Promise<void> {
  const options = host.options;
  const reject = (status: number, headers: SipHeader[] = []) =>
    host.finalize(tx, request, status, { toTag: pending.localTag, headers });
  if (!options.onInvite && !host.hasCallListener()) return reject(480);

  let username: string | undefined;
  if (host.auth && host.authMethods.has('INVITE')) {
    const verdict = await host.auth.verify(request);
    if (pending.cancelled) return;
    if (!verdict.ok) {
      if ('badRequest' in verdict) return reject(400);
      host.counters.challenges++;
      return reject(
        401,
        host.auth.challenge(verdict.stale).map((value): SipHeader => ['WWW-Authenticate', value]),
      );
    }
    username = verdict.username;
  }

  const contentType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  let offer: ReturnType<typeof parseSdp> | undefined;
  let media: NegotiatedMedia | undefined;
  if (request.body.byteLength > 0) {
    if (contentType !== 'application/sdp') return reject(415, [['Accept', 'application/sdp']]);
    const read = readOffer(host, request);
    if ('warning' in read) return reject(488, [read.warning]);
    ({ offer, media } = read);
  }

  const sessionTimer = host.sessionTimerOf(request);
  if (sessionTimer && 'tooSmall' in sessionTimer) {
    return host.finalize(tx, request, 422, {
      reason: TOO_SMALL,
      toTag: pending.localTag,
      headers: [['Min-SE', String(sessionTimer.minSeconds)]],
    });
  }

  // Responses that set the dialog up carry the proxies' Record-Route, in order (RFC 3261 §12.1.1):
  // the caller builds its route set from them.
  const recordRoute = request.headers.getAll('record-route').map((value): SipHeader => ['Record-Route', value]);
  if (options.ringing !== false) {
    tx.respond(
      createResponse(request, 180, {
        toTag: pending.localTag,
        headers: [...recordRoute, ['Contact', host.contact(source.transport)]],
      }),
    );
  }

  if (options.onInvite) {
    const invite: SipInvite = {
      callId: request.headers.get('call-id')!,
      from: parseNameAddr(request.headers.get('from')!)!.uri,
      to: parseNameAddr(request.headers.get('to')!)!.uri,
      requestUri: request.uri,
      headers: request.headers.clone(),
      customParameters: customParametersOf(request),
      source: { transport: source.transport, address: source.address, port: source.port },
      media,
      username,
    };
    const decision = await options.onInvite(invite);
    if (pending.cancelled || tx.state !== 'proceeding') return;
    if (decision === false) return reject(603);
    if (typeof decision === 'object' && decision !== null) {
      const status = Number(decision.status);
      if (!(Number.isInteger(status) && status >= 300 && status <= 699))
        throw new ConfigError(`onInvite returned an invalid status ${String(decision.status)}`);
      tx.respond(
        createResponse(request, status, {
          toTag: pending.localTag,
          ...(decision.reason ? { reason: decision.reason } : {}),
        }),
      );
      return;
    }
  }

  const rtpOptions = options.rtp ?? {};
  let rtp: RtpSession;
  try {
    rtp = await RtpSession.open({
      host: rtpOptions.host ?? options.host ?? '0.0.0.0',
      ...(rtpOptions.ports ? { ports: rtpOptions.ports } : {}),
      ...(rtpOptions.latch !== undefined ? { latch: rtpOptions.latch } : {}),
      trustedAddresses: rtpPeersOf(request, source),
    });
  } catch (error) {
    log('no RTP port: %s', (error as Error).message);
    return reject(503);
  }
  pending.rtp = rtp;
  if (pending.cancelled || tx.state !== 'proceeding') {
    rtp.close();
    return;
  }
  if (media?.remoteAddress && media.remotePort) rtp.setRemote({ address: media.remoteAddress, port: media.remotePort });

  const call = new SipCall(host.callContext(), {
    invite: request,
    source,
    localTag: pending.localTag,
    rtp,
    media,
    inviteTransaction: tx,
    hangupAfterTransfer: options.hangupAfterTransfer ?? true,
    rtpTimeouts: host.rtpTimeouts,
  });
  call.username = username;
  const local = {
    address: rtpOptions.advertisedAddress ?? host.advertisedAddress,
    port: rtp.localPort,
    sessionId: call.sessionId,
    sessionVersion: call.nextSdpVersion(),
  };
  const sdp = offer && media ? buildAnswer(offer, media, local) : buildOffer(local, options.media);
  if (media) {
    try {
      attachTransport(host, call, request, media);
    } catch (error) {
      rtp.close();
      throw error;
    }
  }
  host.addDialog(call);
  host.counters.calls++;
  tx.onAckTimeout = () => call.ackTimedOut();
  answerWithSdp(host, { request, source, tx, call, sdp, sessionTimer, toTag: pending.localTag, recordRoute });
  pending.rtp = undefined;
  log('call %s answered: %s, RTP port %d', call.callId, media ? media.codec : 'offer sent', rtp.localPort);
  if (media) host.emitCall(call);
}

/**
 * Answers an INVITE (or re-INVITE) 200 OK with our SDP and the session-timer headers, and restarts
 * the call's session timer: its interval from now, or none if the request asked for none (RFC 4028).
 */
export function answerWithSdp(
  host: EndpointHost,
  answer: {
    request: SipRequest;
    source: SipSource;
    tx: InviteServerTransaction;
    call: SipCall;
    sdp: string;
    sessionTimer: SessionTimerOffer | undefined;
    toTag?: string;
    recordRoute?: SipHeader[];
  },
): void {
  const { request, source, tx, call, sdp, sessionTimer } = answer;
  tx.respond(
    createResponse(request, 200, {
      ...(answer.toTag !== undefined ? { toTag: answer.toTag } : {}),
      headers: [
        ...(answer.recordRoute ?? []),
        ['Contact', host.contact(source.transport)],
        ['Allow', ALLOW],
        ...host.sessionTimerHeaders(sessionTimer),
        ['Content-Type', 'application/sdp'],
      ],
      body: textBody(sdp),
    }),
  );
  call.sessionRefreshed(sessionTimer && 'seconds' in sessionTimer ? sessionTimer : undefined);
}

export function attachTransport(host: EndpointHost, call: SipCall, invite: SipRequest, media: NegotiatedMedia): void {
  const rtpOptions = host.options.rtp ?? {};
  const transportOptions = host.options.transport ?? {};
  const now = transportOptions.now ?? (transportOptions.clock ? () => transportOptions.clock!.now() : undefined);
  const protocol = new RtpMediaProtocol({
    media,
    invite,
    ...(host.options.media ? { preferences: host.options.media } : {}),
    ...(rtpOptions.jitterDepth !== undefined ? { jitterDepth: rtpOptions.jitterDepth } : {}),
    ...(rtpOptions.leadMs !== undefined ? { leadMs: rtpOptions.leadMs } : {}),
    ...(rtpOptions.dtmf ? { dtmf: rtpOptions.dtmf } : {}),
    ...(now ? { now } : {}),
  });
  const transport = new SipRealtimeTransport({
    ...transportOptions,
    carrierIdleTimeoutMs: host.rtpTimeouts.activeMs,
    connection: call.rtp,
    protocol,
    call,
  });
  call.attachTransport(transport, media);
}

/** Reads the answer to our offer (in an ACK); throws {@link SdpError} when it cannot be used. */
export function readAnswer(host: EndpointHost, body: string | undefined): NegotiatedMedia {
  if (!body) throw new SdpError('the ACK carries no SDP answer');
  const media = negotiateAnswer(body, host.options.media);
  const problem = addressProblem(host, media);
  if (problem) throw new SdpError(problem);
  return media;
}

/** An INVITE without SDP got our offer in the 200 OK; the ACK carries the answer. */
export function completeDelayedOffer(host: EndpointHost, call: SipCall, body: string | undefined): void {
  let media: NegotiatedMedia;
  try {
    media = readAnswer(host, body);
  } catch (error) {
    log('call %s: %s; hanging up', call.callId, (error as Error).message);
    void call.answerFailed();
    return;
  }
  if (media.remoteAddress && media.remotePort)
    call.rtp.setRemote({ address: media.remoteAddress, port: media.remotePort });
  // The INVITE had no offer: the call starts from it with the answer's stream.
  const invite: SipRequest = {
    type: 'request',
    method: 'INVITE',
    uri: call.requestUri,
    headers: call.headers.clone(),
    body: new Uint8Array(0),
  };
  try {
    attachTransport(host, call, invite, media);
  } catch (error) {
    host.emitError(error);
    void call.hangup();
    return;
  }
  host.emitCall(call);
}
