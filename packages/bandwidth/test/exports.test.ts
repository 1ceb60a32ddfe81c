import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as testing from '../src/testing.js';

/** Names that exist for tests: conformance adapters, peer simulators, invalid-frame codes. */
const isTestTooling = (name: string) => /^conformance$|Conformance$|PeerSimulator|_INVALID_/.test(name);

// The run-time names of the package's root and of its `./testing` entry. A change to either list is a
// change to the public API: make it on purpose, with its README and API report.
describe('@switchboard/bandwidth exports', () => {
  it('names what runs a call at the root, and nothing that exists only for tests', () => {
    expect(Object.keys(root).sort()).toEqual([
      'BANDWIDTH_DEFAULT_FRAME_MS',
      'BANDWIDTH_DEFAULT_LEAD_MS',
      'BANDWIDTH_DEFAULT_STREAM_NAME',
      'BANDWIDTH_FORMAT',
      'BANDWIDTH_MAX_PAYLOAD',
      'BANDWIDTH_MAX_STREAM_PARAMS',
      'BANDWIDTH_PLAY_CONTENT_TYPE',
      'BANDWIDTH_UNSUPPORTED_FORMAT_CODE',
      'BandwidthCallControl',
      'BandwidthMediaStreamProtocol',
      'BandwidthRealtimeTransport',
      'assertBandwidthAuth',
      'bandwidthCandidate',
      'bandwidthStreamBxml',
      'bandwidthTransfer',
      'bandwidthTransferBxml',
      'bxmlResponse',
      'bxmlStartStream',
      'readBandwidthTransfer',
      'validateBandwidthAuth',
    ]);
    expect(Object.keys(root).filter(isTestTooling)).toEqual([]);
  });

  it('keeps the test tooling under ./testing', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'BANDWIDTH_INVALID_CHUNK_CODE',
      'BANDWIDTH_INVALID_FRAME_CODE',
      'BandwidthPeerSimulator',
      'conformance',
    ]);
  });
});
