/**
 * `@switchboard/azure/testing`: what tests and offline development need and a call does not —
 * the conformance adapter, ACS's side of the stream (the peer simulator) and the error codes that
 * peer gives to frames ACS would refuse.
 */
export { conformance } from './conformance.js';
export { AzurePeerSimulator, AZURE_INVALID_FRAME_CODE, AZURE_INVALID_CHUNK_CODE } from './peer.js';
export type { AzurePeerSimulatorOptions } from './peer.js';
