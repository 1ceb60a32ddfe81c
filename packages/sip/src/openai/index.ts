export { OpenAISipWebhookHandler } from './handler.js';
export type {
  OpenAISipWebhookHandlerOptions,
  OpenAISipWebhookResult,
  OpenAISipWebhookOutcome,
  OpenAISipCallDecision,
  OpenAISipAcceptDecision,
  OpenAISipRejectDecision,
  OpenAISipAttachedCall,
  OpenAISipFastifyPluginOptions,
  OpenAISipFastifyRequest,
  OpenAISipFastifyReply,
  OpenAISipFastifyInstance,
} from './handler.js';
export {
  verifyOpenAIWebhook,
  parseOpenAISipCall,
  getOpenAISipHeader,
  OpenAIWebhookSignatureError,
  OPENAI_WEBHOOK_TOLERANCE_SECONDS,
} from './webhook.js';
export type {
  OpenAISipCall,
  OpenAIWebhookEvent,
  VerifiedOpenAIWebhook,
  VerifyOpenAIWebhookOptions,
  OpenAIWebhookHeaders,
} from './webhook.js';
export { OpenAISipCallControl, buildOpenAISipAcceptConfig, DEFAULT_OPENAI_SIP_RETRY_POLICIES } from './call-control.js';
export { OpenAISipCallControlError } from './call-control-error.js';
export type { OpenAISipCallOperation, OpenAIErrorBody } from './call-control-error.js';
export type {
  OpenAISipCallControlOptions,
  OpenAISipCallResult,
  OpenAISipRejectOptions,
  OpenAISipRetryPolicies,
  OpenAISipRetryPolicy,
  CallAcceptParams,
} from './call-control.js';
export {
  OpenAISipTransport,
  attachOpenAISipSession,
  openAIRealtimeCallUrl,
  OPENAI_REALTIME_URL,
  OPENAI_SIP_NOMINAL_FORMAT,
} from './transport.js';
export type {
  OpenAISipTransportOptions,
  OpenAISipTransportEventTypes,
  OpenAISipCallStartEvent,
  OpenAISipCallEndReason,
  AttachOpenAISipSessionOptions,
  OpenAISipAttachedSession,
} from './transport.js';
export { OpenAISipMemoryDedupStore } from './dedup.js';
export type { OpenAISipDedupStore, OpenAISipMemoryDedupStoreOptions } from './dedup.js';
export type { OpenAISipAddress, OpenAISipHeader } from './sip-headers.js';
export type { OpenAICallsClient, OpenAIWebhooksClient, OpenAIClientOptions, OpenAIRequestOptions } from './client.js';
