export { TelnyxMediaStreamProtocol, telnyxEncoding, telnyxCodecName } from './protocol.js';
export type { TelnyxMediaStreamProtocolOptions, TelnyxCodec, L16ByteOrder } from './protocol.js';
export { TelnyxCallControl, TELNYX_CALL_ENDED_CODE } from './call-control.js';
export type { TelnyxCallControlOptions, TelnyxTransferTarget, TelnyxCallActionResult } from './call-control.js';
export {
  validateTelnyxWebhook,
  assertTelnyxWebhook,
  readTelnyxWebhookVerdict,
  readTelnyxSignatureHeaders,
  TELNYX_DEFAULT_TOLERANCE_SECONDS,
} from './signature.js';
export type {
  ValidateTelnyxWebhookOptions,
  TelnyxPublicKey,
  TelnyxHeaders,
  TelnyxWebhookVerdict,
} from './signature.js';
export { TelnyxRealtimeTransport } from './transport.js';
export type { TelnyxRealtimeTransportOptions } from './transport.js';
export { telnyxCandidate } from './candidates.js';
export { TELNYX_MAX_PAYLOAD } from './max-payload.js';
