/**
 * The types a SIP call is described by: why it ended, its events, what it needs from its endpoint
 * and what it is made from.
 */
import type { RtpSession } from './rtp/session.js';
import type { NegotiatedMedia } from './sdp.js';
import type { SipRequest, SipResponse } from './sip/message.js';
import type { SipSource, SipTarget, SipTransportName } from './sip/sockets.js';
import type { InviteServerTransaction } from './sip/transactions.js';
import type { SipCall } from './call.js';

/** Why a call ended. */
export type SipCallEndReason =
  /** The far end sent BYE. */
  | 'bye'
  /** `hangup()` or the transport was closed (a BYE was sent). */
  | 'hangup'
  /** The 200 OK was never acknowledged (a BYE was sent). */
  | 'ack_timeout'
  /** The far end's answer to our offer (in the ACK) was missing or unacceptable (a BYE was sent). */
  | 'no_answer_sdp'
  /** The endpoint was closed. */
  | 'endpoint_closed'
  /** No RTP or RTCP came for the RTP timeout (or the hold timeout while on hold): a BYE was sent. */
  | 'rtp_timeout'
  /** The caller asked for a session timer (RFC 4028) and did not refresh the session in time: a BYE was sent. */
  | 'session_expired';

/** Progress of a transfer, from the NOTIFYs of the REFER's subscription (RFC 3515). */
export type SipTransferProgress = { status: number; reason: string; final: boolean };

export interface SipCallEvents {
  /** The caller acknowledged the 200 OK. */
  confirmed: [];
  /** The call is over (the transport has been closed too). */
  ended: [event: { reason: SipCallEndReason }];
  /** A NOTIFY reported the progress of a transfer. */
  transfer: [progress: SipTransferProgress];
}

/** What a call needs from its endpoint. */
export interface CallContext {
  readonly advertisedAddress: string;
  readonly port: number;
  readonly userAgent: string;
  contact(transport: SipTransportName): string;
  /** Sends a request in a client transaction; resolves with its final response (408 on timeout). */
  sendRequest(request: SipRequest, target: SipTarget): Promise<SipResponse>;
  /** The call is over: forget its dialog. */
  release(call: SipCall): void;
}

export type SipCallInit = {
  invite: SipRequest;
  source: SipSource;
  localTag: string;
  rtp: RtpSession;
  media: NegotiatedMedia | undefined;
  /** The INVITE's server transaction (a call we answered). */
  inviteTransaction?: InviteServerTransaction;
  /** The 2xx that answered our INVITE (a call we placed): the dialog is ours as UAC. */
  answer?: SipResponse;
  hangupAfterTransfer: boolean;
  /** How long the media may stay quiet before the call ends (ms, `null`: no limit), and while on hold. */
  rtpTimeouts: RtpTimeouts;
};

export type RtpTimeouts = { activeMs: number | null; holdMs: number | null };

/**
 * True when the caller may send no RTP on this stream: its offer holds the call (RFC 3264 §8.4:
 * `sendonly` or `inactive`; `recvonly`; or RFC 2543's `c=0.0.0.0`).
 */
export function isHeld(media: NegotiatedMedia): boolean {
  return media.direction !== 'sendrecv' || media.remoteAddress === undefined;
}
