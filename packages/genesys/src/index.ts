export { GenesysAudioHookProtocol } from './protocol.js';
export type { GenesysAudioHookProtocolOptions, GenesysDisconnect, GenesysOpenParameters } from './protocol.js';
export type { GenesysMediaParameter, GenesysDisconnectReason } from './wire.js';
export { GenesysRealtimeTransport } from './transport.js';
export type { GenesysRealtimeTransportOptions } from './transport.js';
export { GENESYS_CLOSE_TIMEOUT_MS } from './connection.js';
export { genesysCandidate } from './candidates.js';
export { genesysTransfer } from './transfer.js';
export type { GenesysTransferOptions } from './transfer.js';
export {
  validateGenesysUpgrade,
  assertGenesysUpgrade,
  readGenesysUpgradeVerdict,
  GENESYS_SIGNED_COMPONENTS,
} from './signature.js';
export type { ValidateGenesysUpgradeOptions, GenesysUpgradeVerdict } from './signature.js';
