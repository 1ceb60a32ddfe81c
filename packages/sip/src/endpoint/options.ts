/**
 * The endpoint's options, events and counters, and what turns options into settings.
 */
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { ConfigError } from '@switchboard/core';
import type { SipCall } from './call.js';
import type { RtpMediaProtocolOptions } from './protocol.js';
import type { RtpPortRange } from './rtp/session.js';
import type { MediaPreferences, NegotiatedMedia } from './sdp.js';
import type { DigestAlgorithm, DigestSecret } from './sip/digest.js';
import { parseCSeq, tagOf, type SipHeaders, type SipRequest } from './sip/message.js';
import type { SipTransportName } from './sip/sockets.js';
import type { SipTimers } from './sip/transactions.js';
import { DEFAULT_MIN_SE_SECONDS } from './session-timer.js';
import type { SipRealtimeTransportOptions } from './transport.js';

/** RFC 4028 §6: the reason phrase of 422. */
export const TOO_SMALL = 'Session Interval Too Small';

/** Methods the endpoint accepts (the Allow header). */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY';
/** Methods defined by SIP and its extensions that the endpoint does not accept: 405 rather than 501. */
export const KNOWN_METHODS = new Set([
  'REGISTER',
  'SUBSCRIBE',
  'PUBLISH',
  'MESSAGE',
  'REFER',
  'UPDATE',
  'PRACK',
  'NOTIFY',
  'INFO',
]);

/** An incoming INVITE, for {@link SipEndpointOptions.onInvite}. */
export type SipInvite = {
  callId: string;
  /** The caller's and the called URIs (From, To). */
  from: string;
  to: string;
  requestUri: string;
  headers: SipHeaders;
  /** The `X-` headers, without the prefix. */
  customParameters: Record<string, string>;
  source: { transport: SipTransportName; address: string; port: number };
  /** The audio stream the answer will carry (undefined for an INVITE without SDP). */
  media: NegotiatedMedia | undefined;
  /** The authenticated user, when digest authentication is on. */
  username: string | undefined;
};

/** `true` or nothing: answer. `false`: 603 Decline. `{ status }`: that final response (3xx–6xx). */
export type SipInviteDecision = boolean | void | { status: number; reason?: string };

export type SipEndpointAuthOptions = {
  realm: string;
  /** The password of a user (or its HA1 per algorithm), or undefined for an unknown user. */
  credentials: (username: string, realm: string) => DigestSecret | undefined | Promise<DigestSecret | undefined>;
  /**
   * Algorithms offered, one challenge each, in order. Default `['MD5']`; `['SHA-256', 'MD5']` adds RFC 8760 SHA-256.
   */
  algorithms?: DigestAlgorithm[];
  /** Methods challenged (outside a dialog). Default `['INVITE']`. */
  methods?: string[];
};

