/**
 * SIP transactions (RFC 3261 §17, with RFC 6026's Accepted state): the state machines that make
 * UDP reliable enough. Server transactions answer retransmitted requests from a cache and
 * retransmit final responses to INVITE until the ACK; client transactions retransmit requests
 * until a response.
 */
import { BRANCH_COOKIE, parseCSeq, parseVia, tagOf, type SipRequest, type SipResponse } from './message.js';

/** RFC 3261 timer values, ms. */
export type SipTimers = {
  /** RTT estimate. Default 500. */
  t1: number;
  /** Longest retransmit interval for non-INVITE requests and INVITE responses. Default 4000. */
  t2: number;
  /** Longest time a message stays in the network. Default 5000. */
  t4: number;
};

export const DEFAULT_TIMERS: SipTimers = { t1: 500, t2: 4000, t4: 5000 };

/** Timers the owner can cancel all at once (when the endpoint closes). */
export class TimerSet {
  readonly #handles = new Set<ReturnType<typeof setTimeout>>();

  after(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const handle = setTimeout(() => {
      this.#handles.delete(handle);
      fn();
    }, ms);
    this.#handles.add(handle);
    return handle;
  }

  cancel(handle: ReturnType<typeof setTimeout> | undefined): void {
    if (handle === undefined) return;
    clearTimeout(handle);
    this.#handles.delete(handle);
  }

  clear(): void {
    for (const handle of this.#handles) clearTimeout(handle);
    this.#handles.clear();
  }

  get size(): number {
    return this.#handles.size;
  }
}

/**
 * The key that matches a request to its server transaction (RFC 3261 §17.2.3): branch, sent-by
 * and method, ACK counting as INVITE. Requests from RFC 2543 clients (no magic cookie) are
 * matched by Call-ID, From tag, CSeq number and top Via instead.
 */
export function serverTransactionKey(request: SipRequest, method = request.method): string {
  const top = request.headers.list('via')[0] ?? '';
  const via = parseVia(top);
  const m = method === 'ACK' ? 'INVITE' : method;
  if (via?.branch?.startsWith(BRANCH_COOKIE)) return `${via.branch}|${via.host}:${via.port ?? ''}|${m}`;
  const cseq = parseCSeq(request.headers.get('cseq'));
  return `2543|${request.headers.get('call-id')}|${tagOf(request.headers.get('from')) ?? ''}|${cseq?.seq ?? ''}|${top.replace(/;received=[^;]*|;rport(=\d+)?/gi, '')}|${m}`;
}

/** The key that matches a response to its client transaction (RFC 3261 §17.1.3). */
export function clientTransactionKey(message: SipRequest | SipResponse): string | undefined {
  const via = parseVia(message.headers.list('via')[0] ?? '');
  const cseq = parseCSeq(message.headers.get('cseq'));
  if (!via?.branch || !cseq) return undefined;
  return `${via.branch}|${cseq.method}`;
}

type Send = (response: SipResponse) => void;

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/**
 * INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1). Provisional responses are resent
 * for a retransmitted INVITE. A 2xx moves it to Accepted: the 2xx is retransmitted (T1, doubling
 * up to T2) until the dialog reports its ACK, INVITE retransmissions are absorbed, and after 64×T1
 * without an ACK `onAckTimeout` fires. A 3xx–6xx moves it to Completed: retransmitted until the
 * ACK (over UDP), which the transaction absorbs.
 */
export class InviteServerTransaction {
  state: InviteServerState = 'proceeding';
  readonly request: SipRequest;
  readonly #send: Send;
  readonly #reliable: boolean;
  readonly #timers: SipTimers;
  readonly #set: TimerSet;
  readonly #onTerminated: () => void;
  /** Called when a 2xx got no ACK within 64×T1. */
  onAckTimeout: (() => void) | undefined;
  #last: SipResponse | undefined;
  #retransmit: ReturnType<typeof setTimeout> | undefined;
  #end: ReturnType<typeof setTimeout> | undefined;
  /** How many times the final response was retransmitted (for tests and metrics). */
  retransmissions = 0;

  constructor(
    request: SipRequest,
    options: { send: Send; reliable: boolean; timers: SipTimers; timerSet: TimerSet; onTerminated: () => void },
  ) {
    this.request = request;
    this.#send = options.send;
    this.#reliable = options.reliable;
    this.#timers = options.timers;
    this.#set = options.timerSet;
    this.#onTerminated = options.onTerminated;
  }

  /** The final response sent, if any. */
  get finalResponse(): SipResponse | undefined {
    return this.#last && this.#last.status >= 200 ? this.#last : undefined;
  }

  respond(response: SipResponse): void {
    if (this.state !== 'proceeding') return;
    this.#last = response;
    this.#send(response);
    if (response.status < 200) return;
    const t1 = this.#timers.t1;
    if (response.status < 300) {
      // RFC 6026: Accepted. 2xx retransmissions (RFC 3261 §13.3.1.4) run until the ACK, over any transport.
      this.state = 'accepted';
      this.#schedule(t1);
      this.#end = this.#set.after(64 * t1, () => {
        const unacknowledged = this.state === 'accepted' && this.#retransmit !== undefined;
        this.#terminate();
        if (unacknowledged) this.onAckTimeout?.();
      });
      return;
    }
    this.state = 'completed';
    if (!this.#reliable) this.#schedule(t1);
    this.#end = this.#set.after(64 * t1, () => this.#terminate());
  }

