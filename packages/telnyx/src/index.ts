export { TelnyxMediaStreamProtocol, telnyxEncoding, telnyxCodecName } from './protocol.js';
export type { TelnyxMediaStreamProtocolOptions, TelnyxCodec, L16ByteOrder } from './protocol.js';
export { TelnyxPeerSimulator, TELNYX_INVALID_FRAME_CODE } from './peer.js';
export type { TelnyxPeerSimulatorOptions } from './peer.js';
export { TelnyxCallControl, TELNYX_CALL_ENDED_CODE } from './call-control.js';
export type { TelnyxCallControlOptions, TelnyxTransferTarget, TelnyxCallActionResult } from './call-control.js';
export {
  verifyTelnyxWebhook,
  assertTelnyxWebhook,
  checkTelnyxWebhook,
  readTelnyxSignatureHeaders,
  TELNYX_DEFAULT_TOLERANCE_SECONDS,
} from './signature.js';
export type { VerifyTelnyxWebhookOptions, TelnyxPublicKey, TelnyxHeaders, TelnyxWebhookVerdict } from './signature.js';
export { TelnyxRealtimeTransport } from './transport.js';
export type { TelnyxRealtimeTransportOptions } from './transport.js';
export { conformance } from './conformance.js';
export * from './candidates.js';
export { TELNYX_MAX_PAYLOAD } from './max-payload.js';
