import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as testing from '../src/testing.js';

/** Names that exist for tests: conformance adapters, peer simulators, invalid-frame codes. */
const isTestTooling = (name: string) => /^conformance$|Conformance$|PeerSimulator|_INVALID_/.test(name);

// The run-time names of the package's root and of its `./testing` entry. A change to either list is a
// change to the public API: make it on purpose, with its README and API report.
describe('@switchboard/telnyx exports', () => {
  it('names what runs a call at the root, and nothing that exists only for tests', () => {
    expect(Object.keys(root).sort()).toEqual([
      'TELNYX_CALL_ENDED_CODE',
      'TELNYX_DEFAULT_TOLERANCE_SECONDS',
      'TELNYX_MAX_PAYLOAD',
      'TelnyxCallControl',
      'TelnyxMediaStreamProtocol',
      'TelnyxRealtimeTransport',
      'TelnyxWarmTransfer',
      'assertTelnyxWebhook',
      'readTelnyxMachineDetection',
      'readTelnyxSignatureHeaders',
      'readTelnyxWebhookVerdict',
      'readVerifiedTelnyxMachineDetection',
      'telnyxCandidate',
      'telnyxCodecName',
      'telnyxEncoding',
      'telnyxTransfer',
      'telnyxTransferHeaders',
      'telnyxTransferState',
      'validateTelnyxWebhook',
    ]);
    expect(Object.keys(root).filter(isTestTooling)).toEqual([]);
  });

  it('keeps the test tooling under ./testing', () => {
    expect(Object.keys(testing).sort()).toEqual(['TELNYX_INVALID_FRAME_CODE', 'TelnyxPeerSimulator', 'conformance']);
    expect(Object.keys(testing)).toContain('conformance');
  });
});
