import {
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { splitOptions, takeCarrierSocket, withCallControlHangUp } from '@switchboard/core/protocol';
import type { AzureCallAutomation } from './call-control.js';
import { AzureMediaStreamProtocol, type AzureMediaStreamProtocolOptions } from './protocol.js';

/**
 * Options of {@link AzureRealtimeTransport}: the SDK WebSocket transport's, the core's call
 * options, and what the stream's frames do not carry (the call connection id, parameters, rate).
 */
export type AzureRealtimeTransportOptions = CarrierTransportOptions &
  AzureMediaStreamProtocolOptions & {
    /** The WebSocket ACS opened to your `transportUrl`. */
    azureWebSocket: WebSocketLike | MediaConnection;
    /**
     * Call Automation for hanging up. Closing the media WebSocket ends the stream, not the call,
     * so with this the transport's hang-ups (`endAfterPlayback()`, the `end_call` tool) terminate
     * the call (`callConnections/{id}:terminate`) for `callStart.callId`, the `callConnectionId`.
     * A `hangUp` option, when given too, is used instead.
     */
    callAutomation?: AzureCallAutomation;
  };

/**
 * Bridges an Azure Communication Services bidirectional audio stream to the OpenAI Realtime API.
 * Pass it as `transport` to a `RealtimeSession`. Raw ACS frames appear on `*` (and the session's
 * `transport_event`) as `{ type: 'azure_message', message }`.
 */
export class AzureRealtimeTransport extends TelephonyRealtimeTransport {
  constructor(options: AzureRealtimeTransportOptions) {
    const { socket, rest: withProtocolOptions } = takeCarrierSocket(
      options,
      'azureWebSocket',
      'AzureRealtimeTransport needs `azureWebSocket`: the WebSocket ACS connected to your transportUrl.',
    );
    const { callAutomation, ...withoutCallAutomation } = withProtocolOptions;
    const { picked, rest } = splitOptions(withoutCallAutomation, [
      'callConnectionId',
      'customParameters',
      'describeCall',
      'sampleRate',
      'participantRawId',
      'pacingLeadMs',
    ]);
    const invalid = 'AzureRealtimeTransport: `callAutomation` must be an AzureCallAutomation';
    super({
      ...withCallControlHangUp(rest, callAutomation, 'hangUp', invalid),
      connection: socket,
      protocol: new AzureMediaStreamProtocol(picked),
      rawEventType: 'azure_message',
    });
  }
}
