/**
 * The REST plumbing the carriers' call-control clients share: checking the common options
 * (`baseUrl`, `fetch`, `timeoutMs`) and sending one request, with failures turned into
 * `CallControlError`s. What differs per carrier (URLs, bodies, how an error body reads, what
 * means "the call is already gone") stays in each provider package and is passed in.
 */
import { base64Encode } from './audio/base64.js';
import { CallControlError, ConfigError } from './errors.js';

/** A `fetch` called with a URL string and an init. */
export type RestFetch = (input: string, init: RequestInit) => Promise<Response>;

/** The options every carrier REST client takes, as the developer passes them. */
export type RestClientOptions = {
  /** REST API origin; default the carrier's. */
  baseUrl?: string;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /** Abort each request after this many ms; default 10 000. */
  timeoutMs?: number;
};

/** {@link RestClientOptions} checked, with defaults filled in. */
export type RestClientConfig = {
  /** The origin without trailing slashes. */
  baseUrl: string;
  fetch: RestFetch;
  timeoutMs: number;
};

/** Default request timeout of the carrier clients, in ms. */
export const DEFAULT_REST_TIMEOUT_MS = 10_000;
/** How much of a carrier's own error text goes into a `CallControlError` message. */
const MAX_PROVIDER_MESSAGE = 300;

/**
 * Checks the options shared by carrier REST clients and fills in defaults. `owner` names the
 * client in `ConfigError` messages (`TwilioCallControl: baseUrl must be an http(s) URL`).
 */
export function restClientConfig(owner: string, options: RestClientOptions, defaultBaseUrl: string): RestClientConfig {
  const baseUrl = options.baseUrl ?? defaultBaseUrl;
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new ConfigError(`${owner}: baseUrl is not an absolute URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new ConfigError(`${owner}: baseUrl must be an http(s) URL`);

  const timeoutMs = options.timeoutMs ?? DEFAULT_REST_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new ConfigError(`${owner}: timeoutMs must be a positive number`);

  const custom = options.fetch;
  if (custom !== undefined && typeof custom !== 'function') throw new ConfigError(`${owner}: fetch must be a function`);
  // Called as a plain function: some runtimes reject a fetch invoked as a method of another object.
  const fetchFn: RestFetch = custom
    ? (input, init) => custom(input, init)
    : (input, init) => globalThis.fetch(input, init);

  return { baseUrl: baseUrl.replace(/\/+$/, ''), fetch: fetchFn, timeoutMs };
}

/** An HTTP Basic `Authorization` header value. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${base64Encode(new TextEncoder().encode(`${user}:${password}`))}`;
}

/** A non-2xx answer: its status and its body parsed as JSON (`undefined` when empty or not JSON). */
export type RestFailure = { status: number; body: unknown };

/** What a carrier's error body says, as read by {@link RestRequest.readError}. */
export type RestErrorDetails = {
  /** The carrier's error code; becomes `CallControlError.providerCode`. */
  code?: number | string;
  /** Whether the code is also quoted in the message (`HTTP 400, code 21220`); default true. */
  quoteCode?: boolean;
  /** The carrier's explanation, appended to the message (cut to 300 characters). */
  text?: string;
};

export type RestRequest = {
  /** Appended to the client's `baseUrl`; starts with `/`. */
  path: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The `Authorization` header value. It never appears in an error message. */
  authorization: string;
  /** A body sent as JSON. */
  json?: unknown;
  /** A body sent as `application/x-www-form-urlencoded` (takes precedence over `json`). */
  form?: URLSearchParams;
  /** Names the request in messages: `<what> timed out after 10000 ms`, `<what> failed: …`. */
  what: string;
  /** Opens the message of a refusal: `<rejected> (HTTP 401, code 20003): Authenticate`. */
  rejected: string;
  /** True when a refusal means the call is already gone; the request then resolves with `alreadyEnded: true`. */
  isAlreadyEnded?: (failure: RestFailure) => boolean;
  /** Reads the carrier's code and explanation from a refusal. */
  readError?: (failure: RestFailure) => RestErrorDetails;
};

/** A completed request: `body` is the answer parsed as JSON, when it was JSON. */
export type RestResult = { alreadyEnded: boolean; body?: unknown };

/**
 * Sends one carrier REST request to `client.baseUrl + request.path`, aborted after
 * `client.timeoutMs`. A 2xx answer resolves with its parsed body; a refusal that
 * `isAlreadyEnded` recognises resolves with `{ alreadyEnded: true }`; any other refusal, a network
 * failure and a timeout reject with a `CallControlError` (with `status` and `providerCode` for a
 * refusal, `cause` for the rest).
 */
export async function carrierRequest(client: RestClientConfig, request: RestRequest): Promise<RestResult> {
  const headers: Record<string, string> = { Authorization: request.authorization, Accept: 'application/json' };
  const init: RequestInit = { method: request.method, headers, signal: AbortSignal.timeout(client.timeoutMs) };
  if (request.form !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    init.body = request.form.toString();
  } else if (request.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(request.json);
  }

  let response: Response;
  try {
    response = await client.fetch(`${client.baseUrl}${request.path}`, init);
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    throw new CallControlError(
      timedOut
        ? `${request.what} timed out after ${client.timeoutMs} ms`
        : `${request.what} failed: the request did not complete`,
      { cause: error },
    );
  }

  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    body = undefined;
  }
  if (response.ok) return { alreadyEnded: false, body };

  const failure: RestFailure = { status: response.status, body };
  if (request.isAlreadyEnded?.(failure)) return { alreadyEnded: true };

  const details = request.readError?.(failure) ?? {};
  let message = `${request.rejected} (HTTP ${response.status}`;
  if (details.code !== undefined && details.quoteCode !== false) message += `, code ${details.code}`;
  message += ')';
  const providerMessage = (details.text ?? '').slice(0, MAX_PROVIDER_MESSAGE);
  if (providerMessage) message += `: ${providerMessage}`;
  const errorOptions: { status: number; providerCode?: number | string } = { status: response.status };
  if (details.code !== undefined) errorOptions.providerCode = details.code;
  throw new CallControlError(message, errorOptions);
}

/**
 * Reads an absolute http(s) URL an option or argument gives (a callback URL, a transfer's XML or
 * NCCO endpoint). Anything else, a non-string included, throws a `ConfigError`:
 * "`<what>` must be an absolute http(s) URL".
 */
export function absoluteHttpUrl(value: unknown, what: string): URL {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw new ConfigError(`${what} must be an absolute http(s) URL`);
  return url;
}
