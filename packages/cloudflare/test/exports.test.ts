import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as testing from '../src/testing.js';

/** Names that exist for tests: conformance adapters, peer simulators, invalid-frame codes. */
const isTestTooling = (name: string) => /^conformance$|Conformance$|PeerSimulator|_INVALID_/.test(name);

// The run-time names of the package's root and of its `./testing` entry. A change to either list is a
// change to the public API: make it on purpose, with its README and API report.
describe('@switchboard/cloudflare exports', () => {
  it('names what runs a call at the root, and nothing that exists only for tests', () => {
    expect(Object.keys(root).sort()).toEqual([
      'CLOSE_BRIDGE_FAILED',
      'CLOSE_MESSAGE_TOO_BIG',
      'CloudflareRealtimeTransport',
      'MEDIA_MAX_PAYLOAD_OTHER_PROTOCOLS',
      'ModelUnreachableError',
      'ModelUpgradeError',
      'acceptWebSocket',
      'createCallDurableObject',
      'createWebSocketPair',
      'enableLogging',
      'fetchUpgradeOptions',
      'fetchUpgradeWebSocket',
      'forwardToCallObject',
      'handleMediaUpgrade',
      'isWebSocketUpgrade',
      'mediaStreamUrl',
      'sdkRequestHeaders',
      'upgradeResponse',
      'upgradeUrl',
    ]);
    expect(Object.keys(root).filter(isTestTooling)).toEqual([]);
  });

  it('keeps the test tooling under ./testing', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'DEFAULT_COMPATIBILITY_DATE',
      'NodeBuiltinImportError',
      'bundleWorker',
      'conformance',
      'createConformanceAdapter',
      'reviveObservation',
      'startWorkerd',
    ]);
    expect(Object.keys(testing)).toContain('conformance');
  });
});
