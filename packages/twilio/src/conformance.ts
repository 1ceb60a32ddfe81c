import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { TwilioPeerSimulator } from './peer.js';
import { TwilioMediaStreamProtocol } from './protocol.js';
import { TwilioRealtimeTransport } from './transport.js';

/** The Twilio adapter as the conformance harness loads it (`--adapter @switchboard/twilio`). */
export const conformance: ConformanceAdapter = {
  name: 'twilio',
  capabilities: new TwilioMediaStreamProtocol().capabilities,
  twilioFrames: true,
  traceCarrier: 'twilio',
  createProtocol: () => new TwilioMediaStreamProtocol(),
  createTransport: ({ connection, url, now, clock }) =>
    new TwilioRealtimeTransport({ twilioWebSocket: connection, url, now, clock }),
  createPeerSimulator: () => new TwilioPeerSimulator(),
};
