/**
 * Verification and parsing of OpenAI webhooks (Standard Webhooks: `webhook-id`,
 * `webhook-timestamp`, `webhook-signature`). The signature check itself is the `openai` SDK's
 * `client.webhooks.unwrap`; nothing here computes or compares a MAC.
 */
import { ConfigError, ProtocolError, WebhookSignatureError } from '@switchboard/core';
import { InvalidWebhookSignatureError } from 'openai';
import type { RealtimeCallIncomingWebhookEvent } from 'openai/resources/webhooks';
import { createOpenAIClient, type OpenAIWebhooksClient } from './client.js';
import {
  customSipHeaders,
  findSipHeader,
  parseSipAddress,
  type OpenAISipAddress,
  type OpenAISipHeader,
} from './sip-headers.js';

/** Request headers: a plain object as Node and Fastify give them, or a WHATWG `Headers`. */
export type OpenAIWebhookHeaders = Record<string, string | readonly string[] | undefined> | Headers;

/** A verified webhook event, any type (`realtime.call.incoming`, `batch.completed`, ...). */
export type OpenAIWebhookEvent = { id: string; type: string; created_at: number; data?: unknown; object?: string };

export type VerifiedOpenAIWebhook = {
  /** The `webhook-id` header: the same for every retry of one delivery. */
  webhookId: string;
  /** The `webhook-timestamp` header, in Unix seconds. */
  timestamp: number;
  event: OpenAIWebhookEvent;
};

/** Default tolerance between `webhook-timestamp` and the local clock, in seconds. */
export const OPENAI_WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * A signature failure with the HTTP status to answer it with: 400 when the Standard Webhooks
 * headers are missing or unreadable, 401 when the signature does not verify (wrong secret,
 * altered body, timestamp outside the tolerance).
 */
