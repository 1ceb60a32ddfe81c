/**
 * Telephony inside a Worker: the carrier's media WebSocket is accepted by the Worker itself
 * (a `WebSocketPair`), and a `TelephonyRealtimeTransport` bridges it to the model over a
 * fetch-upgrade socket, under the `RealtimeSession` the application configures.
 */
import { RealtimeSession, type RealtimeAgent, type RealtimeSessionOptions } from '@openai/agents-realtime';
import {
  ConfigError,
  SwitchboardError,
  TelephonyRealtimeTransport,
  type MediaStreamProtocol,
  type TelephonyRealtimeTransportOptions,
} from '@switchboard/core';
import { toMediaConnection } from '@switchboard/core/protocol';
import { TWILIO_MAX_PAYLOAD, TwilioMediaStreamProtocol, validateTwilioWebSocketUpgrade } from '@switchboard/twilio';
import { log } from './log.js';
import { MEDIA_MAX_PAYLOAD_OTHER_PROTOCOLS, checkMaxPayload, limitMessageSize } from './max-payload.js';
import { fetchUpgradeOptions, ModelUpgradeError, type FetchUpgradeWebSocketOptions } from './model.js';
import { acceptWebSocket, createWebSocketPair, upgradeResponse, type WorkersWebSocket } from './workers.js';

/** Transport options the handler passes through (everything but the sockets and the protocol). */
export type MediaTransportOptions = Omit<
  TelephonyRealtimeTransportOptions,
  'connection' | 'protocol' | 'createWebSocket' | 'skipOpenEventListeners'
>;

/** What {@link MediaUpgradeOptions.createTransport} receives besides the transport options. */
export type MediaTransportContext = {
  /** The Worker's end of the carrier socket (already accepted); `options.connection` wraps it. */
  socket: WorkersWebSocket;
  request: Request;
};

/** Checks of the upgrade request before any socket is accepted. */
export type MediaUpgradeVerification = {
  /**
   * Validate Twilio's `X-Twilio-Signature` on the upgrade (Web Crypto). `url` is the `wss://` URL
   * exactly as written in `<Stream url>`; default: the request's URL with `https:` read as `wss:`.
   * Set it when a proxy or a custom domain rewrites the URL the Worker sees.
   */
  twilio?: { authToken: string; url?: string | ((request: Request) => string) };
  /** Any other check: true lets the upgrade through; false (or a throw, or a rejection) answers 403. */
  validate?: (request: Request) => boolean | Promise<boolean>;
};

export type MediaUpgradeOptions = {
  /** The OpenAI API key (a secret binding such as `env.OPENAI_API_KEY`), or a function returning it. */
  apiKey: string | (() => string | Promise<string>);
  /** Realtime model. Default: the SDK's. */
  model?: string;
  /** Model endpoint (`wss://api.openai.com/v1/realtime?model=…` by default). */
  url?: string;
  /**
   * The carrier protocol, one new instance per call. Default: Twilio Media Streams. Any
   * `MediaStreamProtocol` works (`@switchboard/websocket` presets, your own).
   */
  protocol?: () => MediaStreamProtocol;
  /** The agent of the call. Give this, or {@link session}. */
  agent?: RealtimeAgent | ((request: Request) => RealtimeAgent | Promise<RealtimeAgent>);
  /** `RealtimeSession` options used with {@link agent} (`transport` is set by the handler). */
  sessionOptions?: Partial<Omit<RealtimeSessionOptions, 'transport'>>;
  /**
   * Builds the call's session yourself (instead of {@link agent}): create a `RealtimeSession` with
   * `transport` as its transport, attach your listeners, and return it. The handler connects it.
   */
  session?: (transport: TelephonyRealtimeTransport, request: Request) => RealtimeSession | Promise<RealtimeSession>;
  /** Upgrade request checks: a bad signature answers 403 and no socket is accepted. */
  verification?: MediaUpgradeVerification;
  /**
   * Largest carrier message accepted, in bytes (UTF-8 for text): a larger one closes that socket
   * with 1009 and is dropped. Default `TWILIO_MAX_PAYLOAD` (64 KiB) with the default Twilio
   * protocol, 1 MiB with a `protocol` of your own: give its carrier's bound (`EXOTEL_MAX_PAYLOAD`,
   * `RAW_WEBSOCKET_MAX_PAYLOAD`, ...).
   */
  maxPayload?: number;
  /** Transport options (`earlyMediaMaxMs`, `clock`, ...). */
  transportOptions?: MediaTransportOptions;
  /**
   * Builds the transport yourself (a subclass, a wrapped connection) from the options the handler
   * would use. Default: `new TelephonyRealtimeTransport(options)`.
   */
  createTransport?: (
    options: TelephonyRealtimeTransportOptions,
    context: MediaTransportContext,
  ) => TelephonyRealtimeTransport;
  /** How the model socket is opened (extra headers, a custom `fetch`). */
  modelConnection?: FetchUpgradeWebSocketOptions;
  /**
   * The Worker's `ctx` (or a Durable Object's `state`): the call's lifetime and the model upgrade
   * are passed to `waitUntil`, so the runtime keeps the Worker around until the call ended and the
   * model socket was closed properly (even when the caller hangs up while it opens).
   */
  context?: { waitUntil(promise: Promise<unknown>): void };
  /** Called once per call with its transport and session, after the session was created. */
  onCall?: (call: MediaCall) => void;
};

