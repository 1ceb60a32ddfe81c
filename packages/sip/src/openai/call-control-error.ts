/**
 * The typed failure of an OpenAI SIP call-control request: what was asked, HTTP status, and
 * OpenAI's error object (`{ error: { message, type, param, code } }`) when the response had one.
 */
import { CallControlError } from '@switchboard/core';
import { APIConnectionTimeoutError } from 'openai';

export type OpenAISipCallOperation = 'accept' | 'reject' | 'refer' | 'hangup';

/** The `error` object of an OpenAI error response, as far as it was readable (bounded, keys redacted). */
export type OpenAIErrorBody = {
  message: string;
  type?: string;
  param?: string | null;
  code?: string | number | null;
};

const MAX_PROVIDER_MESSAGE = 300;
const MAX_FIELD = 120;

/** Keys never reach a message, even the partly masked ones an API error may quote. */
export function redactKeys(text: string): string {
  return text.replace(/\b(sk|ek|rk)-[A-Za-z0-9_*.-]+/g, '$1-…').replace(/Bearer\s+\S+/gi, 'Bearer …');
}

/**
 * A call-control request OpenAI refused (`status` is the HTTP status, `providerCode` OpenAI's
 * error code), or one that got no answer (`status` undefined; `timedOut` when the timeout ran
 * out). A `CallControlError` with `code: 'call_control_error'`.
 */
export class OpenAISipCallControlError extends CallControlError {
  readonly operation: OpenAISipCallOperation;
  readonly callId: string;
  /** OpenAI's error object from the response body, when there was one. */
  readonly openaiError?: OpenAIErrorBody;
  /** The response's `x-request-id` (quote it to OpenAI support). */
  readonly requestId?: string;
  /** No response arrived before the request timed out. */
  readonly timedOut: boolean;

  constructor(
    message: string,
    options: {
      operation: OpenAISipCallOperation;
      callId: string;
      cause?: unknown;
      status?: number;
      providerCode?: number | string;
      openaiError?: OpenAIErrorBody;
      requestId?: string;
      timedOut?: boolean;
    },
  ) {
    const base: { cause?: unknown; status?: number; providerCode?: number | string } = { cause: options.cause };
    if (options.status !== undefined) base.status = options.status;
    if (options.providerCode !== undefined) base.providerCode = options.providerCode;
    super(message, base);
    this.operation = options.operation;
    this.callId = options.callId;
    if (options.openaiError !== undefined) this.openaiError = options.openaiError;
    if (options.requestId !== undefined) this.requestId = options.requestId;
    this.timedOut = options.timedOut ?? false;
  }
}

const shortText = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' ? redactKeys(value).slice(0, max) : undefined;

/** The SDK error's `error` object, kept only when it looks like OpenAI's error shape. */
function readErrorBody(value: unknown): OpenAIErrorBody | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const raw = value as Record<string, unknown>;
  const message = shortText(raw['message'], MAX_PROVIDER_MESSAGE);
  if (message === undefined) return undefined;
  const body: OpenAIErrorBody = { message };
  const type = shortText(raw['type'], MAX_FIELD);
  if (type !== undefined) body.type = type;
  if (raw['param'] === null) body.param = null;
  else {
    const param = shortText(raw['param'], MAX_FIELD);
    if (param !== undefined) body.param = param;
  }
  if (raw['code'] === null || (typeof raw['code'] === 'number' && Number.isFinite(raw['code'])))
    body.code = raw['code'] as number | null;
  else {
    const code = shortText(raw['code'], MAX_FIELD);
    if (code !== undefined) body.code = code;
  }
  return body;
}

function readRequestId(error: { requestID?: unknown; headers?: unknown }): string | undefined {
  if (typeof error.requestID === 'string' && error.requestID.length > 0) return error.requestID.slice(0, MAX_FIELD);
  const headers = error.headers as { get?: unknown } | undefined;
  if (typeof headers?.get === 'function') {
    try {
      const value: unknown = (headers.get as (name: string) => unknown).call(headers, 'x-request-id');
      if (typeof value === 'string' && value.length > 0) return value.slice(0, MAX_FIELD);
    } catch {
      // A headers object that cannot be read has no request id.
    }
  }
  return undefined;
}

/** Turns what the SDK threw into an {@link OpenAISipCallControlError}. Never throws. */
export function toCallControlError(
  operation: OpenAISipCallOperation,
  callId: string,
  error: unknown,
): OpenAISipCallControlError {
  const err = (typeof error === 'object' && error !== null ? error : {}) as {
    status?: unknown;
    code?: unknown;
    message?: unknown;
    name?: unknown;
    error?: unknown;
    requestID?: unknown;
    headers?: unknown;
  };
  const status = typeof err.status === 'number' ? err.status : undefined;
  const requestId = readRequestId(err);
  if (status === undefined) {
    const kind = (error as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    const timedOut =
      error instanceof APIConnectionTimeoutError ||
      kind === 'APIConnectionTimeoutError' ||
      err.name === 'TimeoutError' ||
      (typeof err.message === 'string' && /timed? ?out/i.test(err.message));
    const message = timedOut
      ? `OpenAI ${operation} of call ${callId} timed out`
      : `OpenAI ${operation} of call ${callId} failed: the request did not complete`;
    return new OpenAISipCallControlError(message, { operation, callId, cause: error, timedOut });
  }
  const openaiError = readErrorBody(err.error);
  const rawCode = err.code ?? openaiError?.code;
  const code = typeof rawCode === 'string' || typeof rawCode === 'number' ? rawCode : undefined;
  const providerMessage = shortText(err.message, MAX_PROVIDER_MESSAGE) ?? '';
  let message = `OpenAI rejected ${operation} of call ${callId} (HTTP ${status}${code !== undefined ? `, code ${code}` : ''})`;
  if (providerMessage) message += `: ${providerMessage}`;
  const options: ConstructorParameters<typeof OpenAISipCallControlError>[1] = {
    operation,
    callId,
    cause: error,
    status,
  };
  if (code !== undefined) options.providerCode = code;
  if (openaiError !== undefined) options.openaiError = openaiError;
  if (requestId !== undefined) options.requestId = requestId;
  return new OpenAISipCallControlError(message, options);
}