export class OpenAIWebhookSignatureError extends WebhookSignatureError {
  readonly status: 400 | 401;
  constructor(status: 400 | 401, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

export type ValidateOpenAIWebhookOptions = {
  /** An `openai` client (its `webhooks.unwrap` verifies; its `webhookSecret` is the default secret). */
  client?: OpenAIWebhooksClient;
  /** The endpoint's signing secret (`whsec_…`). Default: the client's `webhookSecret`. */
  secret?: string;
  /** Accepted clock difference in seconds, both ways. Default 300. */
  toleranceSeconds?: number;
};

const isHttpWhitespace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

/** Strips HTTP whitespace (space, tab, CR, LF) around a header value, as WHATWG `Headers` does. Linear time. */
function trimHttp(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

const REQUIRED_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;
// `ignoreBOM`: a leading byte-order mark is part of the signed text and must stay in it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Anything with a WHATWG `Headers`-like `forEach`, such as a `Headers` from another realm or library. */
function isHeadersLike(
  headers: object,
): headers is { forEach(callback: (value: unknown, name: unknown) => void): void } {
  return typeof (headers as { forEach?: unknown }).forEach === 'function' && !Array.isArray(headers);
}

/**
 * The entries of a `webhook-signature` value. They are space-separated; a header that arrived
 * more than once was joined with `, ` by Node or by WHATWG `Headers` (`v1,AAA=, v1,BBB=`), so a
 * comma before whitespace separates entries too (the `,` inside `v1,…` is never followed by one).
 */
function signatureEntries(value: string): string[] {
  return value
    .split(/[\t\n\r ]+/)
    .map((entry) => (entry.endsWith(',') ? entry.slice(0, -1) : entry))
    .filter((entry) => entry.length > 0);
}

/**
 * Lower-cased header names, values without surrounding whitespace (as HTTP and WHATWG `Headers`
 * read them, so `webhookId` is the id that was signed); repeated signature headers are joined
 * (their entries are space-separated, whichever way the repeats were joined). Only string values count: a value of
 * another type (a
 * number, an object, an array entry that is not a string) is left out, and something that is not
 * a header map has none.
 */
export function normalizeWebhookHeaders(headers: OpenAIWebhookHeaders): Record<string, string> {
  const result: Record<string, string> = Object.create(null) as Record<string, string>;
  if (typeof headers !== 'object' || headers === null) return result;
  const add = (name: string, values: readonly unknown[]) => {
    const lower = name.toLowerCase();
    if (lower === 'webhook-signature') {
      const entries = values.filter((v): v is string => typeof v === 'string').flatMap(signatureEntries);
      if (entries.length > 0) result[lower] = [result[lower], ...entries].filter((v) => v !== undefined).join(' ');
    } else if (!(lower in result) && typeof values[0] === 'string') {
      result[lower] = trimHttp(values[0]);
    }
  };
  try {
    if (isHeadersLike(headers)) {
      headers.forEach((value, name) => {
        if (typeof name === 'string') add(name, [value]);
      });
      return result;
    }
    for (const name of Object.keys(headers)) {
      const value: unknown = (headers as Record<string, unknown>)[name];
      add(name, Array.isArray(value) ? value : [value]);
    }
  } catch {
    // A header map whose reading throws has no usable headers past that point.
  }
  return result;
}

function checkTolerance(value: number | undefined): number {
  const tolerance = value ?? OPENAI_WEBHOOK_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance <= 0) {
    throw new ConfigError('OpenAI webhook verification: toleranceSeconds must be a positive number');
  }
  return tolerance;
}

/** The webhook's signing secret, checked. */
export function checkWebhookSecret(secret: unknown, where: string): string {
  if (typeof secret !== 'string' || secret.trim().length === 0) {
    throw new ConfigError(
      `${where}: a webhook signing secret is required (pass webhookSecret, or a client created with one)`,
    );
  }
  return secret;
}

function isSignatureFailure(error: unknown): boolean {
  if (error instanceof InvalidWebhookSignatureError) return true;
  // A client from another copy of the SDK throws its own class of the same name.
  const e = error as { name?: unknown; constructor?: { name?: unknown } } | null;
  return e?.name === 'InvalidWebhookSignatureError' || e?.constructor?.name === 'InvalidWebhookSignatureError';
}

/**
 * Verifies one delivery with the `openai` SDK and returns its event. Throws an
 * {@link OpenAIWebhookSignatureError} (a core `WebhookSignatureError`) when the headers are
 * missing or the signature, body or timestamp do not verify, and a `ProtocolError` when a
 * correctly signed body is not a JSON event.
 */
export async function assertOpenAIWebhook(
  body: string | Uint8Array,
  headers: OpenAIWebhookHeaders,
  options: ValidateOpenAIWebhookOptions,
): Promise<VerifiedOpenAIWebhook> {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('OpenAI webhook verification needs options: { secret } or { client }');
  const tolerance = checkTolerance(options.toleranceSeconds);
  const client =
    options.client ??
    createOpenAIClient({
      ...(options.secret !== undefined ? { webhookSecret: options.secret } : {}),
      verifyOnly: true,
    });
  const secret = checkWebhookSecret(options.secret ?? client.webhookSecret, 'OpenAI webhook verification');

  const normalized = normalizeWebhookHeaders(headers);
  const missing = REQUIRED_HEADERS.filter((name) => !normalized[name]);
  if (missing.length > 0) {
    const names = `${missing.join(', ')} header${missing.length > 1 ? 's' : ''}`;
    throw new OpenAIWebhookSignatureError(400, `missing ${names}: not a signed OpenAI webhook`);
  }
  const timestamp = Number(normalized['webhook-timestamp']);
  if (!/^\d+$/.test(normalized['webhook-timestamp']!.trim()) || !Number.isSafeInteger(timestamp)) {
    throw new OpenAIWebhookSignatureError(400, 'webhook-timestamp is not a Unix time in seconds');
  }

  let payload: string;
  if (typeof body === 'string') payload = body;
  else if (body instanceof Uint8Array) {
    try {
      payload = utf8.decode(body);
    } catch (cause) {
      throw new OpenAIWebhookSignatureError(400, 'the webhook body is not UTF-8 text', { cause });
    }
  } else {
    // What a framework hands over can depend on the request's Content-Type: a body that is not the
    // raw text or bytes cannot be what OpenAI signed.
    throw new OpenAIWebhookSignatureError(
      400,
      'the webhook body is not the raw request body (a string or bytes): it cannot be verified (keep the raw body for this route, not parsed JSON)',
    );
  }

  let parsed: unknown;
  try {
    // Only the three Standard Webhooks headers: other names and values the request carried may
    // not even be valid HTTP headers, and are not part of the signature.
    const signed = {
      'webhook-id': normalized['webhook-id']!,
      'webhook-timestamp': normalized['webhook-timestamp']!,
      'webhook-signature': normalized['webhook-signature']!,
    };
    parsed = await client.webhooks.unwrap(payload, signed, secret, tolerance);
  } catch (error) {
    if (isSignatureFailure(error)) {
      throw new OpenAIWebhookSignatureError(401, `webhook signature rejected: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (error instanceof SyntaxError) {
      throw new ProtocolError('openai', 'the webhook body is not JSON', { cause: error, code: 'webhook_invalid_body' });
    }
    // Missing headers and secrets are checked above; anything else is unexpected.
    throw new OpenAIWebhookSignatureError(
      400,
      `webhook could not be verified: ${(error as Error)?.message ?? String(error)}`,
      {
        cause: error,
      },
    );
  }

  const event = parsed as Partial<OpenAIWebhookEvent> | null;
  if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
    throw new ProtocolError('openai', 'the webhook body is not an event object', {
      frame: parsed,
      code: 'webhook_invalid_body',
    });
  }
  return { webhookId: normalized['webhook-id']!, timestamp, event: event as OpenAIWebhookEvent };
}

/**
 * True when one delivery is a correctly signed OpenAI webhook carrying a JSON event: what
 * {@link assertOpenAIWebhook} accepts. Resolves false, never rejects, for anything the request
 * carries (missing or malformed headers, a wrong signature, a stale timestamp, a body that is not
 * the raw text or not an event); rejects only with a `ConfigError`, for missing options or secret.
 */
export async function validateOpenAIWebhook(
  body: string | Uint8Array,
  headers: OpenAIWebhookHeaders,
  options: ValidateOpenAIWebhookOptions,
): Promise<boolean> {
  try {
    await assertOpenAIWebhook(body, headers, options);
    return true;
  } catch (error) {
    if (error instanceof WebhookSignatureError || error instanceof ProtocolError) return false;
    throw error;
  }
}

/** An incoming SIP call, as announced by `realtime.call.incoming`. Plain data: safe to serialize. */
export type OpenAISipCall = {
  /** OpenAI's call id (`rtc_…`): the id to accept, reject, refer, hang up and attach with. */
  callId: string;
  /** The delivery's `webhook-id`. */
  webhookId: string;
  /** The event's id (`evt_…`). */
  eventId: string;
  /** When OpenAI created the event, in Unix seconds. */
  createdAt: number;
  /** The `From` header, parsed. */
  from?: OpenAISipAddress;
  /** The `To` header, parsed. */
  to?: OpenAISipAddress;
  /** The SIP `Call-ID` header (the trunk's dialog id, not OpenAI's call id). */
  sipCallId?: string;
  /** `X-` headers by name, as received (first value when repeated). Untrusted: the caller's trunk sets them. */
  customHeaders: Record<string, string>;
  /** Every forwarded INVITE header, in order. */
  sipHeaders: OpenAISipHeader[];
  /** `srtp` or `rtp` as negotiated on the SIP leg, when OpenAI reports it. */
  mediaSecurity?: string;
  /** The event as received. */
  event: RealtimeCallIncomingWebhookEvent;
};

/**
 * Reads a verified `realtime.call.incoming` event. Throws a `ProtocolError` when it has no call
 * id or malformed headers.
 */
export function parseOpenAISipCall(event: OpenAIWebhookEvent, webhookId: string): OpenAISipCall {
  if (event.type !== 'realtime.call.incoming') {
    throw new ProtocolError('openai', `expected a realtime.call.incoming event, got ${event.type}`, {
      code: 'webhook_unexpected_event',
    });
  }
  const data = event.data as Partial<RealtimeCallIncomingWebhookEvent.Data> | undefined;
  if (typeof data !== 'object' || data === null || typeof data.call_id !== 'string' || data.call_id.length === 0) {
    throw new ProtocolError('openai', 'realtime.call.incoming without data.call_id', {
      frame: event,
      code: 'webhook_invalid_body',
    });
  }
  const rawHeaders = data.sip_headers ?? [];
  if (!Array.isArray(rawHeaders)) {
    throw new ProtocolError('openai', 'realtime.call.incoming: data.sip_headers is not a list', {
      frame: event,
      code: 'webhook_invalid_body',
    });
  }
  const sipHeaders: OpenAISipHeader[] = [];
  for (const header of rawHeaders as unknown[]) {
    const h = header as Partial<OpenAISipHeader> | null;
    if (typeof h?.name === 'string' && typeof h.value === 'string') sipHeaders.push({ name: h.name, value: h.value });
  }
  const call: OpenAISipCall = {
    callId: data.call_id,
    webhookId,
    eventId: typeof event.id === 'string' ? event.id : '',
    createdAt: typeof event.created_at === 'number' ? event.created_at : 0,
    customHeaders: customSipHeaders(sipHeaders),
    sipHeaders,
    event: event as RealtimeCallIncomingWebhookEvent,
  };
  const from = findSipHeader(sipHeaders, 'From');
  if (from !== undefined) call.from = parseSipAddress(from);
  const to = findSipHeader(sipHeaders, 'To');
  if (to !== undefined) call.to = parseSipAddress(to);
  const sipCallId = findSipHeader(sipHeaders, 'Call-ID');
  if (sipCallId !== undefined) call.sipCallId = sipCallId;
  if (typeof data.sip_media_security === 'string') call.mediaSecurity = data.sip_media_security;
  return call;
}

/**
 * The first value of a SIP header of the call (case-insensitive; `f`, `t` and `i` count as
 * `From`, `To` and `Call-ID`), e.g. `getOpenAISipHeader(call, 'Diversion')`.
 */
export function getOpenAISipHeader(call: Pick<OpenAISipCall, 'sipHeaders'>, name: string): string | undefined {
  return findSipHeader(call.sipHeaders, name);
}
