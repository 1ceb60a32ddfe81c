/**
 * Transfers, Audio Connector's way. A bot session cannot move the call itself: it ends, and the
 * Architect flow goes on from the "Call Audio Connector" action with the output variables the
 * bot returned. A transfer is therefore an output variable the flow routes on (a Switch on
 * `Flow.transfer` to a Transfer to ACD, to a number, ...), sent with the `disconnect` that
 * ends the session once the caller heard the agent's last words.
 */
import { ConfigError, type TransferHandler, type TransferRequest } from '@switchboard/core';
import { GenesysRealtimeTransport } from './transport.js';

export type GenesysTransferOptions = {
  /** Output variable that names the destination (the value of `destinations`). Default `transfer`. */
  variable?: string;
  /** Output variable for the model's reason, when it gave one. Default `transferReason`. */
  reasonVariable?: string;
  /** Output variable for the model's summary, when it gave one. Default `transferSummary`. */
  summaryVariable?: string;
};

function variableName(value: string | undefined, fallback: string, option: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0)
    throw new ConfigError(`genesysTransfer: ${option} must be a non-empty string`);
  return value;
}

/**
 * A `TransferHandler` for core's `transferCallTool`: sets the output variables that tell the
 * Architect flow where to transfer the caller; the tool then ends the call, and the session closes
 * with `disconnect` (`completed`) carrying them.
 */
export function genesysTransfer(options: GenesysTransferOptions = {}): TransferHandler {
  const variable = variableName(options.variable, 'transfer', 'variable');
  const reasonVariable = variableName(options.reasonVariable, 'transferReason', 'reasonVariable');
  const summaryVariable = variableName(options.summaryVariable, 'transferSummary', 'summaryVariable');
  return async (request: TransferRequest) => {
    const transport: unknown = request.transport;
    if (!(transport instanceof GenesysRealtimeTransport))
      throw new ConfigError('genesysTransfer: the call is not a GenesysRealtimeTransport');
    const variables: Record<string, string> = { [variable]: request.destination };
    if (request.reason !== undefined) variables[reasonVariable] = request.reason;
    if (request.summary !== undefined) variables[summaryVariable] = request.summary;
    transport.setOutputVariables(variables);
  };
}
