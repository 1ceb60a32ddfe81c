import { EventEmitter } from 'node:events';
import { ConfigError } from '@switchboard/core';
import { logger } from '@switchboard/core/protocol';
import { AddressFilter } from './addresses.js';
import { CallAdmission } from './admission.js';
import { answerInvite, completeDelayedOffer, type Pending } from './answer.js';
import { type SipCall, dialogKey, hostPort, type CallContext, type RtpTimeouts } from './call.js';
import { onInDialog, onReInviteAck } from './dialog.js';
import { placeCall, type DialHost, type SipDialOptions } from './dial.js';
import type { EndpointHost, FinalOptions, ServerTransaction } from './host.js';
import {
  ALLOW,
  DEFAULT_RTP_TIMEOUT_MS,
  KNOWN_METHODS,
  defaultAddress,
  mergeKeyOf,
  minSessionExpires,
  rtpTimeout,
  sanitize,
  type SipEndpointCounters,
  type SipEndpointEvents,
  type SipEndpointOptions,
} from './options.js';
import { rtpFamilies } from './rtp/session.js';
import { DigestAuthenticator } from './sip/digest.js';
import {
  createResponse,
  describeSipMessage,
  randomToken,
  tagOf,
  type SipHeader,
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
import { readSessionTimer, type SessionTimerOffer } from './session-timer.js';

export { DEFAULT_RTP_TIMEOUT_MS } from './options.js';
export type {
  SipEndpointAuthOptions,
  SipEndpointCounters,
  SipEndpointEvents,
  SipEndpointOptions,
  SipInvite,
  SipInviteDecision,
} from './options.js';

const log = logger('sip:endpoint');

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
    busy: 0,
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
  /** INVITEs we sent (calls we place), by branch and method. */
  readonly #inviteTx = new Map<string, { receive(response: SipResponse): void; abort(): void }>();
  readonly #pending = new Map<string, Pending>();
  /** INVITE transactions alive by Call-ID, From tag and CSeq (merged-request detection, RFC 3261 §8.2.2.2). */
  readonly #merge = new Map<string, string>();
  readonly #dialogs = new Map<string, SipCall>();
  readonly #admission: CallAdmission;
  readonly #host: EndpointHost;
  #advertised: string;
  #listening = false;
  #closing = false;

  constructor(options: SipEndpointOptions = {}) {
    super();
    const port = options.port ?? 5060;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError(`\`port\` must be a whole number 0–65535, got ${String(options.port)}.`);
    const transports = options.transports ?? ['udp', 'tcp'];
    if (transports.length === 0 || transports.some((t) => t !== 'udp' && t !== 'tcp'))
      throw new ConfigError("`transports` must list 'udp' and/or 'tcp'.");
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
    this.#admission = new CallAdmission(options.maxCalls, () => this.#dialogs.size);
    this.#host = this.#createHost(rtpFamilies(options.rtp?.host ?? options.host ?? '0.0.0.0'));
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
    log(
      'listening on %s (udp %s, tcp %s), advertising %s',
      this.#options.host ?? '0.0.0.0',
      this.#sockets.udpPort,
      this.#sockets.tcpPort,
      this.#advertised,
    );
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
    await Promise.race([
      Promise.all(byes),
      new Promise((resolve) => (wait = setTimeout(resolve, Math.min(2000, 4 * this.#timers.t1)))),
    ]);
    clearTimeout(wait);
    for (const tx of this.#clientTx.values()) tx.dispose();
    for (const tx of [...this.#inviteTx.values()]) tx.abort();
    for (const tx of this.#serverTx.values()) tx.dispose();
    this.#timerSet.clear();
    await this.#sockets.close();
    this.#listening = false;
  }

  /**
   * Places a call (an INVITE with our offer, over UDP) to `uri`, e.g. `sip:+15550001111@trunk.example.com`,
   * answering one digest challenge with `auth`. Resolves with the answered call, whose `transport`
   * goes to a `RealtimeSession` as for a received call (no `call` event is emitted for it);
   * rejects with a CallControlError carrying the final status when it was not answered.
   */
  call(uri: string, options: SipDialOptions = {}): Promise<SipCall> {
    if (!this.#listening || this.#closing)
      return Promise.reject(new ConfigError('The endpoint places calls once it listens, and until it closes.'));
    const host: DialHost = {
      ...this.#host,
      port: this.port,
      timers: this.#timers,
      timerSet: this.#timerSet,
      send: (message: SipRequest, target: SipTarget) => void this.#sockets.send(message, target),
      track: (key: string, client: { receive(response: SipResponse): void; abort(): void }) =>
        void this.#inviteTx.set(key, client),
      untrack: (key: string) => void this.#inviteTx.delete(key),
    };
    return placeCall(host, uri, options);
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
    return this.#serverTx.size + this.#clientTx.size + this.#inviteTx.size;
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

  #createHost(families: ReadonlySet<4 | 6>): EndpointHost {
    const endpoint = this;
    return {
      options: this.#options,
      counters: this.counters,
      get advertisedAddress() {
        return endpoint.#advertised;
      },
      get userAgent() {
        return endpoint.#userAgent;
      },
      rtpTimeouts: this.#rtpTimeouts,
      rtpFamilies: families,
      auth: this.#auth,
      authMethods: this.#authMethods,
      contact: (transport) => this.#contact(transport),
      finalize: (tx, request, status, options) => this.#finalize(tx, request, status, options),
      sessionTimerOf: (request) => this.#sessionTimerOf(request),
      sessionTimerHeaders: (timer) => this.#sessionTimerHeaders(timer),
      callContext: () => this.#callContext(),
      addDialog: (call) => this.#dialogs.set(call.dialogKey, call),
      hasCallListener: () => this.listenerCount('call') > 0,
      emitCall: (call) => this.#emitCall(call),
      emitError: (error) => this.#safeEmitError(error),
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
      const tx = key ? (this.#clientTx.get(key) ?? this.#inviteTx.get(key)) : undefined;
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
      if (message.method === 'INVITE' && this.#merge.get(mergeKeyOf(message)) === key)
        this.#merge.delete(mergeKeyOf(message));
    };
    const common = { send, reliable, timers: this.#timers, timerSet: this.#timerSet, onTerminated };
    const tx =
      message.method === 'INVITE'
        ? new InviteServerTransaction(message, common)
        : new NonInviteServerTransaction(message, common);
    this.#serverTx.set(key, tx);
    if (tx instanceof InviteServerTransaction) tx.respond(createResponse(message, 100));
    this.#onRequest(message, source, tx, key).catch((error: unknown) => {
      log('request %s failed: %s', describeSipMessage(message), (error as Error)?.stack ?? String(error));
      this.#safeEmitError(error);
      this.#finalize(tx, message, 500);
    });
  }

  async #onRequest(request: SipRequest, source: SipSource, tx: ServerTransaction, key: string): Promise<void> {
    const method = request.method;
    if (method === 'CANCEL') {
      this.#onCancel(request, tx as NonInviteServerTransaction);
      return;
    }
    if (!/^(sips?|tel):/i.test(request.uri)) {
      this.#finalize(tx, request, 416);
      return;
    }
    const unsupported = request.headers
      .list('require')
      .filter((option) => !(this.#minSE !== undefined && option.trim().toLowerCase() === 'timer'));
    if (unsupported.length > 0) {
      this.#finalize(tx, request, 420, { headers: [['Unsupported', unsupported.join(', ')]] });
      return;
    }
    const toTag = tagOf(request.headers.get('to'));
    if (toTag !== undefined) {
      const call = this.#dialogs.get(
        dialogKey(request.headers.get('call-id') ?? '', toTag, tagOf(request.headers.get('from')) ?? ''),
      );
      if (call) onInDialog(this.#host, call, request, source, tx);
      else this.#finalize(tx, request, 481);
      return;
    }
    switch (method) {
      case 'INVITE':
        await this.#onInvite(request, source, tx as InviteServerTransaction, key);
        return;
      case 'OPTIONS':
        this.#finalize(tx, request, 200, {
          headers: [['Allow', ALLOW], ['Accept', 'application/sdp'], ...this.#sessionTimerHeaders(undefined)],
        });
        return;
      case 'BYE':
        this.#finalize(tx, request, 481);
        return;
      default:
        this.#finalize(tx, request, KNOWN_METHODS.has(method) ? 405 : 501, { headers: [['Allow', ALLOW]] });
    }
  }

  #finalize(tx: ServerTransaction, request: SipRequest, status: number, options: FinalOptions = {}): void {
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
    const call = this.#dialogs.get(
      dialogKey(
        ack.headers.get('call-id') ?? '',
        tagOf(ack.headers.get('to')) ?? '',
        tagOf(ack.headers.get('from')) ?? '',
      ),
    );
    if (!call) {
      log('ACK matches no transaction or dialog');
      return;
    }
    const { confirmed, body, answersOffer } = call.onAck(ack);
    if (confirmed && !call.hasTransport) completeDelayedOffer(this.#host, call, body);
    else if (answersOffer && call.hasTransport) onReInviteAck(this.#host, call, ack, body);
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
      // The caller is gone: its place among maxCalls is free now, not when onInvite returns.
      pending.release?.();
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
    // The call counts against maxCalls from now: a slot is held while it is set up, and its
    // dialog counts once it is answered.
    const slot = this.#admission.reserve();
    if (!slot) {
      this.counters.busy++;
      this.#finalize(tx, request, 486, { toTag: pending.localTag });
      return;
    }
    pending.release = slot.release;
    this.#pending.set(key, pending);
    try {
      await answerInvite(this.#host, request, source, tx, pending);
    } catch (error) {
      // The 500 carries the To tag the 180 did: one tag for every response to the INVITE (RFC 3261 §8.2.6.2).
      this.#finalize(tx, request, 500, { toTag: pending.localTag });
      throw error;
    } finally {
      slot.release();
      this.#pending.delete(key);
      if (pending.cancelled) pending.rtp?.close();
    }
  }

  #emitCall(call: SipCall): void {
    try {
      this.emit('call', call);
    } catch (error) {
      log('call listener failed: %s', (error as Error)?.message);
      this.#safeEmitError(error);
    }
  }

  /** The session timer an INVITE asks for (RFC 4028), when session timers are on. */
  #sessionTimerOf(request: SipRequest): SessionTimerOffer | undefined {
    return this.#minSE === undefined ? undefined : readSessionTimer(request, this.#minSE);
  }

  /** `Supported: timer` while session timers are on; the interval and `Require: timer` when one runs. */
  #sessionTimerHeaders(timer: SessionTimerOffer | undefined): SipHeader[] {
    if (this.#minSE === undefined) return [];
    const headers: SipHeader[] = [['Supported', 'timer']];
    if (timer && 'seconds' in timer) {
      headers.push(['Session-Expires', `${timer.seconds};refresher=${timer.refresher}`]);
      // The caller refreshes: it must know it has to (RFC 4028 §9).
      if (timer.refresher === 'uac') headers.push(['Require', 'timer']);
    }
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
