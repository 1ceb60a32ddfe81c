import { describePrewarm, peerCall } from '@switchboard/test-kit/prewarm';
import { TelnyxMediaStreamProtocol, TelnyxRealtimeTransport } from '../src/index.js';
import { TelnyxPeerSimulator } from '../src/testing.js';

describePrewarm({
  name: 'Telnyx',
  call() {
    // The call.initiated webhook names the call by its call_control_id; the stream's start carries
    // the same id (start.call_control_id), which the transport reports as callStart.callId.
    const callControlId = `v3:${crypto.randomUUID()}`;
    const webhook = { data: { event_type: 'call.initiated', payload: { call_control_id: callControlId } } };
    const peer = new TelnyxPeerSimulator();
    const format = { encoding: 'pcmu', sampleRate: 8000, channels: 1 } as const;
    return peerCall(peer, webhook.data.payload.call_control_id, format, crypto.randomUUID());
  },
  protocol: () => new TelnyxMediaStreamProtocol(),
  transport: (connection, url) =>
    new TelnyxRealtimeTransport({ telnyxWebSocket: connection, url, inputAudioInactivityTimeoutMs: null }),
});
