import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as testing from '../src/testing.js';

/** Names that exist for tests: conformance adapters, peer simulators, invalid-frame codes. */
const isTestTooling = (name: string) => /^conformance$|Conformance$|PeerSimulator|_INVALID_/.test(name);

// The run-time names of the package's root and of its `./testing` entry. A change to either list is a
// change to the public API: make it on purpose, with its README and API report.
describe('@switchboard/azure exports', () => {
  it('names what runs a call at the root, and nothing that exists only for tests', () => {
    expect(Object.keys(root).sort()).toEqual([
      'AZURE_CALL_AUTOMATION_API_VERSION',
      'AZURE_CALL_AUTOMATION_ISSUER',
      'AZURE_CALL_AUTOMATION_KEYS_URL',
      'AZURE_DEFAULT_PACING_LEAD_MS',
      'AZURE_FRAME_MS',
      'AZURE_MAX_PAYLOAD',
      'AZURE_SAMPLE_RATES',
      'AzureCallAutomation',
      'AzureMediaStreamProtocol',
      'AzureRealtimeTransport',
      'assertAzureCallAutomationToken',
      'azureCandidate',
      'azureMediaStreamingOptions',
      'azureTransfer',
      'azureTransferContext',
      'createAzureKeySet',
      'readAzureCallAutomationTokenVerdict',
      'readAzureStreamHeaders',
      'signAzureRequest',
      'validateAzureCallAutomationToken',
    ]);
    expect(Object.keys(root).filter(isTestTooling)).toEqual([]);
  });

  it('keeps the test tooling under ./testing', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'AZURE_INVALID_CHUNK_CODE',
      'AZURE_INVALID_FRAME_CODE',
      'AzurePeerSimulator',
      'conformance',
    ]);
  });
});