/** One bridged call. */
export type MediaCall = {
  transport: TelephonyRealtimeTransport;
  session: RealtimeSession;
  /** Resolves once the call ended (the transport emitted `call_end`). */
  ended: Promise<void>;
};

/** Close code sent to the carrier when the call cannot be bridged (the model refused, a setup error). */
export const CLOSE_BRIDGE_FAILED = 1011;

/** True for a WebSocket upgrade request. */
export function isWebSocketUpgrade(request: Request): boolean {
  return (request.headers.get('upgrade') ?? '').toLowerCase() === 'websocket';
}

/** The URL Twilio signed: the request's URL as the `wss://` URL of the `<Stream>`. */
export function mediaStreamUrl(request: Request): string {
  return request.url.replace(/^http(s?):/i, 'ws$1:');
}

/**
 * Answers a carrier's media WebSocket upgrade inside a Worker (or a Durable Object): checks the
 * request, accepts the socket, and bridges the call to the model with a
 * `TelephonyRealtimeTransport` under a `RealtimeSession`. Returns the response to give back:
 * 101 with the socket, 426 for a request that is no upgrade, 403 when a check fails.
 *
 * When the model connection fails (a refused upgrade, a bad key), the transport emits an `error`
 * event (a `ModelUpgradeError` with the status) and the carrier socket is closed with code 1011
 * and a reason that names the status.
 */
export async function handleMediaUpgrade(request: Request, options: MediaUpgradeOptions): Promise<Response> {
  return (await upgradeMedia(request, options)).response;
}

/**
 * {@link handleMediaUpgrade}, plus when the call it accepted is over: `ended` resolves once the
 * call ended or could not be set up (before `onCall`, which then never comes), and at once when no
 * socket was accepted. Internal: the Durable Object frees itself for the next call with it.
 */
export async function upgradeMedia(
  request: Request,
  options: MediaUpgradeOptions,
): Promise<{ response: Response; ended: Promise<void> }> {
  checkOptions(options);
  if (!isWebSocketUpgrade(request)) {
    return {
      response: new Response('Expected a WebSocket upgrade', { status: 426, headers: { Upgrade: 'websocket' } }),
      ended: Promise.resolve(),
    };
  }
  if (!(await verified(request, options.verification))) {
    log('media upgrade rejected: verification failed');
    return { response: new Response('Forbidden', { status: 403 }), ended: Promise.resolve() };
  }

  const pair = createWebSocketPair();
  const socket = pair[1];
  acceptWebSocket(socket);
  let ended: Promise<void>;
  try {
    ended = startCall(socket, request, options);
  } catch (error) {
    log('call setup failed: %s', (error as Error)?.message);
    safeClose(socket, CLOSE_BRIDGE_FAILED, 'call setup failed');
    ended = Promise.resolve();
  }
  return { response: upgradeResponse(pair[0], protocolHeader(request)), ended };
}

/** Twilio offers no subprotocol; a carrier that does gets its first one echoed. */
function protocolHeader(request: Request): HeadersInit | undefined {
  const offered = request.headers.get('sec-websocket-protocol');
  const first = offered?.split(',')[0]?.trim();
  return first ? { 'Sec-WebSocket-Protocol': first } : undefined;
}

/** Starts the call on the accepted socket; the promise resolves when it is over (see `upgradeMedia`). */
function startCall(socket: WorkersWebSocket, request: Request, options: MediaUpgradeOptions): Promise<void> {
  const protocol = options.protocol ? options.protocol() : new TwilioMediaStreamProtocol();
  const transportOptions: TelephonyRealtimeTransportOptions = {
    ...(options.transportOptions ?? {}),
    ...(options.url !== undefined ? { url: options.url } : {}),
    ...keptAlive(fetchUpgradeOptions(options.modelConnection), options.context),
    connection: limitMessageSize(toMediaConnection(socket), mediaMaxPayload(options)),
    protocol,
  };
  const transport = options.createTransport
    ? options.createTransport(transportOptions, { socket, request })
    : new TelephonyRealtimeTransport(transportOptions);

  let resolveEnded!: () => void;
  let callEnded = false;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  transport.on('call_end', () => {
    callEnded = true;
    resolveEnded();
  });
  options.context?.waitUntil(ended);

  void (async () => {
    let session: RealtimeSession;
    try {
      session = await createSession(transport, request, options);
      options.onCall?.({ transport, session, ended });
    } catch (error) {
      failCall(socket, transport, error, 'call setup failed');
      // Over, even if a custom transport's close() did not emit call_end.
      resolveEnded();
      return;
    }
    try {
      await session.connect({
        apiKey: options.apiKey,
        ...(options.model !== undefined ? { model: options.model } : {}),
        ...(options.url !== undefined ? { url: options.url } : {}),
      });
      log('model connected');
    } catch (error) {
      // A caller who hung up while the model socket was opening is no failure.
      if (callEnded) log('call ended before the model connected');
      else failCall(socket, transport, error);
      resolveEnded();
    }
  })();
  return ended;
}

