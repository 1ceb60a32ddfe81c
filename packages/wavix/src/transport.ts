import {
  ConfigError,
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { takeCarrierSocket } from '@switchboard/core/protocol';
import type { WavixCallControl } from './call-control.js';
import { WavixMediaStreamProtocol, type WavixMediaStreamProtocolOptions } from './protocol.js';

/**
 * Options of {@link WavixRealtimeTransport}: the SDK WebSocket transport's, the core's call options,
 * and the stream's settings.
 */
export type WavixRealtimeTransportOptions = CarrierTransportOptions &
  WavixMediaStreamProtocolOptions & {
    /** The WebSocket Wavix opened to your `stream_url`. */
    wavixWebSocket: WebSocketLike | MediaConnection;
    /**
     * Call Control for hanging up. Closing the stream's WebSocket does not end a Wavix call, so
     * with this the transport's hang-ups (`endAfterPlayback()`, the `end_call` tool) send
     * `DELETE /v1/calls/{id}` for `callStart.callId` before the stream ends. A `hangUp` option,
     * when given too, is used instead.
     */
    callControl?: WavixCallControl;
  };

/**
 * Bridges a Wavix two-way call stream to the OpenAI Realtime API. Pass it as `transport` to a
 * `RealtimeSession`. Wavix streams PCM16 at 24 kHz, the model's own format: audio passes both
 * ways untouched. Raw Wavix frames appear on `*` (and the session's `transport_event`) as
 * `{ type: 'wavix_message', message }`.
 */
export class WavixRealtimeTransport extends TelephonyRealtimeTransport {
  constructor(options: WavixRealtimeTransportOptions) {
    const { socket, rest: withProtocolOptions } = takeCarrierSocket(
      options,
      'wavixWebSocket',
      'WavixRealtimeTransport needs `wavixWebSocket`: the WebSocket Wavix connected to your stream_url.',
    );
    const { frameMs, ackOnClear, pacingLeadMs, customParameters, callControl, ...rest } = withProtocolOptions;
    const protocolOptions: WavixMediaStreamProtocolOptions = {};
    if (frameMs !== undefined) protocolOptions.frameMs = frameMs;
    if (ackOnClear !== undefined) protocolOptions.ackOnClear = ackOnClear;
    if (pacingLeadMs !== undefined) protocolOptions.pacingLeadMs = pacingLeadMs;
    if (customParameters !== undefined) protocolOptions.customParameters = customParameters;
    if (callControl !== undefined && typeof (callControl as Partial<WavixCallControl>)?.hangup !== 'function')
      throw new ConfigError('WavixRealtimeTransport: `callControl` must be a WavixCallControl');
    if (callControl !== undefined && rest.hangUp === undefined) {
      rest.hangUp = async ({ callId }) => (callId === undefined ? undefined : callControl.hangup(callId));
    }
    super({
      ...rest,
      connection: socket,
      protocol: new WavixMediaStreamProtocol(protocolOptions),
      rawEventType: 'wavix_message',
    });
  }
}
