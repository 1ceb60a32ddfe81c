/**
 * The shared interface between carriers and the core transport.
 * Names here are part of the public API (see the repository's DESIGN.md, section 3).
 */

/** A carrier audio format. Telephony audio is always mono. */
export type AudioFormat = {
  encoding: 'pcmu' | 'pcma' | 'l16';
  sampleRate: number;
  channels: 1;
};

/** What a carrier frame means, decoded by a provider's {@link MediaStreamProtocol}. */
export type CallEvent =
  | {
      type: 'call_start';
      callId?: string;
      streamId: string;
      format: AudioFormat;
      from?: string;
      to?: string;
      customParameters: Record<string, string>;
      raw: unknown;
    }
  | {
      type: 'audio';
      /** Audio in the carrier's format (see the `format` of `call_start`). */
      payload: Uint8Array;
      /**
       * The same audio as base64, when the carrier sent it so (Twilio): G.711 that passes through
       * to the model is then forwarded without encoding it again. Must be the standard, padded
       * base64 of `payload`; anything else is ignored and the payload encoded afresh.
       */
      payloadBase64?: string;
      /** Media-only counter, contiguous when no frame was lost (Twilio's `media.chunk`). */
      sequence?: number;
      /** Presentation time of the first sample, in ms since the stream started. */
      timestampMs?: number;
    }
  | { type: 'dtmf'; digit: string; durationMs?: number }
  /** The carrier played everything sent before the mark with this name. */
  | { type: 'playback_ack'; name: string }
  /** The carrier confirmed a `clear`. */
  | { type: 'playback_cleared' }
  /**
   * The carrier asks the bridge to stop (`paused: true`) or to resume (`false`) sending audio,
   * because its playback queue is full (Asterisk `MEDIA_XOFF` / `MEDIA_XON`). Outbound audio waits
   * in the transport meanwhile; nothing is dropped. A pause lasts until the carrier resumes the
   * flow, a new `call_start` replaces the stream, or the call ends (what waits is then counted).
   */
  | { type: 'flow_control'; paused: boolean }
  | { type: 'call_end'; reason?: string };

export type CallEventType = CallEvent['type'];

/** What the core asks a carrier to do, encoded by a provider's {@link MediaStreamProtocol}. */
export type OutboundCommand =
  | { type: 'audio'; payload: Uint8Array }
  | { type: 'mark'; name: string }
  | { type: 'clear' }
  | { type: 'hangup' }
  | { type: 'dtmf'; digits: string };

/** Constraints a carrier puts on the size of outbound audio frames. */
export type FrameRules = {
  /** Smallest frame the carrier plays without gaps, in bytes. */
  minBytes?: number;
  /** Largest frame the carrier accepts, in bytes. */
  maxBytes?: number;
  /** Every frame must be a whole multiple of this many bytes. */
  multipleOf?: number;
  /** Every frame must be a whole multiple of this duration (converted with the call's format). */
  ms?: number;
};

export type ProtocolCapabilities = {
  /** `mark`: the carrier acknowledges playback of named marks; `none`: the core runs a playout clock. */
  playbackAck: 'mark' | 'none';
  /**
   * What happens to pending marks on `clear`: `echo-pending` (Twilio returns them all),
   * `confirm` (Plivo sends one confirmation and never returns the marks), `none`.
   */
  ackOnClear: 'echo-pending' | 'confirm' | 'none';
  clear: boolean;
  dtmfIn: boolean;
  dtmfOut: boolean;
  frame?: FrameRules;
  /**
   * Keep at most `leadMs` of audio queued at the carrier; the rest waits in the transport and
   * leaves as the playout clock drains the carrier's queue. For carriers with a bounded queue
   * (Vonage: 3072 messages) or no acknowledgements, where a short queue keeps a barge-in small.
   */
  pacing?: { leadMs: number };
};

/**
 * One provider's wire format. Pure: no timers, no I/O, no state beyond the stream id and
 * sequence counters.
 */
export interface MediaStreamProtocol {
  /** Short provider name, used for the raw-frame event type (`<name>_message`). */
  readonly name: string;
  readonly capabilities: ProtocolCapabilities;
  /**
   * The audio format assumed before `call_start` says otherwise (Twilio: μ-law 8 kHz).
   * The model session is configured with it when it opens before the carrier's `start`.
   */
  readonly defaultFormat: AudioFormat;
  /** Decode one carrier frame. Throws a `ProtocolError` if the frame is malformed. */
  decode(frame: string | Uint8Array): CallEvent[];
  /** Encode one command into the frames to send (none when the carrier cannot do it). */
  encode(command: OutboundCommand): Array<string | Uint8Array>;
  /**
   * The carrier's frame as a plain value for the raw `<name>_message` event. Optional: when
   * absent, the frame itself is used. May reuse the parse of the last `decode`.
   */
  rawMessage?(frame: string | Uint8Array): unknown;
  /**
   * Events the opening of the media socket itself implies, for carriers that announce nothing
   * (a call that starts on connect). Called once, right after the transport is created.
   */
  open?(): CallEvent[];
}

/** The provider side of a protocol, for tests and for developing offline. */
export interface PeerSimulator {
  /** Frames the carrier would send to announce this event. */
  encodeInbound(event: CallEvent): Array<string | Uint8Array>;
  /** What a frame the bridge sent asks the carrier to do. */
  decodeOutbound(frame: string | Uint8Array): OutboundCommand[];
  /**
   * Frames this carrier's bridge must refuse as malformed (each decodes to a `ProtocolError`):
   * the carrier's own characteristic bad inputs, such as a media frame whose payload is not
   * base64 or a binary frame of odd length for L16. The conformance harness sends them a quarter
   * into every replayed call (`errors.malformed`). Optional: without it the harness sends its
   * default set for a JSON carrier or for a binary one.
   */
  malformedFrames?(): Array<string | Uint8Array>;
}
