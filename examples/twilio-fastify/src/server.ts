/**
 * A Fastify server that answers Twilio calls with an OpenAI realtime voice agent.
 *
 *   GET  /               health check (503 while the server drains)
 *   ALL  /incoming-call  the Twilio number's voice webhook: TwiML that connects the call to
 *                        a bidirectional Media Stream on /media-stream (503 while draining, so
 *                        that Twilio asks the number's fallback URL)
 *   WS   /media-stream   the Media Stream: one RealtimeSession per call over a
 *                        TwilioRealtimeTransport
 *   GET  /metrics        with `metrics: true` (METRICS=1): every call's quality (jitter, loss,
 *                        underruns, delays, MOS) in the Prometheus text format
 *
 * Run it with `pnpm start` (see README.md for the environment variables). On SIGTERM or SIGINT it
 * drains: no new calls, live calls get SHUTDOWN_DEADLINE_MS (default 30 s) to end, then the rest
 * are hung up with `call_end` reason `shutdown` and the process exits 0.
 */
import { existsSync, realpathSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import fastifyFormBody from '@fastify/formbody';
import fastifyWs from '@fastify/websocket';
import { RealtimeSession, type RealtimeAgent, type RealtimeItem } from '@openai/agents/realtime';
import {
  CallRegistry,
  DEFAULT_DRAIN_DEADLINE_MS,
  connectOrEnd,
  drainOnSignals,
  type CallEndEvent,
} from '@switchboard/core';
import {
  TWILIO_MAX_PAYLOAD,
  TwilioRealtimeTransport,
  connectStreamTwiml,
  readTwilioSignatureHeader,
  validateTwilioSignature,
  validateTwilioWebSocketUpgrade,
  type TwilioSignedParams,
} from '@switchboard/twilio';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { createAgent } from './agent.js';
import { PROMETHEUS_CONTENT_TYPE, PrometheusMetrics } from './metrics.js';

export type ServerOptions = {
  /** OpenAI API key. Required unless `realtimeUrl` points at a stand-in such as the realtime simulator. */
  openaiApiKey?: string;
  /** Realtime API WebSocket URL. Default: the OpenAI Realtime API. */
  realtimeUrl?: string;
  /**
   * Twilio auth token. When set, `/incoming-call` and the `/media-stream` upgrade must carry a
   * valid `X-Twilio-Signature`; other requests get 403.
   */
  twilioAuthToken?: string;
  /**
   * The host Twilio uses to reach this server (`abc.ngrok.app`), for the stream URL and for
   * signature validation behind a proxy. Default: the request's Host header.
   */
  publicHost?: string;
  /** Receives one line per call event. Default: `console.log`. Never given audio or secrets. */
  log?: (line: string) => void;
  /** Called for every new call, before the model connects, with its transport and session. */
  onCall?: (call: CallHandle) => void;
  /**
   * Clock for the calls' playback accounting. Default `Date.now`. The offline demo passes a
   * scaled clock when it plays the call faster than real time.
   */
  now?: () => number;
  /**
   * The server's live calls. `drain()` on it (what SIGTERM does under `pnpm start`) makes the
   * routes refuse new calls with 503 and hangs up the live ones at its deadline. Default: a new
   * registry of its own.
   */
  calls?: CallRegistry<TwilioRealtimeTransport>;
  /**
   * Serve `GET /metrics` for Prometheus: calls, call ends by reason, lost/late/reordered frames,
   * underruns, jitter, forwarding delay, response latency and MOS (`@switchboard/core/otel`).
   * Default false.
   */
  metrics?: boolean;
};

/** One call on the server: what `onCall` receives. */
export type CallHandle = {
  /** 1 for the first call the server takes, then 2, 3, … (the `[call N]` of log lines). */
  readonly id: number;
  readonly transport: TwilioRealtimeTransport;
  readonly session: RealtimeSession;
  /** Resolves once the call has ended and its model session is closed. */
  readonly ended: Promise<CallEndEvent>;
};

const GREETING = 'O.K. you can start talking!';
/** Used against a realtime stand-in when no key is configured; it is not a credential. */
const OFFLINE_API_KEY = 'sk-offline-placeholder';

export async function buildServer(options: ServerOptions = {}): Promise<FastifyInstance> {
  const apiKey = options.openaiApiKey || (options.realtimeUrl ? OFFLINE_API_KEY : undefined);
  if (!apiKey)
    throw new Error('buildServer: set `openaiApiKey` (or `realtimeUrl` for an offline stand-in of the Realtime API)');
  const authToken = options.twilioAuthToken || undefined;
  const publicHost = options.publicHost ? normaliseHost(options.publicHost) : undefined;
  const secrets = [options.openaiApiKey, authToken].filter((s): s is string => typeof s === 'string' && s.length > 0);
  const print = options.log ?? ((line: string) => console.log(line));
  const log = (line: string) => {
    try {
      print(redact(line, secrets));
    } catch {
      // A failing log sink must not take a call down.
    }
  };
  // The simulator cannot serve MCP servers: only the real API gets the hosted DeepWiki tool.
  const agent = createAgent({ hostedMcp: options.realtimeUrl === undefined });
  const calls = options.calls ?? new CallRegistry<TwilioRealtimeTransport>();

  const app = Fastify({ logger: false });
  await app.register(fastifyFormBody);
  // Twilio's messages are small JSON (a 20 ms media frame is under 1 KB): a message over 64 KiB
  // closes that one socket with 1009 instead of being buffered (`ws` would take 100 MiB).
  await app.register(fastifyWs, { options: { maxPayload: TWILIO_MAX_PAYLOAD } });

  const hostOf = (request: FastifyRequest) => publicHost ?? request.headers.host ?? 'localhost';

  const metrics = options.metrics ? new PrometheusMetrics() : undefined;
  if (metrics) {
    app.addHook('onClose', () => metrics.shutdown());
    app.get('/metrics', async (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(await metrics.scrape()));
  }

  app.get('/', async (_request, reply) => {
    // Load balancers stop sending calls to an instance whose health check fails.
    if (calls.draining) return reply.code(503).send({ message: 'Shutting down' });
    return { message: 'Twilio Media Stream Server is running!' };
  });

  app.all('/incoming-call', async (request, reply) => {
    if (calls.draining) {
      // An error answer makes Twilio request the number's fallback URL (another instance).
      log(`refused ${request.method} /incoming-call: the server is shutting down`);
      return reply.code(503).type('text/plain').send('Shutting down\n');
    }
    const host = hostOf(request);
    if (authToken) {
      const valid = await validateTwilioSignature({
        authToken,
        signature: readTwilioSignatureHeader(request.headers),
        url: `${isLocalHost(host) ? 'http' : 'https'}://${host}${request.url}`,
        params: formParams(request.body),
      });
      if (!valid) {
        log(`rejected ${request.method} /incoming-call: missing or invalid X-Twilio-Signature`);
        return reply.code(403).type('text/plain').send('Forbidden: invalid Twilio signature\n');
      }
    }
    let twiml: string;
    try {
      twiml = connectStreamTwiml({ url: `${isLocalHost(host) ? 'ws' : 'wss'}://${host}/media-stream`, say: GREETING });
    } catch (error) {
      log(`cannot build the TwiML for host ${JSON.stringify(host.slice(0, 80))}: ${errorMessage(error)}`);
      return reply.code(500).type('text/plain').send('Cannot build the stream URL for this host\n');
    }
    return reply.type('text/xml').send(twiml);
  });

  let callCount = 0;
  await app.register(async (scope) => {
    // Runs before the upgrade: while draining, a new stream gets a plain 503 and no WebSocket.
    scope.addHook('onRequest', async (request, reply) => {
      if (!calls.draining) return;
      log(`refused a ${request.url.split('?')[0]} upgrade: the server is shutting down`);
      return reply.code(503).type('text/plain').send('Shutting down\n');
    });
    if (authToken) {
      // Runs before the upgrade: a rejected request gets a plain 403 and no WebSocket.
      scope.addHook('preValidation', async (request, reply) => {
        const host = hostOf(request);
        const valid = await validateTwilioWebSocketUpgrade({
          authToken,
          headers: request.headers,
          url: `${isLocalHost(host) ? 'ws' : 'wss'}://${host}${request.url}`,
        });
        if (!valid) {
          log('rejected a /media-stream upgrade: missing or invalid X-Twilio-Signature');
          return reply.code(403).type('text/plain').send('Forbidden: invalid Twilio signature\n');
        }
      });
    }
    scope.get('/media-stream', { websocket: true }, (socket) => {
      const id = ++callCount;
      try {
        startCall(socket, { id, agent, apiKey, calls, metrics, log: (line) => log(`[call ${id}] ${line}`), options });
      } catch (error) {
        log(`[call ${id}] could not start the call: ${errorMessage(error)}`);
        try {
          socket.close(1011, 'internal error');
        } catch {
          // Already gone.
        }
      }
    });
  });

  return app;
}

/** Wires one Media Stream to a new RealtimeSession and connects it to the model at once. */
function startCall(
  socket: WebSocket,
  call: {
    id: number;
    agent: RealtimeAgent;
    apiKey: string;
    calls: CallRegistry<TwilioRealtimeTransport>;
    metrics: PrometheusMetrics | undefined;
    log: (line: string) => void;
    options: ServerOptions;
  },
): void {
  const { log, options } = call;
  // Created the moment the socket opens, so no frame Twilio sends is missed.
  const transport = new TwilioRealtimeTransport({
    twilioWebSocket: socket,
    ...(options.realtimeUrl ? { url: options.realtimeUrl } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  // A stream that slipped in as the drain began is hung up at once (call_end `shutdown`).
  if (!call.calls.add(transport)) {
    log('refused: the server is shutting down');
    return;
  }
  call.metrics?.instrument(transport);
  const session = new RealtimeSession(call.agent, {
    transport,
    model: 'gpt-realtime',
    config: { audio: { output: { voice: 'verse' } } },
  });

  let ended = false;
  let resolveEnded!: (event: CallEndEvent) => void;
  const endedPromise = new Promise<CallEndEvent>((resolve) => {
    resolveEnded = resolve;
  });

  transport.on('call_start', (event) => {
    const params =
      Object.keys(event.customParameters).length > 0 ? `, parameters ${JSON.stringify(event.customParameters)}` : '';
    log(
      `call ${event.callId ?? '(no call sid)'} started: stream ${event.streamId}, ` +
        `audio ${event.format.encoding} ${event.format.sampleRate} Hz${params}`,
    );
  });
  transport.on('dtmf', (event) => log(`caller pressed ${event.digit}`));
  transport.on('call_end', (event) => {
    if (ended) return;
    ended = true;
    log(`call ended (${event.reason}); closing the model session`);
    try {
      session.close();
    } catch (error) {
      log(`closing the model session failed: ${errorMessage(error)}`);
    }
    resolveEnded(event);
  });

  let truncationsSeen = 0;
  transport.on('audio_interrupted', () => {
    // The transport records the truncation right after it emits the event.
    queueMicrotask(() => {
      const fresh = transport.metrics.truncations.slice(truncationsSeen);
      truncationsSeen = transport.metrics.truncations.length;
      const cut = fresh
        .map((t) => `, agent audio truncated at ${t.audioEndMs} ms of ${Math.round(t.sentMs)} ms sent`)
        .join('');
      log(`caller barged in: playback cleared${cut}`);
    });
  });

  session.on('agent_tool_start', (_context, _agent, tool, details) => {
    const args = 'arguments' in details.toolCall ? details.toolCall.arguments : '';
    log(`tool call: ${tool.name}(${args})`);
  });
  session.on('agent_tool_end', (_context, _agent, tool, result) => log(`tool ${tool.name} returned: ${result}`));
  session.on('tool_approval_requested', (_context, _agent, request) => {
    const name = (request.approvalItem.rawItem as { name?: string }).name ?? 'a tool';
    log(`approving tool call ${name}`);
    session
      .approve(request.approvalItem)
      .catch((error: unknown) => log(`approving ${name} failed: ${errorMessage(error)}`));
  });
  session.on('mcp_tools_changed', (tools) =>
    log(`MCP tools available: ${tools.map((t) => t.name).join(', ') || 'none'}`),
  );
  session.on('mcp_tool_call_completed', (_context, _agent, toolCall) =>
    log(`MCP tool call completed: ${toolCall.name} (${toolCall.status})`),
  );

  const transcribed = new Set<string>();
  session.on('history_updated', (history) => {
    for (const item of history) {
      const line = transcriptLine(item);
      if (line === undefined || transcribed.has(item.itemId)) continue;
      transcribed.add(item.itemId);
      log(line);
    }
  });
  session.on('error', (event) => log(`error: ${errorMessage(event.error)}`));

  const handle: CallHandle = { id: call.id, transport, session, ended: endedPromise };
  try {
    options.onCall?.(handle);
  } catch (error) {
    log(`onCall threw: ${errorMessage(error)}`);
  }

  // Connect right away: Twilio is already streaming, and early audio is kept until the model is
  // ready. A failed connection hangs up this call only (call_end `model_connect_failed`); it never
  // rejects, so it cannot become an unhandled rejection, which would end the whole process.
  let failed = false;
  void connectOrEnd(
    session,
    transport,
    { apiKey: call.apiKey },
    {
      onError: (error) => {
        failed = true;
        log(`could not connect to the realtime model: ${errorMessage(error)}; hanging up`);
      },
    },
  ).then((connected) => {
    if (connected) log('connected to the realtime model');
    else if (!failed) log('the call ended before the model connected');
  });
}

/** `agent: "…"` or `caller: "…"` once a message item is final, else undefined. */
function transcriptLine(item: RealtimeItem): string | undefined {
  if (item.type !== 'message' || item.role === 'system') return undefined;
  if (item.status === 'in_progress') return undefined;
  let text = '';
  for (const part of item.content) {
    if ('transcript' in part && typeof part.transcript === 'string') text += part.transcript;
    else if ('text' in part && typeof part.text === 'string') text += part.text;
  }
  text = text.trim();
  if (item.role === 'assistant') {
    if (item.status === 'incomplete') return text ? `agent (interrupted): "${text}"` : 'agent (interrupted)';
    return text ? `agent: "${text}"` : undefined;
  }
  // Caller turns have a transcript when the model transcribes input audio (the real API does).
  return text ? `caller: "${text}"` : undefined;
}

/** Form fields of a webhook body (parsed by @fastify/formbody), for the signature. */
function formParams(body: unknown): TwilioSignedParams | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value === 'string') params[name] = value;
    else if (Array.isArray(value)) params[name] = value.map(String);
  }
  return params;
}

/** `https://abc.ngrok.app/` → `abc.ngrok.app`. */
function normaliseHost(host: string): string {
  return host
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '');
}

/** Local development: Twilio's rules (and ours) allow plain ws:// and http:// only here. */
function isLocalHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name === 'localhost' || name === '127.0.0.1';
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object') {
    const inner = (error as { error?: unknown; message?: unknown }).error ?? (error as { message?: unknown }).message;
    if (inner !== undefined && inner !== error) return errorMessage(inner);
    try {
      return JSON.stringify(error).slice(0, 300);
    } catch {
      return String(error);
    }
  }
  return String(error);
}

