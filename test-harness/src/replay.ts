/**
 * The replayer: plays a recorded carrier trace into an adapter over a real loopback WebSocket,
 * plays the carrier's side of the call (a playout clock that acknowledges marks and honours
 * `clear`), and drives a `RealtimeSession` against the realtime simulator. Everything observed is
 * returned for the checks.
 */
import { RealtimeAgent, RealtimeSession, tool, type RealtimeTransportLayer } from '@openai/agents-realtime';
import { performance } from 'node:perf_hooks';
import {
  Resampler,
  scaledClock,
  type AudioFormat,
  type BridgeObservation,
  type Clock,
  type ConformanceAdapter,
  type RemoteBridgeCall,
} from '@switchboard/core';
import { TwilioMediaStreamProtocol } from '@switchboard/twilio';
import { WebSocketServer, type WebSocket } from 'ws';
import { CallerSimulator, type CallerLog } from './caller.js';
import { z } from 'zod';
import { formatDurationMs, formatRate, longReplyScript, RealtimeSimulator, type RealtimeSimulatorOptions, type SimulatedSession } from './simulator/index.js';
import type { Trace } from './trace.js';

/**
 * Sizes of the model's audio deltas, ms, for a trace with the `uneven-deltas` hazard: a few
 * samples, sizes that are no whole frame, and deltas of several seconds.
 */
export const UNEVEN_DELTAS_MS: readonly number[] = [7.3, 0.4, 131, 2600, 19.9, 1, 333.3, 4100, 55];

/** Default replay speed: fast enough for CI, slow enough that loopback latency stays small on the stream clock. */
export const DEFAULT_SPEED = 5;

export type ReplayOptions = {
  /** Replay speed: 1 is real time. Timers of the carrier, the simulator and the bridge's clock all scale. Default 5. */
  speed?: number;
  /** Extra realtime-simulator options (script, VAD, ...). */
  simulator?: Partial<RealtimeSimulatorOptions>;
  /** Send a few malformed frames a quarter into the call. Default true. */
  injectMalformed?: boolean;
  /** How long to wait, after the last frame, for the call to wind down (stream ms). Default 3000. */
  drainMs?: number;
  /** Called with progress lines (for the CLI). */
  onProgress?: (line: string) => void;
};

/** Model-side events on the replay clock (stream ms). Client events are prefixed `client:`. */
export type ModelTimelineEntry = { at: number; type: string; itemId?: string; responseId?: string; status?: string; audioEndMs?: number };

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
};

/** The agent every replay runs (and the relay benchmark): a weather tool the simulator's script calls. */
export function conformanceAgent(): RealtimeAgent {
  return new RealtimeAgent({
    name: 'Conformance agent',
    instructions: 'Answer briefly.',
    tools: [
      tool({
        name: 'weather',
        description: 'Weather in a city.',
        parameters: z.object({ location: z.string() }),
        execute: async ({ location }) => `The weather in ${location} is sunny.`,
      }),
    ],
  });
}

