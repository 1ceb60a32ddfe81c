import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { ConfigError, logger } from '@switchboard/core';
import { AddressFilter } from './addresses.js';
import { SipCall, dialogKey, hostPort, type CallContext, type RtpTimeouts } from './call.js';
import { RtpMediaProtocol, customParametersOf, type RtpMediaProtocolOptions } from './protocol.js';
import { RtpSession, type RtpPortRange } from './rtp/session.js';
import {
  SdpError,
  buildAnswer,
  buildOffer,
  negotiateAnswer,
  negotiateOffer,
  parseSdp,
  type MediaPreferences,
  type NegotiatedMedia,
} from './sdp.js';
import { DigestAuthenticator, type DigestAlgorithm, type DigestSecret } from './sip/digest.js';
import {
  bodyText,
  createResponse,
  describeSipMessage,
  parseCSeq,
  parseNameAddr,
  randomToken,
  tagOf,
  textBody,
  type SipHeader,
  type SipHeaders,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './sip/message.js';
import { SipSockets, type SipSource, type SipTarget, type SipTransportName } from './sip/sockets.js';
import {
  DEFAULT_TIMERS,
  InviteServerTransaction,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  TimerSet,
  clientTransactionKey,
  serverTransactionKey,
  type SipTimers,
} from './sip/transactions.js';
import { DEFAULT_MIN_SE_SECONDS, readSessionTimer, type SessionTimerOffer } from './session-timer.js';
import { SipRealtimeTransport, type SipRealtimeTransportOptions } from './transport.js';

const log = logger('sip:endpoint');

/** RFC 4028 §6: the reason phrase of 422. */
const TOO_SMALL = 'Session Interval Too Small';

/** Methods the endpoint accepts (the Allow header). */
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY';
/** Methods defined by SIP and its extensions that the endpoint does not accept: 405 rather than 501. */
const KNOWN_METHODS = new Set(['REGISTER', 'SUBSCRIBE', 'PUBLISH', 'MESSAGE', 'REFER', 'UPDATE', 'PRACK', 'NOTIFY', 'INFO']);

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
  /** Default `['SHA-256', 'MD5']`. */
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
  /** Calls at once; beyond it INVITEs get 486 Busy Here. Default: no limit. */
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
   * that wants it to (`refresher=uas`) gets no session timer. `false`: not supported (a `Require:
   * timer` gets 420). Default `{ minSeconds: 90 }`.
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
};

export interface SipEndpointEvents {
  /** An answered call, with its transport ready for a `RealtimeSession`. */
  call: [call: SipCall];
  error: [error: unknown];
}

type Pending = { cancelled: boolean; localTag: string; rtp?: RtpSession };

function minSessionExpires(option: SipEndpointOptions['sessionTimers']): number | undefined {
  if (option === false) return undefined;
  const value = option?.minSeconds ?? DEFAULT_MIN_SE_SECONDS;
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 2_147_483)) {
    throw new ConfigError(`\`sessionTimers.minSeconds\` must be a whole number of seconds from 1, got ${String(value)}.`);
  }
  return value;
}

/** Default RTP timeout, ms (see {@link SipEndpointOptions.rtp}). */
export const DEFAULT_RTP_TIMEOUT_MS = 20_000;
/** Longest delay a timer can wait (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

function rtpTimeout(name: string, value: number | null | undefined, fallback: number | null): number | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_TIMER_MS)) {
    throw new ConfigError(`\`rtp.${name}\` must be a positive number of ms up to ${MAX_TIMER_MS}, or null; got ${String(value)}.`);
  }
  return value;
}

function defaultAddress(host: string): string {
  if (isIP(host) && host !== '0.0.0.0' && host !== '::') return host;
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  }
  return '127.0.0.1';
}

/** What tells a merged request (RFC 3261 §8.2.2.2): Call-ID, From tag and CSeq number. */
function mergeKeyOf(request: SipRequest): string {
  return `${request.headers.get('call-id')}|${tagOf(request.headers.get('from')) ?? ''}|${parseCSeq(request.headers.get('cseq'))?.seq ?? ''}`;
}

function sanitize(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, '').slice(0, 120);
}

