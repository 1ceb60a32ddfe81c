import { EventEmitter } from 'node:events';
import { CallControlError, ConfigError } from '@switchboard/core';
import { logger } from '@switchboard/core/protocol';
import { customParametersOf } from './protocol.js';
import type { RtpSession } from './rtp/session.js';
import type { NegotiatedMedia } from './sdp.js';
import {
  bodyText,
  newBranch,
  parseNameAddr,
  parseSipUri,
  serializeSipMessage,
  SipHeaders,
  type SipRequest,
  type SipResponse,
} from './sip/message.js';
import type { SipSource, SipTarget, SipTransportName } from './sip/sockets.js';
import type { InviteServerTransaction } from './sip/transactions.js';
import { DEFAULT_TRANSFER_TIMEOUT_MS, followTransfer, referHeaders, type SipReferOptions } from './refer.js';
import { SessionTimer } from './session-timer.js';
import type { SipCallControl, SipRealtimeTransport } from './transport.js';
import {
  isHeld,
  type CallContext,
  type RtpTimeouts,
  type SipCallEndReason,
  type SipCallEvents,
  type SipCallInit,
  type SipTransferProgress,
} from './call-types.js';

export { isHeld };
export type { CallContext, RtpTimeouts, SipCallEndReason, SipCallEvents, SipCallInit, SipTransferProgress };

const log = logger('sip:endpoint');
const decoder = new TextDecoder();

/**
 * One answered SIP call: its dialog (RFC 3261 §12), its RTP session and the transport to hand to
 * a `RealtimeSession`. Hang up with {@link hangup}, transfer with {@link transfer} (REFER),
 * send digits with {@link sendDtmf} (RFC 4733).
 */
export class SipCall extends EventEmitter<SipCallEvents> implements SipCallControl {
  /** The SIP Call-ID. */
  readonly callId: string;
  /** The caller's URI (From) and the called URI (To). */
  readonly from: string;
  readonly to: string;
  /** The INVITE's Request-URI. */
  readonly requestUri: string;
  /** Every header field of the INVITE (Authorization included; never log it). */
  readonly headers: SipHeaders;
  /** Where the INVITE came from. */
  readonly remote: { transport: SipTransportName; address: string; port: number };
  /** The call's RTP session (a `MediaConnection`). */
  readonly rtp: RtpSession;
  /** The INVITE's `X-` headers, without the prefix (the transport's `call_start` carries them too). */
  readonly customParameters: Record<string, string>;
  /** The authenticated user, when digest authentication is on. */
  username: string | undefined;

  readonly #context: CallContext;
  readonly #source: SipSource;
  readonly #localTag: string;
  readonly #remoteTag: string;
  readonly #localUri: string;
  readonly #remoteUri: string;
  #remoteTarget: string;
  readonly #routeSet: string[];
  readonly #hangupAfterTransfer: boolean;
  readonly #rtpTimeouts: RtpTimeouts;
  #held = false;
  /** The session timer (RFC 4028). */
  readonly #session: SessionTimer;
  #localSeq = Math.floor(Math.random() * 10_000) + 1;
  #remoteSeq: number;
  #media: NegotiatedMedia | undefined;
  #transport: SipRealtimeTransport | undefined;
  #state: 'answered' | 'confirmed' | 'ending' | 'ended' = 'answered';
  #endReason: SipCallEndReason | undefined;
  #invites = new Map<number, InviteServerTransaction>();
  /** CSeq numbers of re-INVITEs without an offer: their ACK carries the answer to ours. */
  #awaitingAnswer = new Set<number>();
  #bye: Promise<void> | undefined;
  /** Settles once the INVITE's 2xx was acknowledged, or given up on: no BYE goes before (RFC 3261 §15). */
  readonly #ackSettled: Promise<void>;
  #settleAck!: () => void;
  #sdpVersion = 1;
  readonly sessionId = String(Math.floor(Math.random() * 1e9));

