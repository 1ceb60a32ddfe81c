import { describePrewarm, peerCall } from '@switchboard/test-kit/prewarm';
import { ExotelMediaStreamProtocol, ExotelRealtimeTransport } from '../src/index.js';
import { ExotelPeerSimulator } from '../src/testing.js';

describePrewarm({
  name: 'Exotel',
  call() {
    // The Voicebot applet's URL, when it is an endpoint of yours, is requested with the call's
    // CallSid (and CallFrom, CallTo) before the stream opens; the stream's start names the same
    // call in start.call_sid, which the transport reports as callStart.callId.
    const request = new URL('https://agent.example.com/exotel/stream-url');
    request.search = new URLSearchParams({
      CallSid: crypto.randomUUID().replaceAll('-', ''),
      CallFrom: '09876543210',
      CallTo: '08047491899',
      Direction: 'incoming',
    }).toString();
    const callId = request.searchParams.get('CallSid')!;
    const peer = new ExotelPeerSimulator();
    const format = { encoding: 'l16', sampleRate: 8000, channels: 1 } as const;
    return peerCall(peer, callId, format);
  },
  protocol: () => new ExotelMediaStreamProtocol(),
  transport: (connection, url) =>
    new ExotelRealtimeTransport({ exotelWebSocket: connection, url, inputAudioInactivityTimeoutMs: null }),
});
