export {
  CloudflareRealtimeTransport,
  ModelUnreachableError,
  ModelUpgradeError,
  fetchUpgradeOptions,
  fetchUpgradeWebSocket,
  sdkRequestHeaders,
  upgradeUrl,
} from './model.js';
export type {
  CloudflareRealtimeTransportOptions,
  CreateWebSocket,
  CreateWebSocketArgs,
  FetchUpgradeWebSocketOptions,
} from './model.js';
export { CLOSE_BRIDGE_FAILED, handleMediaUpgrade, isWebSocketUpgrade, mediaStreamUrl } from './media.js';
export { CLOSE_MESSAGE_TOO_BIG, MEDIA_MAX_PAYLOAD_OTHER_PROTOCOLS } from './max-payload.js';
export type {
  MediaCall,
  MediaTransportContext,
  MediaTransportOptions,
  MediaUpgradeOptions,
  MediaUpgradeVerification,
} from './media.js';
export { createCallDurableObject, forwardToCallObject } from './durable-object.js';
export type { CallDurableObject, CallDurableObjectClass, CallObjectStatus } from './durable-object.js';
export { enableLogging } from './logging.js';
export { acceptWebSocket, createWebSocketPair, upgradeResponse } from './workers.js';
export type {
  DurableObjectNamespaceLike,
  DurableObjectStateLike,
  WorkersFetch,
  WorkersResponse,
  WorkersWebSocket,
  WorkersWebSocketPair,
} from './workers.js';