  /** The INVITE arrived again. */
  retransmission(): void {
    if (this.state === 'proceeding' && this.#last) this.#send(this.#last);
    else if (this.state === 'completed' && this.#last) this.#send(this.#last);
    // Accepted and Confirmed absorb it: the 2xx has its own retransmissions.
  }

  /** An ACK matched this transaction (the ACK of a 3xx–6xx). */
  ack(): void {
    if (this.state !== 'completed') return;
    this.state = 'confirmed';
    this.#set.cancel(this.#retransmit);
    this.#retransmit = undefined;
    this.#set.cancel(this.#end);
    this.#end = this.#set.after(this.#reliable ? 0 : this.#timers.t4, () => this.#terminate());
  }

  /** The dialog received the ACK of the 2xx: stop retransmitting it. */
  ack2xx(): void {
    if (this.state !== 'accepted') return;
    this.#set.cancel(this.#retransmit);
    this.#retransmit = undefined;
  }

  /** Stops everything (the endpoint closes, or the call ended). */
  dispose(): void {
    this.#terminate();
  }

  #schedule(interval: number): void {
    this.#retransmit = this.#set.after(interval, () => {
      if ((this.state !== 'accepted' && this.state !== 'completed') || !this.#last) return;
      this.retransmissions++;
      this.#send(this.#last);
      this.#schedule(Math.min(interval * 2, this.#timers.t2));
    });
  }

  #terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.#set.cancel(this.#retransmit);
    this.#set.cancel(this.#end);
    this.#retransmit = undefined;
    this.#onTerminated();
  }
}

/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2): the last response is resent for every
 * retransmitted request until Timer J (64×T1 over UDP, at once over TCP).
 */
export class NonInviteServerTransaction {
  state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';
  readonly request: SipRequest;
  readonly #send: Send;
  readonly #reliable: boolean;
  readonly #timers: SipTimers;
  readonly #set: TimerSet;
  readonly #onTerminated: () => void;
  #last: SipResponse | undefined;
  #end: ReturnType<typeof setTimeout> | undefined;

  constructor(
    request: SipRequest,
    options: { send: Send; reliable: boolean; timers: SipTimers; timerSet: TimerSet; onTerminated: () => void },
  ) {
    this.request = request;
    this.#send = options.send;
    this.#reliable = options.reliable;
    this.#timers = options.timers;
    this.#set = options.timerSet;
    this.#onTerminated = options.onTerminated;
  }

  respond(response: SipResponse): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    this.#last = response;
    this.#send(response);
    if (response.status < 200) {
      this.state = 'proceeding';
      return;
    }
    this.state = 'completed';
    this.#end = this.#set.after(this.#reliable ? 0 : 64 * this.#timers.t1, () => this.#terminate());
  }

  retransmission(): void {
    if ((this.state === 'proceeding' || this.state === 'completed') && this.#last) this.#send(this.#last);
  }

  dispose(): void {
    this.#terminate();
  }

  #terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.#set.cancel(this.#end);
    this.#onTerminated();
  }
}

/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2): the request is retransmitted over UDP (Timer
 * E: T1 doubling to T2, then T2 once a provisional came) until a final response, or Timer F
 * (64×T1) gives up with a 408.
 */
export class NonInviteClientTransaction {
  state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';
  readonly request: SipRequest;
  readonly response: Promise<SipResponse>;
  readonly #sendRequest: () => void;
  readonly #reliable: boolean;
  readonly #timers: SipTimers;
  readonly #set: TimerSet;
  readonly #onTerminated: () => void;
  #resolve!: (response: SipResponse) => void;
  #retransmit: ReturnType<typeof setTimeout> | undefined;
  #timeout: ReturnType<typeof setTimeout> | undefined;

  constructor(
    request: SipRequest,
    options: { send: () => void; reliable: boolean; timers: SipTimers; timerSet: TimerSet; onTerminated: () => void },
  ) {
    this.request = request;
    this.#sendRequest = options.send;
    this.#reliable = options.reliable;
    this.#timers = options.timers;
    this.#set = options.timerSet;
    this.#onTerminated = options.onTerminated;
    this.response = new Promise((resolve) => (this.#resolve = resolve));
  }

  start(): void {
    this.#sendRequest();
    if (!this.#reliable) this.#schedule(this.#timers.t1);
    this.#timeout = this.#set.after(64 * this.#timers.t1, () => {
      if (this.state === 'trying' || this.state === 'proceeding') {
        this.#resolve({
          type: 'response',
          status: 408,
          reason: 'Request Timeout',
          headers: this.request.headers.clone(),
          body: new Uint8Array(0),
        });
        this.#terminate();
      }
    });
  }

  receive(response: SipResponse): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    if (response.status < 200) {
      this.state = 'proceeding';
      return;
    }
    this.state = 'completed';
    this.#set.cancel(this.#retransmit);
    this.#set.cancel(this.#timeout);
    this.#resolve(response);
    // Timer K: absorb retransmitted responses for a while.
    this.#set.after(this.#reliable ? 0 : this.#timers.t4, () => this.#terminate());
  }

  dispose(): void {
    if (this.state === 'trying' || this.state === 'proceeding') {
      this.#resolve({
        type: 'response',
        status: 408,
        reason: 'Request Timeout',
        headers: this.request.headers.clone(),
        body: new Uint8Array(0),
      });
    }
    this.#terminate();
  }

  #schedule(interval: number): void {
    this.#retransmit = this.#set.after(interval, () => {
      if (this.state !== 'trying' && this.state !== 'proceeding') return;
      this.#sendRequest();
      this.#schedule(this.state === 'proceeding' ? this.#timers.t2 : Math.min(interval * 2, this.#timers.t2));
    });
  }

  #terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.#set.cancel(this.#retransmit);
    this.#set.cancel(this.#timeout);
    this.#onTerminated();
  }
}
