import {
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { takeCarrierSocket } from '@switchboard/core/protocol';
import {
  TwilioMediaStreamProtocol,
  type L16ByteOrder,
  type TwilioDialect,
  type TwilioMediaStreamProtocolOptions,
} from './protocol.js';

/**
 * Options of {@link TwilioRealtimeTransport}: the same as the Agents SDK's
 * `TwilioRealtimeTransportLayer` (so migrating is an import change), plus the core's call options.
 */
export type TwilioRealtimeTransportOptions = CarrierTransportOptions & {
  /** The WebSocket Twilio opened to your server for `<Connect><Stream>`. */
  twilioWebSocket: WebSocketLike | MediaConnection;
  /**
   * The carrier speaking Media Streams: `twilio` (default) or `signalwire` (its cXML
   * `<Connect><Stream>`). It names the raw frame event: `twilio_message` / `signalwire_message`.
   */
  dialect?: TwilioDialect;
  /**
   * With `dialect: 'signalwire'`: the byte order of L16 payloads. Default `little-endian`
   * (SignalWire does not document it); see {@link TwilioMediaStreamProtocolOptions.l16ByteOrder}.
   * `big-endian` with the `twilio` dialect is a `ConfigError`.
   */
  l16ByteOrder?: L16ByteOrder;
};

/**
 * Bridges a Twilio Media Streams WebSocket (`<Connect><Stream>`) to the OpenAI Realtime API.
 * Pass it as `transport` to a `RealtimeSession`. Raw Twilio frames appear on `*` (and the
 * session's `transport_event`) as `{ type: 'twilio_message', message }`.
 */
export class TwilioRealtimeTransport extends TelephonyRealtimeTransport {
  constructor(options: TwilioRealtimeTransportOptions) {
    const { socket, rest: withDialect } = takeCarrierSocket(
      options,
      'twilioWebSocket',
      'TwilioRealtimeTransport needs `twilioWebSocket`: the WebSocket Twilio connected to your server.',
    );
    const { dialect, l16ByteOrder, ...rest } = withDialect;
    const protocolOptions: TwilioMediaStreamProtocolOptions = { dialect: dialect ?? 'twilio' };
    if (l16ByteOrder !== undefined) protocolOptions.l16ByteOrder = l16ByteOrder;
    const protocol = new TwilioMediaStreamProtocol(protocolOptions);
    super({ ...rest, connection: socket, protocol, rawEventType: `${protocol.name}_message` });
  }
}

/**
 * Options of {@link SignalWireRealtimeTransport}: those of {@link TwilioRealtimeTransport}, with
 * SignalWire's socket (and `l16ByteOrder`, default `little-endian`).
 */
export type SignalWireRealtimeTransportOptions = Omit<TwilioRealtimeTransportOptions, 'twilioWebSocket' | 'dialect'> & {
  /** The WebSocket SignalWire opened to your server for cXML `<Connect><Stream>`. */
  signalwireWebSocket: WebSocketLike | MediaConnection;
};

/**
 * Bridges a SignalWire cXML `<Connect><Stream>` WebSocket to the OpenAI Realtime API: the
 * Twilio transport in its `signalwire` dialect. μ-law 8 kHz passes through to the model; L16 at
 * 16 or 24 kHz (`codec="L16@16000h"`) is resampled, its samples read in `l16ByteOrder`
 * (default little-endian). Raw frames appear as `signalwire_message`.
 */
export class SignalWireRealtimeTransport extends TwilioRealtimeTransport {
  constructor(options: SignalWireRealtimeTransportOptions) {
    const { socket, rest } = takeCarrierSocket(
      options,
      'signalwireWebSocket',
      'SignalWireRealtimeTransport needs `signalwireWebSocket`: the WebSocket SignalWire connected to your server.',
    );
    super({ ...rest, twilioWebSocket: socket, dialect: 'signalwire' });
  }
}