export async function replayTrace(adapter: ConformanceAdapter, trace: Trace, options: ReplayOptions = {}): Promise<ReplayResult> {
  const speed = options.speed ?? DEFAULT_SPEED;
  const hazards = new Set(trace.header.hazards);
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
    ...(hazards.has('uneven-deltas') ? { deltaMs: UNEVEN_DELTAS_MS } : {}),
    ...options.simulator,
  });
  await simulator.start();
  let model: SimulatedSession | null = null;
  let modelClosedAt: number | undefined;
  const attribution = new OutputAttribution();
  // What the attribution was told, in order, to tell it again once the bridge's record is known.
  const attributionLog: AttributionStep[] = [];
  const modelSent = (itemId: string, ms: number) => {
    attributionLog.push({ step: 'sent', itemId, ms });
    attribution.modelSent(itemId, ms);
  };
  const cut = (itemIds: string[]) => {
    attributionLog.push({ step: 'cut', itemIds });
    attribution.cut(itemIds);
  };
  let firstModelAudioAt: number | undefined;
  const timeline: ModelTimelineEntry[] = [];
  simulator.on('session', (session) => {
    model ??= session;
    if (session !== model) return;
    session.on('server_event', (event: { type?: string; item_id?: string; delta_bytes?: number; response?: { id?: string; status?: string } }) => {
      if (event.type === 'response.output_audio.delta') {
        // The session records an audio delta by its size (`delta_bytes`), not its payload.
        if (event.item_id && typeof event.delta_bytes === 'number') {
          modelSent(event.item_id, formatDurationMs(session.outputFormat, event.delta_bytes));
        }
        return;
      }
      if (event.type && TIMELINE_EVENTS.has(event.type)) {
        timeline.push({ at: now(), type: event.type, itemId: event.item_id, responseId: event.response?.id, status: event.response?.status });
      }
    });
    session.on('client_event', (event: { type?: string; item_id?: string; audio_end_ms?: number }) => {
      const type = event.type;
      if (type === 'input_audio_buffer.append') firstModelAudioAt ??= now();
      else if (type === 'response.cancel') timeline.push({ at: now(), type: `client:${type}` });
      else if (type === 'conversation.item.truncate') {
        if (event.item_id) cut([event.item_id]);
        timeline.push({ at: now(), type: `client:${type}`, itemId: event.item_id, audioEndMs: event.audio_end_ms });
      }
    });
    void session.closed.then(() => {
      modelClosedAt = now();
    });
  });

  const modelUrl = `${simulator.url}?model=gpt-realtime`;
  let bridge: Bridge;
  try {
    bridge = adapter.startRemoteCall
      ? await remoteBridge(adapter, modelUrl, speed, now)
      : await localBridge(adapter, modelUrl, now, clock, failures);
  } catch (error) {
    await simulator.stop();
    throw error;
  }

  // The carrier side.
  const caller = new CallerSimulator({
    peer: adapter.createPeerSimulator(),
    // A carrier that drops the marks pending at a clear (`clear-without-echo`) acknowledges none of them.
    ackOnClear: hazards.has('clear-without-echo') && adapter.capabilities.ackOnClear === 'echo-pending' ? 'none' : adapter.capabilities.ackOnClear,
    twilioFrames: adapter.twilioFrames ?? false,
    format: carrierFormat,
    speed,
    now,
    clearEchoDelayMs,
    markAcks: !hazards.has('no-mark-acks'),
    currentItem: (durationMs) => {
      attributionLog.push({ step: 'plays', ms: durationMs });
      return attribution.carrierPlays(durationMs);
    },
    onCommand: (command) => {
      if (command.type !== 'clear') return;
      attributionLog.push({ step: 'clear' });
      attribution.clear();
    },
    frameSentAt: bridge.frameSentAt,
  });
  let played: Awaited<ReturnType<CallerSimulator['play']>> = { framesSent: 0, malformedSent: 0, lastFrameAt: undefined };
  try {
    await caller.connect(bridge.mediaUrl);
    played = await caller.play(trace, {
      realTimeSilence: adapter.mediaTimestamps === false,
      inOrder: adapter.mediaSequence === false,
      injectMalformedAt: options.injectMalformed === false ? -1 : Math.floor(trace.frames.length / 4),
      onProgress: options.onProgress,
    });
  } catch (error) {
    failures.push(`the carrier could not play the call: ${(error as Error)?.message ?? String(error)}`);
  }

  // Let the call wind down: the carrier hangs up (Twilio closes its socket after `stop`).
  await sleep(realDelay(hazards.has('no-stop') ? 200 : 100));
  caller.hangUp();
  const deadline = performance.now() + Math.max(2000, realDelay(drainMs));
  while (performance.now() < deadline && (!bridge.ended() || (model && modelClosedAt === undefined))) {
    await sleep(10);
  }
  if (model && modelClosedAt === undefined) {
    await Promise.race([(model as SimulatedSession).closed, sleep(500)]);
  }
  const seen = await bridge.observe(Math.max(1000, deadline - performance.now()));
  failures.push(...seen.failures);
  // The audio of a response the bridge cancelled that reached it after the barge-in is dropped by
  // design: once the bridge's record shows such a response, the carrier's chunks are attributed
  // again without it (the live attribution expected it, and would hand later items' audio to it).
  const sessionSeen = model as SimulatedSession | null;
  const limits = sessionSeen ? bridgeCancelLimits(seen.emitted, (base64) => formatDurationMs(sessionSeen.outputFormat, base64Length(base64))) : new Map<string, number>();
  if (limits.size > 0 && sessionSeen) {
    const modelRate = formatRate(sessionSeen.outputFormat);
    const slack = modelRate === carrierFormat.sampleRate ? 0 : (new Resampler(modelRate, carrierFormat.sampleRate).delaySamples * 1000) / carrierFormat.sampleRate;
    const again = new OutputAttribution({ limits, limitSlackMs: slack });
    const chunks = caller.log.chunks;
    let next = 0;
    for (const step of attributionLog) {
      if (step.step === 'sent') again.modelSent(step.itemId, step.ms);
      else if (step.step === 'cut') again.cut(step.itemIds);
      else if (step.step === 'clear') again.clear();
      else {
        const itemId = again.carrierPlays(step.ms);
        const chunk = chunks[next++];
        if (chunk) chunk.itemId = itemId;
      }
    }
  }
  // A bridge in another process tells only now when it sent each frame: judge its clears at that
  // moment; and clears are judged again on chunks attributed again.
  if (seen.framesSentAt) caller.rejudgeClears((index) => seen.framesSentAt![index]);
  else if (limits.size > 0) caller.rejudgeClears((index) => bridge.frameSentAt?.(index));

  const result: ReplayResult = {
    adapter: adapter.name,
    capabilities: adapter.capabilities,
    trace,
    carrierFormat,
    carriesStreamId: adapter.carriesStreamId ?? true,
    speed,
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
  };

  caller.dispose();
  await bridge.close();
  await simulator.stop();
  return result;
}

