/**
 * The replayer: plays a recorded carrier trace into an adapter over a real loopback WebSocket,
 * plays the carrier's side of the call (a playout clock that acknowledges marks and honours
 * `clear`), and drives a `RealtimeSession` against the realtime simulator. Everything observed is
 * returned for the checks.
 */
import { performance } from 'node:perf_hooks';
import { Resampler, scaledClock, type AudioFormat } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { CallerSimulator, type CallerLog } from './caller.js';
import {
  agentHangupScript,
  formatDurationMs,
  formatRate,
  longReplyScript,
  slowToolScript,
  RealtimeSimulator,
  type RealtimeSimulatorOptions,
  type SimulatedSession,
} from './simulator/index.js';
import { inboundLines, replayableFrames, traceCarrier, traceExpect, traceHazards, type Trace } from './trace.js';
import { notReplayed, traceFormat } from './replay-trace.js';
import {
  attributeAgain,
  base64Length,
  bridgeCancelLimits,
  OutputAttribution,
  type AttributionStep,
} from './attribution.js';
import { answerGate, answerHeard, replyGate } from './reply-gate.js';
import { modeOfSessionUpdates, type TurnDetectionMode } from './turn-detection.js';
import { localBridge, onLocalClock, remoteBridge, remoteClockError, type Bridge } from './bridge.js';
import { INJECTED_ITEM, injectedChunkFlags, withoutInjected } from './call-features.js';

/**
 * Sizes of the model's audio deltas, ms, for a trace with the `uneven-deltas` hazard: a few
 * samples, sizes that are no whole frame, and deltas of several seconds.
 */
export const UNEVEN_DELTAS_MS: readonly number[] = [7.3, 0.4, 131, 2600, 19.9, 1, 333.3, 4100, 55];

export { bridgeCancelLimits, OutputAttribution } from './attribution.js';
export { traceFormat } from './replay-trace.js';
export { conformanceAgent, INJECTED_ITEM } from './call-features.js';
export type { RemoteObservation } from './bridge.js';

/**
 * How long, at most, the end of a call may take to show everywhere once the caller hung up (real
 * ms): call_end, the carrier socket closed on the bridge's side, the model socket closed. Only a
 * bridge that never winds down waits it out.
 */
export const WIND_DOWN_MS = 30_000;

/**
 * How long, at most, the caller of a call the agent ends (`agent-hangup`) stays on the line past the
 * trace's end for the bridge to hang up, stream ms (and never less than 15 s real): longer than a
 * hang-up after playback waits by default (15 s).
 */
export const AGENT_HANGUP_WAIT_MS = 25_000;

/** Default replay speed: fast enough for CI, slow enough that loopback latency stays small on the stream clock. */
export const DEFAULT_SPEED = 5;

/** How long before the end of a `slow-tool` trace the caller waits for the answer, trace ms. */
const ANSWER_WAIT_FROM_END_MS = 500;

export type ReplayOptions = {
  /** Replay speed: 1 is real time. Timers of the carrier, the simulator and the bridge's clock all scale. Default 5. */
  speed?: number;
  /** Extra realtime-simulator options (script, VAD, ...). */
  simulator?: Partial<RealtimeSimulatorOptions>;
  /** Send a few malformed frames a quarter into the call. Default true. */
  injectMalformed?: boolean;
  /**
   * The longest wait, after the caller hung up, for the call to wind down (stream ms; never less
   * than {@link WIND_DOWN_MS} real ms): the wait ends as soon as it has. Default 3000.
   */
  drainMs?: number;
  /** Called with progress lines (for the CLI). */
  onProgress?: (line: string) => void;
  /**
   * The session's turn detection (see `turnDetectionConfig`). Default `server_vad`: the bridge,
   * not the model, cancels the reply at a barge-in. A bridge in another process (`startRemoteCall`)
   * is told the mode and may set up its own session otherwise: the result says what it ran.
   */
  turnDetection?: TurnDetectionMode;
  /**
   * Puts something between the bridge and the model (say, a relay that adds latency): given the
   * simulator's URL, the URL the bridge connects to instead, and how to take it down after the
   * call. Default: the bridge connects to the simulator directly.
   */
  modelLink?: (simulatorUrl: string) => Promise<{ url: string; close(): Promise<void> }>;
};

