/**
 * Session timers (RFC 4028), the answering side: the caller refreshes the session with re-INVITEs
 * within the interval it asked for, and the endpoint hangs up when no refresh came. The endpoint
 * never refreshes itself: where the caller wants it to (`refresher=uas`), or the caller does not
 * support the extension, no session timer runs (the RTP timeout still ends a dead call).
 */
import type { SipRequest } from './sip/message.js';

/** RFC 4028 §4: the smallest session interval a UA may require, s. */
export const DEFAULT_MIN_SE_SECONDS = 90;
/** Longest interval a timer can wait for, s (2^31 - 1 ms). */
const MAX_SECONDS = 2_147_483;

export type SessionTimerOffer =
  /** Run a session timer of `seconds`, the caller refreshing. */
  | { seconds: number }
  /** The interval asked for is below our minimum: answer 422 with `Min-SE`. */
  | { tooSmall: true; minSeconds: number };

function lowerList(request: SipRequest, name: string): string[] {
  return request.headers.list(name).map((value) => value.trim().toLowerCase());
}

/**
 * What an INVITE (initial or re-INVITE) asks of the session timer. Undefined: no timer (no
 * `Session-Expires`, an unreadable one, a caller without the extension, or one that wants us to
 * refresh).
 */
export function readSessionTimer(request: SipRequest, minSeconds: number): SessionTimerOffer | undefined {
  const header = request.headers.get('session-expires');
  if (header === undefined) return undefined;
  const match = /^\s*(\d{1,10})\s*((?:;[^;]*)*)$/.exec(header);
  if (!match) return undefined;
  const requested = Number(match[1]);
  if (requested < minSeconds) return { tooSmall: true, minSeconds };
  const refresher = /;\s*refresher\s*=\s*([a-z]+)/i.exec(match[2] ?? '')?.[1]?.toLowerCase();
  const supported = lowerList(request, 'supported').includes('timer') || lowerList(request, 'require').includes('timer');
  if (!supported || (refresher !== undefined && refresher !== 'uac')) return undefined;
  return { seconds: Math.min(requested, MAX_SECONDS) };
}

/**
 * When the side that does not refresh hangs up: a little before the session expires, by the
 * smaller of 32 s and a third of the interval (RFC 4028 §10), ms.
 */
export function expiryDelayMs(seconds: number): number {
  return Math.round((seconds - Math.min(32, seconds / 3)) * 1000);
}
