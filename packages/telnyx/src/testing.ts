/**
 * `@switchboard/telnyx/testing`: what tests and offline development need and a call does not —
 * the conformance adapter, Telnyx's side of the call (the peer simulator) and the error code
 * that peer gives to frames Telnyx would refuse.
 */
export { conformance } from './conformance.js';
export { TelnyxPeerSimulator, TELNYX_INVALID_FRAME_CODE } from './peer.js';
export type { TelnyxPeerSimulatorOptions } from './peer.js';
