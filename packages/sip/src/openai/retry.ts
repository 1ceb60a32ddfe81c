/**
 * When a failed OpenAI SIP call-control request is sent again.
 *
 * The `openai` SDK retries every request the same way: after a connection error or a timeout,
 * and after HTTP 408, 409, 429 and 5xx (unless the response says `x-should-retry: false`). That
 * suits a request that may be repeated. An accept may not: when the first one reached OpenAI and
 * only its answer was lost, the call is answered, the second accept is refused
 * (`call_already_accepted`), and the call would be reported as failed. A transfer (REFER) is no
 * safer. So those are sent again only when OpenAI certainly did not act on the request.
 */
import type { OpenAISipCallOperation } from './call-control-error.js';

/**
 * How the failures of one call-control operation are retried (up to `maxRetries` times):
 * - `'sdk'`: by the `openai` SDK's rules (connection errors, timeouts, 408, 409, 429, 5xx).
 * - `'unprocessed'`: only when OpenAI did not act on the request: HTTP 408, 409 or 429, a
 *   response that says `x-should-retry: true`, or a connection that never opened (refused, the
 *   name did not resolve, the host unreachable). Never after a timeout, a connection lost after
 *   the request went out, or a 5xx.
 * - `'never'`: not retried.
 */
export type OpenAISipRetryPolicy = 'sdk' | 'unprocessed' | 'never';

/** The retry policy of each operation. */
export type OpenAISipRetryPolicies = Record<OpenAISipCallOperation, OpenAISipRetryPolicy>;

/**
 * Defaults: accept and refer change the call and cannot be repeated safely, so `'unprocessed'`;
 * reject and hang-up end the call, and a repeated one finds the call gone (404, which resolves
 * `{ alreadyEnded: true }`), so `'sdk'`.
 */
export const DEFAULT_OPENAI_SIP_RETRY_POLICIES: Readonly<OpenAISipRetryPolicies> = Object.freeze({
  accept: 'unprocessed',
  refer: 'unprocessed',
  reject: 'sdk',
  hangup: 'sdk',
});

const POLICIES: readonly string[] = ['sdk', 'unprocessed', 'never'];

export function isRetryPolicy(value: unknown): value is OpenAISipRetryPolicy {
  return typeof value === 'string' && POLICIES.includes(value);
}

/** Failures of a connection that never opened: the request cannot have reached OpenAI. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Statuses with which a server says it did not act on the request. */
const UNPROCESSED_STATUSES = new Set([408, 409, 429]);

const MAX_CAUSES = 5;
const MAX_RETRY_AFTER_MS = 60_000;

function header(error: unknown, name: string): string | undefined {
  const headers = (error as { headers?: { get?: unknown } } | null)?.headers;
  if (typeof headers?.get !== 'function') return undefined;
  try {
    const value: unknown = (headers.get as (key: string) => unknown).call(headers, name);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function neverConnected(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSES && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_CONNECTED.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Whether what the SDK threw shows that OpenAI did not act on the request. Never throws. */
export function wasUnprocessed(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number') {
    const shouldRetry = header(error, 'x-should-retry');
    if (shouldRetry === 'true') return true;
    if (shouldRetry === 'false') return false;
    return UNPROCESSED_STATUSES.has(status);
  }
  return neverConnected(error);
}

/**
 * How long to wait before retry number `retry` (from 0): what the response asked for
 * (`retry-after-ms`, `retry-after` in seconds; at most a minute), else 0.5 s doubling up to 8 s,
 * less up to a quarter at random, as the SDK waits.
 */
export function retryDelayMs(error: unknown, retry: number): number {
  const asked = Number(header(error, 'retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(asked) && asked >= 0 && asked <= MAX_RETRY_AFTER_MS) return asked;
  const seconds = Number(header(error, 'retry-after') ?? Number.NaN);
  if (Number.isFinite(seconds) && seconds >= 0 && seconds * 1000 <= MAX_RETRY_AFTER_MS) return seconds * 1000;
  return Math.min(500 * 2 ** retry, 8000) * (1 - Math.random() * 0.25);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
