/**
 * `@switchboard/core/protocol`: the adapter kit. What a carrier package (ours or a third party's)
 * uses to build its protocol, its peer simulator, its transport, its call control and its webhook
 * checks: frame readers and command writers for JSON carriers, the peer-side helpers, REST and
 * header helpers, the transport's building blocks, and the conformance adapter types.
 *
 * Applications import from `@switchboard/core`. Types that describe the protocol contract
 * (`MediaStreamProtocol`, `CallEvent`, ...) are exported from both entries. Every name is listed on
 * purpose: a name added here is a change to the public API (see test/exports.test.ts, and "What is
 * exported where" in the README for the promise each entry makes).
 */

// The protocol contract (also at the package root) and the peer side of it.
export type {
  AudioFormat,
  CallEvent,
  CallEventType,
  FrameRules,
  MediaStreamProtocol,
  OutboundCommand,
  PeerSimulator,
  ProtocolCapabilities,
} from './types.js';
export type { ProtocolCandidate } from './detect.js';

// Carrier sockets.
export {
  interceptConnection,
  toBytes,
  toMediaConnection,
  type MediaConnection,
  type MediaFrame,
  type NodeWsLike,
  type WebSocketLike,
  type WhatwgWebSocketLike,
} from './connection.js';

// Decoding JSON frames.
export {
  FrameParse,
  isJsonObject,
  jsonText,
  MAX_TEXT_FRAME_CHARS,
  nonEmptyString,
  parseJsonObjectFrame,
  readCounter,
  stringRecord,
  type JsonObject,
} from './json.js';
export {
  ActiveStreamId,
  assertTextFrame,
  callStartEvent,
  decodeDtmfFrame,
  decodeMarkFrame,
  decodeMediaPayload,
  decodeStopFrame,
  encodeStreamCommand,
  KEYPAD_DIGIT,
  readFrameEvent,
  readFrameObject,
  readStartObject,
  readStartStreamId,
  type CallStartFields,
  type DtmfFrameRules,
  type FailFrame,
  type StreamCommandWriters,
} from './json-protocol.js';

// The carrier's side: peer simulators.
export {
  checkExactKeys,
  checkOutboundStreamId,
  readOutboundMark,
  readOutboundMedia,
  rejectOutboundEvent,
} from './json-peer.js';
export { PeerMediaCounter } from './peer.js';
export { peerAudioConverter } from './peer-audio.js';

// Errors and messages about what a peer sent.
export { describeError, EXCERPT_SCAN_CHARS, excerpt, toProtocolError } from './errors.js';

// Carrier transports and the transport's building blocks.
export { takeCarrierSocket, type CarrierTransportOptions } from './carrier-transport.js';
export { splitOptions, withCallControlHangUp } from './carrier-options.js';
export {
  inboundTranscoder,
  modelBytesPerMs,
  modelFormatFor,
  outboundTranscoder,
  sameModelFormat,
  type ModelAudioFormat,
  type Transcoder,
} from './codec.js';
export { PlaybackLedger, type AckResult, type ItemPlayback, type PlaybackKey } from './ledger.js';
export { createMetrics, type CallMetrics } from './metrics.js';
export type { Clock } from './clock.js';

// The call tools (`endCallTool`, `transferCallTool`) on a transport that is not the core's.
export { registerCallTools, type CallToolControls, type CallToolTransport } from './transport/controls.js';
export type { PlaybackWait } from './transport/hangup.js';

// Call control over REST, and webhook checks.
export {
  absoluteHttpUrl,
  basicAuthorization,
  carrierRequest,
  DEFAULT_REST_TIMEOUT_MS,
  restClientConfig,
  type RestClientConfig,
  type RestClientOptions,
  type RestErrorDetails,
  type RestFailure,
  type RestFetch,
  type RestRequest,
  type RestResult,
} from './rest.js';
export { constantTimeEqual, readHeader, type RequestHeaders } from './http.js';
export { assertReplayGuardOption } from './replay.js';

// Logging under `switchboard:<name>`.
export { logger, type Logger } from './log.js';

// Conformance: what a carrier's conformance adapter exports.
export type { AdapterTransportOptions, BridgeObservation, ConformanceAdapter, RemoteBridgeCall } from './adapter.js';
