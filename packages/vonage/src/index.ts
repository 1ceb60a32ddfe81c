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
export { VonageCallControl } from './call-control.js';
export type { VonageCallControlOptions, VonageTransferTarget, VonageCallUpdateResult } from './call-control.js';
export { validateVonageWebhook, assertVonageWebhook, readVonageAuthorization } from './webhook.js';
export type { ValidateVonageWebhookOptions, VonageWebhookClaims, VonageWebhookHeaders } from './webhook.js';
export { vonageCandidate, vonagePreset } from '@switchboard/websocket';
export { VONAGE_MAX_PAYLOAD } from './max-payload.js';
