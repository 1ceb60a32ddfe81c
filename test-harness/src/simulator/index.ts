export { RealtimeSimulator, REALTIME_PATH, type RealtimeSimulatorOptions } from './server.js';
export {
  SimulatedSession,
  type RecordedEvent,
  type SimulatedConnectionInfo,
  type SimulatedResponse,
  type SimulatedResponseStatus,
  type SimulatorCancel,
  type SimulatorErrorSent,
  type SimulatorFunctionCallOutput,
  type SimulatorInputTurn,
  type SimulatorOutputChunk,
  type SimulatorSpeechEvent,
  type SimulatorTruncation,
  type SimulatorViolation,
} from './session.js';
export {
  agentAssetsDirectory,
  agentHangupScript,
  defaultScript,
  END_CALL_TOOL,
  SLOW_TOOL,
  SLOW_TOOL_MS,
  slowToolScript,
  loadAgentReplies,
  longReplyScript,
  MODEL_SAMPLE_RATE,
  type SimulatorFunctionCall,
  type SimulatorTurn,
} from './script.js';
export { EnergyVad, DEFAULT_VAD_OPTIONS, VAD_WINDOW_MS, type VadEvent, type VadOptions } from './vad.js';
export { renderTurnAudio, deltaSizes, formatBytesPerMs, formatDurationMs, formatRate } from './audio.js';
export {
  audioFormatSchema,
  clientEventSchemas,
  sessionConfigSchema,
  turnDetectionSchema,
  type SimulatorAudioFormat,
} from './schemas.js';
export { BUILT_IN_VOICES, IDLE_TIMEOUT_MS, SPEED_RANGE } from './session-schema.js';
export {
  checkSessionRules,
  formatParam,
  validateClientEvent,
  type ServiceError,
  type ValidationResult,
} from './validate.js';
export { parseSimulatorArgs, runSimulatorCommand, SIMULATOR_USAGE } from './cli.js';
