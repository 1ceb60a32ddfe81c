import { describePrewarm } from '@switchboard/test-kit/prewarm';
import {
  connectWebSocketNcco,
  vonageCandidate,
  VonageRealtimeTransport,
  type VonageConnectAction,
} from '../src/index.js';
import { RawWebSocketPeerSimulator } from '../src/testing.js';

describePrewarm({
  name: 'Vonage',
  call() {
    // The answer webhook names the call by its uuid. The WebSocket leg the NCCO opens has a uuid
    // of its own; connectWebSocketNcco({ answer }) writes the call's uuid into the endpoint's
    // headers, which Vonage echoes in websocket:connected: the transport's callStart.callId.
    const answer = new URLSearchParams({
      uuid: crypto.randomUUID(),
      conversation_uuid: `CON-${crypto.randomUUID()}`,
      from: '447700900001',
      to: '447700900000',
    });
    const ncco = connectWebSocketNcco({ uri: 'wss://bridge.example.com/socket', answer, say: 'Connecting you now.' });
    const connect = ncco.find((action): action is VonageConnectAction => action.action === 'connect')!;
    const endpoint = connect.endpoint[0]!;
    // What Vonage sends first on the socket: the endpoint's content type and its headers, echoed.
    const connected = JSON.stringify({
      event: 'websocket:connected',
      'content-type': endpoint['content-type'],
      ...endpoint.headers,
    });
    const peer = new RawWebSocketPeerSimulator({ preset: 'vonage' });
    const format = { encoding: 'l16', sampleRate: 16000, channels: 1 } as const;
    return { callId: answer.get('uuid')!, start: [connected], peer, format };
  },
  protocol: () => vonageCandidate.create(),
  transport: (connection, url) =>
    new VonageRealtimeTransport({ vonageWebSocket: connection, url, inputAudioInactivityTimeoutMs: null }),
});
