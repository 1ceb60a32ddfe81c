import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as testing from '../src/testing.js';

/** Names that exist for tests: conformance adapters, peer simulators, invalid-frame codes. */
const isTestTooling = (name: string) => /^conformance$|Conformance$|PeerSimulator|_INVALID_/.test(name);

// The run-time names of the package's root and of its `./testing` entry. A change to either list is a
// change to the public API: make it on purpose, with its README and API report.
describe('@switchboard/sip exports', () => {
  it('names what runs a call at the root, and nothing that exists only for tests', () => {
    expect(Object.keys(root).sort()).toEqual([
      'DEFAULT_JITTER_DEPTH',
      'DEFAULT_LEAD_MS',
      'DEFAULT_MEDIA',
      'DEFAULT_OPENAI_SIP_RETRY_POLICIES',
      'DEFAULT_RTP_TIMEOUT_MS',
      'DEFAULT_TRANSFER_TIMEOUT_MS',
      'JitterBuffer',
      'OPENAI_REALTIME_URL',
      'OPENAI_SIP_NOMINAL_FORMAT',
      'OPENAI_WEBHOOK_TOLERANCE_SECONDS',
      'OpenAISipCallControl',
      'OpenAISipCallControlError',
      'OpenAISipMemoryDedupStore',
      'OpenAISipTransport',
      'OpenAISipWebhookHandler',
      'OpenAIWebhookSignatureError',
      'RtpMediaProtocol',
      'RtpSession',
      'SdpError',
      'SipCall',
      'SipEndpoint',
      'SipHeaders',
      'SipParseError',
      'SipRealtimeTransport',
      'assertOpenAIWebhook',
      'attachOpenAISipSession',
      'buildAnswer',
      'buildOffer',
      'buildOpenAISipAcceptConfig',
      'callStartFromInvite',
      'customParametersOf',
      'getOpenAISipHeader',
      'negotiateAnswer',
      'negotiateOffer',
      'openAIRealtimeCallUrl',
      'openAISipTransfer',
      'parseOpenAISipCall',
      'parseSdp',
      'parseSipMessage',
      'serializeSipMessage',
      'sipTransfer',
      'validateOpenAIWebhook',
    ]);
    expect(Object.keys(root).filter(isTestTooling)).toEqual([]);
  });

  it('keeps the test tooling under ./testing', () => {
    expect(Object.keys(testing).sort()).toEqual(['RtpPeerSimulator', 'conformance']);
    expect(Object.keys(testing)).toContain('conformance');
  });
});
