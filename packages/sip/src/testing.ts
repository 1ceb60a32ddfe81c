/**
 * `@switchboard/sip/testing`: what tests and offline development need and a call does not — the
 * conformance adapter of the SIP/RTP endpoint and the caller's side of an RTP stream (the peer
 * simulator).
 */
export { conformance } from './endpoint/conformance.js';
export { RtpPeerSimulator } from './endpoint/peer.js';
export type { RtpPeerSimulatorOptions } from './endpoint/peer.js';
