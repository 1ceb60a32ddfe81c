/**
 * Per-call counters, available as `transport.metrics`. All sizes are carrier-side bytes unless noted. Percentiles
 * and the estimated MOS are in `transport.quality()` (see `CallQualityReport`).
 */
export type CallMetrics = {
  /** Carrier frames received / sent. */
  framesIn: number;
  framesOut: number;
  /** Carrier audio bytes received (decoded payloads) / sent. */
  audioBytesIn: number;
  audioBytesOut: number;
  /** Audio bytes forwarded to the model (in the model's format). */
  modelAudioBytesSent: number;
  /** Audio received before the model socket was ready, kept and sent once it opened (model-format bytes). */
  earlyMediaBytes: number;
  /** Early audio dropped because the early-media buffer was full (model-format bytes). */
  earlyMediaDroppedBytes: number;
  /** Silence inserted for timestamp gaps, ms. */
  gapsPaddedMs: number;
  /** Gap time left unpadded because it exceeded the padding cap, ms. */
  gapsUnpaddedMs: number;
  /** Inbound frames that arrived after a later one had already been forwarded (dropped). */
  lateFramesDropped: number;
  /** Inbound frames never received (sequence numbers skipped). */
  framesMissing: number;
  /** Inbound frames that arrived after one with a higher sequence number (used in order, or late). */
  framesReordered: number;
  /**
   * Times a carrier timestamp could not be right (far behind the stream, or ahead of real time)
   * and the timeline was resynchronised instead of padding a gap that was not there.
   */
  timestampResyncs: number;
  /** Model audio of cancelled responses that arrived after the interruption (dropped), model-format bytes. */
  lateAudioDroppedBytes: number;
  /**
   * Model audio received before the carrier stream started or after the call ended (nowhere to play it), model-format
   * bytes.
   */
  outputDroppedNoStreamBytes: number;
  /** Carrier audio that could not be sent (socket closed or failing), carrier-format bytes. */
  outputUnsentBytes: number;
  /**
   * Bytes still in the carrier socket's send buffer when the call ended by dropping the socket
   * (`carrier_idle`, `carrier_backpressure`): wire bytes, framing included, already counted as sent.
   */
  carrierBufferDroppedBytes: number;
  /** Carrier audio held for framing or pacing and discarded by a barge-in, carrier-format bytes. */
  interruptedBytesDiscarded: number;
  /** Silence sent to the model while the caller's line was inactive during speech, ms. */
  inactivityPaddedMs: number;
  /** Carrier frames that could not be decoded. */
  malformedFrames: number;
  /** Playback acks that belonged to an earlier generation (after a clear) or to no mark of ours. */
  staleAcks: number;
  dtmfDigits: number;
  /** Times the carrier paused the outbound flow (its queue was full). */
  flowPauses: number;
  /** Times output was held because the carrier socket's buffer was over `outputHighWaterBytes`. */
  backpressureHolds: number;
  /**
   * Times the carrier ran out of audio in the middle of a response: more of the response left the
   * bridge after everything sent before it had played out (by the playout clock).
   */
  outputUnderruns: number;
  /** Time the carrier had nothing to play in those underruns, ms. */
  outputUnderrunMs: number;
  bargeIns: number;
  /**
   * Responses the model started after `endAfterPlayback()` was called, cancelled before any of
   * their audio played (their audio is counted in `lateAudioDroppedBytes`).
   */
  responsesCancelledAtHangUp: number;
  /** Injected audio (`playAudio`) sent to the carrier, ms. */
  injectedAudioMs: number;
  truncations: Array<{ itemId: string; contentIndex: number; audioEndMs: number; sentMs: number }>;
  /** For each turn: ms from the model's `speech_stopped` to the first audio frame sent to the carrier. */
  responseLatenciesMs: number[];
};

export function createMetrics(): CallMetrics {
  return {
    framesIn: 0,
    framesOut: 0,
    audioBytesIn: 0,
    audioBytesOut: 0,
    modelAudioBytesSent: 0,
    earlyMediaBytes: 0,
    earlyMediaDroppedBytes: 0,
    gapsPaddedMs: 0,
    gapsUnpaddedMs: 0,
    lateFramesDropped: 0,
    framesMissing: 0,
    framesReordered: 0,
    timestampResyncs: 0,
    lateAudioDroppedBytes: 0,
    outputDroppedNoStreamBytes: 0,
    outputUnsentBytes: 0,
    carrierBufferDroppedBytes: 0,
    interruptedBytesDiscarded: 0,
    inactivityPaddedMs: 0,
    malformedFrames: 0,
    staleAcks: 0,
    dtmfDigits: 0,
    flowPauses: 0,
    backpressureHolds: 0,
    outputUnderruns: 0,
    outputUnderrunMs: 0,
    bargeIns: 0,
    responsesCancelledAtHangUp: 0,
    injectedAudioMs: 0,
    truncations: [],
    responseLatenciesMs: [],
  };
}
