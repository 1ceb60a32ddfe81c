import { describePrewarm, peerCall } from '@switchboard/test-kit/prewarm';
import { PlivoMediaStreamProtocol, PlivoRealtimeTransport } from '../src/index.js';
import { PlivoPeerSimulator } from '../src/testing.js';

describePrewarm({
  name: 'Plivo',
  call() {
    // Plivo requests the answer URL with the call's CallUUID; the <Stream> it then opens names
    // the same call in start.callId, which the transport reports as callStart.callId.
    const answer = new URLSearchParams({
      CallUUID: crypto.randomUUID(),
      From: '14155550100',
      To: '14155550199',
      Direction: 'inbound',
      CallStatus: 'in-progress',
    });
    const callId = answer.get('CallUUID')!;
    const peer = new PlivoPeerSimulator();
    const format = { encoding: 'pcmu', sampleRate: 8000, channels: 1 } as const;
    return peerCall(peer, callId, format, crypto.randomUUID());
  },
  protocol: () => new PlivoMediaStreamProtocol(),
  transport: (connection, url) =>
    new PlivoRealtimeTransport({ plivoWebSocket: connection, url, inputAudioInactivityTimeoutMs: null }),
});
