export {
  BandwidthMediaStreamProtocol,
  BANDWIDTH_FORMAT,
  BANDWIDTH_PLAY_CONTENT_TYPE,
  BANDWIDTH_DEFAULT_LEAD_MS,
  BANDWIDTH_DEFAULT_FRAME_MS,
  BANDWIDTH_UNSUPPORTED_FORMAT_CODE,
} from './protocol.js';
export type { BandwidthProtocolOptions } from './protocol.js';
export { BandwidthRealtimeTransport } from './transport.js';
export type { BandwidthRealtimeTransportOptions } from './transport.js';
export { bandwidthCandidate } from './candidates.js';
export { BandwidthCallControl } from './call-control.js';
export type { BandwidthCallControlOptions, BandwidthRedirect, BandwidthCallActionResult } from './call-control.js';
export {
  bandwidthStreamBxml,
  bandwidthTransferBxml,
  bxmlResponse,
  bxmlStartStream,
  BANDWIDTH_MAX_STREAM_PARAMS,
  BANDWIDTH_DEFAULT_STREAM_NAME,
} from './bxml.js';
export type { BandwidthStreamBxmlOptions, BandwidthTransferBxmlOptions } from './bxml.js';
export { bandwidthTransfer, readBandwidthTransfer } from './transfer.js';
export type { BandwidthTransferOptions, BandwidthTransferDestination } from './transfer.js';
export { validateBandwidthAuth, assertBandwidthAuth } from './auth.js';
export type { ValidateBandwidthAuthOptions, BandwidthHeaders } from './auth.js';
export { BANDWIDTH_MAX_PAYLOAD } from './max-payload.js';
