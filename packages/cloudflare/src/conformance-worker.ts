/**
 * The Worker the conformance adapter runs in workerd: `/media` answers the carrier's upgrade with
 * `handleMediaUpgrade` (the deployment path), under the conformance harness's agent and session
 * settings; `/__observe/<call>` reports what the transport emitted during that call.
 *
 * Query of `/media`: `call` (an id of the harness's choosing), `model` (the realtime simulator's
 * URL), `speed` (the replay speed: the transport's clock runs that much faster), and optionally
 * `turnDetection` (`server_vad`, the default, `server_vad_interrupt` or `semantic_vad`: the
 * session's turn detection, see {@link sessionTurnDetection}).
 */
import { RealtimeAgent, RealtimeSession, tool } from '@openai/agents-realtime';
import {
  TelephonyRealtimeTransport,
  endCallTool,
  playWhile,
  scaledClock,
  type Clock,
  type MediaConnection,
  type TelephonyRealtimeTransportOptions,
} from '@switchboard/core';
import { z } from 'zod';
import { enableLogging } from './logging.js';
import { serialize } from './observation.js';
import { handleMediaUpgrade } from './media.js';

type Env = { DEBUG?: string };

/** The Worker's execution context: the call's sockets stay alive until they are done. */
type ExecutionContextLike = { waitUntil(promise: Promise<unknown>): void };

type Recorded = { at: number; name: string; args: unknown[] };

type CallRecord = {
  emitted: Recorded[];
  callEndedAt?: number;
  transport?: TelephonyRealtimeTransport;
  /** Listeners the transport holds on the carrier socket. */
  listeners: number;
  /** When each frame went to the carrier (wall-clock ms, in order): the harness judges clears at these moments. */
  framesSentAt: number[];
  /** When each carrier frame arrived (wall-clock ms, in order): the harness judges acknowledgements by them. */
  framesReceivedAt: number[];
  failures: string[];
};

const calls = new Map<string, CallRecord>();

/** How long the slow `forecast` tool runs, ms of the call's clock (the harness's `SLOW_TOOL_MS`). */
const SLOW_TOOL_MS = 4000;

/** The harness's filler: 1000 Hz and 1500 Hz at once, 200 ms of L16 at 8 kHz, looped (its `fillerClip()`). */
const FILLER_FORMAT = { encoding: 'l16', sampleRate: 8000, channels: 1 } as const;
function fillerClip(): Int16Array {
  const out = new Int16Array(1600);
  for (let i = 0; i < out.length; i++) {
    const v = Math.sin((2 * Math.PI * 1000 * i) / 8000) + Math.sin((2 * Math.PI * 1500 * i) / 8000);
    out[i] = Math.round(v * 0.2 * 32767);
  }
  return out;
}

/**
 * The harness's agent (its `conformanceAgent()`): answers briefly; a `weather` tool the
 * simulator's default script calls, `end_call` that its `agent-hangup` script calls with the
 * goodbye, and a slow `forecast` during which the bridge plays the two-tone filler. The call tools
 * find the call in the session's context (`{ transport }`).
 */
function conformanceAgent(clock: Clock): RealtimeAgent {
  const filler = fillerClip();
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
      endCallTool(),
      tool({
        name: 'forecast',
        description: 'Weather forecast for a city; takes a few seconds.',
        parameters: z.object({ location: z.string() }),
        execute: async ({ location }, runContext) => {
          const work = new Promise<string>((resolve) =>
            clock.setTimeout(() => resolve(`The forecast for ${location} is sunny.`), SLOW_TOOL_MS),
          );
          const transport = (runContext?.context as { transport?: TelephonyRealtimeTransport } | undefined)?.transport;
          if (!transport) return work;
          return playWhile(transport, filler, work, {
            format: FILLER_FORMAT,
            name: 'conformance-filler',
            delayMs: 300,
          });
        },
      }),
    ],
  });
}

/**
 * Counts the listeners the transport registers on the carrier connection and has not removed, and
 * notes when each frame was sent.
 */
function counting(connection: MediaConnection, record: CallRecord): MediaConnection {
  // Registered before the transport's own listener, and never removed: not counted.
  connection.onMessage(() => {
    record.framesReceivedAt.push(Date.now());
  });
  const track =
    <H>(register: (handler: H) => () => void) =>
    (handler: H) => {
      const off = register(handler);
      record.listeners++;
      let removed = false;
      return () => {
        if (!removed) {
          removed = true;
          record.listeners--;
        }
        off();
      };
    };
  return {
    send: (frame) => {
      connection.send(frame);
      record.framesSentAt.push(Date.now());
    },
    close: (code, reason) => connection.close(code, reason),
    onMessage: track((handler) => connection.onMessage(handler)),
    onClose: track((handler) => connection.onClose(handler)),
    onError: track((handler) => connection.onError(handler)),
    get bufferedAmount() {
      return connection.bufferedAmount;
    },
    get closed() {
      return connection.closed;
    },
  };
}

