/**
 * `@switchboard/websocket/testing`: what tests and offline development need and a call does not —
 * the conformance adapters (one per preset) and the carrier-side peer simulator.
 */
export { conformance } from './conformance.js';
export { RawWebSocketPeerSimulator } from './peer.js';
export type { RawWebSocketPeerSimulatorOptions } from './peer.js';