/** Model-side events on the replay clock (stream ms). Client events are prefixed `client:`. */
export type ModelTimelineEntry = {
  at: number;
  type: string;
  itemId?: string;
  responseId?: string;
  status?: string;
  audioEndMs?: number;
};

const TIMELINE_EVENTS = new Set([
  'input_audio_buffer.speech_started',
  'input_audio_buffer.speech_stopped',
  'response.created',
  'response.done',
  'conversation.item.truncated',
]);

export type RecordedEmit = { at: number; name: string; args: unknown[] };

export type ReplayResult = {
  adapter: string;
  capabilities: ConformanceAdapter['capabilities'];
  trace: Trace;
  /** The audio format on the carrier's wire: the adapter's `carrierFormat`, else the trace's. */
  carrierFormat: AudioFormat;
  /** Whether the carrier's wire carries its own stream id (the adapter's `carriesStreamId`). */
  carriesStreamId: boolean;
  speed: number;
  /**
   * The bridge ran in another process (`startRemoteCall`): its times were stamped on its own
   * clock, which may count whole milliseconds, and set against this one after the call.
   */
  remoteBridge?: true;
  /** The turn detection asked for. */
  turnDetection: TurnDetectionMode;
  /** The turn detection the session set up (from its `session.update`s), when it set one. */
  sessionTurnDetection: TurnDetectionMode | undefined;
  /** Every event the transport emitted, in order. */
  emitted: RecordedEmit[];
  /** The realtime simulator's record of the model side (null when the model never connected). */
  model: SimulatedSession | null;
  /** Model-side events on the replay clock. */
  timeline: ModelTimelineEntry[];
  /** When the model received its first input audio (stream ms). */
  firstModelAudioAt: number | undefined;
  /** Stream time of the last trace frame sent. */
  lastFrameAt: number | undefined;
  carrier: CallerLog & { framesSent: number; malformedSent: number };
  /** When the transport emitted `call_end`, and when the model socket closed (stream ms). */
  callEndedAt: number | undefined;
  modelClosedAt: number | undefined;
  /** The carrier socket's listeners left on the bridge side after the call. */
  bridgeSocketListeners: number;
  transportStatus: string;
  /** The transport's metrics, when it exposes them. */
  metrics: Record<string, unknown> | undefined;
  /**
   * Items of responses the bridge cancelled at a barge-in and then dropped audio of (it came after
   * the barge-in): for each, the ms of it the bridge had before (see {@link bridgeCancelLimits}).
   */
  droppedAfterCancel: Record<string, number>;
  /** Errors the replay itself ran into (not the adapter's `error` events). */
  failures: string[];
  durationMs: number;
  /**
   * The call features the bridge's transport has, where the replayer can tell (a bridge in this
   * process): `playAudio` (injected audio) and `endAfterPlayback` (hang-up after the goodbye).
   */
  transportFeatures?: { playAudio: boolean; endAfterPlayback: boolean };
  /**
   * Why the trace was not replayed through this adapter (a trace of another carrier: "a telnyx
   * trace"): every check is then n/a with this detail.
   */
  notReplayed?: string;
};

