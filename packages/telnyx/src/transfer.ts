/**
 * Cold transfer of a Telnyx call for the core's `transferCallTool`: Call Control
 * `actions/transfer` (https://developers.telnyx.com/api/call-control/transfer-call) moves the
 * caller to a number or SIP URI; the media stream of the caller's leg ends, and the agent with it.
 *
 * What the model said about the transfer travels with it, in the two places Telnyx carries:
 * - SIP headers of the INVITE (`custom_headers`) for a SIP URI target: `X-Transfer-Reason`,
 *   `X-Transfer-Summary`, `X-Transfer-Target` (the destination's name). A PSTN number drops them.
 * - `target_leg_client_state`: base64 JSON that comes back in every webhook of the new leg, for a
 *   target your own Call Control application answers.
 */
import { ConfigError, type TransferHandler, type TransferRequest } from '@switchboard/core';
import type { TelnyxCallControl } from './call-control.js';
import { checkSipHeaders, encodeTelnyxClientState, type TelnyxSipHeader } from './dial.js';

export type TelnyxTransferOptions = {
  /** The Call Control client that sends `actions/transfer`. */
  callControl: TelnyxCallControl;
  /** Caller id shown to the target (E.164); default Telnyx's (the caller's number). */
  from?: string;
  /** Seconds the target may take to answer (`timeout_secs`). */
  timeoutSecs?: number;
  /**
   * The SIP headers sent to the target. Default {@link telnyxTransferHeaders}; a function of the
   * request replaces them; `false` sends none.
   */
  headers?: false | ((request: TransferRequest) => TelnyxSipHeader[]);
  /**
   * Text set as the new leg's `client_state` (sent base64-encoded). Default
   * {@link telnyxTransferState}; `false` sends none.
   */
  targetClientState?: false | ((request: TransferRequest) => string);
  /** Any further field of the transfer command, sent as written. */
  extra?: Record<string, unknown>;
};

/** What the handler resolves with. */
export type TelnyxTransferResult = { transferred: boolean; alreadyEnded: boolean; to: string };

/** SIP header values stay short and on one line. */
const MAX_HEADER_VALUE = 256;
/** C0 control characters and DEL: a line break in a header value would end the header. */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]+/g;
/** The summary in the client state is cut to this many characters. */
const MAX_STATE_SUMMARY = 1000;

/** Text as a SIP header value: control characters turned into spaces, trimmed, cut to 256 characters. */
export function sipHeaderValue(text: string): string {
  return text.replace(CONTROL_CHARACTERS, ' ').trim().slice(0, MAX_HEADER_VALUE);
}

/** The default SIP headers of a transfer: reason, summary and the destination's name, where given. */
export function telnyxTransferHeaders(request: TransferRequest): TelnyxSipHeader[] {
  const headers: TelnyxSipHeader[] = [];
  const add = (name: string, value: string | undefined) => {
    const clean = value === undefined ? '' : sipHeaderValue(value);
    if (clean) headers.push({ name, value: clean });
  };
  add('X-Transfer-Reason', request.reason);
  add('X-Transfer-Summary', request.summary);
  add('X-Transfer-Target', request.name);
  return headers;
}

/**
 * The default client state of the new leg: JSON of the destination's name, reason, summary (cut
 * to 1000 characters), the caller's call control id and the stream's custom parameters.
 */
export function telnyxTransferState(request: TransferRequest): string {
  const state: Record<string, unknown> = { transfer: request.name };
  if (request.reason) state['reason'] = request.reason;
  if (request.summary) state['summary'] = request.summary.slice(0, MAX_STATE_SUMMARY);
  if (request.callId) state['callControlId'] = request.callId;
  const params = request.callStart?.customParameters;
  if (params && Object.keys(params).length > 0) state['customParameters'] = params;
  return JSON.stringify(state);
}

/**
 * A `TransferHandler` for `transferCallTool` that transfers the call with Call Control. Needs the
 * call's `call_control_id`, which the transport's `callStart.callId` is.
 */
export function telnyxTransfer(options: TelnyxTransferOptions): TransferHandler {
  if (!options || typeof options.callControl?.transfer !== 'function')
    throw new ConfigError('telnyxTransfer: `callControl` (a TelnyxCallControl) is required');
  if (options.timeoutSecs !== undefined && (!Number.isInteger(options.timeoutSecs) || options.timeoutSecs < 1))
    throw new ConfigError('telnyxTransfer: `timeoutSecs` must be a positive integer');
  const { callControl } = options;
  return async (request: TransferRequest): Promise<TelnyxTransferResult> => {
    const callId = request.callId;
    if (callId === undefined || callId === '')
      throw new ConfigError('telnyxTransfer: the call has no call_control_id (no call_start yet)');
    const extra: Record<string, unknown> = {};
    if (options.timeoutSecs !== undefined) extra['timeout_secs'] = options.timeoutSecs;
    if (options.headers !== false) {
      const headers = (options.headers ?? telnyxTransferHeaders)(request);
      if (headers.length > 0) extra['custom_headers'] = checkSipHeaders(headers, 'telnyxTransfer');
    }
    if (options.targetClientState !== false) {
      const state = (options.targetClientState ?? telnyxTransferState)(request);
      extra['target_leg_client_state'] = encodeTelnyxClientState(state);
    }
    Object.assign(extra, options.extra ?? {});
    const target: { to: string; from?: string; extra: Record<string, unknown> } = { to: request.destination, extra };
    if (options.from !== undefined) target.from = options.from;
    const { alreadyEnded } = await callControl.transfer(callId, target);
    return { transferred: !alreadyEnded, alreadyEnded, to: request.destination };
  };
}
