export { TelnyxMediaStreamProtocol, telnyxEncoding, telnyxCodecName } from './protocol.js';
export type { TelnyxMediaStreamProtocolOptions, TelnyxCodec, L16ByteOrder } from './protocol.js';
export { TelnyxCallControl, TELNYX_CALL_ENDED_CODE } from './call-control.js';
export type { TelnyxCallControlOptions, TelnyxTransferTarget, TelnyxCallActionResult } from './call-control.js';
export type {
  TelnyxDialOptions,
  TelnyxDialResult,
  TelnyxMachineDetectionMode,
  TelnyxMachineDetectionConfig,
  TelnyxSipHeader,
} from './dial.js';
export { readTelnyxMachineDetection, readVerifiedTelnyxMachineDetection } from './machine-detection.js';
export { telnyxTransfer, telnyxTransferHeaders, telnyxTransferState } from './transfer.js';
export type { TelnyxTransferOptions, TelnyxTransferResult } from './transfer.js';
export { TelnyxWarmTransfer } from './warm-transfer.js';
export type { TelnyxWarmTransferOptions, TelnyxWarmTransferResult } from './warm-transfer.js';
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
