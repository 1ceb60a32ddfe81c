import type { OpenAIRealtimeWebSocketOptions } from '@openai/agents-realtime';
import {
  ConfigError,
  TelephonyRealtimeTransport,
  type MediaConnection,
  type TelephonyRealtimeTransportOptions,
  type WebSocketLike,
} from '@switchboard/core';
import { RtpMediaProtocol, type RtpMediaProtocolOptions, type RtpStats } from './protocol.js';
import type { SipReferOptions } from './refer.js';

/** What a transport asks of the SIP dialog it belongs to. */
export interface SipCallControl {
  /** Ends the call with a BYE. */
  hangup(): Promise<void>;
  /** Transfers the call with a REFER (`Refer-To: target`). */
  transfer(target: string, options?: SipReferOptions): Promise<void>;
}

export type SipRealtimeTransportOptions = OpenAIRealtimeWebSocketOptions &
  Omit<
    TelephonyRealtimeTransportOptions,
    'connection' | 'protocol' | 'reorderWindow' | keyof OpenAIRealtimeWebSocketOptions
  > & {
    /**
     * The call's media: an RTP session over UDP (what {@link SipEndpoint} hands out), or any
     * socket that carries the same frames (RTP packets as binary frames, the dialog's SIP requests
     * as text frames).
     */
    connection: MediaConnection | WebSocketLike;
    /** The media protocol, or the options to build one (negotiated stream, INVITE, jitter depth, ...). */
    protocol?: RtpMediaProtocol | RtpMediaProtocolOptions;
    /** The SIP dialog, for {@link SipRealtimeTransport.hangup} and {@link SipRealtimeTransport.transfer}. */
    call?: SipCallControl;
  };

/**
 * Bridges one SIP call's RTP media to the OpenAI Realtime API. Pass it as `transport` to a
 * `RealtimeSession`. `SipEndpoint` creates one per call; build one yourself to carry the same
 * frames over another socket. Raw frames appear on `*` as `{ type: 'sip_message', message }`:
 * RTP headers (no audio) and SIP request text.
 */
export class SipRealtimeTransport extends TelephonyRealtimeTransport {
  readonly #rtp: RtpMediaProtocol;
  readonly #call: SipCallControl | undefined;

  constructor(options: SipRealtimeTransportOptions) {
    if (!options || typeof options !== 'object' || !options.connection) {
      throw new ConfigError(
        "SipRealtimeTransport needs `connection`: the call's RTP session (or a socket carrying its frames).",
      );
    }
    const { connection, protocol, call, ...rest } = options;
    const now = options.now ?? (options.clock ? () => options.clock!.now() : undefined);
    const rtp =
      protocol instanceof RtpMediaProtocol
        ? protocol
        : new RtpMediaProtocol({ ...(now ? { now } : {}), ...(protocol ?? {}) });
    // The protocol's jitter buffer already puts packets in order and gives up on lost ones: the
    // transport only counts the holes it reports, without waiting for them again.
    super({ ...rest, connection, protocol: rtp, reorderWindow: 0 });
    this.#rtp = rtp;
    this.#call = call;
  }

  /** RTP counters: packets in and out, jitter-buffer loss, reordering, duplicates, DTMF. */
  get rtpStats(): RtpStats {
    return this.#rtp.stats;
  }

  /** Hangs up with a BYE (when the transport belongs to a SIP dialog). */
  override hangup(): boolean {
    if (!this.#call) return super.hangup();
    this.#call.hangup().catch((error: unknown) => this.emit('error', { type: 'error', error }));
    return true;
  }

  /**
   * Transfers the call with a REFER; resolves once the far end accepted it (202), or with
   * `waitFor: 'completed'` once it reported the new call answered.
   */
  transfer(target: string, options?: SipReferOptions): Promise<void> {
    if (!this.#call)
      return Promise.reject(new ConfigError('This transport belongs to no SIP dialog: nothing to transfer.'));
    return options === undefined ? this.#call.transfer(target) : this.#call.transfer(target, options);
  }
}
