/**
 * `@switchboard/plivo/testing`: what tests and offline development need and a call does not —
 * the conformance adapter, Plivo's side of the call (the peer simulator) and the error code
 * that peer gives to frames Plivo would refuse.
 */
export { conformance } from './conformance.js';
export { PlivoPeerSimulator, PLIVO_INVALID_FRAME_CODE } from './peer.js';
export type { PlivoPeerSimulatorOptions } from './peer.js';
