import {
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { splitOptions, takeCarrierSocket, withCallControlHangUp } from '@switchboard/core/protocol';
import type { TelnyxCallControl } from './call-control.js';
import { TelnyxMediaStreamProtocol, type TelnyxMediaStreamProtocolOptions } from './protocol.js';

/**
 * Options of {@link TelnyxRealtimeTransport}: the SDK WebSocket transport's, the core's call options, and the stream's
 * codec setup.
 */
export type TelnyxRealtimeTransportOptions = CarrierTransportOptions &
  TelnyxMediaStreamProtocolOptions & {
    /** The WebSocket Telnyx opened to your `stream_url`. */
    telnyxWebSocket: WebSocketLike | MediaConnection;
    /**
     * Call Control for hanging up. Closing the media WebSocket stops the stream, not the call, so
     * with this the transport's hang-ups (`endAfterPlayback()`, the `end_call` tool) send
     * `actions/hangup` for `callStart.callId` (the `call_control_id`) before the stream ends.
     * A `hangUp` option, when given too, is used instead.
     */
    callControl?: TelnyxCallControl;
  };

/**
 * Bridges a Telnyx media stream (`stream_bidirectional_mode: "rtp"`) to the OpenAI Realtime API.
 * Pass it as `transport` to a `RealtimeSession`. Raw Telnyx frames appear on `*` (and the
 * session's `transport_event`) as `{ type: 'telnyx_message', message }`.
 */
export class TelnyxRealtimeTransport extends TelephonyRealtimeTransport {
  constructor(options: TelnyxRealtimeTransportOptions) {
    const { socket, rest: withProtocolOptions } = takeCarrierSocket(
      options,
      'telnyxWebSocket',
      'TelnyxRealtimeTransport needs `telnyxWebSocket`: the WebSocket Telnyx connected to your stream_url.',
    );
    const { callControl, ...withoutCallControl } = withProtocolOptions;
    const protocolKeys = ['bidirectionalCodec', 'l16ByteOrder', 'useMediaTimestamps'] as const;
    const { picked, rest } = splitOptions(withoutCallControl, protocolKeys);
    const invalid = 'TelnyxRealtimeTransport: `callControl` must be a TelnyxCallControl';
    super({
      ...withCallControlHangUp(rest, callControl, 'hangup', invalid),
      connection: socket,
      protocol: new TelnyxMediaStreamProtocol(picked),
      rawEventType: 'telnyx_message',
    });
  }
}
