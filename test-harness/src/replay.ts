/**
 * The replayer: plays a recorded carrier trace into an adapter over a real loopback WebSocket,
 * plays the carrier's side of the call (a playout clock that acknowledges marks and honours
 * `clear`), and drives a `RealtimeSession` against the realtime simulator. Everything observed is
 * returned for the checks.
 */
import { performance } from 'node:perf_hooks';
import { RealtimeAgent, RealtimeSession, tool, type RealtimeTransportLayer } from '@openai/agents-realtime';
import { bytesPerMs, type AudioFormat, type CallEvent, type ConformanceAdapter, type OutboundCommand, type PeerSimulator } from '@switchboard/core';
import { TwilioMediaStreamProtocol } from '@switchboard/twilio';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { RealtimeSimulator, type RealtimeSimulatorOptions, type SimulatedSession } from './simulator/index.js';
import type { Trace } from './trace.js';

export type ReplayOptions = {
  /** Replay speed: 1 is real time. Timers of the carrier, the simulator and the bridge's clock all scale. Default 10. */
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

/** One audio chunk as the carrier played it. All times are stream ms since the replay started. */
export type CarrierChunk = {
  receivedAt: number;
  startAt: number;
  durationMs: number;
  bytes: Uint8Array;
  /** The model item whose audio this is (the simulator's item being streamed when it arrived). */
  itemId: string | undefined;
  /** Set when a `clear` cut this chunk: the ms of it that had played. */
  playedMs?: number;
};

export type CarrierClear = {
  at: number;
  /** What the caller had heard of each item when the carrier received the clear, ms. */
  playedByItem: Record<string, number>;
  /** Audio the clear discarded, ms. */
  discardedMs: number;
};

/** Model-side events on the replay clock (stream ms). Client events are prefixed `client:`. */
export type ModelTimelineEntry = { at: number; type: string; itemId?: string; responseId?: string; status?: string };

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
  trace: Trace;
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
  carrier: {
    chunks: CarrierChunk[];
    clears: CarrierClear[];
    marksSent: number;
    acksSent: number;
    /** Outbound frames the carrier rejected (e.g. Twilio warning 31951). */
    rejected: Array<{ at: number; error: string }>;
    /** Frames the carrier sent, and when the first media frame went out. */
    framesSent: number;
    malformedSent: number;
    closedAt: number | undefined;
  };
  /** When the transport emitted `call_end`, and when the model socket closed (stream ms). */
  callEndedAt: number | undefined;
  modelClosedAt: number | undefined;
  /** The carrier socket's listeners left on the bridge side after the call. */
  bridgeSocketListeners: number;
  transportStatus: string;
  /** The transport's metrics, when it exposes them. */
  metrics: Record<string, unknown> | undefined;
  /** Errors the replay itself ran into (not the adapter's `error` events). */
  failures: string[];
  durationMs: number;
};

const MALFORMED_FRAMES = [
  'this is not json',
  '{"event":"media","streamSid":"MZ00000000000000000000000000000000","media":{"payload":"%%% not base64 %%%"}}',
  '{"event":"dtmf","streamSid":"MZ00000000000000000000000000000000"}',
];

