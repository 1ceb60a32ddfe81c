export { VonageRealtimeTransport } from './transport.js';
export type { VonageRealtimeTransportOptions } from './transport.js';
export { connectWebSocketAction, connectWebSocketNcco, talkAction, VONAGE_MAX_HEADER_BYTES } from './ncco.js';
export type {
  ConnectWebSocketOptions,
  ConnectWebSocketNccoOptions,
  TalkOptions,
  Ncco,
  NccoAction,
  VonageAnswerParams,
  VonageConnectAction,
  VonageSampleRate,
  VonageTalkAction,
  VonageWebSocketEndpoint,
} from './ncco.js';
export { createVonageJwt, importVonagePrivateKey, VONAGE_MAX_JWT_TTL_SECONDS } from './jwt.js';
export type { CreateVonageJwtOptions, VonagePrivateKey } from './jwt.js';
export { VonageCallControl, vonageEndpoint } from './call-control.js';
export type {
  VonageCallControlOptions,
  VonageTransferTarget,
  VonageCallUpdateResult,
  VonageCreateCallOptions,
  VonageCreateCallResult,
  VonageAdvancedMachineDetection,
} from './call-control.js';
export { readVonageMachineDetection } from './machine-detection.js';
export type { VonageMachineDetectionPayload } from './machine-detection.js';
export { vonageTransfer } from './transfer.js';
export type { VonageTransferOptions } from './transfer.js';
export { validateVonageWebhook, assertVonageWebhook, readVonageAuthorization } from './webhook.js';
export type { ValidateVonageWebhookOptions, VonageWebhookClaims, VonageWebhookHeaders } from './webhook.js';
export { vonageCandidate, vonagePreset } from '@switchboard/websocket';
export { VONAGE_MAX_PAYLOAD } from './max-payload.js';
