import {
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { splitOptions, takeCarrierSocket, withCallControlHangUp } from '@switchboard/core/protocol';
import type { WavixCallControl } from './call-control.js';
import { WavixMediaStreamProtocol, type WavixMediaStreamProtocolOptions } from './protocol.js';

/**
 * Options of {@link WavixRealtimeTransport}: the SDK WebSocket transport's, the core's call options,
 * and the stream's settings.
 */
export type WavixRealtimeTransportOptions = CarrierTransportOptions &
  WavixMediaStreamProtocolOptions & {
    /** The WebSocket Wavix opened to your `stream_url`. */
    wavixWebSocket: WebSocketLike | MediaConnection;
    /**
     * Call Control for hanging up. Closing the stream's WebSocket does not end a Wavix call, so
     * with this the transport's hang-ups (`endAfterPlayback()`, the `end_call` tool) send
     * `DELETE /v1/calls/{id}` for `callStart.callId` before the stream ends. A `hangUp` option,
     * when given too, is used instead.
     */
    callControl?: WavixCallControl;
  };

/**
 * Bridges a Wavix two-way call stream to the OpenAI Realtime API. Pass it as `transport` to a
 * `RealtimeSession`. Wavix streams PCM16 at 24 kHz, the model's own format: audio passes both
 * ways untouched. Raw Wavix frames appear on `*` (and the session's `transport_event`) as
 * `{ type: 'wavix_message', message }`.
 */
export class WavixRealtimeTransport extends TelephonyRealtimeTransport {
  constructor(options: WavixRealtimeTransportOptions) {
    const { socket, rest: withProtocolOptions } = takeCarrierSocket(
      options,
      'wavixWebSocket',
      'WavixRealtimeTransport needs `wavixWebSocket`: the WebSocket Wavix connected to your stream_url.',
    );
    const { callControl, ...withoutCallControl } = withProtocolOptions;
    const { picked, rest } = splitOptions(withoutCallControl, [
      'frameMs',
      'ackOnClear',
      'pacingLeadMs',
      'customParameters',
    ]);
    const invalid = 'WavixRealtimeTransport: `callControl` must be a WavixCallControl';
    super({
      ...withCallControlHangUp(rest, callControl, 'hangup', invalid),
      connection: socket,
      protocol: new WavixMediaStreamProtocol(picked),
      rawEventType: 'wavix_message',
    });
  }
}