/** The agent every replay runs: a weather tool the simulator's script calls. */
function conformanceAgent(): RealtimeAgent {
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
  const speed = options.speed ?? 10;
  const hazards = new Set(trace.header.hazards);
  const clearEchoDelayMs = hazards.has('marks-after-clear') ? 300 : 0;
  const drainMs = options.drainMs ?? 3000;
  const t0 = performance.now();
  /** Stream ms since the replay started. */
  const now = () => (performance.now() - t0) * speed;
  const realDelay = (streamMs: number) => Math.max(0, streamMs / speed);
  const failures: string[] = [];

  const simulator = new RealtimeSimulator({
    speed,
    ...(hazards.has('early-media') ? { acceptDelayMs: 1500 } : {}),
    ...options.simulator,
  });
  await simulator.start();
  let model: SimulatedSession | null = null;
  let modelClosedAt: number | undefined;
  let streamingItem: string | undefined;
  let firstModelAudioAt: number | undefined;
  const timeline: ModelTimelineEntry[] = [];
  simulator.on('session', (session) => {
    model ??= session;
    if (session !== model) return;
    session.on('server_event', (event: { type?: string; item_id?: string; response?: { id?: string; status?: string } }) => {
      if (event.type === 'response.output_audio.delta') {
        streamingItem = event.item_id;
        return;
      }
      if (event.type && TIMELINE_EVENTS.has(event.type)) {
        timeline.push({ at: now(), type: event.type, itemId: event.item_id, responseId: event.response?.id, status: event.response?.status });
      }
    });
    session.on('client_event', (event: { type?: string }) => {
      const type = event.type;
      if (type === 'input_audio_buffer.append') firstModelAudioAt ??= now();
      else if (type === 'response.cancel' || type === 'conversation.item.truncate') timeline.push({ at: now(), type: `client:${type}` });
    });
    void session.closed.then(() => {
      modelClosedAt = now();
    });
  });

  // The bridge: a loopback WebSocket server whose connection handler builds the adapter.
  const bridge = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => bridge.once('listening', () => resolve()));
  const bridgePort = (bridge.address() as { port: number }).port;
  const emitted: RecordedEmit[] = [];
  let transport: (RealtimeTransportLayer & { metrics?: unknown }) | undefined;
  let session: RealtimeSession | undefined;
  let bridgeSocket: WebSocket | undefined;
  let callEndedAt: number | undefined;

  let baselineListeners = 0;
  bridge.on('connection', (socket) => {
    bridgeSocket = socket;
    baselineListeners = socketListeners(socket);
    try {
      transport = adapter.createTransport({ connection: socket, url: `${simulator.url}?model=gpt-realtime`, now });
    } catch (error) {
      failures.push(`createTransport threw: ${(error as Error).message}`);
      socket.close();
      return;
    }
    instrument(transport, emitted, now, () => {
      callEndedAt ??= now();
    });
    session = new RealtimeSession(conformanceAgent(), { transport, model: 'gpt-realtime' });
    session.on('error', () => {
      // Recorded through the transport's own `error` events.
    });
    session.connect({ apiKey: 'sk-conformance' }).catch((error: unknown) => {
      failures.push(`session.connect failed: ${(error as Error)?.message ?? String(error)}`);
    });
  });

  // The carrier side.
  const peer: PeerSimulator = adapter.createPeerSimulator();
  const twilio = new TwilioMediaStreamProtocol();
  const carrierFormat = traceFormat(trace, twilio);
  const carrier = new CarrierPlayback(peer, adapter, now, realDelay, clearEchoDelayMs, () => streamingItem, bytesPerMs(carrierFormat));
  const socket = new WebSocket(`ws://127.0.0.1:${bridgePort}/media`);
  carrier.attach(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });

  const frames = trace.frames;
  const malformedAt = options.injectMalformed === false ? -1 : Math.floor(frames.length / 4);
  let framesSent = 0;
  let malformedSent = 0;
  let lastFrameAt: number | undefined;
  let lastProgress = -1;
  const total = frames.at(-1)?.t ?? 0;
  await new Promise<void>((resolve) => {
    let i = 0;
    const pump = () => {
      const at = now();
      while (i < frames.length && frames[i]!.t <= at) {
        if (i === malformedAt) {
          for (const bad of MALFORMED_FRAMES) {
            sendSafely(socket, bad);
            malformedSent++;
          }
        }
        const frame = frames[i]!.frame;
        if (adapter.twilioFrames) {
          const text = JSON.stringify(frame);
          // Keep the carrier side's notion of the active stream in step with the recorded frames.
          if (frame.event === 'start') for (const event of twilio.decode(text)) peer.encodeInbound(event);
          sendSafely(socket, text);
        } else {
          for (const event of twilio.decode(JSON.stringify(frame))) {
            for (const out of peer.encodeInbound(event as CallEvent)) sendSafely(socket, out);
          }
        }
        framesSent++;
        lastFrameAt = now();
        i++;
      }
      if (options.onProgress && total > 0) {
        const pct = Math.floor((Math.min(at, total) / total) * 10);
        if (pct !== lastProgress) {
          lastProgress = pct;
          options.onProgress(`${trace.header.name}: ${pct * 10}%`);
        }
      }
      if (i >= frames.length || socket.readyState !== WebSocket.OPEN) {
        resolve();
        return;
      }
      setTimeout(pump, Math.min(20, realDelay(frames[i]!.t - at)));
    };
    pump();
  });

  // Let the call wind down: the carrier hangs up (Twilio closes its socket after `stop`).
  await sleep(realDelay(hazards.has('no-stop') ? 200 : 100));
  carrier.close();
  const deadline = performance.now() + Math.max(2000, realDelay(drainMs));
  while (performance.now() < deadline && (callEndedAt === undefined || (model && modelClosedAt === undefined))) {
    await sleep(10);
  }
  if (model && modelClosedAt === undefined) {
    await Promise.race([(model as SimulatedSession).closed, sleep(500)]);
  }

  const result: ReplayResult = {
    adapter: adapter.name,
    trace,
    speed,
    emitted,
    model,
    timeline,
    firstModelAudioAt,
    lastFrameAt,
    carrier: { ...carrier.log, framesSent, malformedSent },
    callEndedAt,
    modelClosedAt,
    bridgeSocketListeners: bridgeSocket ? socketListeners(bridgeSocket) - baselineListeners : 0,
    transportStatus: (transport as { status?: string } | undefined)?.status ?? 'none',
    metrics: transport?.metrics ? structuredClone(transport.metrics as Record<string, unknown>) : undefined,
    failures,
    durationMs: now(),
  };

  session?.close();
  carrier.dispose();
  for (const client of bridge.clients) client.terminate();
  await new Promise<void>((resolve) => bridge.close(() => resolve()));
  await simulator.stop();
  return result;
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

