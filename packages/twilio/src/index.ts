export * from './parts.js';
export * from './transport.js';
export * from './conformance.js';
export {
  SignalWirePeerSimulator,
  signalwireConformance,
  connectStreamCxml,
  validateSignalWireSignature,
  assertSignalWireSignature,
  readSignalWireSignatureHeader,
  validateSignalWireStreamAuthorization,
  assertSignalWireStreamAuthorization,
} from './signalwire.js';
export type {
  SignalWirePeerSimulatorOptions,
  SignalWireStreamCodec,
  ConnectStreamCxmlOptions,
  ValidateSignalWireSignatureOptions,
  ValidateSignalWireStreamAuthorizationOptions,
} from './signalwire.js';
export { twilioCandidate, signalwireCandidate } from './candidates.js';
export { ReplayGuard, MemoryNonceStore } from '@switchboard/core';
export type { NonceStore, ReplayGuardOptions, MemoryNonceStoreOptions } from '@switchboard/core';
export { TWILIO_MAX_PAYLOAD, SIGNALWIRE_MAX_PAYLOAD } from './max-payload.js';
