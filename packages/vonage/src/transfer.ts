/**
 * Cold transfer of a Vonage call to a number or a SIP URI, as a `TransferHandler` for core's
 * `transferCallTool`: `PUT /v1/calls/:uuid` with an action `transfer` whose destination is an
 * NCCO holding one `connect` (https://developer.vonage.com/en/api/voice#updateCall). The call's uuid is
 * the transport's `callStart.callId` (the `uuid` header `connectWebSocketNcco({ answer })` puts on
 * the socket); the WebSocket leg ends with the transfer.
 *
 * What travels to the target: to a SIP URI, the `headers` of the `sip` endpoint, which Vonage sends
 * as `X-` SIP headers (https://developer.vonage.com/en/voice/voice-api/ncco-reference#sip-endpoint):
 * by default `reason`, `summary` (the tool's arguments) and `call_uuid`. To a phone number nothing
 * travels but the caller id (`from`): keep the context in your app, keyed by the call's uuid.
 */
import { ConfigError, type TransferHandler, type TransferRequest } from '@switchboard/core';
import { vonageEndpoint, type VonageCallControl } from './call-control.js';

export type VonageTransferOptions = {
  /** Call control of the application the call belongs to. */
  callControl: VonageCallControl;
  /** Caller id shown to a phone target: a number of your Vonage account. */
  from?: string;
  /** Seconds a target may ring before the connect gives up (Vonage: 3-7200, default 60). */
  timeout?: number;
  /** Headers for a SIP target. Default: `reason`, `summary` and `call_uuid`, each at most 256 characters. */
  headers?: (request: TransferRequest) => Record<string, string>;
};

const MAX_HEADER_VALUE = 256;

function defaultHeaders(request: TransferRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  if (request.reason) headers['reason'] = request.reason.slice(0, MAX_HEADER_VALUE);
  if (request.summary) headers['summary'] = request.summary.slice(0, MAX_HEADER_VALUE);
  const callId = request.callId ?? request.callStart?.callId;
  if (callId) headers['call_uuid'] = callId;
  return headers;
}

/**
 * A `TransferHandler` that connects a Vonage call to `destination` (a number or a `sip:` URI).
 * Resolves with `{ alreadyEnded }`.
 */
export function vonageTransfer(options: VonageTransferOptions): TransferHandler {
  if (!options || typeof options !== 'object' || !options.callControl)
    throw new ConfigError('vonageTransfer needs { callControl }');
  const { callControl, timeout } = options;
  const from = options.from === undefined ? undefined : vonageEndpoint(options.from);
  if (from !== undefined && from['type'] !== 'phone') throw new ConfigError('vonageTransfer: from must be a number');
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 3 && timeout <= 7200))
    throw new ConfigError('vonageTransfer: timeout must be a whole number of seconds from 3 to 7200');
  const headersOf = options.headers ?? defaultHeaders;
  return async (request) => {
    const uuid = request.callId ?? request.callStart?.callId;
    if (!uuid) throw new ConfigError("vonageTransfer: the call's uuid is unknown (no callId in its call_start)");
    const endpoint = vonageEndpoint(request.destination);
    if (endpoint['type'] === 'sip') {
      const headers = headersOf(request);
      if (Object.keys(headers).length > 0) endpoint['headers'] = headers;
    }
    const connect: Record<string, unknown> = { action: 'connect', endpoint: [endpoint] };
    if (from !== undefined) connect['from'] = from['number'];
    if (timeout !== undefined) connect['timeout'] = timeout;
    return callControl.transfer(uuid, { ncco: [connect] });
  };
}
