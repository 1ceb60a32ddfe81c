/**
 * `@switchboard/core`: what an application needs to run a call. The transport and its options and
 * events, the interfaces an application passes or receives, errors, metrics, clocks, audio
 * utilities, the replay guard, protocol detection, drain and the call recorder.
 *
 * The helpers that carrier packages use to build their protocols, peers, transports and webhook
 * checks are the adapter kit, at `@switchboard/core/protocol`. Every name is listed here on
 * purpose: a name added to this entry is a change to the public API (see test/exports.test.ts, and
 * "What is exported where" in the README for the promise each entry makes).
 */

// The transport, its options and its events.
export { TelephonyRealtimeTransport, TRANSPORT_DEFAULTS } from './transport.js';
export type {
  CallEndEvent,
  CallStartEvent,
  DtmfEvent,
  TelephonyRealtimeTransportOptions,
  TelephonyTransportEventTypes,
} from './transport.js';
export type { CarrierTransportOptions } from './carrier-transport.js';
export type { MediaObserver } from './transport/observers.js';

// Call features: hanging up after playback, injected audio, machine detection, agent tools.
export {
  AGENT_HANGUP_REASON,
  END_AFTER_PLAYBACK_TIMEOUT_MS,
  type EndAfterPlaybackOptions,
  type EndAfterPlaybackResult,
  type HangUpRequest,
} from './transport/hangup.js';
export type {
  InjectedAudio,
  InjectedAudioEndReason,
  InjectedAudioEvent,
  InjectedAudioResult,
  PlayAudioOptions,
} from './transport/inject.js';
export {
  CALL_DIRECTORY_DEFAULTS,
  CallDirectory,
  type CallDirectoryOptions,
  type MachineDetectionEvent,
} from './machine-detection.js';
export {
  endCallTool,
  playWhile,
  TRANSFERRED_REASON,
  transferCallTool,
  type CallTool,
  type EndCallToolOptions,
  type PlayWhileOptions,
  type TelephonyToolContext,
  type ToolTransport,
  type TransferCallToolOptions,
  type TransferHandler,
  type TransferRequest,
} from './tools.js';
export type { CallToolTransport } from './transport/controls.js';

// The interfaces an application passes or receives.
export type { MediaConnection, MediaFrame, NodeWsLike, WebSocketLike, WhatwgWebSocketLike } from './connection.js';
export type {
  AudioFormat,
  CallEvent,
  CallEventType,
  FrameRules,
  MediaStreamProtocol,
  OutboundCommand,
  ProtocolCapabilities,
} from './types.js';

// Errors.
export { CallControlError, ConfigError, ProtocolError, SwitchboardError, WebhookSignatureError } from './errors.js';

// Metrics, clocks and the model-side audio format.
export type { CallMetrics } from './metrics.js';
export type { CallQualityReport } from './quality/call-quality.js';
export { estimateMos, type MosEstimate, type MosInput } from './quality/emodel.js';
export type { LatencySummary } from './quality/histogram.js';
export type { ModelAudioFormat } from './codec.js';
export { scaledClock, systemClock, type Clock } from './clock.js';

// Audio: G.711, PCM, base64, resampling, framing, WAV.
export {
  ALAW_SILENCE,
  MULAW_SILENCE,
  aLawToLinear,
  base64Decode,
  base64Encode,
  base64UrlDecode,
  base64UrlEncode,
  bytesPerMs,
  bytesPerSample,
  concatBytes,
  decodeALaw,
  decodeMuLaw,
  decodeWav,
  durationMs,
  encodeALaw,
  encodeMuLaw,
  encodeWav,
  Framer,
  linearToALaw,
  linearToMuLaw,
  muLawToLinear,
  pcm16FromBytes,
  pcm16ToBytes,
  Resampler,
  silence,
  silenceByte,
  swapBytes16,
  type FramerRules,
  type ResamplerOptions,
  type ResamplerQuality,
} from './audio/index.js';

// Webhook replay protection.
export {
  MemoryNonceStore,
  REPLAY_DEFAULT_MAX_ENTRIES,
  REPLAY_DEFAULT_TTL_MS,
  REPLAY_MAX_KEY_LENGTH,
  ReplayGuard,
  type MemoryNonceStoreOptions,
  type NonceStore,
  type ReplayGuardOptions,
} from './replay.js';

// One media route for several carriers.
export {
  detectMediaProtocol,
  detectProtocol,
  ProtocolDetectionError,
  type DetectedMediaProtocol,
  type DetectMediaProtocolOptions,
  type ProtocolCandidate,
  type ProtocolDetectionFailure,
  type ReplayedMediaConnection,
} from './detect.js';

// Pre-warm: the model session opened at the voice webhook, the media stream attached when it connects.
export {
  MemoryPrewarmRegistry,
  PendingMediaConnection,
  PREWARM_CREATE_TIMEOUT_REASON,
  PREWARM_DEFAULTS,
  PREWARM_UNCLAIMED_REASON,
  PrewarmPool,
  type MemoryPrewarmRegistryOptions,
  type PendingMediaConnectionOptions,
  type PrewarmAcceptResult,
  type PrewarmedCall,
  type PrewarmErrorContext,
  type PrewarmOwner,
  type PrewarmPoolOptions,
  type PrewarmRegistry,
  type PrewarmStats,
} from './prewarm/index.js';

// Graceful shutdown.
export {
  CallRegistry,
  connectOrEnd,
  DEFAULT_DRAIN_DEADLINE_MS,
  drainOnSignals,
  MODEL_CONNECT_FAILED_REASON,
  SHUTDOWN_REASON,
  type CallEndListener,
  type CallRegistryOptions,
  type ConnectOrEndOptions,
  type DrainableCall,
  type DrainOnSignalsOptions,
  type DrainOptions,
  type DrainResult,
  type EndableCall,
  type SignalDrain,
} from './drain.js';

// Recording calls as conformance traces.
export {
  CallRecorder,
  RECORDING_DEFAULT_MAX_BYTES,
  REDACTED,
  type AudioRedaction,
  type CallRecorderContext,
  type CallRecordingOptions,
  type RecordingRedaction,
  type RecordingSink,
  type RecordingStats,
} from './recorder/index.js';

// Recording a call's audio, both ways, as a two-channel WAV.
export {
  CallAudioRecorder,
  type CallAudioRecorderOptions,
  type CallAudioRecorderStats,
  type CallAudioRecording,
  type WavSink,
} from './recorder/audio-recorder.js';