export type SipEndpointOptions = {
  /** Address to listen on. Default `0.0.0.0`. */
  host?: string;
  /** SIP port, for UDP and TCP alike. Default 5060; 0 picks a free one. */
  port?: number;
  /** Default `['udp', 'tcp']`. */
  transports?: SipTransportName[];
  /**
   * The address put in Via, Contact and SDP: how the far end reaches this process. Default: `host`
   * when it is an address, else the first non-internal IPv4 address of the machine.
   */
  advertisedAddress?: string;
  /** Only requests from these addresses or CIDR ranges are read; others are dropped unanswered. */
  allow?: string[];
  /** Digest authentication (RFC 2617/8760) of INVITEs (or the given methods). */
  auth?: SipEndpointAuthOptions;
  /** Codecs, telephone events and comfort noise accepted in offers. */
  media?: MediaPreferences;
  rtp?: {
    /** Address the RTP sockets bind. Default: `host`. */
    host?: string;
    /** RTP ports (even; RTCP on the next). Default 10000–20000. */
    ports?: RtpPortRange;
    /** Address written into the SDP. Default: `advertisedAddress`. */
    advertisedAddress?: string;
    /** Follow the caller's RTP to where it actually comes from (NAT). Default true. */
    latch?: boolean;
    /**
     * The RTP timeout (Asterisk's `rtptimeout`), ms: a call whose far end sends no RTP and no
     * RTCP for this long is hung up with a BYE (end reason `rtp_timeout`). A phone or trunk
     * sends 50 packets a second, and one that suppresses silence still sends RTCP every few
     * seconds: 20 s of nothing is a caller that is gone (a crashed phone, a lost BYE, a NAT
     * binding that expired). `null`: never. Default 20 000.
     */
    timeoutMs?: number | null;
    /**
     * The RTP timeout while the caller holds the call (Asterisk's `rtpholdtimeout`), ms: an
     * offer that makes the stream `sendonly`, `inactive` or `recvonly` from the caller's side (or
     * has no address) means no RTP may come. Back to `timeoutMs` once the caller resumes.
     * `null`: no limit on hold. Default `null`.
     */
    holdTimeoutMs?: number | null;
  } & Pick<RtpMediaProtocolOptions, 'jitterDepth' | 'leadMs' | 'dtmf'>;
  /**
   * Decides whether to answer an INVITE (after authentication), while the caller hears ringing.
   * Default: answer every call.
   */
  onInvite?: (invite: SipInvite) => SipInviteDecision | Promise<SipInviteDecision>;
  /** Send 180 Ringing before answering. Default true. */
  ringing?: boolean;
  /**
   * Calls at once; beyond it INVITEs get 486 Busy Here. A call counts from its INVITE's arrival
   * (while `onInvite`, digest authentication and the RTP port are awaited) until its dialog is
   * gone; an INVITE refused, failed or cancelled gives its place back at once. Default: no limit.
   */
  maxCalls?: number;
  /** Hang up once a transfer reports success. Default true. */
  hangupAfterTransfer?: boolean;
  /**
   * Options of every call's transport: the model's `url`, `apiKey`, `clock`, early-media bounds, ...
   * (The transport's carrier idle timeout is the endpoint's `rtp.timeoutMs` and `rtp.holdTimeoutMs`.)
   */
  transport?: Omit<SipRealtimeTransportOptions, 'connection' | 'protocol' | 'call' | 'carrierIdleTimeoutMs'>;
  /** RFC 3261 timers (ms). Default T1 500, T2 4000, T4 5000. */
  timers?: Partial<SipTimers>;
  /**
   * Session timers (RFC 4028): a caller that asks for one (`Session-Expires`, `Supported: timer`)
   * refreshes the call with re-INVITEs, and a call it stops refreshing is hung up with a BYE
   * (reason `session_expired`) shortly before the interval ends. `minSeconds` is the smallest
   * interval accepted (smaller: 422 with `Min-SE`). The endpoint never refreshes itself: a caller
   * that wants it to (`refresher=uas`) gets no session timer. `false`: not supported (a
   * `Require: timer` gets 420). Default `{ minSeconds: 90 }`.
   */
  sessionTimers?: false | { minSeconds?: number };
  /** User-Agent and Server header value. Default `switchboard`. */
  userAgent?: string;
  /** User part of the Contact URI. Default `switchboard`. */
  contactUser?: string;
};

/** Counters of an endpoint, cumulative. */
export type SipEndpointCounters = {
  requests: number;
  responses: number;
  /** Messages that could not be parsed. */
  malformed: number;
  /** 400 (or 505) responses sent to malformed requests. */
  badRequests: number;
  /** Datagrams and connections from sources not allowed, dropped unread. */
  dropped: number;
  retransmissionsAbsorbed: number;
  challenges: number;
  calls: number;
  /** INVITEs refused with 486 because `maxCalls` calls were answered or being set up. */
  busy: number;
};

export interface SipEndpointEvents {
  /** An answered call, with its transport ready for a `RealtimeSession`. */
  call: [call: SipCall];
  error: [error: unknown];
}

export function minSessionExpires(option: SipEndpointOptions['sessionTimers']): number | undefined {
  if (option === false) return undefined;
  const value = option?.minSeconds ?? DEFAULT_MIN_SE_SECONDS;
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 2_147_483)) {
    throw new ConfigError(
      `\`sessionTimers.minSeconds\` must be a whole number of seconds from 1, got ${String(value)}.`,
    );
  }
  return value;
}

/** Default RTP timeout, ms (see {@link SipEndpointOptions.rtp}). */
export const DEFAULT_RTP_TIMEOUT_MS = 20_000;
/** Longest delay a timer can wait (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

export function rtpTimeout(name: string, value: number | null | undefined, fallback: number | null): number | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_TIMER_MS)) {
    throw new ConfigError(
      `\`rtp.${name}\` must be a positive number of ms up to ${MAX_TIMER_MS}, or null; got ${String(value)}.`,
    );
  }
  return value;
}

export function defaultAddress(host: string): string {
  if (isIP(host) && host !== '0.0.0.0' && host !== '::') return host;
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  }
  return '127.0.0.1';
}

/** What tells a merged request (RFC 3261 §8.2.2.2): Call-ID, From tag and CSeq number. */
export function mergeKeyOf(request: SipRequest): string {
  return `${request.headers.get('call-id')}|${tagOf(request.headers.get('from')) ?? ''}|${parseCSeq(request.headers.get('cseq'))?.seq ?? ''}`;
}

/** Text fit for the quoted string of a Warning header. */
export function sanitize(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, '').slice(0, 120);
}