/**
 * A SIP user agent server that owns its media: calls arrive over UDP or TCP, are answered with
 * an SDP answer (PCMU/PCMA, telephone-event, CN), and their RTP runs in this process. Each call
 * is emitted as `call` with a {@link SipRealtimeTransport} to pass to a `RealtimeSession`.
 *
 * Implements RFC 3261 server transactions (retransmitted requests answered from a cache, 2xx
 * retransmitted until the ACK, RFC 6026), CANCEL (487), OPTIONS, BYE, in-dialog INFO and
 * NOTIFY, optional digest authentication and a source-address allow list. A malformed request
 * gets 400; an unparseable datagram is dropped; neither disturbs anything else.
 */
export class SipEndpoint extends EventEmitter<SipEndpointEvents> {
  readonly counters: SipEndpointCounters = {
    requests: 0,
    responses: 0,
    malformed: 0,
    badRequests: 0,
    dropped: 0,
    retransmissionsAbsorbed: 0,
    challenges: 0,
    calls: 0,
  };
  readonly #options: SipEndpointOptions;
  readonly #timers: SipTimers;
  readonly #timerSet = new TimerSet();
  readonly #sockets: SipSockets;
  readonly #allow: AddressFilter | undefined;
  readonly #auth: DigestAuthenticator | undefined;
  readonly #authMethods: Set<string>;
  readonly #rtpTimeouts: RtpTimeouts;
  /** The smallest session interval accepted (RFC 4028 Min-SE), s; undefined: session timers off. */
  readonly #minSE: number | undefined;
  readonly #serverTx = new Map<string, InviteServerTransaction | NonInviteServerTransaction>();
  readonly #clientTx = new Map<string, NonInviteClientTransaction>();
  readonly #pending = new Map<string, Pending>();
  /** INVITE transactions alive by Call-ID, From tag and CSeq (merged-request detection, RFC 3261 §8.2.2.2). */
  readonly #merge = new Map<string, string>();
  readonly #dialogs = new Map<string, SipCall>();
  #advertised: string;
  #listening = false;
  #closing = false;