async function createSession(
  transport: TelephonyRealtimeTransport,
  request: Request,
  options: MediaUpgradeOptions,
): Promise<RealtimeSession> {
  if (options.session) {
    const session = await options.session(transport, request);
    if (!(session instanceof RealtimeSession) && typeof (session as { connect?: unknown })?.connect !== 'function') {
      throw new ConfigError('handleMediaUpgrade: `session` must return a RealtimeSession.');
    }
    return session;
  }
  const agent = typeof options.agent === 'function' ? await options.agent(request) : options.agent!;
  return new RealtimeSession(agent, { ...(options.sessionOptions ?? {}), transport });
}

/**
 * The call cannot go on: tell the application (an `error` event on the transport, which the
 * session re-emits) and the carrier (a close with the reason), then end the call.
 */
function failCall(
  socket: WorkersWebSocket,
  transport: TelephonyRealtimeTransport,
  error: unknown,
  setupReason?: string,
): void {
  const wrapped =
    error instanceof SwitchboardError
      ? error
      : setupReason
        ? new SwitchboardError(
            'call_setup_failed',
            `The call could not be set up: ${(error as Error)?.message ?? String(error)}`,
            { cause: error },
          )
        : new SwitchboardError(
            'model_connect_failed',
            `The model connection failed: ${(error as Error)?.message ?? String(error)}`,
            { cause: error },
          );
  log('call failed: %s', wrapped.code);
  try {
    transport.emit('error', { type: 'error', error: wrapped });
  } catch {
    // A throwing error listener must not keep the carrier socket open.
  }
  const reason =
    setupReason ??
    (wrapped instanceof ModelUpgradeError
      ? `model connection refused (${wrapped.status})`
      : `model connection failed (${wrapped.code})`);
  safeClose(socket, CLOSE_BRIDGE_FAILED, reason);
  try {
    transport.close();
  } catch (closeError) {
    log('transport close failed: %s', (closeError as Error)?.message);
  }
}

/**
 * Each model upgrade goes to `waitUntil` too: a caller who hangs up while it is in flight ends the
 * request (and the call), and the runtime would cancel the upgrade and drop the model's connection
 * without a close frame. Once the socket is accepted, the runtime itself keeps the Worker until the
 * model's close frame came.
 */
function keptAlive(
  upgrade: ReturnType<typeof fetchUpgradeOptions>,
  context: MediaUpgradeOptions['context'],
): ReturnType<typeof fetchUpgradeOptions> {
  if (!context) return upgrade;
  const { createWebSocket } = upgrade;
  return {
    ...upgrade,
    createWebSocket: (args) => {
      const socket = createWebSocket(args);
      context.waitUntil(socket.catch(() => undefined));
      return socket;
    },
  };
}

function safeClose(socket: WorkersWebSocket, code: number, reason: string): void {
  try {
    // A close reason is at most 123 bytes.
    socket.close(code, reason.slice(0, 120));
  } catch (error) {
    log('carrier close failed: %s', (error as Error)?.message);
  }
}

async function verified(request: Request, verification: MediaUpgradeVerification | undefined): Promise<boolean> {
  if (!verification) return true;
  try {
    if (verification.twilio) {
      const { authToken, url } = verification.twilio;
      const signedUrl = typeof url === 'function' ? url(request) : (url ?? mediaStreamUrl(request));
      if (!(await validateTwilioWebSocketUpgrade({ authToken, headers: request.headers, url: signedUrl })))
        return false;
    }
    if (verification.validate && !(await verification.validate(request))) return false;
    return true;
  } catch (error) {
    log('verification threw: %s', (error as Error)?.message);
    return false;
  }
}

/** The bound on carrier messages: the option, else the default protocol's or a generous one. */
function mediaMaxPayload(options: MediaUpgradeOptions): number {
  return options.maxPayload ?? (options.protocol ? MEDIA_MAX_PAYLOAD_OTHER_PROTOCOLS : TWILIO_MAX_PAYLOAD);
}

function checkOptions(options: MediaUpgradeOptions): void {
  if (!options || typeof options !== 'object') throw new ConfigError('handleMediaUpgrade needs an options object.');
  checkMaxPayload(options.maxPayload, 'handleMediaUpgrade');
  if (options.apiKey === undefined || options.apiKey === '')
    throw new ConfigError('handleMediaUpgrade needs `apiKey` (for example env.OPENAI_API_KEY).');
  if (!options.agent && !options.session) throw new ConfigError('handleMediaUpgrade needs `agent` or `session`.');
  if (options.verification?.twilio && !options.verification.twilio.authToken) {
    throw new ConfigError('handleMediaUpgrade: `verification.twilio.authToken` is empty.');
  }
}
