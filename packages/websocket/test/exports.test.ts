import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as testing from '../src/testing.js';

/** Names that exist for tests: conformance adapters, peer simulators, invalid-frame codes. */
const isTestTooling = (name: string) => /^conformance$|Conformance$|PeerSimulator|_INVALID_/.test(name);

// The run-time names of the package's root and of its `./testing` entry. A change to either list is a
// change to the public API: make it on purpose, with its README and API report.
describe('@switchboard/websocket exports', () => {
  it('names what runs a call at the root, and nothing that exists only for tests', () => {
    expect(Object.keys(root).sort()).toEqual([
      'ASTERISK_MAX_MESSAGE_BYTES',
      'AudioConverter',
      'DEFAULT_FRAME_MS',
      'DEFAULT_MAX_MESSAGE_BYTES',
      'L16_RATES',
      'RAW_WEBSOCKET_MAX_PAYLOAD',
      'RawWebSocketProtocol',
      'RawWebSocketRealtimeTransport',
      'asteriskCandidate',
      'asteriskPreset',
      'callFields',
      'callStart',
      'checkFormat',
      'controlError',
      'genericCandidate',
      'genericPreset',
      'isJsonObject',
      'isSupportedFormat',
      'jambonzCandidate',
      'jambonzPreset',
      'newStreamId',
      'optionalNumber',
      'optionalString',
      'parseJsonObject',
      'presets',
      'rawWebSocketCandidate',
      'rawWebSocketCandidates',
      'readCallStart',
      'readDigit',
      'readDtmf',
      'stringParameters',
      'vonageCandidate',
      'vonagePreset',
    ]);
    expect(Object.keys(root).filter(isTestTooling)).toEqual([]);
  });

  it('keeps the test tooling under ./testing', () => {
    expect(Object.keys(testing).sort()).toEqual(['RawWebSocketPeerSimulator', 'conformance']);
    expect(Object.keys(testing)).toContain('conformance');
  });
});
