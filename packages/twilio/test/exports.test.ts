import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as testing from '../src/testing.js';

/** Names that exist for tests: conformance adapters, peer simulators, invalid-frame codes. */
const isTestTooling = (name: string) => /^conformance$|Conformance$|PeerSimulator|_INVALID_/.test(name);

// The run-time names of the package's root and of its `./testing` entry. A change to either list is a
// change to the public API: make it on purpose, with its README and API report.
describe('@switchboard/twilio exports', () => {
  it('names what runs a call at the root, and nothing that exists only for tests', () => {
    expect(Object.keys(root).sort()).toEqual([
      'MemoryNonceStore',
      'ReplayGuard',
      'SIGNALWIRE_MAX_PAYLOAD',
      'SignalWireRealtimeTransport',
      'TWILIO_MAX_PAYLOAD',
      'TwilioCallControl',
      'TwilioMediaStreamProtocol',
      'TwilioRealtimeTransport',
      'TwilioWarmTransfer',
      'assertSignalWireSignature',
      'assertSignalWireStreamAuthorization',
      'assertTwilioSignature',
      'assertTwilioWebSocketUpgrade',
      'computeTwilioBodySHA256',
      'computeTwilioSignature',
      'connectStreamCxml',
      'connectStreamTwiml',
      'escapeXml',
      'parseTwilioSignatureSettings',
      'readSignalWireSignatureHeader',
      'readTwilioCounter',
      'readTwilioMachineDetection',
      'readTwilioSignatureHeader',
      'readTwilioSignatureSettingsHeader',
      'signalwireCandidate',
      'twilioCandidate',
      'twilioSignatureUrlCandidates',
      'twilioSignatureUrlVariants',
      'twilioTransfer',
      'twilioTransferSipHeaders',
      'validateSignalWireSignature',
      'validateSignalWireStreamAuthorization',
      'validateTwilioSignature',
      'validateTwilioWebSocketUpgrade',
    ]);
    expect(Object.keys(root).filter(isTestTooling)).toEqual([]);
  });

  it('keeps the test tooling under ./testing', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'SignalWirePeerSimulator',
      'TWILIO_BINARY_FRAME_CODE',
      'TWILIO_INVALID_MESSAGE_CODE',
      'TwilioPeerSimulator',
      'conformance',
      'generateTwilioSid',
      'signalwireConformance',
    ]);
    expect(Object.keys(testing)).toContain('conformance');
  });
});
