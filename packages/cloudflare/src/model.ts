/**
 * The model connection inside a Worker. workerd has no WebSocket client constructor that can
 * send an `Authorization` header; a Worker opens an outbound WebSocket with `fetch()` and an
 * `Upgrade: websocket` header instead, then accepts the socket the response carries.
 */
import { OpenAIRealtimeWebSocket, type OpenAIRealtimeWebSocketOptions } from '@openai/agents-realtime';
import { ConfigError, SwitchboardError } from '@switchboard/core';
import { log } from './log.js';
import { acceptWebSocket, type WorkersFetch, type WorkersResponse } from './workers.js';

/** What the SDK hands a `createWebSocket` factory. */
export type CreateWebSocketArgs = { url: string; apiKey: string };

/** The SDK's `createWebSocket` option (its socket type is the `ws` one; workerd's socket is used as one). */
export type CreateWebSocket = NonNullable<OpenAIRealtimeWebSocketOptions['createWebSocket']>;

/** Longest part of a refusal's body kept on the error. */
const MAX_BODY_CHARS = 500;

/**
 * The model endpoint answered the WebSocket upgrade with something other than a socket: a
 * non-101 status (401 for a bad key, 404 for a wrong URL, 429, ...) or a 101 without a socket.
 * `code` is `model_upgrade_refused`.
 */
export class ModelUpgradeError extends SwitchboardError {
  /** The HTTP status of the answer. */
  readonly status: number;
  readonly statusText: string;
  /** The start of the answer's body (the endpoint's own error message), when it had one. */
  readonly body?: string;
  constructor(status: number, statusText: string, body?: string) {
    const text = statusText ? `${status} ${statusText}` : String(status);
    super(
      'model_upgrade_refused',
      status === 101
        ? 'The model endpoint answered the WebSocket upgrade without a socket.'
        : `The model endpoint refused the WebSocket upgrade: ${text}.`,
    );
    this.status = status;
    this.statusText = statusText;
    if (body) this.body = body;
  }
}

/**
 * The model endpoint could not be reached at all (DNS, connection refused, TLS).
 * `code` is `model_unreachable`.
 */
export class ModelUnreachableError extends SwitchboardError {
  constructor(url: string, cause: unknown) {
    super(
      'model_unreachable',
      `Could not reach the model endpoint at ${redactUrl(url)}: ${(cause as Error)?.message ?? String(cause)}`,
      {
        cause,
      },
    );
  }
}

export type FetchUpgradeWebSocketOptions = {
  /**
   * Extra request headers (they override the defaults). The SDK's `User-Agent` and
   * `X-OpenAI-Agents-SDK` are sent unless replaced here.
   */
  headers?: Record<string, string>;
  /** The `fetch` to upgrade with. Default: the global `fetch`. */
  fetch?: WorkersFetch;
};

/** `wss://` → `https://`, `ws://` → `http://`; http(s) URLs pass unchanged. */
export function upgradeUrl(url: string): string {
  const match = /^(wss?|https?):\/\//i.exec(url);
  if (!match)
    throw new ConfigError(`The model URL must be a ws://, wss://, http:// or https:// URL, got ${redactUrl(url)}`);
  return url.replace(/^ws/i, 'http');
}

/** The SDK's own request headers (`User-Agent`, `X-OpenAI-Agents-SDK`). */
export function sdkRequestHeaders(): Record<string, string> {
  const proto = OpenAIRealtimeWebSocket.prototype as unknown as { getCommonRequestHeaders(): Record<string, string> };
  return { ...proto.getCommonRequestHeaders.call(undefined) };
}

/**
 * A `createWebSocket` for `OpenAIRealtimeWebSocket` and every transport built on it
 * (`TelephonyRealtimeTransport`, `TwilioRealtimeTransport`, ...) that opens the model socket
 * the Workers way: `fetch(url, { headers })`, with the headers `Upgrade: websocket`,
 * `Authorization: Bearer …` and `Sec-WebSocket-Protocol: realtime` among them, then
 * `response.webSocket.accept()`.
 *
 * The socket it returns is already open: pass `skipOpenEventListeners: true` with it (or spread
 * {@link fetchUpgradeOptions}). A refused upgrade rejects with a {@link ModelUpgradeError}.
 */
