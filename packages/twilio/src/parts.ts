export { TwilioMediaStreamProtocol, readTwilioCounter } from './protocol.js';
export type { TwilioDialect, TwilioMediaStreamProtocolOptions, L16ByteOrder } from './protocol.js';
export {
  TwilioPeerSimulator,
  generateTwilioSid,
  TWILIO_INVALID_MESSAGE_CODE,
  TWILIO_BINARY_FRAME_CODE,
} from './peer.js';
export type { TwilioPeerSimulatorOptions, TwilioMediaFormat } from './peer.js';
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
export type { TwilioCallControlOptions, TwilioTransferTarget, TwilioCallUpdateResult } from './call-control.js';
