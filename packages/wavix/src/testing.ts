/**
 * `@switchboard/wavix/testing`: what tests and offline development need and a call does not —
 * the conformance adapter, Wavix's side of the call (the peer simulator) and the error codes that
 * peer gives to frames Wavix would refuse or drop.
 */
export { conformance } from './conformance.js';
export {
  WavixPeerSimulator,
  WAVIX_INVALID_FRAME_CODE,
  WAVIX_INVALID_CHUNK_CODE,
  WAVIX_ONEWAY_STREAM_CODE,
} from './peer.js';
export type { WavixPeerSimulatorOptions } from './peer.js';
