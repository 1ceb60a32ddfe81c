/**
 * Requests within a call's dialog: BYE, INFO, NOTIFY, OPTIONS, and re-INVITEs, which refresh the
 * session (RFC 4028), move the stream, or put the call on hold and back (RFC 3264 §8.4). A
 * re-INVITE without an offer gets ours in the 200 OK, and the answer in its ACK is applied the
 * same way.
 */
import { logger } from '@switchboard/core/protocol';
import { answerWithSdp, readAnswer, readOffer } from './answer.js';
import type { SipCall } from './call.js';
import type { EndpointHost, ServerTransaction } from './host.js';
import { ALLOW, KNOWN_METHODS, TOO_SMALL } from './options.js';
import { buildAnswer, buildOffer, type NegotiatedMedia } from './sdp.js';
import { createResponse, parseCSeq, type SipHeader, type SipRequest } from './sip/message.js';
import type { SipSource } from './sip/sockets.js';
import type { InviteServerTransaction } from './sip/transactions.js';

const log = logger('sip:endpoint');

export function onInDialog(
  host: EndpointHost,
  call: SipCall,
  request: SipRequest,
  source: SipSource,
  tx: ServerTransaction,
): void {
  if (!call.acceptRemoteSeq(request)) {
    host.finalize(tx, request, 500, { reason: 'CSeq Out Of Order' });
    return;
  }
  const respond = (status: number, headers: SipHeader[] = [], body?: Uint8Array) =>
    tx.respond(createResponse(request, status, { headers, ...(body ? { body } : {}) }));
  switch (request.method) {
    case 'BYE':
      respond(200);
      call.remoteBye(request);
      return;
    case 'INVITE':
      onReInvite(host, call, request, source, tx as InviteServerTransaction);
      return;
    case 'INFO':
      respond(200);
      call.deliverToMedia(request);
      return;
    case 'NOTIFY':
      respond(200);
      call.onNotify(request);
      return;
    case 'OPTIONS':
      respond(200, [['Allow', ALLOW], ['Accept', 'application/sdp'], ...host.sessionTimerHeaders(undefined)]);
      return;
    case 'PRACK':
      respond(481);
      return;
    default:
      respond(KNOWN_METHODS.has(request.method) ? 405 : 501, [['Allow', ALLOW]]);
  }
}

function onReInvite(
  host: EndpointHost,
  call: SipCall,
  request: SipRequest,
  source: SipSource,
  tx: InviteServerTransaction,
): void {
  const sessionTimer = host.sessionTimerOf(request);
  if (sessionTimer && 'tooSmall' in sessionTimer) {
    tx.respond(
      createResponse(request, 422, { reason: TOO_SMALL, headers: [['Min-SE', String(sessionTimer.minSeconds)]] }),
    );
    return;
  }
  const rtpOptions = host.options.rtp ?? {};
  let media: NegotiatedMedia | undefined;
  let sdp: string;
  const offered = request.body.byteLength > 0;
  if (offered) {
    // An offer that cannot be answered leaves the call as it was (RFC 3261 §14.2).
    const read = readOffer(host, request);
    if ('warning' in read) {
      tx.respond(createResponse(request, 488, { headers: [read.warning] }));
      return;
    }
    media = read.media;
    call.rtp.setRemote(
      media.remoteAddress && media.remotePort ? { address: media.remoteAddress, port: media.remotePort } : undefined,
    );
    sdp = buildAnswer(read.offer, media, localMedia(host, call, rtpOptions.advertisedAddress));
  } else {
    // A re-INVITE without an offer: ours goes in the 200 OK, its answer comes in the ACK.
    sdp = buildOffer(localMedia(host, call, rtpOptions.advertisedAddress), host.options.media);
  }
  const seq = parseCSeq(request.headers.get('cseq'))!.seq;
  call.refresh(request, media);
  call.trackInvite(seq, tx, !offered);
  // A re-INVITE refreshes the session (RFC 4028) as it is answered.
  answerWithSdp(host, { request, source, tx, call, sdp, sessionTimer });
  // The media protocol starts a new stream when the re-INVITE changed it, and holds or resumes
  // the model's audio when it put the call on hold or back.
  call.deliverToMedia(request);
}

/**
 * The ACK of a re-INVITE that carried no offer: its answer to ours says where the stream goes
 * and whether the caller holds the call. An ACK without a usable answer leaves the call as it was.
 */
export function onReInviteAck(host: EndpointHost, call: SipCall, ack: SipRequest, body: string | undefined): void {
  let media: NegotiatedMedia;
  try {
    media = readAnswer(host, body);
  } catch (error) {
    log("call %s: the re-INVITE's ACK: %s; the stream stays as it was", call.callId, (error as Error).message);
    return;
  }
  call.rtp.setRemote(
    media.remoteAddress && media.remotePort ? { address: media.remoteAddress, port: media.remotePort } : undefined,
  );
  call.refresh(undefined, media);
  call.deliverToMedia(ack);
}

function localMedia(host: EndpointHost, call: SipCall, advertised: string | undefined) {
  return {
    address: advertised ?? host.advertisedAddress,
    port: call.rtp.localPort,
    sessionId: call.sessionId,
    sessionVersion: call.nextSdpVersion(),
  };
}