  /** @internal The endpoint creates calls; applications receive them from its `call` event. */
  constructor(context: CallContext, init: SipCallInit) {
    super();
    this.#ackSettled = new Promise<void>((resolve) => (this.#settleAck = resolve));
    const { invite, source } = init;
    this.#context = context;
    this.#source = source;
    this.#localTag = init.localTag;
    this.callId = invite.headers.get('call-id')!;
    this.requestUri = invite.uri;
    this.headers = invite.headers.clone();
    this.customParameters = customParametersOf(invite);
    const from = parseNameAddr(invite.headers.get('from')!)!;
    const to = parseNameAddr(invite.headers.get('to')!)!;
    this.from = from.uri;
    this.to = to.uri;
    const answer = init.answer;
    if (answer) {
      // We sent the INVITE (RFC 3261 §12.1.2): the far end's tag and Contact come with its 2xx,
      // the route set is its Record-Route reversed, and our CSeq continues from the INVITE's.
      const remote = answer.headers.get('to') ?? invite.headers.get('to')!;
      this.#remoteTag = parseNameAddr(remote)?.params['tag'] ?? '';
      this.#remoteUri = remote;
      this.#localUri = invite.headers.get('from')!;
      const contact = answer.headers.list('contact')[0];
      this.#remoteTarget = (contact && parseNameAddr(contact)?.uri) || to.uri;
      this.#routeSet = answer.headers.list('record-route').reverse();
      this.#remoteSeq = 0;
      this.#localSeq = Number(invite.headers.get('cseq')!.trim().split(/\s+/)[0]);
    } else {
      this.#remoteTag = from.params['tag'] ?? '';
      this.#remoteUri = invite.headers.get('from')!;
      this.#localUri = `${invite.headers.get('to')!};tag=${init.localTag}`;
      const contact = invite.headers.list('contact')[0];
      this.#remoteTarget = (contact && parseNameAddr(contact)?.uri) || from.uri;
      this.#routeSet = invite.headers.list('record-route');
      this.#remoteSeq = Number(invite.headers.get('cseq')!.trim().split(/\s+/)[0]);
    }
    this.remote = { transport: source.transport, address: source.address, port: source.port };
    this.rtp = init.rtp;
    this.#media = init.media;
    this.#hangupAfterTransfer = init.hangupAfterTransfer;
    this.#rtpTimeouts = init.rtpTimeouts;
    this.#held = init.media !== undefined && isHeld(init.media);
    if (init.inviteTransaction) this.#invites.set(this.#remoteSeq, init.inviteTransaction);
    if (answer) {
      // Our ACK went with the call's creation.
      this.#state = 'confirmed';
      this.#settleAck();
    }
    this.rtp.onClose(() => this.#onMediaClosed());
    this.#session = new SessionTimer({
      live: () => this.#state === 'answered' || this.#state === 'confirmed',
      expired: () => void this.#end('session_expired', true),
      refresh: async (headers) => {
        const response = await this.#request('UPDATE', headers);
        return { status: response.status, sessionExpires: response.headers.get('session-expires') };
      },
      log: (format, ...args) => log(`call %s: ${format}`, this.callId, ...args),
    });
  }

  /** The transport for this call's `RealtimeSession` (set before the `call` event). */
  get transport(): SipRealtimeTransport {
    if (!this.#transport) throw new ConfigError('The call has no transport yet (its SDP answer is still awaited).');
    return this.#transport;
  }

  get hasTransport(): boolean {
    return this.#transport !== undefined;
  }

  /** The negotiated audio stream (undefined until an INVITE without SDP gets its answer in the ACK). */
  get media(): NegotiatedMedia | undefined {
    return this.#media ? { ...this.#media } : undefined;
  }

  get state(): 'answered' | 'confirmed' | 'ending' | 'ended' {
    return this.#state;
  }

  get endReason(): SipCallEndReason | undefined {
    return this.#endReason;
  }

  /**
   * True while the caller holds the call (its last offer made the stream `sendonly`, `inactive`
   * or `recvonly` from its side, or had no address): no RTP may come, and the endpoint's
   * `rtp.holdTimeoutMs` applies instead of `rtp.timeoutMs`.
   */
  get held(): boolean {
    return this.#held;
  }

  /**
   * The session interval (RFC 4028 `Session-Expires`, s) the call is refreshed within, when a
   * session timer runs; undefined without one.
   */
  get sessionExpires(): number | undefined {
    return this.#session.seconds;
  }

  /** Who refreshes the session: the caller (`uac`, by re-INVITE) or the endpoint (`uas`, by UPDATE). */
  get sessionRefresher(): 'uac' | 'uas' | undefined {
    return this.#session.refresher;
  }

  /**
   * @internal A 2xx to an INVITE or re-INVITE set the session timer (or, undefined, turned it
   * off): the call hangs up with a BYE unless refreshed before the session nearly expires; when
   * we are the refresher, we send an UPDATE at half the interval.
   */
  sessionRefreshed(timer: { seconds: number; refresher: 'uac' | 'uas' } | undefined): void {
    this.#session.set(timer);
  }

  /** The quiet media the call allows now (ms, `null`: no limit): the RTP timeout, or the hold timeout on hold. */
  get rtpTimeoutMs(): number | null {
    return this.#held ? this.#rtpTimeouts.holdMs : this.#rtpTimeouts.activeMs;
  }

  /** The dialog's key: Call-ID, local tag, remote tag. */
  get dialogKey(): string {
    return dialogKey(this.callId, this.#localTag, this.#remoteTag);
  }

  get localTag(): string {
    return this.#localTag;
  }

  /** Next o= version of our SDP. */
  nextSdpVersion(): number {
    return this.#sdpVersion++;
  }

  /** @internal */
  attachTransport(transport: SipRealtimeTransport, media: NegotiatedMedia): void {
    this.#transport = transport;
    this.#media = media;
    // The transport starts with the RTP timeout; a call that starts on hold gets the hold timeout.
    this.#held = isHeld(media);
    if (this.#held) this.#applyRtpTimeout();
  }

  /**
   * @internal The ACK of a 2xx arrived. `answersOffer`: it is the ACK of a re-INVITE without an
   * offer (the first one of its CSeq), whose answer (`body`) the stream follows from now on.
   */
  onAck(ack: SipRequest): { confirmed: boolean; body: string | undefined; answersOffer: boolean } {
    const seq = Number((ack.headers.get('cseq') ?? '').trim().split(/\s+/)[0]);
    const tx = this.#invites.get(seq);
    tx?.ack2xx();
    this.#invites.delete(seq);
    const answersOffer = this.#awaitingAnswer.delete(seq) && this.#state !== 'ending' && this.#state !== 'ended';
    this.#settleAck();
    const first = this.#state === 'answered';
    if (first) {
      this.#state = 'confirmed';
      this.emit('confirmed');
    }
    return { confirmed: first, body: ack.body.byteLength > 0 ? bodyText(ack) : undefined, answersOffer };
  }

  /**
   * @internal A re-INVITE is being answered: its Contact is the dialog's remote target from now
   * on (a target refresh, RFC 3261 §12.2.2), and its offer, when it made one, the call's stream.
   * Without a request: the answer to our offer (in the re-INVITE's ACK) sets the stream.
   */
  refresh(request: SipRequest | undefined, media: NegotiatedMedia | undefined): void {
    const contact = request?.headers.list('contact')[0];
    const target = contact ? parseNameAddr(contact)?.uri : undefined;
    if (target) this.#remoteTarget = target;
    if (media && this.#transport) this.#media = media;
    if (media) this.#setHeld(isHeld(media));
  }

  /** On hold or back: the transport's carrier idle timeout becomes the hold or the RTP timeout. */
  #setHeld(held: boolean): void {
    if (held === this.#held) return;
    log('call %s %s', this.callId, held ? 'on hold' : 'resumed');
    this.#held = held;
    this.#applyRtpTimeout();
  }

  #applyRtpTimeout(): void {
    const transport = this.#transport;
    if (!transport || this.#state === 'ending' || this.#state === 'ended') return;
    // Counted from the media's last frame: the re-INVITE, handed to the media right after, is one,
    // so a resumed call has the whole RTP timeout from the resume.
    transport.setCarrierIdleTimeout(this.rtpTimeoutMs);
  }

  /**
   * @internal A re-INVITE (or the INVITE itself) whose 2xx is awaiting its ACK; `awaitsAnswer`:
   * the 2xx carries our offer, and the ACK the answer.
   */
  trackInvite(seq: number, tx: InviteServerTransaction, awaitsAnswer = false): void {
    this.#invites.set(seq, tx);
    if (awaitsAnswer) this.#awaitingAnswer.add(seq);
    else this.#awaitingAnswer.delete(seq);
  }

  /** @internal The 2xx went unacknowledged for 64×T1. */
  ackTimedOut(): void {
    this.#settleAck();
    if (this.#state !== 'answered') return;
    log('call %s: no ACK for the 200 OK, hanging up', this.callId);
    void this.#end('ack_timeout', true);
  }

  /** @internal Checks the CSeq of an in-dialog request (RFC 3261 §12.2.2); false: answer 500. */
  acceptRemoteSeq(request: SipRequest): boolean {
    const seq = Number((request.headers.get('cseq') ?? '').trim().split(/\s+/)[0]);
    if (request.method === 'ACK' || request.method === 'CANCEL') return true;
    if (seq < this.#remoteSeq) return false;
    this.#remoteSeq = seq;
    return true;
  }

  /** @internal Hands an in-dialog SIP request to the media protocol (re-INVITE, BYE, INFO). */
  deliverToMedia(request: SipRequest): void {
    this.rtp.deliver(decoder.decode(serializeSipMessage(request)));
  }

  /** @internal The far end hung up. */
  remoteBye(request: SipRequest): void {
    if (this.#state === 'ended' || this.#state === 'ending') return;
    this.#state = 'ending';
    this.#endReason = 'bye';
    // The transport ends the call with reason `bye`, then the media closes.
    this.deliverToMedia(request);
    this.#finish('bye');
  }

  /** @internal A NOTIFY of our REFER's subscription. */
  onNotify(request: SipRequest): void {
    const event = (request.headers.get('event') ?? '').split(';')[0]!.trim().toLowerCase();
    if (event !== 'refer') return;
    const fragment = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/im.exec(bodyText(request));
    if (!fragment) return;
    const status = Number(fragment[1]);
    const terminated = /^\s*terminated/i.test(request.headers.get('subscription-state') ?? '');
    const progress: SipTransferProgress = { status, reason: fragment[2]!.trim(), final: status >= 200 || terminated };
    this.emit('transfer', progress);
    if (status >= 200 && status < 300 && this.#hangupAfterTransfer) void this.hangup();
  }

  /** @internal The far end's SDP answer (in the ACK) was missing or unacceptable. */
  answerFailed(): Promise<void> {
    return this.#end('no_answer_sdp', true);
  }

  /** @internal The endpoint is closing. */
  endpointClosing(): Promise<void> {
    // No time to wait for an ACK: the BYE goes now.
    this.#settleAck();
    return this.#end('endpoint_closed', true);
  }

  /** Sends DTMF digits as RFC 4733 events; false when the call did not negotiate telephone-event. */
  sendDtmf(digits: string): boolean {
    if (!this.#transport || this.#state === 'ended' || this.#state === 'ending') return false;
    return this.#transport.sendDtmf(digits);
  }

  /** Ends the call: a BYE to the far end, then the media and the transport close. */
  hangup(): Promise<void> {
    return this.#end('hangup', true);
  }

  /**
   * Transfers the call (RFC 3515): a REFER with `Refer-To: target` (`sip:`, `sips:` or `tel:`),
   * with `options.headers` on the REFER and `options.uriHeaders` in the `Refer-To` URI. Resolves
   * when the far end accepts it (202), or with `waitFor: 'completed'` once a NOTIFY reports the
   * new call answered; its progress arrives as `transfer` events, and the call hangs up once the
   * transfer succeeded (unless `hangupAfterTransfer` is off).
   */
  async transfer(target: string, options: SipReferOptions = {}): Promise<void> {
    const headers = referHeaders(target, options, parseNameAddr(this.#localUri)!.uri);
    if (this.#state === 'ended' || this.#state === 'ending')
      throw new CallControlError('The call has ended: nothing to transfer.');
    const outcome =
      options.waitFor === 'completed'
        ? followTransfer(this, options.timeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS)
        : undefined;
    try {
      const response = await this.#request('REFER', headers);
      if (response.status < 200 || response.status >= 300) {
        throw new CallControlError(`The far end refused the transfer: ${response.status} ${response.reason}`, {
          status: response.status,
        });
      }
    } catch (error) {
      outcome?.cancel();
      throw error;
    }
    if (outcome) await outcome.promise;
  }

  async #end(reason: SipCallEndReason, sendBye: boolean): Promise<void> {
    if (this.#state === 'ended' || this.#state === 'ending') return this.#bye ?? Promise.resolve();
    // Hanging up before the ACK of our 200 OK: the 200 OK keeps being retransmitted and the BYE
    // waits for the ACK (or its timeout), so the caller is not sent a BYE for a dialog it may not
    // have yet (RFC 3261 §15). The media stops now all the same.
    const awaitAck = sendBye && this.#state === 'answered';
    this.#endReason = reason;
    this.#state = 'ending';
    const bye = sendBye
      ? (awaitAck ? this.#ackSettled : Promise.resolve()).then(() => this.#request('BYE')).then(() => undefined)
      : Promise.resolve();
    this.#bye = bye.catch((error: unknown) => log('BYE failed: %s', (error as Error)?.message));
    this.#finish(reason, awaitAck);
    return this.#bye;
  }

  #finish(reason: SipCallEndReason, awaitAck = false): void {
    this.#session.clear();
    if (awaitAck) {
      // The dialog stays known until the ACK came (its transaction stops the retransmissions).
      void this.#ackSettled.then(() => this.#context.release(this));
    } else {
      for (const tx of this.#invites.values()) tx.ack2xx();
      this.#invites.clear();
    }
    // The media stops now; the transport sees its connection close and ends the call.
    this.rtp.close(1000, reason);
    this.#state = 'ended';
    if (!awaitAck) this.#context.release(this);
    try {
      this.emit('ended', { reason });
    } catch (error) {
      log('ended listener failed: %s', (error as Error)?.message);
    }
  }

  #onMediaClosed(): void {
    if (this.#state !== 'answered' && this.#state !== 'confirmed') return;
    // The transport ended the call: no RTP came for the RTP timeout (the core's carrier idle
    // timeout), or the application closed it (session.close()). Either way the far end gets a BYE.
    const reason: SipCallEndReason = this.#transport?.endReason === 'carrier_idle' ? 'rtp_timeout' : 'hangup';
    if (reason === 'rtp_timeout') log('call %s: no RTP for %s ms, hanging up', this.callId, String(this.rtpTimeoutMs));
    void this.#end(reason, true);
  }

  /** A request within the dialog (RFC 3261 §12.2.1.1), sent in a client transaction. */
  #request(method: string, extra: Array<[string, string]> = [], body?: Uint8Array): Promise<SipResponse> {
    const loose = this.#routeSet.length === 0 || /;lr\b/i.test(this.#routeSet[0]!);
    const routes = [...this.#routeSet];
    let uri = this.#remoteTarget;
    if (!loose) {
      // A strict router: it goes in the Request-URI, the remote target last in the Route.
      uri = parseNameAddr(routes.shift()!)?.uri ?? uri;
      routes.push(`<${this.#remoteTarget}>`);
    }
    const transport = this.#source.transport;
    const headers = new SipHeaders([
      [
        'Via',
        `SIP/2.0/${transport.toUpperCase()} ${hostPort(this.#context.advertisedAddress, this.#context.port)};branch=${newBranch()};rport`,
      ],
      ['Max-Forwards', '70'],
      ['From', this.#localUri],
      ['To', this.#remoteUri],
      ['Call-ID', this.callId],
      ['CSeq', `${++this.#localSeq} ${method}`],
      ['Contact', this.#context.contact(transport)],
      ...routes.map((route): [string, string] => ['Route', route]),
      ['User-Agent', this.#context.userAgent],
      ...extra,
    ]);
    const request: SipRequest = { type: 'request', method, uri, headers, body: body ?? new Uint8Array(0) };
    return this.#context.sendRequest(request, this.#nextHop(routes[0] ?? `<${uri}>`, transport));
  }

  /**
   * Where in-dialog requests go: over TCP the connection the call came on; else the first route or the remote target.
   */
  #nextHop(first: string, transport: SipTransportName): SipTarget {
    if (transport === 'tcp' && this.#source.connection && !this.#source.connection.destroyed) return this.#source;
    const uri = parseSipUri(parseNameAddr(first)?.uri ?? first);
    if (!uri) return this.#source;
    const wanted = (uri.params['transport'] ?? transport).toLowerCase();
    return {
      transport: wanted === 'tcp' ? 'tcp' : 'udp',
      address: uri.host.replace(/^\[|\]$/g, ''),
      port: uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060),
    };
  }
}

export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}|${localTag}|${remoteTag}`;
}

export function hostPort(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}
