import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as testing from '../src/testing.js';

/** Names that exist for tests: conformance adapters, peer simulators, invalid-frame codes, the signer. */
const isTestTooling = (name: string) => /^conformance$|Conformance$|PeerSimulator|_INVALID_|^sign/.test(name);

// The run-time names of the package's root and of its `./testing` entry. A change to either list is a
// change to the public API: make it on purpose, with its README and API report.
describe('@switchboard/genesys exports', () => {
  it('names what runs a call at the root, and nothing that exists only for tests', () => {
    expect(Object.keys(root).sort()).toEqual([
      'GENESYS_CLOSE_TIMEOUT_MS',
      'GENESYS_SIGNED_COMPONENTS',
      'GenesysAudioHookProtocol',
      'GenesysRealtimeTransport',
      'assertGenesysUpgrade',
      'genesysCandidate',
      'genesysTransfer',
      'readGenesysUpgradeVerdict',
      'validateGenesysUpgrade',
    ]);
    expect(Object.keys(root).filter(isTestTooling)).toEqual([]);
  });

  it('keeps the test tooling under ./testing', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'GENESYS_INVALID_AUDIO_CODE',
      'GENESYS_INVALID_FRAME_CODE',
      'GenesysPeerSimulator',
      'conformance',
      'signGenesysUpgrade',
    ]);
  });
});
