import { describePrewarm, peerCall } from '@switchboard/test-kit/prewarm';
import { WavixMediaStreamProtocol, WavixRealtimeTransport, readWavixCallWebhook } from '../src/index.js';
import { WavixPeerSimulator } from '../src/testing.js';

describePrewarm({
  name: 'Wavix',
  call() {
    // Wavix posts the on-call webhook (event call_setup) with the call's uuid; the application
    // answers the call with a stream URL, and the stream's start names the same call in call_id,
    // which the transport reports as callStart.callId.
    const webhook = readWavixCallWebhook({
      uuid: crypto.randomUUID(),
      direction: 'inbound',
      event_type: 'call_setup',
      event_payload: null,
      from: '+18045961058',
      to: '+17653889567',
    });
    const peer = new WavixPeerSimulator();
    const format = { encoding: 'l16', sampleRate: 24000, channels: 1 } as const;
    return peerCall(peer, webhook.callId, format, crypto.randomUUID());
  },
  protocol: () => new WavixMediaStreamProtocol(),
  transport: (connection, url) =>
    new WavixRealtimeTransport({ wavixWebSocket: connection, url, inputAudioInactivityTimeoutMs: null }),
});
