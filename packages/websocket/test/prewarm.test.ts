import { describePrewarm } from '@switchboard/test-kit/prewarm';
import { RawWebSocketRealtimeTransport, vonageCandidate } from '../src/index.js';
import { RawWebSocketPeerSimulator } from '../src/testing.js';

describePrewarm({
  name: 'the vonage preset',
  call() {
    // An NCCO written by hand, as the README's Vonage example writes it: the answer webhook's
    // uuid in the endpoint's headers, which Vonage echoes in websocket:connected.
    const q = new URLSearchParams({ uuid: crypto.randomUUID(), from: '447700900001', to: '447700900000' });
    const endpoint = {
      type: 'websocket',
      uri: 'wss://bridge.example.com/socket',
      'content-type': 'audio/l16;rate=8000',
      headers: { uuid: q.get('uuid'), from: q.get('from'), to: q.get('to') },
    };
    const connected = JSON.stringify({
      event: 'websocket:connected',
      'content-type': endpoint['content-type'],
      ...endpoint.headers,
    });
    const peer = new RawWebSocketPeerSimulator({ preset: 'vonage' });
    const format = { encoding: 'l16', sampleRate: 8000, channels: 1 } as const;
    return { callId: q.get('uuid')!, start: [connected], peer, format };
  },
  protocol: () => vonageCandidate.create(),
  transport: (connection, url) =>
    new RawWebSocketRealtimeTransport({
      websocket: connection,
      preset: 'vonage',
      url,
      inputAudioInactivityTimeoutMs: null,
    }),
});