/** Records every event the transport emits, with the wall-clock time, without changing what it emits. */
function instrument(transport: TelephonyRealtimeTransport, record: CallRecord): void {
  const target = transport as unknown as { emit: (name: string, ...args: unknown[]) => boolean };
  const original = target.emit.bind(transport);
  target.emit = (name: string, ...args: unknown[]) => {
    record.emitted.push({ at: Date.now(), name, args });
    // workerd's clock counts whole milliseconds: the call ended no later than the end of this one.
    if (name === 'call_end') record.callEndedAt ??= Date.now() + 1;
    return original(name, ...args);
  };
}

type TurnDetectionMode = 'server_vad' | 'server_vad_interrupt' | 'semantic_vad';

/**
 * The session's turn detection for a mode the harness asks for. `server_vad` leaves the reply to
 * the bridge (it cancels at a barge-in, which the harness checks); the other two are the
 * service's defaults, in which the server cancels the reply itself.
 */
function sessionTurnDetection(mode: TurnDetectionMode): {
  type: 'server_vad' | 'semantic_vad';
  interruptResponse: boolean;
} {
  switch (mode) {
    case 'server_vad':
      return { type: 'server_vad', interruptResponse: false };
    case 'server_vad_interrupt':
      return { type: 'server_vad', interruptResponse: true };
    case 'semantic_vad':
      return { type: 'semantic_vad', interruptResponse: true };
  }
}

function isTurnDetectionMode(value: string): value is TurnDetectionMode {
  return value === 'server_vad' || value === 'server_vad_interrupt' || value === 'semantic_vad';
}

async function media(request: Request, url: URL, context: ExecutionContextLike): Promise<Response> {
  const id = url.searchParams.get('call') ?? '';
  const modelUrl = url.searchParams.get('model') ?? '';
  const speed = Number(url.searchParams.get('speed') ?? '1');
  if (!id || !modelUrl || !(speed > 0)) return new Response('call, model and speed are required', { status: 400 });
  const mode = url.searchParams.get('turnDetection') ?? 'server_vad';
  if (!isTurnDetectionMode(mode)) {
    return new Response('turnDetection must be server_vad, server_vad_interrupt or semantic_vad', { status: 400 });
  }
  const record: CallRecord = { emitted: [], listeners: 0, framesSentAt: [], framesReceivedAt: [], failures: [] };
  calls.set(id, record);
  const clock = scaledClock(speed);
  return handleMediaUpgrade(request, {
    context,
    apiKey: 'sk-conformance',
    url: modelUrl,
    transportOptions: { clock },
    createTransport: (options: TelephonyRealtimeTransportOptions) => {
      const transport = new TelephonyRealtimeTransport({
        ...options,
        connection: counting(options.connection as MediaConnection, record),
      });
      record.transport = transport;
      instrument(transport, record);
      transport.on('error', ({ error }) => {
        const code = (error as { code?: unknown })?.code;
        if (typeof code === 'string' && code.startsWith('model_'))
          record.failures.push(`model connection: ${(error as Error).message}`);
      });
      return transport;
    },
    // Under `server_vad` the bridge, not the model, cancels on barge-in: the harness checks it.
    session: (transport) => {
      const session = new RealtimeSession(conformanceAgent(clock), {
        transport,
        context: { transport },
        model: 'gpt-realtime',
        config: { audio: { input: { turnDetection: sessionTurnDetection(mode) } } },
      });
      session.on('error', () => {
        // Recorded through the transport's own `error` events.
      });
      return session;
    },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function observe(id: string, timeoutMs: number): Promise<Response> {
  const record = calls.get(id);
  if (!record) return new Response(`no call ${id}`, { status: 404 });
  const deadline = Date.now() + timeoutMs;
  while (record.callEndedAt === undefined && Date.now() < deadline) await sleep(20);
  calls.delete(id);
  const transport = record.transport;
  const failures = [...record.failures];
  const events: string[] = [];
  for (const entry of record.emitted) {
    try {
      // Each event on its own: one that cannot be serialized must not cost the others.
      events.push(serialize(entry));
    } catch (error) {
      failures.push(`event '${entry.name}' could not be serialized: ${(error as Error).message}`);
    }
  }
  if (record.callEndedAt === undefined) failures.push(`the call had not ended after ${timeoutMs} ms`);
  const rest = serialize({
    callEndedAt: record.callEndedAt,
    transportStatus: transport?.status ?? 'none',
    carrierListenersLeft: record.listeners,
    metrics: transport?.metrics,
    framesSentAt: record.framesSentAt,
    framesReceivedAt: record.framesReceivedAt,
    failures,
  });
  const body = `{"emitted":[${events.join(',')}],${rest.slice(1)}`;
  return new Response(body, { headers: { 'content-type': 'application/json' } });
}

export default {
  async fetch(request: Request, env: Env, context: ExecutionContextLike): Promise<Response> {
    enableLogging(env.DEBUG);
    const url = new URL(request.url);
    if (url.pathname === '/media') return media(request, url, context);
    if (url.pathname.startsWith('/__observe/')) {
      const timeout = Number(url.searchParams.get('timeout') ?? '5000');
      return observe(
        decodeURIComponent(url.pathname.slice('/__observe/'.length)),
        Number.isFinite(timeout) ? timeout : 5000,
      );
    }
    if (url.pathname === '/__health') return new Response('ok');
    return new Response('not found', { status: 404 });
  },
};
