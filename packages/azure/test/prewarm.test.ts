import { describePrewarm, peerCall } from '@switchboard/test-kit/prewarm';
import { AzureMediaStreamProtocol, AzureRealtimeTransport } from '../src/index.js';
import { AzurePeerSimulator } from '../src/testing.js';

/** The call of the current test: ACS names it at the webhook and again in the stream's upgrade. */
let current: { callConnectionId: string } | undefined;

describePrewarm({
  name: 'Azure Communication Services',
  call() {
    // answerCall (after the IncomingCall event) returns the call's callConnectionId; ACS then opens
    // the media WebSocket with the same id in its x-ms-call-connection-id header, which the media
    // route gives the protocol. The frames themselves carry only the subscription id.
    const callConnectionId = crypto.randomUUID();
    current = { callConnectionId };
    const answer = { callConnectionProperties: { callConnectionId } };
    const peer = new AzurePeerSimulator();
    const format = { encoding: 'l16', sampleRate: 16000, channels: 1 } as const;
    return peerCall(peer, answer.callConnectionProperties.callConnectionId, format, crypto.randomUUID());
  },
  protocol: () => new AzureMediaStreamProtocol({ callConnectionId: current!.callConnectionId }),
  transport: (connection, url) =>
    new AzureRealtimeTransport({
      azureWebSocket: connection,
      url,
      inputAudioInactivityTimeoutMs: null,
      callConnectionId: current!.callConnectionId,
    }),
});
