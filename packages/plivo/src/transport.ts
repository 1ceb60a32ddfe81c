import {
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { takeCarrierSocket } from '@switchboard/core/protocol';
import { PlivoMediaStreamProtocol } from './protocol.js';

/** Options of {@link PlivoRealtimeTransport}: the SDK WebSocket transport's plus the core's call options. */
export type PlivoRealtimeTransportOptions = CarrierTransportOptions & {
  /** The WebSocket Plivo opened for `<Stream bidirectional="true">`. */
  plivoWebSocket: WebSocketLike | MediaConnection;
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
    super({ ...rest, connection: socket, protocol: new PlivoMediaStreamProtocol(), rawEventType: 'plivo_message' });
  }
}
