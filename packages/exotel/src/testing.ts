/**
 * `@switchboard/exotel/testing`: what tests and offline development need and a call does not —
 * the conformance adapter, Exotel's side of the call (the peer simulator) and the error codes
 * that peer gives to frames Exotel would refuse.
 */
export { conformance } from './conformance.js';
export { ExotelPeerSimulator, EXOTEL_INVALID_FRAME_CODE, EXOTEL_INVALID_CHUNK_CODE } from './peer.js';
export type { ExotelPeerSimulatorOptions } from './peer.js';
