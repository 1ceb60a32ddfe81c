import {
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { takeCarrierSocket } from '@switchboard/core/protocol';
import { ExotelMediaStreamProtocol } from './protocol.js';

/** Options of {@link ExotelRealtimeTransport}: the SDK WebSocket transport's plus the core's call options. */
export type ExotelRealtimeTransportOptions = CarrierTransportOptions & {
  /** The WebSocket Exotel's Voicebot applet opened to your stream URL. */
  exotelWebSocket: WebSocketLike | MediaConnection;
};

/**
 * Bridges an Exotel Voicebot stream to the OpenAI Realtime API. Pass it as `transport` to a
 * `RealtimeSession`. The model's audio leaves in chunks Exotel plays without gaps (3.2 KB to
 * 100 KB, whole multiples of 320 bytes). Raw Exotel frames appear on `*` (and the session's
 * `transport_event`) as `{ type: 'exotel_message', message }`.
 *
 * Exotel has no hang-up over the stream: `close()` ends the stream, and the call flow moves on to
 * the applet after the Voicebot (a Hangup, a Passthru, a transfer to an agent).
 */
export class ExotelRealtimeTransport extends TelephonyRealtimeTransport {
  constructor(options: ExotelRealtimeTransportOptions) {
    const { socket, rest } = takeCarrierSocket(
      options,
      'exotelWebSocket',
      'ExotelRealtimeTransport needs `exotelWebSocket`: the WebSocket Exotel connected to your stream URL.',
    );
    super({ ...rest, connection: socket, protocol: new ExotelMediaStreamProtocol(), rawEventType: 'exotel_message' });
  }
}
