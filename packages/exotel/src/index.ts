export { ExotelMediaStreamProtocol, EXOTEL_FRAME_RULES } from './protocol.js';
export { validateExotelUpgrade, assertExotelUpgrade } from './auth.js';
export type { ValidateExotelUpgradeOptions, ExotelHeaders } from './auth.js';
export {
  signExotelStreamUrl,
  validateExotelStreamUrl,
  assertExotelStreamUrl,
  readExotelStreamUrlVerdict,
  ExotelStreamUrlError,
  EXOTEL_STREAM_URL_SIGNATURE_PARAM,
} from './signed-url.js';
export type {
  SignExotelStreamUrlOptions,
  ValidateExotelStreamUrlOptions,
  ExotelStreamUrlVerdict,
  ExotelStreamUrlFailure,
} from './signed-url.js';
export { ExotelRealtimeTransport } from './transport.js';
export type { ExotelRealtimeTransportOptions } from './transport.js';
export { exotelCandidate } from './candidates.js';
export { EXOTEL_MAX_PAYLOAD } from './max-payload.js';
