/**
 * What the endpoint's parts (call set-up, the dialog's requests) ask of the endpoint: its
 * settings, the way it answers requests, and its bookkeeping of calls.
 */
import type { CallContext, RtpTimeouts, SipCall } from './call.js';
import type { SipEndpointCounters, SipEndpointOptions } from './options.js';
import type { DigestAuthenticator } from './sip/digest.js';
import type { SipHeader, SipRequest } from './sip/message.js';
import type { SipTransportName } from './sip/sockets.js';
import type { InviteServerTransaction, NonInviteServerTransaction } from './sip/transactions.js';
import type { SessionTimerOffer } from './session-timer.js';

export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;

export type FinalOptions = { reason?: string; toTag?: string; headers?: SipHeader[]; body?: Uint8Array };

export interface EndpointHost {
  readonly options: SipEndpointOptions;
  readonly counters: SipEndpointCounters;
  /** The address in Via, Contact and SDP. */
  readonly advertisedAddress: string;
  readonly userAgent: string;
  readonly rtpTimeouts: RtpTimeouts;
  /** Address families the RTP sockets can send to. */
  readonly rtpFamilies: ReadonlySet<4 | 6>;
  readonly auth: DigestAuthenticator | undefined;
  /** Methods challenged by digest authentication. */
  readonly authMethods: ReadonlySet<string>;
  contact(transport: SipTransportName): string;
  /** A final response (a random To tag unless given). */
  finalize(tx: ServerTransaction, request: SipRequest, status: number, options?: FinalOptions): void;
  /** The session timer an INVITE asks for (RFC 4028), when session timers are on. */
  sessionTimerOf(request: SipRequest): SessionTimerOffer | undefined;
  /** `Supported: timer` while session timers are on; the interval and `Require: timer` when one runs. */
  sessionTimerHeaders(timer: SessionTimerOffer | undefined): SipHeader[];
  callContext(): CallContext;
  /** An answered call: its dialog is known from now on. */
  addDialog(call: SipCall): void;
  /** True when someone listens to `call`. */
  hasCallListener(): boolean;
  emitCall(call: SipCall): void;
  emitError(error: unknown): void;
}
