import type { OpenAIRealtimeWebSocketOptions } from '@openai/agents-realtime';
import {
  ConfigError,
  TelephonyRealtimeTransport,
  type MediaConnection,
  type TelephonyRealtimeTransportOptions,
  type WebSocketLike,
} from '@switchboard/core';
import { PlivoMediaStreamProtocol } from './protocol.js';

/** Options of {@link PlivoRealtimeTransport}: the SDK WebSocket transport's plus the core's call options. */
export type PlivoRealtimeTransportOptions = OpenAIRealtimeWebSocketOptions &
  Omit<TelephonyRealtimeTransportOptions, 'connection' | 'protocol' | keyof OpenAIRealtimeWebSocketOptions> & {
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
    if (!options || typeof options !== 'object' || !options.plivoWebSocket) {
      throw new ConfigError('PlivoRealtimeTransport needs `plivoWebSocket`: the WebSocket Plivo connected to your <Stream> URL.');
    }
    const { plivoWebSocket, ...rest } = options;
    super({ ...rest, connection: plivoWebSocket, protocol: new PlivoMediaStreamProtocol(), rawEventType: 'plivo_message' });
  }
}
