export { GenesysAudioHookProtocol } from './protocol.js';
export type { GenesysAudioHookProtocolOptions, GenesysDisconnect, GenesysOpenParameters } from './protocol.js';
export type { GenesysMediaParameter, GenesysDisconnectReason } from './wire.js';
export { GenesysRealtimeTransport } from './transport.js';
export type { GenesysRealtimeTransportOptions } from './transport.js';
export { GENESYS_CLOSE_TIMEOUT_MS } from './connection.js';
export { genesysCandidate } from './candidates.js';
