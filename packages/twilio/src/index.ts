export { TwilioMediaStreamProtocol, readTwilioCounter } from './protocol.js';
export type { TwilioDialect, TwilioMediaStreamProtocolOptions, L16ByteOrder } from './protocol.js';
export { TwilioRealtimeTransport, SignalWireRealtimeTransport } from './transport.js';
export type { TwilioRealtimeTransportOptions, SignalWireRealtimeTransportOptions } from './transport.js';
export { connectStreamTwiml, escapeXml } from './twiml.js';
export type { ConnectStreamTwimlOptions } from './twiml.js';
export {
  computeTwilioSignature,
  validateTwilioSignature,
  assertTwilioSignature,
  validateTwilioWebSocketUpgrade,
  assertTwilioWebSocketUpgrade,
  readTwilioSignatureHeader,
  readTwilioSignatureSettingsHeader,
  parseTwilioSignatureSettings,
  computeTwilioBodySHA256,
  twilioSignatureUrlVariants,
  twilioSignatureUrlCandidates,
} from './signature.js';
export type {
  TwilioSignedParams,
  TwilioSignatureAlgorithm,
  TwilioSignatureSettings,
  TwilioRequestBody,
  ComputeTwilioSignatureOptions,
  TwilioHeaders,
  ValidateTwilioSignatureOptions,
  ValidateTwilioWebSocketUpgradeOptions,
} from './signature.js';
export { TwilioCallControl } from './call-control.js';
export type {
  TwilioCallControlOptions,
  TwilioTransferTarget,
  TwilioCallUpdateResult,
  TwilioCreateCallOptions,
  TwilioCreatedCall,
  TwilioCallStatusEvent,
  TwilioMachineDetectionOptions,
} from './call-control.js';
export { readTwilioMachineDetection, type TwilioMachineDetectionParams } from './machine-detection.js';
export { twilioTransfer, twilioTransferSipHeaders, type TwilioTransferOptions } from './transfer.js';
export { TwilioWarmTransfer } from './warm-transfer.js';
export type {
  TwilioWarmTransferOptions,
  TwilioWarmTransferRequest,
  TwilioWarmTransferStarted,
  TwilioWarmTransferUpdate,
} from './warm-transfer.js';
export {
  connectStreamCxml,
  validateSignalWireSignature,
  assertSignalWireSignature,
  readSignalWireSignatureHeader,
  validateSignalWireStreamAuthorization,
  assertSignalWireStreamAuthorization,
} from './signalwire.js';
export type {
  SignalWireStreamCodec,
  ConnectStreamCxmlOptions,
  ValidateSignalWireSignatureOptions,
  ValidateSignalWireStreamAuthorizationOptions,
} from './signalwire.js';
export { twilioCandidate, signalwireCandidate } from './candidates.js';
export { ReplayGuard, MemoryNonceStore } from '@switchboard/core';
export type { NonceStore, ReplayGuardOptions, MemoryNonceStoreOptions } from '@switchboard/core';
export { TWILIO_MAX_PAYLOAD, SIGNALWIRE_MAX_PAYLOAD } from './max-payload.js';
