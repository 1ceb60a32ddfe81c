/**
 * OpenAI SIP's part of a transfer (`transferCallTool({ transfer: openAISipTransfer(...) })`):
 * `POST /v1/realtime/calls/{call_id}/refer` with `target_uri`, after which OpenAI sends the SIP
 * REFER to the trunk. The endpoint takes nothing but `target_uri`; the only place left for the
 * call's context is the URI's own header part (RFC 3261 §19.1.5), which is opt-in.
 */
import { ConfigError, type CallToolTransport, type TransferHandler, type TransferRequest } from '@switchboard/core';
import { transferContext, transferTarget, type SipTransferOptions } from '../endpoint/transfer.js';
import { withUriHeaders } from '../endpoint/refer.js';
import { OpenAISipCallControl } from './call-control.js';
import type { OpenAICallsClient } from './client.js';

export type OpenAISipTransferOptions = Pick<SipTransferOptions, 'customParameters' | 'toUri'> & {
  /** More header fields for the context in the URI (names with their `X-` prefix), from the request. */
  headers?: (request: TransferRequest<CallToolTransport>) => Record<string, string> | undefined;
  /** The call control the refer goes through (the one the call was accepted with). */
  callControl?: OpenAISipCallControl;
  /** Or an `openai` client to build one from. */
  client?: OpenAICallsClient;
  /**
   * OpenAI's call id. Default: the request's (the call's `call_start`), else the transport's
   * `callId` (an {@link OpenAISipTransport}).
   */
  callId?: string | ((request: TransferRequest<CallToolTransport>) => string | undefined);
  /**
   * Put the call's context (`X-Transfer-*` and the custom parameters) in the header part of a
   * `sip:` target URI (`sip:desk@pbx.example.com?X-Transfer-Reason=billing`). Off by default:
   * OpenAI's refer endpoint documents `target_uri` as what appears in `Refer-To`, and whether it
   * passes a header part through unchanged is not documented.
   */
  contextInUri?: boolean;
};

/** What an `openAISipTransfer` handler resolves with (the tool's output to the model). */
export type OpenAISipTransferResult = {
  transferred: true;
  destination: string;
  target: string;
  /** OpenAI no longer knew the call (it had ended). */
  alreadyEnded: boolean;
};

/**
 * A transfer handler for OpenAI SIP calls: OpenAI's refer endpoint with the destination as
 * `target_uri`. Resolves once OpenAI accepted the request (it then sends the REFER; OpenAI
 * reports no NOTIFY progress back); rejects with an OpenAISipCallControlError. For
 * `transferCallTool({ destinations, transfer: openAISipTransfer({ callControl }) })` on an
 * {@link OpenAISipTransport} (or any transport: it needs nothing but the call id).
 */
export function openAISipTransfer(options: OpenAISipTransferOptions): TransferHandler<CallToolTransport> {
  if (!options || typeof options !== 'object') throw new ConfigError('openAISipTransfer needs options.');
  const control =
    options.callControl ??
    (options.client !== undefined ? new OpenAISipCallControl({ client: options.client }) : undefined);
  if (!control) throw new ConfigError('openAISipTransfer needs `callControl` (or an `openai` `client`).');
  return async (request: TransferRequest<CallToolTransport>): Promise<OpenAISipTransferResult> => {
    const given = typeof options.callId === 'function' ? options.callId(request) : options.callId;
    const fromTransport = (request.transport as { callId?: unknown } | undefined)?.callId;
    const callId = given ?? request.callId ?? (typeof fromTransport === 'string' ? fromTransport : undefined);
    if (typeof callId !== 'string' || callId.length === 0)
      throw new ConfigError('openAISipTransfer: no OpenAI call id (pass `callId`, or run on an OpenAISipTransport).');
    let target = transferTarget(request.destination, options.toUri);
    if (options.contextInUri && /^sips?:/i.test(target)) {
      // transferContext reads the request's name, reason, summary and callStart, not its transport;
      // `headers` is given the request as it is.
      const headers = options.headers;
      const context = transferContext(request as TransferRequest, {
        ...(options.customParameters !== undefined ? { customParameters: options.customParameters } : {}),
        ...(headers ? { headers: () => headers(request) } : {}),
      });
      target = withUriHeaders(target, Object.entries(context));
    }
    const result = await control.refer(callId, target);
    return { transferred: true, destination: request.name, target, alreadyEnded: result.alreadyEnded };
  };
}
