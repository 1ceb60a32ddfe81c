import { describePrewarm } from '@switchboard/test-kit/prewarm';
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
    const start = peer.encodeInbound({
      type: 'call_start',
      callId: callControlId,
      streamId: crypto.randomUUID(),
      format,
      customParameters: {},
      raw: null,
    });
    return { callId: webhook.data.payload.call_control_id, start, peer, format };
  },
  protocol: () => new TelnyxMediaStreamProtocol(),
  transport: (connection, url) =>
    new TelnyxRealtimeTransport({ telnyxWebSocket: connection, url, inputAudioInactivityTimeoutMs: null }),
});
