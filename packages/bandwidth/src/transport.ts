import {
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { splitOptions, takeCarrierSocket, withCallControlHangUp } from '@switchboard/core/protocol';
import type { BandwidthCallControl } from './call-control.js';
import { BandwidthMediaStreamProtocol, type BandwidthProtocolOptions } from './protocol.js';

/**
 * Options of {@link BandwidthRealtimeTransport}: the SDK WebSocket transport's, the core's call
 * options, and the stream's.
 */
export type BandwidthRealtimeTransportOptions = CarrierTransportOptions &
  BandwidthProtocolOptions & {
    /** The WebSocket Bandwidth opened to the `destination` of `<StartStream>`. */
    bandwidthWebSocket: WebSocketLike | MediaConnection;
    /**
     * Voice API commands for hanging up. Closing the media WebSocket ends the stream, not the
     * call (the BXML after `<StopStream wait="true">` runs on), so with this the transport's
     * hang-ups (`endAfterPlayback()`, the `end_call` tool) end the call (`callStart.callId`)
     * before the stream closes. A `hangUp` option, when given too, is used instead.
     */
    callControl?: BandwidthCallControl;
  };

/**
 * Bridges a Bandwidth bidirectional media stream to the OpenAI Realtime API. Pass it as
 * `transport` to a `RealtimeSession`. μ-law 8 kHz both ways: the model's audio passes straight
 * through. Bandwidth acknowledges no playback, so barge-in truncates at the core's playout
 * clock and output runs `leadMs` ahead of it. Raw Bandwidth frames appear on `*` (and the
 * session's `transport_event`) as `{ type: 'bandwidth_message', message }`.
 */
export class BandwidthRealtimeTransport extends TelephonyRealtimeTransport {
  constructor(options: BandwidthRealtimeTransportOptions) {
    const { socket, rest: withProtocolOptions } = takeCarrierSocket(
      options,
      'bandwidthWebSocket',
      'BandwidthRealtimeTransport needs `bandwidthWebSocket`: the WebSocket Bandwidth opened to your stream destination.',
    );
    const { callControl, ...withoutCallControl } = withProtocolOptions;
    const { picked, rest } = splitOptions(withoutCallControl, ['track', 'leadMs', 'frameMs', 'readSequenceNumbers']);
    const invalid = 'BandwidthRealtimeTransport: `callControl` must be a BandwidthCallControl';
    super({
      ...withCallControlHangUp(rest, callControl, 'hangup', invalid),
      connection: socket,
      protocol: new BandwidthMediaStreamProtocol(picked),
      rawEventType: 'bandwidth_message',
    });
  }
}