function sendSafely(socket: WebSocket, frame: string | Uint8Array): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(frame);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type PendingMark = { name: string; dueAt: number; timer: NodeJS.Timeout | undefined };

/**
 * The carrier's playback: audio plays back to back in real (stream) time from when it arrives;
 * a mark is acknowledged when everything sent before it has played; `clear` discards what has not
 * played and, per the carrier's rules, echoes the pending marks or confirms the clear.
 */
class CarrierPlayback {
  readonly log: {
    chunks: CarrierChunk[];
    clears: CarrierClear[];
    marksSent: number;
    acksSent: number;
    rejected: Array<{ at: number; error: string }>;
    closedAt: number | undefined;
  } = { chunks: [], clears: [], marksSent: 0, acksSent: 0, rejected: [], closedAt: undefined };
  #queueEnd = 0;
  #pending: PendingMark[] = [];
  #timers = new Set<NodeJS.Timeout>();
  #socket: WebSocket | undefined;

  constructor(
    private readonly peer: PeerSimulator,
    private readonly adapter: ConformanceAdapter,
    private readonly now: () => number,
    private readonly realDelay: (ms: number) => number,
    private readonly clearEchoDelayMs: number,
    private readonly currentItem: () => string | undefined,
    private readonly bytesPerMs: number,
  ) {}

  attach(socket: WebSocket): void {
    this.#socket = socket;
    socket.on('message', (data, isBinary) => {
      const frame = isBinary ? new Uint8Array(data as Buffer) : String(data);
      let commands: OutboundCommand[];
      try {
        commands = this.peer.decodeOutbound(frame);
      } catch (error) {
        this.log.rejected.push({ at: this.now(), error: (error as Error).message });
        return;
      }
      for (const command of commands) this.#onCommand(command);
    });
    socket.on('close', () => {
      this.log.closedAt ??= this.now();
    });
  }

  close(): void {
    if (this.#socket && this.#socket.readyState === WebSocket.OPEN) this.#socket.close(1000, 'caller hung up');
  }

  dispose(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#socket?.terminate();
  }

  #onCommand(command: OutboundCommand): void {
    const at = this.now();
    switch (command.type) {
      case 'audio': {
        const durationMs = this.#durationMs(command.payload.byteLength);
        const startAt = Math.max(at, this.#queueEnd);
        this.#queueEnd = startAt + durationMs;
        this.log.chunks.push({ receivedAt: at, startAt, durationMs, bytes: command.payload, itemId: this.currentItem() });
        return;
      }
      case 'mark': {
        this.log.marksSent++;
        const mark: PendingMark = { name: command.name, dueAt: Math.max(at, this.#queueEnd), timer: undefined };
        this.#pending.push(mark);
        mark.timer = this.#after(mark.dueAt - at, () => {
          this.#pending = this.#pending.filter((m) => m !== mark);
          this.#ack(mark.name);
        });
        return;
      }
      case 'clear':
        this.#clear(at);
        return;
      default:
        return;
    }
  }

  #clear(at: number): void {
    const playedByItem: Record<string, number> = {};
    let discardedMs = 0;
    for (const chunk of this.log.chunks) {
      if (chunk.playedMs !== undefined) continue;
      const played = Math.min(chunk.durationMs, Math.max(0, at - chunk.startAt));
      if (played < chunk.durationMs) {
        chunk.playedMs = played;
        discardedMs += chunk.durationMs - played;
      }
      if (chunk.itemId) playedByItem[chunk.itemId] = (playedByItem[chunk.itemId] ?? 0) + played;
    }
    this.log.clears.push({ at, playedByItem, discardedMs });
    this.#queueEnd = at;
    const pending = this.#pending;
    this.#pending = [];
    for (const mark of pending) if (mark.timer) clearTimeout(mark.timer);
    const rule = this.adapter.capabilities.ackOnClear;
    if (rule === 'echo-pending') {
      this.#after(this.clearEchoDelayMs, () => {
        for (const mark of pending) this.#ack(mark.name);
      });
    } else if (rule === 'confirm') {
      this.#send(this.peer.encodeInbound({ type: 'playback_cleared' }));
    }
  }

  #ack(name: string): void {
    this.log.acksSent++;
    this.#send(this.peer.encodeInbound({ type: 'playback_ack', name }));
  }

  #send(frames: Array<string | Uint8Array>): void {
    for (const frame of frames) if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(frame);
  }

  #after(streamMs: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, this.realDelay(streamMs));
    this.#timers.add(timer);
    return timer;
  }

  #durationMs(bytes: number): number {
    return bytes / this.bytesPerMs;
  }
}
