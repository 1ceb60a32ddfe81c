export { PlivoMediaStreamProtocol, plivoContentType, plivoEncoding, parseExtraHeaders } from './protocol.js';
export { PlivoCallControl } from './call-control.js';
export type { PlivoCallControlOptions, PlivoTransferTarget, PlivoCallActionResult } from './call-control.js';
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
