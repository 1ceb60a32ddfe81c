/**
 * `@switchboard/genesys/testing`: what tests and offline development need and a call does not —
 * the conformance adapter, Genesys's side of the session (the peer simulator), the error codes
 * that peer gives to frames Genesys would refuse, and a signer for upgrade requests.
 */
export { conformance } from './conformance.js';
export { GenesysPeerSimulator, GENESYS_INVALID_FRAME_CODE, GENESYS_INVALID_AUDIO_CODE } from './peer.js';
export type { GenesysPeerSimulatorOptions } from './peer.js';
export { signGenesysUpgrade } from './signature.js';
export type { SignGenesysUpgradeOptions } from './signature.js';
