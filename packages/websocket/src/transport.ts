import type { OpenAIRealtimeWebSocketOptions } from '@openai/agents-realtime';
import {
  ConfigError,
  TelephonyRealtimeTransport,
  type MediaConnection,
  type TelephonyRealtimeTransportOptions,
  type WebSocketLike,
} from '@switchboard/core';
import { logger } from '@switchboard/core/protocol';
import { RawWebSocketProtocol, type RawWebSocketProtocolOptions } from './protocol.js';
import type { RawWebSocketPresetName } from './presets/index.js';

const log = logger('websocket');

export type RawWebSocketRealtimeTransportOptions = OpenAIRealtimeWebSocketOptions &
  Omit<TelephonyRealtimeTransportOptions, 'connection' | 'protocol' | keyof OpenAIRealtimeWebSocketOptions> & {
    /** The media socket the gateway opened to your server (or that your server opened to it). */
    websocket: WebSocketLike | MediaConnection;
    /** The gateway's dialect: `vonage`, `asterisk`, `jambonz`, `generic`, or protocol options. */
    preset: RawWebSocketPresetName | RawWebSocketProtocolOptions;
  };

/**
 * Bridges a raw WebSocket audio stream (binary audio, text control messages) from a media
 * gateway to the OpenAI Realtime API. Pass it as `transport` to a `RealtimeSession`. Each text
 * frame from the gateway appears on `*` (and the session's `transport_event`) as
 * `{ type: '<preset>_message', message }`, JSON parsed.
 */
export class RawWebSocketRealtimeTransport extends TelephonyRealtimeTransport {
  constructor(options: RawWebSocketRealtimeTransportOptions) {
    if (!options || typeof options !== 'object' || !options.websocket) {
      throw new ConfigError('RawWebSocketRealtimeTransport needs `websocket`: the media socket of the call.');
    }
    if (options.preset === undefined) {
      throw new ConfigError(
        "RawWebSocketRealtimeTransport needs a `preset`: 'vonage', 'asterisk', 'jambonz', 'generic' or protocol options.",
      );
    }
    const { websocket, preset, ...rest } = options;
    const protocol = new RawWebSocketProtocol(preset);
    super({ ...rest, connection: websocket, protocol });
    log(
      'transport created: preset %s, format %s@%d',
      protocol.name,
      protocol.defaultFormat.encoding,
      protocol.defaultFormat.sampleRate,
    );
  }
}
