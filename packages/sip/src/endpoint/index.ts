export { SipEndpoint, DEFAULT_RTP_TIMEOUT_MS } from './endpoint.js';
export type {
  SipEndpointOptions,
  SipEndpointAuthOptions,
  SipEndpointCounters,
  SipEndpointEvents,
  SipInvite,
  SipInviteDecision,
} from './endpoint.js';
export { SipCall } from './call.js';
export type { SipCallEndReason, SipCallEvents, SipTransferProgress } from './call.js';
export { SipRealtimeTransport } from './transport.js';
export type { SipRealtimeTransportOptions, SipCallControl } from './transport.js';
export {
  RtpMediaProtocol,
  callStartFromInvite,
  customParametersOf,
  DEFAULT_MEDIA,
  DEFAULT_LEAD_MS,
  DEFAULT_JITTER_DEPTH,
} from './protocol.js';
export type { RtpMediaProtocolOptions, RtpStats } from './protocol.js';
export { RtpPeerSimulator } from './peer.js';
export type { RtpPeerSimulatorOptions } from './peer.js';
export { RtpSession } from './rtp/session.js';
export type { RtpSessionOptions, RtpSessionCounters, RtpPortRange } from './rtp/session.js';
export { JitterBuffer } from './rtp/jitter.js';
export type { JitterBufferStats } from './rtp/jitter.js';
export { negotiateOffer, negotiateAnswer, buildAnswer, buildOffer, parseSdp, SdpError } from './sdp.js';
export type { MediaPreferences, NegotiatedMedia, LocalMedia, SipCodec, MediaDirection, ParsedSdp } from './sdp.js';
export { parseSipMessage, serializeSipMessage, SipHeaders, SipParseError } from './sip/message.js';
export type { SipMessage, SipRequest, SipResponse, SipHeader } from './sip/message.js';
export type { SipTransportName } from './sip/sockets.js';
export type { SipTimers } from './sip/transactions.js';
export type { DigestAlgorithm, DigestSecret } from './sip/digest.js';
export { conformance } from './conformance.js';
