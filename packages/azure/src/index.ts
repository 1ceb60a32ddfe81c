export {
  AzureMediaStreamProtocol,
  AZURE_DEFAULT_PACING_LEAD_MS,
  AZURE_FRAME_MS,
  AZURE_SAMPLE_RATES,
} from './protocol.js';
export type { AzureMediaStreamProtocolOptions } from './protocol.js';
export { AzureRealtimeTransport } from './transport.js';
export type { AzureRealtimeTransportOptions } from './transport.js';
export { azureCandidate } from './candidates.js';
export { AzureCallAutomation, AZURE_CALL_AUTOMATION_API_VERSION, signAzureRequest } from './call-control.js';
export type {
  AzureAnswerOptions,
  AzureAnswerResult,
  AzureCallAutomationOptions,
  AzureSignInput,
  AzureTransferOptions,
  AzureTransferTarget,
} from './call-control.js';
export { azureTransfer, azureTransferContext } from './transfer.js';
export type { AzureTransferHandlerOptions, AzureTransferResult } from './transfer.js';
export { azureMediaStreamingOptions } from './media-streaming.js';
export type { AzureAudioFormat, AzureMediaStreamingInput, AzureMediaStreamingOptions } from './media-streaming.js';
export {
  AZURE_CALL_AUTOMATION_ISSUER,
  AZURE_CALL_AUTOMATION_KEYS_URL,
  assertAzureCallAutomationToken,
  createAzureKeySet,
  readAzureCallAutomationTokenVerdict,
  readAzureStreamHeaders,
  validateAzureCallAutomationToken,
} from './auth.js';
export type {
  AzureJsonWebKey,
  AzureKeySet,
  AzureKeySetOptions,
  AzureKeySource,
  AzureStreamHeaders,
  AzureTokenCheckOptions,
  AzureTokenVerdict,
} from './auth.js';
export { AZURE_MAX_PAYLOAD } from './max-payload.js';
