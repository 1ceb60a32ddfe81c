import {
  TelephonyRealtimeTransport,
  type CarrierTransportOptions,
  type EndAfterPlaybackResult,
  type MediaConnection,
  type WebSocketLike,
} from '@switchboard/core';
import { takeCarrierSocket, toMediaConnection } from '@switchboard/core/protocol';
import { GenesysConnection } from './connection.js';
import {
  GenesysAudioHookProtocol,
  type GenesysAudioHookProtocolOptions,
  type GenesysDisconnect,
  type GenesysOpenParameters,
} from './protocol.js';

/** Options of {@link GenesysRealtimeTransport}: the SDK WebSocket transport's plus the core's call options. */
export type GenesysRealtimeTransportOptions = CarrierTransportOptions & {
  /** The WebSocket Genesys Cloud opened to your Audio Connector (or AudioHook) URL. */
  genesysWebSocket: WebSocketLike | MediaConnection;
  /** Media preference, frame size, pacing and the expected session id (see the protocol's options). */
  audioHook?: GenesysAudioHookProtocolOptions;
  /**
   * Longest wait for Genesys's `close` once the bridge ended the call (it sent `disconnect`), ms;
   * the socket is closed then. Default 5000.
   */
  closeTimeoutMs?: number;
};

/**
 * Bridges a Genesys Cloud Audio Connector session to the OpenAI Realtime API. Pass it as
 * `transport` to a `RealtimeSession`. Genesys's `open` is the call's start (the conversation id
 * is `callStart.callId`, the session id its `streamId`, the flow's input variables its
 * `customParameters`); the bridge answers `opened`, `pong` and `closed` itself. Raw messages
 * appear on `*` (and the session's `transport_event`) as `{ type: 'genesys_message', message }`.
 *
 * Hanging up sends `disconnect`: Genesys closes the session and the Architect flow goes on with
 * the output variables set by {@link setOutputVariables} or {@link disconnect}. A transfer is the
 * flow's to make: return a variable it routes on.
 */
export class GenesysRealtimeTransport extends TelephonyRealtimeTransport {
  /** The session's AudioHook protocol: its state (`sessionId`, `media`, `paused`, ...). */
  readonly audioHook: GenesysAudioHookProtocol;
  readonly #genesys: GenesysConnection;

  constructor(options: GenesysRealtimeTransportOptions) {
    const { socket, rest } = takeCarrierSocket(
      options,
      'genesysWebSocket',
      'GenesysRealtimeTransport needs `genesysWebSocket`: the WebSocket Genesys Cloud opened to your connector URL.',
    );
    const { audioHook, closeTimeoutMs, ...transportOptions } = rest;
    const protocol = new GenesysAudioHookProtocol(audioHook);
    const connection = new GenesysConnection(toMediaConnection(socket), protocol, {
      ...(closeTimeoutMs === undefined ? {} : { closeTimeoutMs }),
      ...(transportOptions.clock === undefined ? {} : { clock: transportOptions.clock }),
    });
    super({ ...transportOptions, connection, protocol, rawEventType: 'genesys_message' });
    this.audioHook = protocol;
    this.#genesys = connection;
    (this.on as (name: string, listener: (event: { reason?: string }) => void) => unknown)('call_end', (event) =>
      connection.noteEnd(event.reason ?? 'closed'),
    );
  }

  /** What Genesys's `open` said (organization, conversation, participant, custom config, input variables). */
  get openParameters(): GenesysOpenParameters | undefined {
    return this.audioHook.openParameters;
  }

  /** Output variables for the Architect flow, sent with the `disconnect` that ends the session. Merged. */
  setOutputVariables(variables: Record<string, string>): void {
    this.audioHook.setDisconnect({ outputVariables: variables });
  }

  /**
   * Ends the bot session once the caller heard everything (`endAfterPlayback`): `disconnect` with
   * `reason` (default `completed`), `info` and the output variables, then Genesys's close.
   */
  disconnect(disconnect: GenesysDisconnect = {}): Promise<EndAfterPlaybackResult> {
    this.audioHook.setDisconnect(disconnect);
    return this.endAfterPlayback({ reason: 'agent_hangup' });
  }

  /** Asks Genesys to pause (`true`) or resume (`false`) the caller's audio. False when the session is not open. */
  pauseAudio(paused: boolean): boolean {
    if (!this.audioHook.sessionOpen || this.audioHook.disconnectSent) return false;
    this.#genesys.sendControl(this.audioHook.requestPause(paused));
    return true;
  }
}
