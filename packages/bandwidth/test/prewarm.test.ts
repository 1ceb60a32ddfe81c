import { describePrewarm, peerCall } from '@switchboard/test-kit/prewarm';
import { BANDWIDTH_FORMAT, BandwidthMediaStreamProtocol, BandwidthRealtimeTransport } from '../src/index.js';
import { BandwidthPeerSimulator } from '../src/testing.js';

describePrewarm({
  name: 'Bandwidth',
  call() {
    // Bandwidth posts the initiate webhook (inbound calls; answer for outbound ones) before any
    // BXML runs: its JSON body's callId is the call's id, and the stream's start names the same
    // call in metadata.callId, which the transport reports as callStart.callId.
    const webhook = JSON.stringify({
      eventType: 'initiate',
      eventTime: '2026-12-05T15:56:11.554Z',
      accountId: '5555555',
      applicationId: '7fc9698a-b04a-468b-9e8f-91238c0d0086',
      from: '+15551112222',
      to: '+15553334444',
      direction: 'inbound',
      callId: `c-${crypto.randomUUID()}`,
      startTime: '2026-12-05T15:56:11.554Z',
    });
    const callId = (JSON.parse(webhook) as { callId: string }).callId;
    const peer = new BandwidthPeerSimulator();
    const format = { ...BANDWIDTH_FORMAT };
    return peerCall(peer, callId, format);
  },
  protocol: () => new BandwidthMediaStreamProtocol(),
  transport: (connection, url) =>
    new BandwidthRealtimeTransport({ bandwidthWebSocket: connection, url, inputAudioInactivityTimeoutMs: null }),
});
