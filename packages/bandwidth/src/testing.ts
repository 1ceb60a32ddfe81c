/**
 * `@switchboard/bandwidth/testing`: what tests and offline development need and a call does not —
 * the conformance adapter, Bandwidth's side of the call (the peer simulator) and the error codes
 * that peer gives to frames Bandwidth would refuse.
 */
export { conformance } from './conformance.js';
export { BandwidthPeerSimulator, BANDWIDTH_INVALID_FRAME_CODE, BANDWIDTH_INVALID_CHUNK_CODE } from './peer.js';
export type { BandwidthPeerSimulatorOptions } from './peer.js';
