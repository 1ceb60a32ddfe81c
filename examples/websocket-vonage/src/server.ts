/**
 * A Node server that answers Vonage calls with an OpenAI realtime voice agent, over Vonage's
 * WebSocket audio (binary L16 16 kHz plus JSON control messages).
 *
 *   GET       /                 health check (503 while the server drains)
 *   GET|POST  /webhooks/answer  the Vonage application's answer URL: an NCCO that connects the call
 *                               to the /socket WebSocket, L16 16 kHz, with the call's uuid, from and
 *                               to as headers (Vonage echoes them in its first message);
 *                               503 while draining
 *   POST      /webhooks/event   the event URL: call status updates, logged
 *   WS        /socket           the call's audio: one RealtimeSession per call over a
 *                               RawWebSocketRealtimeTransport with the `vonage` preset
 *
 * Run it with `pnpm start` (see README.md for the environment variables). On SIGTERM or SIGINT it
 * drains: no new calls, live calls get SHUTDOWN_DEADLINE_MS (default 30 s) to end, then the rest
 * are hung up with `call_end` reason `shutdown` and the process exits 0.
 */
import { existsSync, realpathSync } from 'node:fs';
import http from 'node:http';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { RealtimeAgent, RealtimeSession, tool } from '@openai/agents/realtime';
import {
  CallRegistry,
  DEFAULT_DRAIN_DEADLINE_MS,
  connectOrEnd,
  drainOnSignals,
  type CallEndEvent,
  type Clock,
} from '@switchboard/core';
import { RAW_WEBSOCKET_MAX_PAYLOAD, RawWebSocketRealtimeTransport } from '@switchboard/websocket';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';

export type ServerOptions = {
  /** OpenAI API key. Required unless `realtimeUrl` points at a stand-in such as the realtime simulator. */
  openaiApiKey?: string;
  /** Realtime API WebSocket URL. Default: the OpenAI Realtime API. */
  realtimeUrl?: string;
  /**
   * The host Vonage uses to reach this server (`abc.ngrok.app`), for the socket URI. Default: the request's Host
   * header.
   */
  publicHost?: string;
  /** Sample rate of the call audio Vonage streams: 16000 (default) or 8000. */
  sampleRate?: 8000 | 16000;
  /** Receives one line per call event. Default: `console.log`. Never given audio or secrets. */
  log?: (line: string) => void;
  /** Called for every new call, before the model connects, with its transport and session. */
  onCall?: (call: CallHandle) => void;
  /**
   * Clock for the calls' playback accounting and pacing. Default: the wall clock. A replay faster than real time passes
   * a scaled one.
   */
  clock?: Clock;
  /**
   * The server's live calls. `drain()` on it (what SIGTERM does under `pnpm start`) makes the
   * routes refuse new calls with 503 and hangs up the live ones at its deadline. Default: a new
   * registry of its own (`app.calls`).
   */
  calls?: CallRegistry<RawWebSocketRealtimeTransport>;
};

/** One call on the server: what `onCall` receives. */
export type CallHandle = {
  /** 1 for the first call the server takes, then 2, 3, … (the `[call N]` of log lines). */
  readonly id: number;
  readonly transport: RawWebSocketRealtimeTransport;
  readonly session: RealtimeSession;
  /** Resolves once the call has ended and its model session is closed. */
  readonly ended: Promise<CallEndEvent>;
};

/** Used against a realtime stand-in when no key is configured; it is not a credential. */
const OFFLINE_API_KEY = 'sk-offline-placeholder';
const SOCKET_PATH = '/socket';
const MAX_BODY_BYTES = 64 * 1024;

const weatherTool = tool({
  name: 'weather',
  description: 'Get the weather in a given location.',
  parameters: z.object({ location: z.string() }),
  execute: async ({ location }) => `The weather in ${location} is sunny.`,
});

function createAgent(): RealtimeAgent {
  return new RealtimeAgent({
    name: 'Greeter',
    instructions: 'You are a friendly assistant on a phone call. Keep your answers short.',
    tools: [weatherTool],
  });
}

/**
 * The NCCO that connects a call to the media socket: Vonage streams the call as L16 at
 * `sampleRate` and sends `headers` back in its first message (`websocket:connected`).
 */