export function fetchUpgradeWebSocket(options: FetchUpgradeWebSocketOptions = {}): CreateWebSocket {
  return (args) => openModelSocket(args, sdkRequestHeaders(), options);
}

/**
 * The transport options that make any `OpenAIRealtimeWebSocket`-based transport connect from a
 * Worker: `{ createWebSocket, skipOpenEventListeners: true, useInsecureApiKey: true }`. Spread
 * them into the transport's options:
 *
 * ```ts
 * new TwilioRealtimeTransport({ twilioWebSocket: server, ...fetchUpgradeOptions() });
 * ```
 *
 * `useInsecureApiKey` only silences the SDK's browser-build check (a Worker bundled with the
 * `browser` condition looks like a browser to it): the key goes into the `Authorization` header
 * of a server-side request and never reaches a browser.
 */
export function fetchUpgradeOptions(
  options: FetchUpgradeWebSocketOptions = {},
): Required<Pick<OpenAIRealtimeWebSocketOptions, 'createWebSocket' | 'skipOpenEventListeners' | 'useInsecureApiKey'>> {
  return { createWebSocket: fetchUpgradeWebSocket(options), skipOpenEventListeners: true, useInsecureApiKey: true };
}

async function openModelSocket(
  { url, apiKey }: CreateWebSocketArgs,
  defaults: Record<string, string>,
  options: FetchUpgradeWebSocketOptions,
): Promise<Awaited<ReturnType<CreateWebSocket>>> {
  if (typeof apiKey !== 'string' || apiKey.length === 0)
    throw new ConfigError('The model connection needs an API key.');
  const target = upgradeUrl(url);
  const doFetch = options.fetch ?? (globalThis.fetch as WorkersFetch | undefined);
  if (typeof doFetch !== 'function')
    throw new ConfigError('No fetch() in this runtime: pass `fetch` to fetchUpgradeWebSocket().');
  const headers: Record<string, string> = {
    ...defaults,
    Authorization: `Bearer ${apiKey}`,
    'Sec-WebSocket-Protocol': 'realtime',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    ...(options.headers ?? {}),
  };
  log('model upgrade %s', redactUrl(target));
  let response: WorkersResponse;
  try {
    response = (await doFetch(target, { headers })) as WorkersResponse;
  } catch (error) {
    throw new ModelUnreachableError(target, error);
  }
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) {
    let body: string | undefined;
    try {
      // An endpoint that echoes the request must not put the key on the error.
      body = (await response.text()).split(apiKey).join('[redacted]').slice(0, MAX_BODY_CHARS) || undefined;
    } catch {
      // No readable body: the status says enough.
    }
    log('model upgrade refused: %d', response.status);
    throw new ModelUpgradeError(response.status, response.statusText ?? '', body);
  }
  // Accepted like the carrier's socket: a close from the model endpoint is answered, which the SDK
  // does not do.
  acceptWebSocket(socket);
  log('model socket open');
  return socket as never;
}

/** The URL without its query string (which may carry a model name, never a key) and credentials. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}

export type CloudflareRealtimeTransportOptions = Omit<
  OpenAIRealtimeWebSocketOptions,
  'createWebSocket' | 'skipOpenEventListeners'
> &
  FetchUpgradeWebSocketOptions;

/**
 * The SDK's `OpenAIRealtimeWebSocket` for Cloudflare Workers: the model connection is made with a
 * fetch upgrade (see {@link fetchUpgradeWebSocket}). Use it as a `RealtimeSession`'s transport
 * for a voice agent that talks to a browser or a server over your own protocol; for phone calls
 * use `handleMediaUpgrade`, or `TwilioRealtimeTransport` with {@link fetchUpgradeOptions}.
 */
export class CloudflareRealtimeTransport extends OpenAIRealtimeWebSocket {
  constructor(options: CloudflareRealtimeTransportOptions = {}) {
    const { headers, fetch, ...rest } = options;
    let self: CloudflareRealtimeTransport | undefined;
    super({
      useInsecureApiKey: true,
      ...rest,
      skipOpenEventListeners: true,
      // The SDK calls this only from connect(), after the constructor returned.
      createWebSocket: (args) => openModelSocket(args, self!.getCommonRequestHeaders(), { headers, fetch }),
    });
    self = this;
  }
}
