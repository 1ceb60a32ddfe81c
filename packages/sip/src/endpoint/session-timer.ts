/**
 * Session timers (RFC 4028), the answering side. The caller refreshes the session with re-INVITEs
 * within the interval it asked for, and the endpoint hangs up when no refresh came. Where the
 * caller wants the endpoint to refresh (`refresher=uas`), or cannot refresh itself (it does not
 * support the extension: a proxy asked for the timer), the endpoint refreshes with UPDATE at half
 * the interval when the caller accepts UPDATE (its `Allow`); otherwise no session timer runs (the
 * RTP timeout still ends a dead call).
 */
import type { SipRequest } from './sip/message.js';

/** RFC 4028 §4: the smallest session interval a UA may require, s. */
export const DEFAULT_MIN_SE_SECONDS = 90;
/** Longest interval a timer can wait for, s (2^31 - 1 ms). */
const MAX_SECONDS = 2_147_483;

export type SessionTimerOffer =
  /** Run a session timer of `seconds`, refreshed by the caller (`uac`) or by us (`uas`). */
  | { seconds: number; refresher: 'uac' | 'uas' }
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
  const asked = parseSessionExpires(request.headers.get('session-expires'));
  if (!asked) return undefined;
  asked.seconds = Math.min(asked.seconds, MAX_SECONDS);
  const supported =
    lowerList(request, 'supported').includes('timer') || lowerList(request, 'require').includes('timer');
  // A caller without the extension cannot take a 422 (RFC 4028 §9): it gets our minimum instead.
  if (asked.seconds < minSeconds && supported) return { tooSmall: true, minSeconds };
  const seconds = Math.max(asked.seconds, minSeconds);
  if (supported && (asked.refresher === undefined || asked.refresher === 'uac')) return { seconds, refresher: 'uac' };
  // We refresh: by UPDATE, which the caller must accept.
  return lowerList(request, 'allow').includes('update') ? { seconds, refresher: 'uas' } : undefined;
}

/** A `Session-Expires` value: the interval (s) and the refresher, when it names one. */
export function parseSessionExpires(
  value: string | undefined,
): { seconds: number; refresher?: 'uac' | 'uas' } | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d{1,10})\s*((?:;[^;]*)*)$/.exec(value);
  if (!match) return undefined;
  const refresher = /;\s*refresher\s*=\s*([a-z]+)/i.exec(match[2] ?? '')?.[1]?.toLowerCase();
  const seconds = Number(match[1]);
  return refresher === 'uac' || refresher === 'uas' ? { seconds, refresher } : { seconds };
}

/** When the refresher refreshes: at half the interval (RFC 4028 §10), ms. */
export function refreshDelayMs(seconds: number): number {
  return Math.round((seconds * 1000) / 2);
}

/**
 * When the side that does not refresh hangs up: a little before the session expires, by the
 * smaller of 32 s and a third of the interval (RFC 4028 §10), ms.
 */
export function expiryDelayMs(seconds: number): number {
  return Math.round((seconds - Math.min(32, seconds / 3)) * 1000);
}

/** What a {@link SessionTimer} asks of its call. */
export interface SessionTimerHost {
  /** The call is still up (answered or confirmed). */
  live(): boolean;
  /** No refresh came in time, or a refresh found the dialog gone: hang up (BYE, `session_expired`). */
  expired(): void;
  /**
   * Sends our refresh (an UPDATE with these headers); resolves with the final response's status and Session-Expires.
   */
  refresh(headers: Array<[string, string]>): Promise<{ status: number; sessionExpires: string | undefined }>;
  log(format: string, ...args: unknown[]): void;
}

/**
 * One call's session timer: hangs up when the session nearly expired unrefreshed, and, when we are
 * the refresher, sends an UPDATE at half the interval.
 */
export class SessionTimer {
  readonly #host: SessionTimerHost;
  #current: { seconds: number; refresher: 'uac' | 'uas' } | undefined;
  #expiry: ReturnType<typeof setTimeout> | undefined;
  #check: ReturnType<typeof setImmediate> | undefined;
  #refresh: ReturnType<typeof setTimeout> | undefined;
  /** Bumped on every change: a refresh answered after a newer one started is ignored. */
  #generation = 0;

  constructor(host: SessionTimerHost) {
    this.#host = host;
  }

  get seconds(): number | undefined {
    return this.#current?.seconds;
  }

  get refresher(): 'uac' | 'uas' | undefined {
    return this.#current?.refresher;
  }

  /** The session was (re)negotiated: `timer` from now, or none. */
  set(timer: { seconds: number; refresher: 'uac' | 'uas' } | undefined): void {
    this.clear();
    this.#current = timer ? { ...timer } : undefined;
    if (!timer || !this.#host.live()) return;
    const generation = this.#generation;
    this.#expiry = setTimeout(
      () => {
        this.#expiry = undefined;
        // A timer that fires late fires before the requests that arrived meanwhile are read: read
        // those first (a refresh among them restarts the timer and cancels this check).
        this.#check = setImmediate(() => {
          this.#check = undefined;
          if (generation !== this.#generation || !this.#host.live()) return;
          this.#host.log('the session (%d s) was not refreshed, hanging up', timer.seconds);
          this.#host.expired();
        });
        // The side that refreshes gives up when the session has expired; the other side a little
        // before (RFC 4028 §10).
      },
      timer.refresher === 'uas' ? timer.seconds * 1000 : expiryDelayMs(timer.seconds),
    );
    if (timer.refresher === 'uas')
      this.#refresh = setTimeout(() => this.#sendRefresh(timer.seconds, generation), refreshDelayMs(timer.seconds));
  }

  clear(): void {
    this.#generation++;
    if (this.#expiry !== undefined) clearTimeout(this.#expiry);
    if (this.#check !== undefined) clearImmediate(this.#check);
    if (this.#refresh !== undefined) clearTimeout(this.#refresh);
    this.#expiry = this.#check = this.#refresh = undefined;
  }

  #sendRefresh(seconds: number, generation: number): void {
    this.#refresh = undefined;
    if (generation !== this.#generation || !this.#host.live()) return;
    const headers: Array<[string, string]> = [
      ['Session-Expires', `${seconds};refresher=uas`],
      ['Supported', 'timer'],
    ];
    this.#host.refresh(headers).then(
      ({ status, sessionExpires }) => {
        if (generation !== this.#generation || !this.#host.live()) return;
        if (status >= 200 && status < 300) {
          // The 2xx says what holds from now: its interval and refresher, or no timer at all.
          const answered = parseSessionExpires(sessionExpires);
          this.set(answered ? { seconds: answered.seconds, refresher: answered.refresher ?? 'uas' } : undefined);
        } else if (status === 408 || status === 481) {
          // The far end is gone, or no longer knows the dialog (RFC 4028 §10).
          this.#host.log('session refresh answered %d, hanging up', status);
          this.#host.expired();
        } else {
          // Refused: the session expires as it would have (the expiry timer still runs).
          this.#host.log('session refresh answered %d', status);
        }
      },
      (error: unknown) => this.#host.log('session refresh failed: %s', (error as Error)?.message),
    );
  }
}