/** The bridge side of a replay: where the carrier connects, and what the bridge saw. */
type Bridge = {
  mediaUrl: string;
  /** When the bridge sent its n-th frame to the carrier (stream ms), where known. */
  frameSentAt?: (index: number) => number | undefined;
  /** Whether the transport has ended the call, as far as can be known before `observe` (true when it cannot be). */
  ended(): boolean;
  /** What the bridge observed, times in stream ms. */
  observe(timeoutMs: number): Promise<RemoteObservation>;
  close(): Promise<void>;
};

/**
 * The bridge in this process: a loopback WebSocket server whose connection handler builds the
 * adapter's transport and runs a `RealtimeSession` on it.
 */
async function localBridge(
  adapter: ConformanceAdapter,
  modelUrl: string,
  now: () => number,
  clock: Clock,
  failures: string[],
): Promise<Bridge> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const emitted: RecordedEmit[] = [];
  let transport: (RealtimeTransportLayer & { metrics?: unknown }) | undefined;
  let session: RealtimeSession | undefined;
  let bridgeSocket: WebSocket | undefined;
  let callEndedAt: number | undefined;
  let baselineListeners = 0;
  // When the bridge sent each frame: the carrier reads what the caller heard at the moment the
  // bridge sent its `clear`, so loopback latency does not count against the adapter.
  const sentAt: number[] = [];
  server.on('connection', (socket) => {
    bridgeSocket = socket;
    baselineListeners = socketListeners(socket);
    const send = socket.send.bind(socket) as (...args: unknown[]) => void;
    (socket as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
      sentAt.push(now());
      send(...args);
    };
    try {
      if (!adapter.createTransport) throw new Error('the adapter has neither createTransport nor startRemoteCall');
      transport = adapter.createTransport({ connection: socket, url: modelUrl, now, clock });
    } catch (error) {
      failures.push(`createTransport threw: ${(error as Error).message}`);
      socket.close();
      return;
    }
    instrument(transport, emitted, now, () => {
      callEndedAt ??= now();
    });
    // The bridge, not the model, is responsible for cancelling on barge-in: the check sees it.
    session = new RealtimeSession(conformanceAgent(), {
      transport,
      model: 'gpt-realtime',
      config: { audio: { input: { turnDetection: { type: 'server_vad', interruptResponse: false } } } },
    });
    session.on('error', () => {
      // Recorded through the transport's own `error` events.
    });
    session.connect({ apiKey: 'sk-conformance' }).catch((error: unknown) => {
      failures.push(`session.connect failed: ${(error as Error)?.message ?? String(error)}`);
    });
  });
  return {
    mediaUrl: `ws://127.0.0.1:${port}/media`,
    frameSentAt: (index) => sentAt[index],
    ended: () => callEndedAt !== undefined,
    observe: async () => ({
      emitted,
      callEndedAt,
      carrierListenersLeft: bridgeSocket ? socketListeners(bridgeSocket) - baselineListeners : 0,
      transportStatus: (transport as { status?: string } | undefined)?.status ?? 'none',
      metrics: transport?.metrics ? structuredClone(transport.metrics as Record<string, unknown>) : undefined,
      failures: [],
    }),
    close: async () => {
      session?.close();
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * What a bridge in another process may report beyond a {@link BridgeObservation}: when it sent
 * each frame to the carrier (wall-clock ms, in the order sent), so that its clears are judged at
 * the moment it sent them, as a local bridge's are, and not when loopback delivered them.
 */
export type RemoteObservation = BridgeObservation & { framesSentAt?: number[] };

/**
 * A bridge in another process (a Worker in workerd): the adapter starts the call and reports
 * what its transport emitted, on the wall clock, which is turned into stream time here.
 */
async function remoteBridge(adapter: ConformanceAdapter, modelUrl: string, speed: number, now: () => number): Promise<Bridge> {
  // Sub-millisecond wall time: the bridge's own clock may be whole milliseconds (workerd's is), and
  // a whole-millisecond origin here would shift every remote event up to `speed` stream ms later.
  const wallOrigin = performance.timeOrigin + performance.now() - now() / speed;
  const toStream = (wall: number) => (wall - wallOrigin) * speed;
  const call: RemoteBridgeCall = await adapter.startRemoteCall!({ modelUrl, speed });
  return {
    mediaUrl: call.mediaUrl,
    // Only `observe` can tell: it waits for the call's end itself.
    ended: () => true,
    observe: async (timeoutMs) => {
      const seen: RemoteObservation = await call.observe(timeoutMs);
      return {
        ...seen,
        ...(seen.framesSentAt ? { framesSentAt: seen.framesSentAt.map(toStream) } : {}),
        emitted: seen.emitted.map((e) => ({ ...e, at: toStream(e.at) })),
        callEndedAt: seen.callEndedAt === undefined ? undefined : toStream(seen.callEndedAt),
      };
    },
    close: async () => undefined,
  };
}

/**
 * Which model item each chunk of the carrier's audio belongs to. The carrier gets the model's
 * audio in the order the model sent it, however long the bridge holds it (a paced bridge holds
 * seconds), so chunks are matched to the model's audio first in, first out, by duration. An item
 * ends at its last chunk (frame padding and a resampler's tail stay with it). Once the bridge cuts
 * an item (a truncate) or the carrier is told to clear, the audio of that item, and at a clear of
 * every item so far, is no longer expected: later deltas of them are not counted.
 *
 * `limits` caps what is expected of an item, ms: the audio of a response the bridge cancelled at
 * a barge-in that reached the bridge only after it (see {@link bridgeCancelLimits}) is dropped by
 * design. A capped item closes once less than `limitSlackMs` of it is left (the resampler's tail
 * that the bridge discarded with the rest).
 */
export class OutputAttribution {
  #queue: Array<{ itemId: string; ms: number }> = [];
  readonly #cut = new Set<string>();
  readonly #seen = new Set<string>();
  readonly #limits: ReadonlyMap<string, number>;
  readonly #limitSlackMs: number;
  /** Audio counted so far per capped item, ms. */
  readonly #counted = new Map<string, number>();

  constructor(options: { limits?: ReadonlyMap<string, number>; limitSlackMs?: number } = {}) {
    this.#limits = options.limits ?? new Map();
    this.#limitSlackMs = options.limitSlackMs ?? 0;
  }

  /** The model sent `ms` of audio for `itemId`. */
  modelSent(itemId: string, ms: number): void {
    if (this.#cut.has(itemId)) return;
    this.#seen.add(itemId);
    const limit = this.#limits.get(itemId);
    if (limit !== undefined) {
      const counted = this.#counted.get(itemId) ?? 0;
      ms = Math.min(ms, Math.max(0, limit - counted));
      this.#counted.set(itemId, counted + ms);
      if (ms <= 0) return;
    }
    const last = this.#queue.at(-1);
    if (last?.itemId === itemId) last.ms += ms;
    else this.#queue.push({ itemId, ms });
  }

  /** The bridge cut these items: what is left of them will not play. */
  cut(itemIds: Iterable<string>): void {
    for (const id of itemIds) this.#cut.add(id);
    this.#queue = this.#queue.filter((entry) => !this.#cut.has(entry.itemId));
  }

  /** The carrier was told to clear: nothing the model sent so far will play any more. */
  clear(): void {
    this.cut([...this.#seen]);
  }

  /** The item of the next `durationMs` of audio the carrier got, if any is expected. */
  carrierPlays(durationMs: number): string | undefined {
    // An item is done once the model has moved on to the next and less than a millisecond of it is
    // left (resampling rounds) or none (padding). While it is the last the model sent, more of it
    // may still come, and audio beyond it is its padding.
    while (this.#queue.length > 1 && this.#queue[0]!.ms < 1 + (this.#limits.has(this.#queue[0]!.itemId) ? this.#limitSlackMs : 0)) this.#queue.shift();
    const head = this.#queue[0];
    if (!head) return undefined;
    head.ms -= durationMs;
    return head.itemId;
  }
}

type AttributionStep =
  | { step: 'sent'; itemId: string; ms: number }
  | { step: 'cut'; itemIds: string[] }
  | { step: 'clear' }
  | { step: 'plays'; ms: number };

/** Bytes encoded by a base64 text. */
function base64Length(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

/**
 * For each item of a response the bridge cancelled at a barge-in and then dropped audio of: the
 * ms of that item the bridge had before the barge-in, which is all the carrier can get. Read from
 * the events the bridge's transport emitted, in the order it handled them: the response it had
 * seen created and not yet done when it emitted `audio_interrupted` is the one it cancelled, and
 * its audio deltas handled after that moment are dropped (`deltaMs` gives a delta's length).
 */
export function bridgeCancelLimits(emitted: readonly RecordedEmit[], deltaMs: (base64: string) => number): Map<string, number> {
  let active: string | undefined;
  const cancelled = new Set<string>();
  const forwarded = new Map<string, number>();
  const limits = new Map<string, number>();
  for (const { name, args } of emitted) {
    const event = args[0] as { response?: { id?: string }; response_id?: string; item_id?: string; delta?: string } | undefined;
    if (name === 'response.created') {
      active = event?.response?.id;
    } else if (name === 'response.done') {
      if (event?.response?.id === active) active = undefined;
    } else if (name === 'audio_interrupted') {
      if (active !== undefined) cancelled.add(active);
      active = undefined;
    } else if (name === 'response.output_audio.delta' && event?.item_id && typeof event.delta === 'string') {
      const ms = deltaMs(event.delta);
      if (event.response_id !== undefined && cancelled.has(event.response_id)) limits.set(event.item_id, forwarded.get(event.item_id) ?? 0);
      else forwarded.set(event.item_id, (forwarded.get(event.item_id) ?? 0) + ms);
    }
  }
  return limits;
}

/** Records every event the transport emits, without changing what it emits. */
function instrument(transport: RealtimeTransportLayer, into: RecordedEmit[], now: () => number, onCallEnd: () => void): void {
  const target = transport as unknown as { emit: (name: string, ...args: unknown[]) => boolean };
  const original = target.emit.bind(transport);
  target.emit = (name: string, ...args: unknown[]) => {
    into.push({ at: now(), name, args });
    if (name === 'call_end') onCallEnd();
    return original(name, ...args);
  };
}

/** The audio format the trace's `start` announces. */
export function traceFormat(trace: Trace, protocol = new TwilioMediaStreamProtocol()): AudioFormat {
  for (const { frame } of trace.frames) {
    if (frame.event !== 'start') continue;
    const [event] = protocol.decode(JSON.stringify(frame));
    if (event?.type === 'call_start') return event.format;
  }
  return protocol.defaultFormat;
}

function socketListeners(socket: WebSocket): number {
  return socket.listenerCount('message') + socket.listenerCount('close') + socket.listenerCount('error');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
