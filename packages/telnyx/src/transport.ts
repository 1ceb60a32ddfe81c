import {
  ConfigError,
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { takeCarrierSocket } from '@switchboard/core/protocol';
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
    const { bidirectionalCodec, l16ByteOrder, useMediaTimestamps, callControl, ...rest } = withProtocolOptions;
    const protocolOptions: TelnyxMediaStreamProtocolOptions = {};
    if (bidirectionalCodec !== undefined) protocolOptions.bidirectionalCodec = bidirectionalCodec;
    if (l16ByteOrder !== undefined) protocolOptions.l16ByteOrder = l16ByteOrder;
    if (useMediaTimestamps !== undefined) protocolOptions.useMediaTimestamps = useMediaTimestamps;
    if (callControl !== undefined && typeof (callControl as Partial<TelnyxCallControl>)?.hangup !== 'function')
      throw new ConfigError('TelnyxRealtimeTransport: `callControl` must be a TelnyxCallControl');
    if (callControl !== undefined && rest.hangUp === undefined) {
      rest.hangUp = async ({ callId }) => (callId === undefined ? undefined : callControl.hangup(callId));
    }
    super({
      ...rest,
      connection: socket,
      protocol: new TelnyxMediaStreamProtocol(protocolOptions),
      rawEventType: 'telnyx_message',
    });
  }
}
