/**
 * Cold transfer of an ACS call for the core's `transferCallTool`: Call Automation's
 * `:transferToParticipant` moves the caller to a phone number or an ACS user; the media stream
 * ends, and the agent with it. `operationContext` carries the destination's name and the model's
 * reason back in the `CallTransferAccepted` / `CallTransferFailed` events.
 */
import { ConfigError, type TransferHandler, type TransferRequest } from '@switchboard/core';
import type { AzureCallAutomation } from './call-control.js';

export type AzureTransferHandlerOptions = {
  /** The Call Automation client that sends the transfer. */
  callAutomation: AzureCallAutomation;
  /** The caller id the target sees: an E.164 number of your ACS resource. Required by ACS for a PSTN target. */
  sourceCallerIdNumber?: string;
  /** `operationContext` of the request. Default {@link azureTransferContext}; `false` sends none. */
  operationContext?: false | ((request: TransferRequest) => string);
  /** Any further field of the request, sent as written. */
  extra?: Record<string, unknown>;
};

/** What the handler resolves with. */
export type AzureTransferResult = { transferred: boolean; alreadyEnded: boolean; to: string };

/** The default `operationContext`: JSON of the destination's name and the model's reason (cut to 500 characters). */
export function azureTransferContext(request: TransferRequest): string {
  const context: Record<string, string> = { transfer: request.name };
  if (request.reason) context['reason'] = request.reason.slice(0, 500);
  return JSON.stringify(context);
}

/**
 * A `TransferHandler` for `transferCallTool` that transfers the call with Call Automation. Needs
 * the call's `callConnectionId`, which the transport's `callStart.callId` is.
 */
export function azureTransfer(options: AzureTransferHandlerOptions): TransferHandler {
  if (!options || typeof options.callAutomation?.transfer !== 'function')
    throw new ConfigError('azureTransfer: `callAutomation` (an AzureCallAutomation) is required');
  const { callAutomation } = options;
  return async (request: TransferRequest): Promise<AzureTransferResult> => {
    const callId = request.callId;
    if (callId === undefined || callId === '')
      throw new ConfigError('azureTransfer: the call has no callConnectionId (pass it to the transport)');
    const transferOptions: Parameters<AzureCallAutomation['transfer']>[2] = {};
    if (options.sourceCallerIdNumber !== undefined) transferOptions.sourceCallerIdNumber = options.sourceCallerIdNumber;
    if (options.operationContext !== false)
      transferOptions.operationContext = (options.operationContext ?? azureTransferContext)(request);
    if (options.extra !== undefined) transferOptions.extra = options.extra;
    const { alreadyEnded } = await callAutomation.transfer(callId, request.destination, transferOptions);
    return { transferred: !alreadyEnded, alreadyEnded, to: request.destination };
  };
}
