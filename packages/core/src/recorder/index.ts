export {
  CallRecorder,
  RECORDING_DEFAULT_MAX_BYTES,
  type CallRecordingOptions,
  type CallRecorderContext,
} from './recorder.js';
export { REDACTED, type RecordingRedaction } from './redact.js';
export type { AudioRedaction } from './audio.js';
export type { RecordingSink, RecordingStats } from './sink.js';