  constructor(options: SipEndpointOptions = {}) {
    super();
    const port = options.port ?? 5060;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`\`port\` must be a whole number 0–65535, got ${String(options.port)}.`);
    const transports = options.transports ?? ['udp', 'tcp'];
    if (transports.length === 0 || transports.some((t) => t !== 'udp' && t !== 'tcp')) throw new ConfigError("`transports` must list 'udp' and/or 'tcp'.");
    this.#options = { ...options, port, transports };
    this.#timers = { ...DEFAULT_TIMERS, ...(options.timers ?? {}) };
    try {
      this.#allow = options.allow ? new AddressFilter(options.allow) : undefined;
    } catch (error) {
      throw new ConfigError(`\`allow\`: ${(error as Error).message}`);
    }
    try {
      this.#auth = options.auth ? new DigestAuthenticator(options.auth) : undefined;
    } catch (error) {
      throw new ConfigError(`\`auth\`: ${(error as Error).message}`);
    }
    this.#authMethods = new Set((options.auth?.methods ?? ['INVITE']).map((m) => m.toUpperCase()));
    this.#rtpTimeouts = {
      activeMs: rtpTimeout('timeoutMs', options.rtp?.timeoutMs, DEFAULT_RTP_TIMEOUT_MS),
      holdMs: rtpTimeout('holdTimeoutMs', options.rtp?.holdTimeoutMs, null),
    };
    this.#minSE = minSessionExpires(options.sessionTimers);
    this.#advertised = options.advertisedAddress ?? defaultAddress(options.host ?? '0.0.0.0');
    this.#sockets = new SipSockets({
      host: options.host ?? '0.0.0.0',
      port,
      transports,
      allow: (address) => this.#allowed(address),
      onMessage: (message, source) => this.#onMessage(message, source),
      onMalformed: (error, source) => {
        this.counters.malformed++;
        const partial = error.partial;
        if (!partial || partial.method === 'ACK') return;
        this.counters.badRequests++;
        const response = createResponse(partial, error.status, {
          toTag: randomToken(6),
          headers: [
            ['Warning', `399 ${this.#advertised} "${sanitize(error.message)}"`],
            ['Server', this.#userAgent],
          ],
        });
        this.#sockets.send(response, this.#sockets.responseTarget(partial, source));
      },
    });
  }

  /** Starts listening. Resolves with the bound ports. */
  async listen(): Promise<{ udpPort?: number; tcpPort?: number }> {
    if (this.#listening) throw new ConfigError('The endpoint is already listening.');
    await this.#sockets.listen();
    this.#listening = true;
    log('listening on %s (udp %s, tcp %s), advertising %s', this.#options.host ?? '0.0.0.0', this.#sockets.udpPort, this.#sockets.tcpPort, this.#advertised);
    return { udpPort: this.#sockets.udpPort, tcpPort: this.#sockets.tcpPort };
  }

  /** Hangs up every call (BYE), then stops listening. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const byes = [...this.#dialogs.values()].map((call) => call.endpointClosing());
    for (const pending of this.#pending.values()) {
      pending.cancelled = true;
      pending.rtp?.close();
    }
    let wait: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(byes), new Promise((resolve) => (wait = setTimeout(resolve, Math.min(2000, 4 * this.#timers.t1))))]);
    clearTimeout(wait);
    for (const tx of this.#clientTx.values()) tx.dispose();
    for (const tx of this.#serverTx.values()) tx.dispose();
    this.#timerSet.clear();
    await this.#sockets.close();
    this.#listening = false;
  }

  /** The SIP port (UDP, else TCP). */
  get port(): number {
    return this.#sockets.udpPort ?? this.#sockets.tcpPort ?? this.#options.port!;
  }

  /** The address in Via, Contact and SDP. */
  get advertisedAddress(): string {
    return this.#advertised;
  }

  /** Calls in progress. */
  get calls(): SipCall[] {
    return [...this.#dialogs.values()];
  }

  /** Transactions alive (for tests: zero once everything settled). */
  get transactions(): number {
    return this.#serverTx.size + this.#clientTx.size;
  }

  get #userAgent(): string {
    return this.#options.userAgent ?? 'switchboard';
  }

  #allowed(address: string): boolean {
    if (!this.#allow) return true;
    const ok = this.#allow.allows(address);
    if (!ok) this.counters.dropped++;
    return ok;
  }

  #contact(transport: SipTransportName): string {
    const user = this.#options.contactUser ?? 'switchboard';
    return `<sip:${user}@${hostPort(this.#advertised, this.port)}${transport === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  #callContext(): CallContext {
    const endpoint = this;
    return {
      get advertisedAddress() {
        return endpoint.#advertised;
      },
      get port() {
        return endpoint.port;
      },
      get userAgent() {
        return endpoint.#userAgent;
      },
      contact: (transport) => this.#contact(transport),
      sendRequest: (request, target) => this.#sendRequest(request, target),
      release: (call) => {
        if (this.#dialogs.get(call.dialogKey) === call) this.#dialogs.delete(call.dialogKey);
      },
    };
  }

  // -----------------------------------------------------------------------------------------------
  // Dispatch

  #onMessage(message: SipMessage, source: SipSource): void {
    // While closing, only the answers to our BYEs still count.
    if (this.#closing && message.type === 'request') return;
    if (message.type === 'response') {
      this.counters.responses++;
      const key = clientTransactionKey(message);
      const tx = key ? this.#clientTx.get(key) : undefined;
      if (tx) tx.receive(message);
      else log('response %s matches no transaction', describeSipMessage(message));
      return;
    }
    this.counters.requests++;
    this.#sockets.stampVia(message, source);
    if (message.method === 'ACK') {
      this.#onAck(message);
      return;
    }
    const key = serverTransactionKey(message);
    const existing = this.#serverTx.get(key);
    if (existing) {
      this.counters.retransmissionsAbsorbed++;
      existing.retransmission();
      return;
    }
    const target = this.#sockets.responseTarget(message, source);
    const reliable = source.transport === 'tcp';
    const send = (response: SipResponse) => {
      if (!response.headers.has('server')) response.headers.append('Server', this.#userAgent);
      this.#sockets.send(response, target);
    };
    const onTerminated = () => {
      if (this.#serverTx.get(key) === tx) this.#serverTx.delete(key);
      // A copy of an INVITE that came another way is merged (482) for as long as its transaction lives.
      if (message.method === 'INVITE' && this.#merge.get(mergeKeyOf(message)) === key) this.#merge.delete(mergeKeyOf(message));
    };
    const common = { send, reliable, timers: this.#timers, timerSet: this.#timerSet, onTerminated };
    const tx = message.method === 'INVITE' ? new InviteServerTransaction(message, common) : new NonInviteServerTransaction(message, common);
    this.#serverTx.set(key, tx);
    if (tx instanceof InviteServerTransaction) tx.respond(createResponse(message, 100));
    this.#onRequest(message, source, tx, key).catch((error: unknown) => {
      log('request %s failed: %s', describeSipMessage(message), (error as Error)?.stack ?? String(error));
      this.#safeEmitError(error);
      this.#finalize(tx, message, 500);
    });
  }

  async #onRequest(request: SipRequest, source: SipSource, tx: InviteServerTransaction | NonInviteServerTransaction, key: string): Promise<void> {
    const method = request.method;
    if (method === 'CANCEL') {
      this.#onCancel(request, tx as NonInviteServerTransaction);
      return;
    }
    if (!/^(sips?|tel):/i.test(request.uri)) {
      this.#finalize(tx, request, 416);
      return;
    }
    const unsupported = request.headers.list('require').filter((option) => !(this.#minSE !== undefined && option.trim().toLowerCase() === 'timer'));
    if (unsupported.length > 0) {
      this.#finalize(tx, request, 420, { headers: [['Unsupported', unsupported.join(', ')]] });
      return;
    }
    const toTag = tagOf(request.headers.get('to'));
    if (toTag !== undefined) {
      this.#onInDialog(request, source, tx, toTag);
      return;
    }
    switch (method) {
      case 'INVITE':
        await this.#onInvite(request, source, tx as InviteServerTransaction, key);
        return;
      case 'OPTIONS':
        this.#finalize(tx, request, 200, { headers: [['Allow', ALLOW], ['Accept', 'application/sdp'], ...this.#sessionTimerHeaders(undefined)] });
        return;
      case 'BYE':
        this.#finalize(tx, request, 481);
        return;
      default:
        this.#finalize(tx, request, KNOWN_METHODS.has(method) ? 405 : 501, { headers: [['Allow', ALLOW]] });
    }
  }

  #finalize(
    tx: InviteServerTransaction | NonInviteServerTransaction,
    request: SipRequest,
    status: number,
    options: { reason?: string; toTag?: string; headers?: SipHeader[]; body?: Uint8Array } = {},
  ): void {
    const toTag = options.toTag ?? (status > 100 ? randomToken(6) : undefined);
    const headers = [...(options.headers ?? [])];
    if (status === 405 && !headers.some(([name]) => name.toLowerCase() === 'allow')) headers.push(['Allow', ALLOW]);
    tx.respond(createResponse(request, status, { ...options, toTag, headers }));
  }

  #onAck(ack: SipRequest): void {
    // The ACK of a 3xx–6xx belongs to the INVITE's transaction (same branch).
    const tx = this.#serverTx.get(serverTransactionKey(ack));
    if (tx instanceof InviteServerTransaction && tx.state !== 'accepted') {
      tx.ack();
      return;
    }
    // The ACK of a 2xx is a request of its own, within the dialog.
    const call = this.#dialogs.get(dialogKey(ack.headers.get('call-id') ?? '', tagOf(ack.headers.get('to')) ?? '', tagOf(ack.headers.get('from')) ?? ''));
    if (!call) {
      log('ACK matches no transaction or dialog');
      return;
    }
    const { confirmed, body } = call.onAck(ack);
    if (confirmed && !call.hasTransport) this.#completeDelayedOffer(call, body);
  }

  #onCancel(cancel: SipRequest, tx: NonInviteServerTransaction): void {
    const inviteKey = serverTransactionKey(cancel, 'INVITE');
    const invite = this.#serverTx.get(inviteKey);
    const pending = this.#pending.get(inviteKey);
    if (!(invite instanceof InviteServerTransaction)) {
      this.#finalize(tx, cancel, 481);
      return;
    }
    const localTag = pending?.localTag ?? randomToken(6);
    this.#finalize(tx, cancel, 200, { toTag: localTag });
    if (invite.state !== 'proceeding') return; // answered already: the CANCEL changes nothing
    if (pending) {
      pending.cancelled = true;
      pending.rtp?.close();
    }
    invite.respond(createResponse(invite.request, 487, { toTag: localTag, headers: [['Server', this.#userAgent]] }));
    log('INVITE %s cancelled', invite.request.headers.get('call-id'));
  }

  // -----------------------------------------------------------------------------------------------
  // New calls

  async #onInvite(request: SipRequest, source: SipSource, tx: InviteServerTransaction, key: string): Promise<void> {
    const mergeKey = mergeKeyOf(request);
    const other = this.#merge.get(mergeKey);
    if (other !== undefined && other !== key && this.#serverTx.has(other)) {
      this.#finalize(tx, request, 482);
      return;
    }
    this.#merge.set(mergeKey, key);
    const pending: Pending = { cancelled: false, localTag: randomToken(6) };
    this.#pending.set(key, pending);
    try {
      await this.#answer(request, source, tx, pending);
    } catch (error) {
      // The 500 carries the To tag the 180 did: one tag for every response to the INVITE (RFC 3261 §8.2.6.2).
      this.#finalize(tx, request, 500, { toTag: pending.localTag });
      throw error;
    } finally {
      this.#pending.delete(key);
      if (pending.cancelled) pending.rtp?.close();
    }
  }

  async #answer(request: SipRequest, source: SipSource, tx: InviteServerTransaction, pending: Pending): Promise<void> {
    const reject = (status: number, headers: SipHeader[] = []) => this.#finalize(tx, request, status, { toTag: pending.localTag, headers });
    if (this.#options.maxCalls !== undefined && this.#dialogs.size >= this.#options.maxCalls) return reject(486);
    if (!this.#options.onInvite && this.listenerCount('call') === 0) return reject(480);

    let username: string | undefined;
    if (this.#auth && this.#authMethods.has('INVITE')) {
      const verdict = await this.#auth.verify(request);
      if (pending.cancelled) return;
      if (!verdict.ok) {
        if ('badRequest' in verdict) return reject(400);
        this.counters.challenges++;
        return reject(401, this.#auth.challenge(verdict.stale).map((value): SipHeader => ['WWW-Authenticate', value]));
      }
      username = verdict.username;
    }

    const contentType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    let offer: ReturnType<typeof parseSdp> | undefined;
    let media: NegotiatedMedia | undefined;
    if (request.body.byteLength > 0) {
      if (contentType !== 'application/sdp') return reject(415, [['Accept', 'application/sdp']]);
      try {
        offer = parseSdp(bodyText(request));
        media = negotiateOffer(offer, this.#options.media);
      } catch (error) {
        log('INVITE %s: %s', request.headers.get('call-id'), (error as SdpError).message);
        return reject(488, [['Warning', `304 ${this.#advertised} "${sanitize((error as Error).message)}"`]]);
      }
    }

    const sessionTimer = this.#sessionTimerOf(request);
    if (sessionTimer && 'tooSmall' in sessionTimer) {
      return this.#finalize(tx, request, 422, { reason: TOO_SMALL, toTag: pending.localTag, headers: [['Min-SE', String(sessionTimer.minSeconds)]] });
    }

    // Responses that set the dialog up carry the proxies' Record-Route, in order (RFC 3261 §12.1.1):
    // the caller builds its route set from them.
    const recordRoute = request.headers.getAll('record-route').map((value): SipHeader => ['Record-Route', value]);
    if (this.#options.ringing !== false) {
      tx.respond(createResponse(request, 180, { toTag: pending.localTag, headers: [...recordRoute, ['Contact', this.#contact(source.transport)]] }));
    }

    if (this.#options.onInvite) {
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
      const decision = await this.#options.onInvite(invite);
      if (pending.cancelled || tx.state !== 'proceeding') return;
      if (decision === false) return reject(603);
      if (typeof decision === 'object' && decision !== null) {
        const status = Number(decision.status);
        if (!(Number.isInteger(status) && status >= 300 && status <= 699)) throw new ConfigError(`onInvite returned an invalid status ${String(decision.status)}`);
        tx.respond(createResponse(request, status, { toTag: pending.localTag, ...(decision.reason ? { reason: decision.reason } : {}) }));
        return;
      }
    }

    const rtpOptions = this.#options.rtp ?? {};
    let rtp: RtpSession;
    try {
      rtp = await RtpSession.open({
        host: rtpOptions.host ?? this.#options.host ?? '0.0.0.0',
        ...(rtpOptions.ports ? { ports: rtpOptions.ports } : {}),
        ...(rtpOptions.latch !== undefined ? { latch: rtpOptions.latch } : {}),
        trustedAddresses: [source.address],
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

    const call = new SipCall(this.#callContext(), {
      invite: request,
      source,
      localTag: pending.localTag,
      rtp,
      media,
      inviteTransaction: tx,
      hangupAfterTransfer: this.#options.hangupAfterTransfer ?? true,
      rtpTimeouts: this.#rtpTimeouts,
    });
    call.username = username;
    const local = {
      address: rtpOptions.advertisedAddress ?? this.#advertised,
      port: rtp.localPort,
      sessionId: call.sessionId,
      sessionVersion: call.nextSdpVersion(),
    };
    const sdp = offer && media ? buildAnswer(offer, media, local) : buildOffer(local, this.#options.media);
    if (media) {
      try {
        this.#attachTransport(call, request, media);
      } catch (error) {
        rtp.close();
        throw error;
      }
    }
    this.#dialogs.set(call.dialogKey, call);
    this.counters.calls++;
    tx.onAckTimeout = () => call.ackTimedOut();
    tx.respond(
      createResponse(request, 200, {
        toTag: pending.localTag,
        headers: [
          ...recordRoute,
          ['Contact', this.#contact(source.transport)],
          ['Allow', ALLOW],
          ...this.#sessionTimerHeaders(sessionTimer),
          ['Content-Type', 'application/sdp'],
        ],
        body: textBody(sdp),
      }),
    );
    call.sessionRefreshed(sessionTimer?.seconds);
    pending.rtp = undefined;
    log('call %s answered: %s, RTP port %d', call.callId, media ? media.codec : 'offer sent', rtp.localPort);
    if (media) this.#emitCall(call);
  }

  #attachTransport(call: SipCall, invite: SipRequest, media: NegotiatedMedia): void {
    const rtpOptions = this.#options.rtp ?? {};
    const transportOptions = this.#options.transport ?? {};
    const now = transportOptions.now ?? (transportOptions.clock ? () => transportOptions.clock!.now() : undefined);
    const protocol = new RtpMediaProtocol({
      media,
      invite,
      ...(this.#options.media ? { preferences: this.#options.media } : {}),
      ...(rtpOptions.jitterDepth !== undefined ? { jitterDepth: rtpOptions.jitterDepth } : {}),
      ...(rtpOptions.leadMs !== undefined ? { leadMs: rtpOptions.leadMs } : {}),
      ...(rtpOptions.dtmf ? { dtmf: rtpOptions.dtmf } : {}),
      ...(now ? { now } : {}),
    });
    const transport = new SipRealtimeTransport({
      ...transportOptions,
      carrierIdleTimeoutMs: this.#rtpTimeouts.activeMs,
      connection: call.rtp,
      protocol,
      call,
    });
    call.attachTransport(transport, media);
  }

  /** An INVITE without SDP got our offer in the 200 OK; the ACK carries the answer. */
  #completeDelayedOffer(call: SipCall, body: string | undefined): void {
    let media: NegotiatedMedia;
    try {
      if (!body) throw new SdpError('the ACK carries no SDP answer');
      media = negotiateAnswer(body, this.#options.media);
    } catch (error) {
      log('call %s: %s; hanging up', call.callId, (error as Error).message);
      void call.answerFailed();
      return;
    }
    if (media.remoteAddress && media.remotePort) call.rtp.setRemote({ address: media.remoteAddress, port: media.remotePort });
    // The INVITE had no offer: the call starts from it with the answer's stream.
    const invite: SipRequest = { type: 'request', method: 'INVITE', uri: call.requestUri, headers: call.headers.clone(), body: new Uint8Array(0) };
    try {
      this.#attachTransport(call, invite, media);
    } catch (error) {
      this.#safeEmitError(error);
      void call.hangup();
      return;
    }
    this.#emitCall(call);
  }

  #emitCall(call: SipCall): void {
    try {
      this.emit('call', call);
    } catch (error) {
      log('call listener failed: %s', (error as Error)?.message);
      this.#safeEmitError(error);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Within a dialog

  #onInDialog(request: SipRequest, source: SipSource, tx: InviteServerTransaction | NonInviteServerTransaction, toTag: string): void {
    const call = this.#dialogs.get(dialogKey(request.headers.get('call-id') ?? '', toTag, tagOf(request.headers.get('from')) ?? ''));
    if (!call) {
      this.#finalize(tx, request, 481);
      return;
    }
    if (!call.acceptRemoteSeq(request)) {
      this.#finalize(tx, request, 500, { reason: 'CSeq Out Of Order' });
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
        this.#onReInvite(call, request, source, tx as InviteServerTransaction);
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
        respond(200, [['Allow', ALLOW], ['Accept', 'application/sdp'], ...this.#sessionTimerHeaders(undefined)]);
        return;
      case 'PRACK':
        respond(481);
        return;
      default:
        respond(KNOWN_METHODS.has(request.method) ? 405 : 501, [['Allow', ALLOW]]);
    }
  }

  #onReInvite(call: SipCall, request: SipRequest, source: SipSource, tx: InviteServerTransaction): void {
    const sessionTimer = this.#sessionTimerOf(request);
    if (sessionTimer && 'tooSmall' in sessionTimer) {
      tx.respond(createResponse(request, 422, { reason: TOO_SMALL, headers: [['Min-SE', String(sessionTimer.minSeconds)]] }));
      return;
    }
    const rtpOptions = this.#options.rtp ?? {};
    const local = {
      address: rtpOptions.advertisedAddress ?? this.#advertised,
      port: call.rtp.localPort,
      sessionId: call.sessionId,
      sessionVersion: call.nextSdpVersion(),
    };
    let sdp: string;
    let media: NegotiatedMedia | undefined;
    if (request.body.byteLength > 0) {
      let offer;
      try {
        offer = parseSdp(bodyText(request));
        media = negotiateOffer(offer, this.#options.media);
      } catch (error) {
        tx.respond(createResponse(request, 488, { headers: [['Warning', `304 ${this.#advertised} "${sanitize((error as Error).message)}"`]] }));
        return;
      }
      call.rtp.setRemote(media.remoteAddress && media.remotePort ? { address: media.remoteAddress, port: media.remotePort } : undefined);
      sdp = buildAnswer(offer, media, local);
    } else {
      // A re-INVITE without an offer: our offer goes in the 200 OK (its answer in the ACK is not needed).
      sdp = buildOffer(local, this.#options.media);
    }
    const seq = parseCSeq(request.headers.get('cseq'))!.seq;
    call.refresh(request, media);
    call.trackInvite(seq, tx);
    tx.respond(
      createResponse(request, 200, {
        headers: [
          ['Contact', this.#contact(source.transport)],
          ['Allow', ALLOW],
          ...this.#sessionTimerHeaders(sessionTimer),
          ['Content-Type', 'application/sdp'],
        ],
        body: textBody(sdp),
      }),
    );
    // A re-INVITE refreshes the session (RFC 4028): its interval from now, or none if it asked for none.
    call.sessionRefreshed(sessionTimer?.seconds);
    // The media protocol starts a new stream when the re-INVITE changed it.
    call.deliverToMedia(request);
  }

  /** The session timer an INVITE asks for (RFC 4028), when session timers are on. */
  #sessionTimerOf(request: SipRequest): SessionTimerOffer | undefined {
    return this.#minSE === undefined ? undefined : readSessionTimer(request, this.#minSE);
  }

  /** `Supported: timer` while session timers are on; the interval and `Require: timer` when one runs. */
  #sessionTimerHeaders(timer: SessionTimerOffer | undefined): SipHeader[] {
    if (this.#minSE === undefined) return [];
    const headers: SipHeader[] = [['Supported', 'timer']];
    if (timer && 'seconds' in timer) headers.push(['Session-Expires', `${timer.seconds};refresher=uac`], ['Require', 'timer']);
    return headers;
  }

  // -----------------------------------------------------------------------------------------------
  // Requests we send

  #sendRequest(request: SipRequest, target: SipTarget): Promise<SipResponse> {
    const key = clientTransactionKey(request)!;
    const tx = new NonInviteClientTransaction(request, {
      send: () => {
        this.#sockets.send(request, target);
      },
      reliable: target.transport === 'tcp',
      timers: this.#timers,
      timerSet: this.#timerSet,
      onTerminated: () => {
        if (this.#clientTx.get(key) === tx) this.#clientTx.delete(key);
      },
    });
    this.#clientTx.set(key, tx);
    tx.start();
    return tx.response;
  }

  #safeEmitError(error: unknown): void {
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', error);
    } catch {
      // A failing error listener must not take the endpoint down.
    }
  }
}

