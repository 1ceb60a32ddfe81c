export {
  WavixMediaStreamProtocol,
  WAVIX_AUDIO_FORMAT,
  WAVIX_DEFAULT_FRAME_MS,
  WAVIX_UNSUPPORTED_STREAM_CODE,
} from './protocol.js';
export type { WavixMediaStreamProtocolOptions, WavixCustomParameters } from './protocol.js';
export { WavixCallControl } from './call-control.js';
export type {
  WavixCallControlOptions,
  WavixStreamOptions,
  WavixAnswerOptions,
  WavixTransferTarget,
} from './call-control.js';
export {
  signWavixStreamUrl,
  validateWavixStreamUrl,
  assertWavixStreamUrl,
  readWavixStreamUrlVerdict,
  readWavixStreamUrlParameters,
  WavixStreamUrlError,
  WAVIX_STREAM_URL_SIGNATURE_PARAM,
  WAVIX_STREAM_URL_CALL_PARAM,
} from './signed-url.js';
export type {
  SignWavixStreamUrlOptions,
  ValidateWavixStreamUrlOptions,
  WavixStreamUrlVerdict,
  WavixStreamUrlFailure,
} from './signed-url.js';
export { readWavixCallWebhook, WAVIX_WEBHOOK_ERROR_CODE } from './webhook.js';
export type { WavixCallWebhook, WavixCallEventType } from './webhook.js';
export { WavixRealtimeTransport } from './transport.js';
export type { WavixRealtimeTransportOptions } from './transport.js';
export { wavixCandidate } from './candidates.js';
export { WAVIX_MAX_PAYLOAD } from './max-payload.js';
