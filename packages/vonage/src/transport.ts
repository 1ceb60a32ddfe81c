import type { OpenAIRealtimeWebSocketOptions } from '@openai/agents-realtime';
import {
  ConfigError,
  type AudioFormat,
  type MediaConnection,
  type TelephonyRealtimeTransportOptions,
  type WebSocketLike,
} from '@switchboard/core';
import { splitOptions, withCallControlHangUp } from '@switchboard/core/protocol';
import { RawWebSocketRealtimeTransport, type RawWebSocketProtocolOptions } from '@switchboard/websocket';
import type { VonageCallControl } from './call-control.js';

export type VonageRealtimeTransportOptions = OpenAIRealtimeWebSocketOptions &
  Omit<TelephonyRealtimeTransportOptions, 'connection' | 'protocol' | keyof OpenAIRealtimeWebSocketOptions> & {
    /** The WebSocket Vonage opened to your server for the NCCO's `connect` → `websocket`. */
    vonageWebSocket: WebSocketLike | MediaConnection;
    /** The format assumed until `websocket:connected` names one (its `content-type`). Default L16 16 kHz. */
    format?: AudioFormat;
    /** Duration of each binary audio message sent to Vonage, in ms. Default 20. */
    frameMs?: number;
    /**
     * Most audio kept queued at Vonage, in ms (Vonage buffers at most 3072 messages); `null`
     * turns pacing off. Default 1000.
     */
    leadMs?: number | null;
    /**
     * Ends the call through the Voice API when the agent hangs up (`endAfterPlayback()`, the
     * `end_call` tool): `PUT /v1/calls/{callId}` `hangup` once the caller heard the goodbye.
     * Without it the transport closes the socket, which ends the WebSocket leg; Vonage then runs the
     * NCCO's next action, and ends the call only when there is none. A `hangUp` option, when given
     * too, wins.
     */
    callControl?: VonageCallControl;
  };

/**
 * Bridges a Vonage Voice API WebSocket (NCCO `connect` to a `websocket` endpoint) to the OpenAI
 * Realtime API: `@switchboard/websocket`'s transport with its `vonage` preset. Pass it as
 * `transport` to a `RealtimeSession`. L16 8/16 kHz is resampled to PCM16 24 kHz and back;
 * `notify` / `websocket:notify` time playback; a barge-in sends `{"action":"clear"}`. Each text
 * frame from Vonage appears on `*` as `{ type: 'vonage_message', message }`. Hang-up and outbound
 * DTMF are not socket messages on Vonage: use {@link VonageCallControl} with `callStart.callId`.
 */
export class VonageRealtimeTransport extends RawWebSocketRealtimeTransport {
  constructor(options: VonageRealtimeTransportOptions) {
    if (!options || typeof options !== 'object' || !options.vonageWebSocket) {
      throw new ConfigError(
        'VonageRealtimeTransport needs `vonageWebSocket`: the WebSocket Vonage connected to your server.',
      );
    }
    const { vonageWebSocket, callControl, ...withPresetOptions } = options;
    const { picked, rest } = splitOptions(withPresetOptions, ['format', 'frameMs', 'leadMs']);
    const preset: RawWebSocketProtocolOptions = { preset: 'vonage', ...picked };
    super({ ...withCallControlHangUp(rest, callControl, 'hangup'), websocket: vonageWebSocket, preset });
  }
}
