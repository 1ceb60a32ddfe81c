/**
 * `@switchboard/twilio/testing`: what tests and offline development need and a call does not —
 * the conformance adapters (Twilio, and SignalWire's dialect), the carrier-side peer simulators
 * and the error codes those peers give to frames Twilio would refuse.
 */
export { conformance } from './conformance.js';
export {
  TwilioPeerSimulator,
  generateTwilioSid,
  TWILIO_INVALID_MESSAGE_CODE,
  TWILIO_BINARY_FRAME_CODE,
} from './peer.js';
export type { TwilioPeerSimulatorOptions, TwilioMediaFormat } from './peer.js';
export { SignalWirePeerSimulator, signalwireConformance } from './signalwire-peer.js';
export type { SignalWirePeerSimulatorOptions } from './signalwire-peer.js';