export function connectNcco(options: {
  socketUrl: string;
  sampleRate: number;
  headers: Record<string, string>;
}): unknown[] {
  return [
    {
      action: 'connect',
      endpoint: [
        {
          type: 'websocket',
          uri: options.socketUrl,
          'content-type': `audio/l16;rate=${options.sampleRate}`,
          headers: options.headers,
        },
      ],
    },
  ];
}

/** The server of this example: HTTP webhooks and the media WebSocket on one port. */
export type App = {
  readonly server: http.Server;
  /** The live calls (see `ServerOptions.calls`). */
  readonly calls: CallRegistry<RawWebSocketRealtimeTransport>;
  /** Starts listening; resolves with the port (pass 0 for any free port). */
  listen(port: number, host?: string): Promise<number>;
  /** Stops listening and drops every media socket (their calls end). */
  close(): Promise<void>;
};

/** Builds the server without listening. */
export function buildServer(options: ServerOptions = {}): App {
  const apiKey = options.openaiApiKey || (options.realtimeUrl ? OFFLINE_API_KEY : undefined);
  if (!apiKey)
    throw new Error('buildServer: set `openaiApiKey` (or `realtimeUrl` for an offline stand-in of the Realtime API)');
  const sampleRate = options.sampleRate ?? 16000;
  const secrets = [options.openaiApiKey].filter((s): s is string => typeof s === 'string' && s.length > 0);
  const print = options.log ?? ((line: string) => console.log(line));
  const log = (line: string) => {
    try {
      print(redact(line, secrets));
    } catch {
      // A failing log sink must not take a call down.
    }
  };
  const agent = createAgent();
  const calls = options.calls ?? new CallRegistry<RawWebSocketRealtimeTransport>();

  const server = http.createServer((request, response) => {
    handleHttp(request, response).catch((error: unknown) => {
      log(`request ${request.method} ${request.url} failed: ${errorMessage(error)}`);
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('Internal error\n');
    });
  });

  async function handleHttp(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/' && request.method === 'GET') {
      // Load balancers stop sending calls to an instance whose health check fails.
      if (calls.draining) sendJson(response, 503, { message: 'Shutting down' });
      else sendJson(response, 200, { message: 'Vonage WebSocket server is running!' });
      return;
    }
    if (url.pathname === '/webhooks/answer' && (request.method === 'GET' || request.method === 'POST')) {
      if (calls.draining) {
        // No new call on an instance that is going away (see "Shutting down" in README.md).
        log(`refused ${request.method} /webhooks/answer: the server is shutting down`);
        response.writeHead(503, { 'content-type': 'text/plain' }).end('Shutting down\n');
        return;
      }
      // Vonage calls the answer URL with GET and query parameters, or POST and a JSON body.
      const params = request.method === 'POST' ? await readJson(request) : Object.fromEntries(url.searchParams);
      const headers: Record<string, string> = {};
      for (const key of ['uuid', 'conversation_uuid', 'from', 'to']) {
        const value = params[key];
        if (typeof value === 'string' && value.length > 0) headers[key] = value;
      }
      const host = options.publicHost ? normaliseHost(options.publicHost) : (request.headers.host ?? 'localhost');
      const socketUrl = `${isLocalHost(host) ? 'ws' : 'wss'}://${host}${SOCKET_PATH}`;
      log(`answering call ${headers['uuid'] ?? '(no uuid)'}: connecting it to ${socketUrl}`);
      sendJson(response, 200, connectNcco({ socketUrl, sampleRate, headers }));
      return;
    }
    if (url.pathname === '/webhooks/event' && request.method === 'POST') {
      const event = await readJson(request);
      const status = typeof event['status'] === 'string' ? event['status'] : 'event';
      const uuid = typeof event['uuid'] === 'string' ? event['uuid'] : '(no uuid)';
      log(`call ${uuid}: ${status}`);
      response.writeHead(204).end();
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
  }

  // Vonage sends 20 ms binary frames and small JSON events: a message over 128 KiB closes that one
  // socket with 1009 instead of being buffered (`ws` would take 100 MiB).
  const sockets = new WebSocketServer({ noServer: true, maxPayload: RAW_WEBSOCKET_MAX_PAYLOAD });
  server.on('upgrade', (request, socket, head) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (calls.draining) {
      log(`refused a ${SOCKET_PATH} upgrade: the server is shutting down`);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  });

  let callCount = 0;
  sockets.on('connection', (socket: WebSocket) => {
    const id = ++callCount;
    const callLog = (line: string) => log(`[call ${id}] ${line}`);
    try {
      startCall(socket, { id, agent, apiKey, calls, log: callLog, options });
    } catch (error) {
      callLog(`could not start the call: ${errorMessage(error)}`);
      socket.close(1011, 'internal error');
    }
  });

  return {
    server,
    calls,
    listen: (port, host = 'localhost') =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address !== null ? address.port : port);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Wires one media socket to a new RealtimeSession and connects it to the model at once. */
function startCall(
  socket: WebSocket,
  call: {
    id: number;
    agent: RealtimeAgent;
    apiKey: string;
    calls: CallRegistry<RawWebSocketRealtimeTransport>;
    log: (line: string) => void;
    options: ServerOptions;
  },
): void {
  const { log, options } = call;
  // Created the moment the socket opens, so no frame Vonage sends is missed.
  const transport = new RawWebSocketRealtimeTransport({
    websocket: socket,
    preset: 'vonage',
    ...(options.realtimeUrl ? { url: options.realtimeUrl } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  // A socket that slipped in as the drain began is hung up at once (call_end `shutdown`).
  if (!call.calls.add(transport)) {
    log('refused: the server is shutting down');
    return;
  }
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
      Object.keys(event.customParameters).length > 0 ? `, headers ${JSON.stringify(event.customParameters)}` : '';
    log(
      `call ${event.callId ?? '(no uuid header)'} started: from ${event.from ?? '?'} to ${event.to ?? '?'}, ` +
        `audio ${event.format.encoding} ${event.format.sampleRate} Hz${params}`,
    );
  });
  transport.on('dtmf', (event) => log(`caller pressed ${event.digit}`));
  transport.on('audio_interrupted', () => log('caller barged in: playback cleared'));
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
  session.on('agent_tool_start', (_context, _agent, tool, details) => {
    const args = 'arguments' in details.toolCall ? details.toolCall.arguments : '';
    log(`tool call: ${tool.name}(${args})`);
  });
  session.on('error', (event) => log(`error: ${errorMessage(event.error)}`));

  const handle: CallHandle = { id: call.id, transport, session, ended: endedPromise };
  try {
    options.onCall?.(handle);
  } catch (error) {
    log(`onCall threw: ${errorMessage(error)}`);
  }

  // Connect right away: Vonage is already streaming, and early audio is kept until the model is
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

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A JSON object body (at most 64 KB); anything else reads as `{}`. */
async function readJson(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES) return {};
    chunks.push(chunk as Buffer);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** `https://abc.ngrok.app/` → `abc.ngrok.app`. */
function normaliseHost(host: string): string {
  return host
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '');
}

/** Local development: plain ws:// only here. */
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
  if (existsSync('.env') && typeof process.loadEnvFile === 'function') process.loadEnvFile('.env');
  const { OPENAI_API_KEY, OPENAI_REALTIME_URL, PUBLIC_HOST } = process.env;
  if (!OPENAI_API_KEY && !OPENAI_REALTIME_URL) {
    console.error(
      'Missing OPENAI_API_KEY (or OPENAI_REALTIME_URL for an offline realtime simulator). Set it in the environment or in .env.',
    );
    process.exit(1);
  }
  const port = Number(process.env.PORT || 3000);
  const host = process.env.HOST || 'localhost';
  const deadlineMs = Number(process.env.SHUTDOWN_DEADLINE_MS || DEFAULT_DRAIN_DEADLINE_MS);
  const calls = new CallRegistry<RawWebSocketRealtimeTransport>({ deadlineMs });
  const app = buildServer({
    openaiApiKey: OPENAI_API_KEY,
    realtimeUrl: OPENAI_REALTIME_URL,
    publicHost: PUBLIC_HOST,
    calls,
  });
  const listening = await app.listen(port, host);
  console.log(`Server is listening on http://${host}:${listening}`);
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
