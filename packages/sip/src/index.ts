// OpenAI SIP: webhooks, call control and the transport that attaches to an accepted call.
export { OpenAISipWebhookHandler } from './openai/handler.js';
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
} from './openai/handler.js';
export {
  validateOpenAIWebhook,
  assertOpenAIWebhook,
  parseOpenAISipCall,
  getOpenAISipHeader,
  OpenAIWebhookSignatureError,
  OPENAI_WEBHOOK_TOLERANCE_SECONDS,
} from './openai/webhook.js';
export type {
  OpenAISipCall,
  OpenAIWebhookEvent,
  VerifiedOpenAIWebhook,
  ValidateOpenAIWebhookOptions,
  OpenAIWebhookHeaders,
} from './openai/webhook.js';
export {
  OpenAISipCallControl,
  buildOpenAISipAcceptConfig,
  DEFAULT_OPENAI_SIP_RETRY_POLICIES,
} from './openai/call-control.js';
export { OpenAISipCallControlError } from './openai/call-control-error.js';
export type { OpenAISipCallOperation, OpenAIErrorBody } from './openai/call-control-error.js';
export type {
  OpenAISipCallControlOptions,
  OpenAISipCallResult,
  OpenAISipRejectOptions,
  OpenAISipRetryPolicies,
  OpenAISipRetryPolicy,
  CallAcceptParams,
} from './openai/call-control.js';
export {
  OpenAISipTransport,
  attachOpenAISipSession,
  openAIRealtimeCallUrl,
  OPENAI_REALTIME_URL,
  OPENAI_SIP_NOMINAL_FORMAT,
} from './openai/transport.js';
export type {
  OpenAISipTransportOptions,
  OpenAISipTransportEventTypes,
  OpenAISipCallStartEvent,
  OpenAISipCallEndReason,
  AttachOpenAISipSessionOptions,
  OpenAISipAttachedSession,
} from './openai/transport.js';
export { openAISipTransfer } from './openai/transfer.js';
export type { OpenAISipTransferOptions, OpenAISipTransferResult } from './openai/transfer.js';
export { OpenAISipMemoryDedupStore } from './openai/dedup.js';
export type { OpenAISipDedupStore, OpenAISipMemoryDedupStoreOptions } from './openai/dedup.js';
export type { OpenAISipAddress, OpenAISipHeader } from './openai/sip-headers.js';
export type {
  OpenAICallsClient,
  OpenAIWebhooksClient,
  OpenAIClientOptions,
  OpenAIRequestOptions,
} from './openai/client.js';

// A self-hosted SIP/RTP endpoint.
export { SipEndpoint, DEFAULT_RTP_TIMEOUT_MS } from './endpoint/endpoint.js';
export type {
  SipEndpointOptions,
  SipEndpointAuthOptions,
  SipEndpointCounters,
  SipEndpointEvents,
  SipInvite,
  SipInviteDecision,
} from './endpoint/endpoint.js';
export { SipCall } from './endpoint/call.js';
export type { SipCallEndReason, SipCallEvents, SipTransferProgress } from './endpoint/call.js';
export { SipRealtimeTransport } from './endpoint/transport.js';
export type { SipRealtimeTransportOptions, SipCallControl } from './endpoint/transport.js';
export { sipTransfer } from './endpoint/transfer.js';
export type { SipDialOptions } from './endpoint/dial.js';
export type { SipTransferOptions, SipTransferResult, SipTransferContextPlacement } from './endpoint/transfer.js';
export { DEFAULT_TRANSFER_TIMEOUT_MS } from './endpoint/refer.js';
export type { SipReferOptions } from './endpoint/refer.js';
export {
  RtpMediaProtocol,
  callStartFromInvite,
  customParametersOf,
  DEFAULT_MEDIA,
  DEFAULT_LEAD_MS,
  DEFAULT_JITTER_DEPTH,
} from './endpoint/protocol.js';
export type { RtpMediaProtocolOptions, RtpStats } from './endpoint/protocol.js';
export { RtpSession } from './endpoint/rtp/session.js';
export type { RtpSessionOptions, RtpSessionCounters, RtpPortRange } from './endpoint/rtp/session.js';
export { JitterBuffer } from './endpoint/rtp/jitter.js';
export type { JitterBufferStats, Released as JitterBufferRelease } from './endpoint/rtp/jitter.js';
export { negotiateOffer, negotiateAnswer, buildAnswer, buildOffer, parseSdp, SdpError } from './endpoint/sdp.js';
export type {
  MediaPreferences,
  NegotiatedMedia,
  LocalMedia,
  SipCodec,
  MediaDirection,
  ParsedSdp,
} from './endpoint/sdp.js';
export { parseSipMessage, serializeSipMessage, SipHeaders, SipParseError } from './endpoint/sip/message.js';
export type {
  SipMessage,
  SipRequest,
  SipResponse,
  SipHeader,
  ParseOptions as SipParseOptions,
} from './endpoint/sip/message.js';
export type { SipTransportName } from './endpoint/sip/sockets.js';
export type { SipTimers } from './endpoint/sip/transactions.js';
export type { DigestAlgorithm, DigestSecret } from './endpoint/sip/digest.js';
