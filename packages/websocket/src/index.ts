export { RawWebSocketProtocol, DEFAULT_FRAME_MS, DEFAULT_MAX_MESSAGE_BYTES } from './protocol.js';
export type { RawWebSocketProtocolOptions } from './protocol.js';
export { RawWebSocketRealtimeTransport } from './transport.js';
export type { RawWebSocketRealtimeTransportOptions } from './transport.js';
export {
  presets,
  vonagePreset,
  asteriskPreset,
  jambonzPreset,
  genericPreset,
  ASTERISK_MAX_MESSAGE_BYTES,
} from './presets/index.js';
export type { RawWebSocketPresetName } from './presets/index.js';
export {
  callFields,
  callStart,
  controlError,
  isJsonObject,
  newStreamId,
  optionalNumber,
  optionalString,
  parseJsonObject,
  readCallStart,
  readDigit,
  readDtmf,
  stringParameters,
} from './preset.js';
export type {
  RawWebSocketPreset,
  PresetCallState,
  PeerCallState,
  StartOn,
  ControlCommand,
  ControlEvent,
} from './preset.js';
export { AudioConverter, L16_RATES, checkFormat, isSupportedFormat } from './formats.js';
export {
  rawWebSocketCandidate,
  rawWebSocketCandidates,
  vonageCandidate,
  asteriskCandidate,
  jambonzCandidate,
  genericCandidate,
} from './candidates.js';
export { RAW_WEBSOCKET_MAX_PAYLOAD } from './max-payload.js';
