export { PlivoMediaStreamProtocol, plivoContentType, plivoEncoding, parseExtraHeaders } from './protocol.js';
export { PlivoCallControl, plivoSipHeaders } from './call-control.js';
export type {
  PlivoCallControlOptions,
  PlivoTransferTarget,
  PlivoCallActionResult,
  PlivoCreateCallOptions,
  PlivoCreateCallResult,
} from './call-control.js';
export { readPlivoMachineDetection } from './machine-detection.js';
export type { PlivoMachineDetectionParams } from './machine-detection.js';
export { plivoTransfer, plivoTransferXml, readPlivoTransfer, plivoHeaderValue } from './transfer.js';
export type { PlivoTransferOptions, PlivoTransferDestination, PlivoTransferXmlOptions } from './transfer.js';
export {
  computePlivoSignatureV3,
  validatePlivoSignatureV3,
  assertPlivoSignatureV3,
  plivoSignatureV3Base,
  readPlivoSignatureHeaders,
} from './signature.js';
export type {
  PlivoSignedParams,
  PlivoSignatureV3Options,
  ValidatePlivoSignatureV3Options,
  PlivoHeaders,
} from './signature.js';
export { PlivoReplayGuard, MemoryPlivoNonceStore } from './replay.js';
export type { PlivoNonceStore, PlivoReplayGuardOptions, MemoryPlivoNonceStoreOptions } from './replay.js';
export { PlivoRealtimeTransport } from './transport.js';
export type { PlivoRealtimeTransportOptions } from './transport.js';
export { plivoCandidate } from './candidates.js';
export { PLIVO_MAX_PAYLOAD } from './max-payload.js';
