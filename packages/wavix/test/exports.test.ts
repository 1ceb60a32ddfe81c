import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as testing from '../src/testing.js';

/** Names that exist for tests: conformance adapters, peer simulators, invalid-frame codes. */
const isTestTooling = (name: string) => /^conformance$|Conformance$|PeerSimulator|_INVALID_(FRAME|CHUNK)/.test(name);

// The run-time names of the package's root and of its `./testing` entry. A change to either list is a
// change to the public API: make it on purpose, with its README and API report.
describe('@switchboard/wavix exports', () => {
  it('names what runs a call at the root, and nothing that exists only for tests', () => {
    expect(Object.keys(root).sort()).toEqual([
      'WAVIX_AUDIO_FORMAT',
      'WAVIX_DEFAULT_FRAME_MS',
      'WAVIX_MAX_PAYLOAD',
      'WAVIX_STREAM_URL_CALL_PARAM',
      'WAVIX_STREAM_URL_SIGNATURE_PARAM',
      'WAVIX_UNSUPPORTED_STREAM_CODE',
      'WAVIX_WEBHOOK_ERROR_CODE',
      'WavixCallControl',
      'WavixMediaStreamProtocol',
      'WavixRealtimeTransport',
      'WavixStreamUrlError',
      'assertWavixStreamUrl',
      'readWavixCallWebhook',
      'readWavixStreamUrlParameters',
      'readWavixStreamUrlVerdict',
      'signWavixStreamUrl',
      'validateWavixStreamUrl',
      'wavixCandidate',
    ]);
    expect(Object.keys(root).filter(isTestTooling)).toEqual([]);
  });

  it('keeps the test tooling under ./testing', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'WAVIX_INVALID_CHUNK_CODE',
      'WAVIX_INVALID_FRAME_CODE',
      'WAVIX_ONEWAY_STREAM_CODE',
      'WavixPeerSimulator',
      'conformance',
    ]);
  });
});
