/**
 * `@switchboard/vonage/testing`: what tests and offline development need and a call does not —
 * the conformance adapter and Vonage's side of the call (`@switchboard/websocket`'s peer
 * simulator, which speaks every preset).
 */
export { conformance } from './conformance.js';
export { RawWebSocketPeerSimulator } from '@switchboard/websocket/testing';
export type { RawWebSocketPeerSimulatorOptions } from '@switchboard/websocket/testing';
