/**
 * What a replay needs to know of a trace before it starts: the audio format it announces, and the
 * result of a replay that does not happen (a trace of another carrier than the adapter's).
 */
import type { AudioFormat, MediaStreamProtocol } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { emptyCallerLog } from './caller.js';
import type { ReplayResult } from './replay.js';
import { traceExpect, type Trace } from './trace.js';
import type { TurnDetectionMode } from './turn-detection.js';
import { TWILIO_FORMAT } from './twilio-frames.js';

/**
 * The audio format the trace's first `start` announces (Twilio's μ-law 8 kHz for a capture that
 * has none). A trace of another carrier is read with its protocol (`protocol`, or the one a replay
 * read it with before).
 */
export function traceFormat(trace: Trace, protocol?: MediaStreamProtocol): AudioFormat {
  const starts = traceExpect(trace, protocol ? { protocol } : {}).starts ?? [];
  return starts.find((s) => !s.synthesized && s.format)?.format ?? TWILIO_FORMAT;
}

/** The result of a replay that did not happen (see `ReplayResult.notReplayed`). */
export function notReplayed(
  adapter: ConformanceAdapter,
  trace: Trace,
  reason: string,
  turnDetection: TurnDetectionMode,
): ReplayResult {
  return {
    adapter: adapter.name,
    capabilities: adapter.capabilities,
    trace,
    carrierFormat: adapter.carrierFormat ?? TWILIO_FORMAT,
    carriesStreamId: adapter.carriesStreamId ?? true,
    speed: 0,
    turnDetection,
    sessionTurnDetection: undefined,
    emitted: [],
    model: null,
    timeline: [],
    firstModelAudioAt: undefined,
    lastFrameAt: undefined,
    carrier: {
      ...emptyCallerLog(),
      framesSent: 0,
      malformedSent: 0,
    },
    callEndedAt: undefined,
    modelClosedAt: undefined,
    bridgeSocketListeners: 0,
    transportStatus: 'none',
    metrics: undefined,
    droppedAfterCancel: {},
    failures: [],
    durationMs: 0,
    notReplayed: reason,
  };
}
