import {
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { takeCarrierSocket, withCallControlHangUp } from '@switchboard/core/protocol';
import type { PlivoCallControl } from './call-control.js';
import { PlivoMediaStreamProtocol } from './protocol.js';

/** Options of {@link PlivoRealtimeTransport}: the SDK WebSocket transport's plus the core's call options. */
export type PlivoRealtimeTransportOptions = CarrierTransportOptions & {
  /** The WebSocket Plivo opened for `<Stream bidirectional="true">`. */
  plivoWebSocket: WebSocketLike | MediaConnection;
  /**
   * Ends the call through Plivo's REST API when the agent hangs up (`endAfterPlayback()`, the
   * `end_call` tool): `DELETE …/Call/{callId}/` once the caller heard the goodbye. Without it the
   * transport closes the stream, and the call ends only if nothing follows the `<Stream>` in your
   * XML (`keepCallAlive="true"` as the last element). A `hangUp` option, when given too, wins.
   */
  callControl?: PlivoCallControl;
};

/**
 * Bridges a Plivo audio stream (`<Stream bidirectional="true">`) to the OpenAI Realtime API.
 * Pass it as `transport` to a `RealtimeSession`. Raw Plivo frames appear on `*` (and the
 * session's `transport_event`) as `{ type: 'plivo_message', message }`.
 */
export class PlivoRealtimeTransport extends TelephonyRealtimeTransport {
  constructor(options: PlivoRealtimeTransportOptions) {
    const { socket, rest } = takeCarrierSocket(
      options,
      'plivoWebSocket',
      'PlivoRealtimeTransport needs `plivoWebSocket`: the WebSocket Plivo connected to your <Stream> URL.',
    );
    const { callControl, ...others } = rest;
    super({
      ...withCallControlHangUp(others, callControl, 'hangup'),
      connection: socket,
      protocol: new PlivoMediaStreamProtocol(),
      rawEventType: 'plivo_message',
    });
  }
}
