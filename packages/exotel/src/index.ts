export { ExotelMediaStreamProtocol, EXOTEL_FRAME_RULES } from './protocol.js';
export { ExotelPeerSimulator, EXOTEL_INVALID_FRAME_CODE, EXOTEL_INVALID_CHUNK_CODE } from './peer.js';
export type { ExotelPeerSimulatorOptions } from './peer.js';
export { verifyExotelUpgrade, assertExotelUpgrade } from './auth.js';
export type { VerifyExotelUpgradeOptions, ExotelHeaders } from './auth.js';
export {
  signExotelStreamUrl,
  verifyExotelStreamUrl,
  assertExotelStreamUrl,
  ExotelStreamUrlError,
  EXOTEL_STREAM_URL_SIGNATURE_PARAM,
} from './signed-url.js';
export type {
  SignExotelStreamUrlOptions,
  VerifyExotelStreamUrlOptions,
  ExotelStreamUrlCheck,
  ExotelStreamUrlFailure,
} from './signed-url.js';
export { ExotelRealtimeTransport } from './transport.js';
export type { ExotelRealtimeTransportOptions } from './transport.js';
export { conformance } from './conformance.js';
export * from './candidates.js';
export { EXOTEL_MAX_PAYLOAD } from './max-payload.js';
