import type { OpenAIRealtimeWebSocketOptions } from '@openai/agents-realtime';
import {
  ConfigError,
  TelephonyRealtimeTransport,
  type MediaConnection,
  type TelephonyRealtimeTransportOptions,
  type WebSocketLike,
} from '@switchboard/core';
import { TwilioMediaStreamProtocol } from './protocol.js';

/**
 * Options of {@link TwilioRealtimeTransport}: the same as the Agents SDK's
 * `TwilioRealtimeTransportLayer` (so migrating is an import change), plus the core's call options.
 */
export type TwilioRealtimeTransportOptions = OpenAIRealtimeWebSocketOptions &
  Omit<TelephonyRealtimeTransportOptions, 'connection' | 'protocol' | keyof OpenAIRealtimeWebSocketOptions> & {
    /** The WebSocket Twilio opened to your server for `<Connect><Stream>`. */
    twilioWebSocket: WebSocketLike | MediaConnection;
  };

/**
 * Bridges a Twilio Media Streams WebSocket (`<Connect><Stream>`) to the OpenAI Realtime API.
 * Pass it as `transport` to a `RealtimeSession`. Raw Twilio frames appear on `*` (and the
 * session's `transport_event`) as `{ type: 'twilio_message', message }`.
 */
export class TwilioRealtimeTransport extends TelephonyRealtimeTransport {
  constructor(options: TwilioRealtimeTransportOptions) {
    if (!options || typeof options !== 'object' || !options.twilioWebSocket) {
      throw new ConfigError('TwilioRealtimeTransport needs `twilioWebSocket`: the WebSocket Twilio connected to your server.');
    }
    const { twilioWebSocket, ...rest } = options;
    super({ ...rest, connection: twilioWebSocket, protocol: new TwilioMediaStreamProtocol(), rawEventType: 'twilio_message' });
  }
}
