/**
 * Trace format of the conformance harness (v2): a JSON Lines recording of what a carrier sent on
 * its media WebSocket, with an optional header. The format is documented in traces/README.md;
 * the code lives in `src/trace/`: `format.ts` (parse, serialize), `facts.ts` (what the frames
 * imply), `speech.ts` (where the caller speaks), `files.ts` (files, gzip, the bundled corpus),
 * `replayable.ts` (the frames a replay sends).
 */
export {
  TRACE_HAZARDS,
  TraceParseError,
  inboundLines,
  serializeTrace,
  traceCarrier,
  traceLines,
  type DeclaredTraceExpect,
  type ParseTraceOptions,
  type Trace,
  type TraceExpect,
  type TraceFrame,
  type TraceHeader,
  type TraceLine,
  type TraceStart,
  type TraceUtterance,
} from './trace/format.js';
export { DERIVED_HAZARDS, UTTERANCE_TOLERANCE_MS, derivedHazards, traceExpect, traceHazards } from './trace/facts.js';
export {
  bundledTracesDir,
  isTraceFile,
  loadTrace,
  loadTraces,
  parseTrace,
  readTraceText,
  traceFileStem,
} from './trace/files.js';
export { replayableFrames, RECORDED_MARK_PREFIX } from './trace/replayable.js';