/** Keeps keys out of log lines, including ones an upstream error message might echo. */
function redact(line: string, secrets: string[]): string {
  let out = line;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out.replace(/\b(sk|ek|rk)-[A-Za-z0-9_*.-]{6,}/g, '$1-[redacted]');
}

// ---------------------------------------------------------------------------------------------
// Running the server: `pnpm start` (node --import tsx src/server.ts)

async function main(): Promise<void> {
  // Like dotenv: a .env file in the working directory (Node 20.12 and later read it natively).
  if (existsSync('.env') && typeof process.loadEnvFile === 'function') process.loadEnvFile('.env');
  const { OPENAI_API_KEY, OPENAI_REALTIME_URL, TWILIO_AUTH_TOKEN, PUBLIC_HOST, METRICS } = process.env;
  if (!OPENAI_API_KEY && !OPENAI_REALTIME_URL) {
    console.error(
      'Missing OPENAI_API_KEY (or OPENAI_REALTIME_URL for an offline realtime simulator). Set it in the environment or in .env.',
    );
    process.exit(1);
  }
  const port = Number(process.env.PORT || 5050);
  const host = process.env.HOST || 'localhost';
  const deadlineMs = Number(process.env.SHUTDOWN_DEADLINE_MS || DEFAULT_DRAIN_DEADLINE_MS);
  const calls = new CallRegistry<TwilioRealtimeTransport>({ deadlineMs });
  const app = await buildServer({
    openaiApiKey: OPENAI_API_KEY,
    realtimeUrl: OPENAI_REALTIME_URL,
    twilioAuthToken: TWILIO_AUTH_TOKEN,
    publicHost: PUBLIC_HOST,
    calls,
    metrics: METRICS === '1' || METRICS === 'true',
  });
  await app.listen({ port, host });
  const address = app.server.address();
  console.log(`Server is listening on http://${host}:${typeof address === 'object' && address ? address.port : port}`);
  if (!TWILIO_AUTH_TOKEN) console.log('TWILIO_AUTH_TOKEN is not set: requests are not checked for a Twilio signature.');
  // SIGTERM (a deploy, a scale-down) or SIGINT (Ctrl+C): refuse new calls, let the live ones
  // finish until the deadline, hang up the rest, close the server, exit 0 (130 after SIGINT).
  // A second signal hangs up every call at once. Listening for the signals also keeps the
  // Agents SDK from exiting the process on them before the calls are drained.
  drainOnSignals(calls, {
    onSignal: (signal) =>
      console.log(`${signal}: shutting down; waiting up to ${deadlineMs} ms for ${calls.size} live call(s)`),
    onDrained: async (result) => {
      console.log(
        `drained: ${result.endedNaturally} call(s) ended on their own, ${result.endedByShutdown} hung up at the deadline`,
      );
      await app.close();
    },
  });
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main().catch((error: unknown) => {
    console.error(`The server could not start: ${errorMessage(error)}`);
    process.exit(1);
  });
}