export async function replayTrace(
  adapter: ConformanceAdapter,
  trace: Trace,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const speed = options.speed ?? DEFAULT_SPEED;
  const turnDetection = options.turnDetection ?? 'server_vad';
  // A trace of another carrier replays only through an adapter of that carrier, frame for frame.
  const carrierName = traceCarrier(trace);
  const verbatim = carrierName !== 'twilio';
  if (verbatim && adapter.traceCarrier !== carrierName)
    return notReplayed(adapter, trace, `a ${carrierName} trace`, turnDetection);
  const protocol = verbatim ? adapter.createProtocol?.() : undefined;
  if (verbatim && !protocol)
    return notReplayed(
      adapter,
      trace,
      `a ${carrierName} trace, and the adapter has no createProtocol() to read it`,
      turnDetection,
    );
  // The facts (and hazards) of the trace, read with the carrier's own protocol where it is not Twilio's.
  traceExpect(trace, protocol ? { protocol } : {});
  const hazards = new Set(traceHazards(trace, protocol ? { protocol } : {}));
  const clearEchoDelayMs = hazards.has('marks-after-clear') ? 300 : 0;
  const drainMs = options.drainMs ?? 3000;
  /** Stream ms since the replay started; the bridge's timers run on it too. */
  const clock = scaledClock(speed);
  const now = () => clock.now();
  const carrierFormat = adapter.carrierFormat ?? traceFormat(trace);
  const realDelay = (streamMs: number) => Math.max(0, streamMs / speed);
  const failures: string[] = [];

  const simulator = new RealtimeSimulator({
    speed,
    ...(hazards.has('early-media') ? { acceptDelayMs: 1500 } : {}),
    ...(hazards.has('long-reply') ? { script: longReplyScript() } : {}),
    ...(hazards.has('agent-hangup') ? { script: agentHangupScript() } : {}),
    ...(hazards.has('slow-tool') ? { script: slowToolScript() } : {}),
    ...(hazards.has('uneven-deltas') ? { deltaMs: UNEVEN_DELTAS_MS } : {}),
    ...options.simulator,
  });
  await simulator.start();
  let model: SimulatedSession | null = null;
  let modelClosedAt: number | undefined;
  const attribution = new OutputAttribution();
  // What the attribution was told, in order, to tell it again once the bridge's record is known.
  const attributionLog: AttributionStep[] = [];
  // What the model sent of each item, ms, and the last item it sent audio of (the slow tool's answer gate).
  const modelMsByItem = new Map<string, number>();
  let lastModelItem: string | undefined;
  // Each step on the stream clock: a cut or a clear takes effect where the bridge sent it in the
  // carrier's stream, however late a starved carrier reads the frames before it.
  const modelSent = (itemId: string, ms: number) => {
    modelMsByItem.set(itemId, (modelMsByItem.get(itemId) ?? 0) + ms);
    lastModelItem = itemId;
    const at = now();
    attributionLog.push({ step: 'sent', itemId, ms, at });
    attribution.modelSent(itemId, ms, at);
  };
  const cut = (itemIds: string[]) => {
    const at = now();
    attributionLog.push({ step: 'cut', itemIds, at });
    attribution.cut(itemIds, at);
  };
  let firstModelAudioAt: number | undefined;
  const timeline: ModelTimelineEntry[] = [];
  simulator.on('session', (session) => {
    model ??= session;
    if (session !== model) return;
    session.on(
      'server_event',
      (event: {
        type?: string;
        item_id?: string;
        delta_bytes?: number;
        response?: { id?: string; status?: string };
      }) => {
        if (event.type === 'response.output_audio.delta') {
          // The session records an audio delta by its size (`delta_bytes`), not its payload.
          if (event.item_id && typeof event.delta_bytes === 'number') {
            modelSent(event.item_id, formatDurationMs(session.outputFormat, event.delta_bytes));
          }
          return;
        }
        if (event.type && TIMELINE_EVENTS.has(event.type)) {
          timeline.push({
            at: now(),
            type: event.type,
            itemId: event.item_id,
            responseId: event.response?.id,
            status: event.response?.status,
          });
        }
      },
    );
    session.on(
      'client_event',
      (event: { type?: string; item_id?: string; audio_end_ms?: number; response_id?: string }) => {
        const type = event.type;
        if (type === 'input_audio_buffer.append') firstModelAudioAt ??= now();
        else if (type === 'response.cancel')
          timeline.push({
            at: now(),
            type: `client:${type}`,
            ...(event.response_id ? { responseId: event.response_id } : {}),
          });
        else if (type === 'conversation.item.truncate') {
          if (event.item_id) cut([event.item_id]);
          timeline.push({ at: now(), type: `client:${type}`, itemId: event.item_id, audioEndMs: event.audio_end_ms });
        }
      },
    );
    void session.closed.then(() => {
      modelClosedAt = now();
    });
  });

  let link: { url: string; close(): Promise<void> } | undefined;
  let bridge: Bridge;
  try {
    link = options.modelLink ? await options.modelLink(simulator.url) : undefined;
    const modelUrl = `${link?.url ?? simulator.url}?model=gpt-realtime`;
    bridge = adapter.startRemoteCall
      ? await remoteBridge(adapter, modelUrl, speed, now, turnDetection)
      : await localBridge(adapter, modelUrl, now, clock, failures, turnDetection);
  } catch (error) {
    await link?.close();
    await simulator.stop();
    throw error;
  }

  // The carrier side.
  const caller = new CallerSimulator({
    peer: adapter.createPeerSimulator(),
    createPeer: () => adapter.createPeerSimulator(),
    // A carrier that drops the marks pending at a clear (`clear-without-echo`) acknowledges none of them.
    ackOnClear:
      hazards.has('clear-without-echo') && adapter.capabilities.ackOnClear === 'echo-pending'
        ? 'none'
        : adapter.capabilities.ackOnClear,
    twilioFrames: adapter.twilioFrames ?? false,
    format: carrierFormat,
    speed,
    now,
    clearEchoDelayMs,
    markAcks: !hazards.has('no-mark-acks'),
    currentItem: (durationMs, frame) => {
      attributionLog.push({ step: 'plays', ms: durationMs, frame: frame.index, sentAt: frame.sentAt });
      return attribution.carrierPlays(durationMs, frame.sentAt);
    },
    onCommand: (command, _at, frame) => {
      if (command.type !== 'clear') return;
      attributionLog.push({ step: 'clear', frame: frame.index, sentAt: frame.sentAt });
      attribution.clear(frame.sentAt);
    },
    frameSentAt: bridge.frameSentAt,
    startTakenAt: bridge.startTakenAt,
  });
  let played: Awaited<ReturnType<CallerSimulator['play']>> = {
    framesSent: 0,
    malformedSent: 0,
    lastFrameAt: undefined,
  };
  try {
    await caller.connect(bridge.mediaUrl);
    // A quarter into the call: of all the carrier's lines when they go out as recorded (binary and text ones too).
    const injectMalformedAt =
      options.injectMalformed === false
        ? -1
        : Math.floor((verbatim ? inboundLines(trace).length : trace.frames.length) / 4);
    played = verbatim
      ? await caller.playVerbatim(inboundLines(trace), {
          ...(protocol ? { protocol: adapter.createProtocol!() } : {}),
          injectMalformedAt,
          onProgress: options.onProgress,
          name: trace.header.name,
        })
      : await caller.play(
          { ...trace, frames: replayableFrames(trace) },
          {
            realTimeSilence: adapter.mediaTimestamps === false,
            // A barge-in needs a reply to speak over: on a starved machine the caller waits for it.
            ...(hazards.has('barge-in')
              ? {
                  holdAt: replyGate({
                    utterances: traceExpect(trace).utterances,
                    chunksReceived: () => caller.log.chunks.length,
                    realNow: () => performance.now(),
                  }),
                }
              : {}),
            // The answer after a slow tool comes late by design: the caller hears it before hanging up.
            ...(hazards.has('slow-tool')
              ? {
                  holdAt: answerGate({
                    fromT: traceExpect(trace).durationMs - ANSWER_WAIT_FROM_END_MS,
                    answered: () =>
                      answerHeard({
                        responsesDone: timeline.filter((e) => e.type === 'response.done').length,
                        chunks: caller.log.chunks,
                        now: now(),
                        answer:
                          lastModelItem === undefined
                            ? undefined
                            : { itemId: lastModelItem, modelMs: modelMsByItem.get(lastModelItem) ?? 0 },
                      }),
                    realNow: () => performance.now(),
                  }),
                }
              : {}),
            inOrder: adapter.mediaSequence === false,
            injectMalformedAt,
            onProgress: options.onProgress,
          },
        );
  } catch (error) {
    failures.push(`the carrier could not play the call: ${(error as Error)?.message ?? String(error)}`);
  }

  // Let the call wind down: the carrier hangs up (Twilio closes its socket after `stop`). Then wait
  // for the end of the call everywhere (call_end, the carrier socket closed on the bridge's side,
  // the model socket closed) before looking: on a starved machine the closing handshakes alone
  // may take seconds, and a bridge that does wind down is judged only once it had the time.
  if (hazards.has('agent-hangup')) {
    // The agent ends this call: past the trace's end the caller stays on the line (quiet) until the
    // bridge hangs up, for as long as a hang-up after playback may wait, so that a late reply on a
    // starved machine is not taken for a bridge that never hangs up.
    const until = performance.now() + Math.max(15_000, realDelay(AGENT_HANGUP_WAIT_MS));
    const hangsUp = bridge.transportFeatures?.().endAfterPlayback ?? true;
    while (hangsUp && caller.log.closedAt === undefined && performance.now() < until) await sleep(10);
  }
  await sleep(realDelay(hazards.has('no-stop') ? 200 : 100));
  caller.hangUp();
  const deadline = performance.now() + Math.max(WIND_DOWN_MS, realDelay(drainMs));
  while (performance.now() < deadline && (!bridge.ended() || (model && modelClosedAt === undefined))) {
    await sleep(10);
  }
  const observed = await bridge.observe(Math.max(1000, deadline - performance.now()));
  // A bridge in another process stamps with its own clock: set against this one first.
  const seen = observed.framesSentAt ? onLocalClock(observed, remoteClockError(observed, caller.log.wire)) : observed;
  failures.push(...seen.failures);
  // The audio of a response the bridge cancelled that reached it after the barge-in is dropped by
  // design: once the bridge's record shows such a response, the carrier's chunks are attributed
  // again without it (the live attribution expected it, and would hand later items' audio to it).
  // So they are where a bridge in another process reports only now when it sent each frame.
  const sessionSeen = model as SimulatedSession | null;
  const limits = sessionSeen
    ? bridgeCancelLimits(seen.emitted, (base64) => formatDurationMs(sessionSeen.outputFormat, base64Length(base64)))
    : new Map<string, number>();
  // The bridge's injected audio (the filler of the slow tool) is no model item's: its chunks are
  // set apart, and so is the clear with which the bridge stopped it.
  const injected = injectedChunkFlags(caller.log.chunks, seen.emitted, carrierFormat);
  const anyInjected = injected.some(Boolean);
  if ((limits.size > 0 || seen.framesSentAt || anyInjected) && sessionSeen) {
    const modelRate = formatRate(sessionSeen.outputFormat);
    const slack =
      modelRate === carrierFormat.sampleRate
        ? 0
        : (new Resampler(modelRate, carrierFormat.sampleRate).delaySamples * 1000) / carrierFormat.sampleRate;
    const sentAtOf = (frame: number) => seen.framesSentAt?.[frame] ?? bridge.frameSentAt?.(frame);
    const kept = anyInjected
      ? withoutInjected(attributionLog, injected, seen.emitted, timeline, sentAtOf)
      : { steps: attributionLog, chunks: caller.log.chunks.map((_, i) => i) };
    const items = attributeAgain(kept.steps, { limits, limitSlackMs: slack, sentAtOf });
    caller.log.chunks.forEach((chunk, i) => {
      chunk.itemId = injected[i] ? INJECTED_ITEM : undefined;
    });
    kept.chunks.forEach((index, k) => {
      caller.log.chunks[index]!.itemId = items[k];
    });
  }
  // A bridge in another process tells only now when it sent each frame: judge its clears at that
  // moment; and clears are judged again on chunks attributed again.
  if (seen.framesSentAt) caller.rejudgeClears((index) => seen.framesSentAt![index]);
  else if (limits.size > 0 || anyInjected) caller.rejudgeClears((index) => bridge.frameSentAt?.(index));
  // When the bridge received each acknowledgement, where it tells: what it could know of playback.
  const receivedAtOf = (frame: number) => seen.framesReceivedAt?.[frame] ?? bridge.frameReceivedAt?.(frame);
  for (const ack of caller.log.acks) {
    const receivedAt = receivedAtOf(ack.frame);
    if (receivedAt !== undefined) ack.receivedAt = receivedAt;
  }

  const result: ReplayResult = {
    adapter: adapter.name,
    capabilities: adapter.capabilities,
    trace,
    carrierFormat,
    carriesStreamId: adapter.carriesStreamId ?? true,
    speed,
    ...(adapter.startRemoteCall ? { remoteBridge: true as const } : {}),
    turnDetection,
    sessionTurnDetection: sessionSeen ? modeOfSessionUpdates(sessionSeen.sessionUpdates) : undefined,
    emitted: seen.emitted,
    model,
    timeline,
    firstModelAudioAt,
    lastFrameAt: played.lastFrameAt,
    carrier: { ...caller.log, framesSent: played.framesSent, malformedSent: played.malformedSent },
    callEndedAt: seen.callEndedAt,
    modelClosedAt,
    bridgeSocketListeners: seen.carrierListenersLeft,
    transportStatus: seen.transportStatus,
    metrics: seen.metrics,
    droppedAfterCancel: Object.fromEntries(limits),
    failures,
    durationMs: now(),
    ...(bridge.transportFeatures ? { transportFeatures: bridge.transportFeatures() } : {}),
  };

  caller.dispose();
  await bridge.close();
  await link?.close();
  await simulator.stop();
  return result;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
