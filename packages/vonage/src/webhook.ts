/**
 * Verification of Vonage's signed webhooks, with Web Crypto.
 *
 * Signed Voice API webhooks carry `Authorization: Bearer <jwt>`: an HS256 token signed with the
 * account's signature secret, whose `payload_hash` claim is the SHA-256 (hex) of the payload and
 * whose `iat` says when it was issued
 * (https://developer.vonage.com/en/getting-started/concepts/webhooks#decoding-signed-webhooks,
 * https://developer.vonage.com/en/voice/voice-api/guides/signed-webhooks). For a POST the payload
 * is the JSON body; for a GET, the query parameters as a compact JSON object in their order
 * (https://api.support.vonage.com/hc/en-us/articles/19033783342876). Vonage's Node.js snippet for
 * signed webhooks hashes the query and the body merged into one object instead; that reading is
 * accepted with `mergeQueryIntoBody`.
 */
import { ConfigError, WebhookSignatureError, base64UrlDecode } from '@switchboard/core';
import { constantTimeEqual, readHeader, type RequestHeaders } from '@switchboard/core/protocol';
import { bufferSource, decodeJsonSegment } from './jwt.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The claims of a verified webhook token. */
export type VonageWebhookClaims = {
  iat: number;
  exp?: number;
  nbf?: number;
  jti?: string;
  iss?: string;
  api_key?: string;
  application_id?: string;
  payload_hash?: string;
  [claim: string]: unknown;
};

/** Request headers: a plain object (Node) or a `Headers` (fetch); the same as core's `RequestHeaders`. */
export type VonageWebhookHeaders = RequestHeaders;

export type ValidateVonageWebhookOptions = {
  /** The account's signature secret (Dashboard → Settings), the HS256 key. */
  signatureSecret: string;
  /** The request's `Authorization` header (`Bearer <jwt>`), or give `headers`. */
  authorization?: string | null;
  /** The request's headers, to read `Authorization` from. */
  headers?: VonageWebhookHeaders;
  /** The raw body of a POST webhook, exactly as received. */
  body?: string | Uint8Array;
  /** The query parameters of a GET webhook (in the order received). */
  query?: URLSearchParams | Record<string, string>;
  /** Oldest `iat` accepted, in seconds before now. Default 300. */
  maxAgeSeconds?: number;
  /** Tolerated clock difference, in seconds (an `iat` this far in the future passes). Default 60. */
  clockSkewSeconds?: number;
  /** Clock in ms; default `Date.now`. */
  now?: () => number;
  /** When given, the token's `application_id` must be this. */
  applicationId?: string;
  /** When given, the token's `api_key` must be this. */
  apiKey?: string;
  /** Refuse a token without `payload_hash`. Default true. */
  requirePayloadHash?: boolean;
  /**
   * For a POST whose URL also has a query (pass both `body` and `query`): accept a `payload_hash`
   * of the query and the JSON body merged into one object (query fields first, body fields over
   * them), as Vonage's Node.js snippet computes it, besides the hash of the body alone.
   * Default false: the body alone, as Vonage's support article describes it.
   */
  mergeQueryIntoBody?: boolean;
};

const DEFAULT_MAX_AGE_SECONDS = 300;
const DEFAULT_SKEW_SECONDS = 60;

function fail(message: string): never {
  throw new WebhookSignatureError(message);
}

/** The `Authorization` header, looked up case-insensitively (first value when repeated). */
export function readVonageAuthorization(headers: VonageWebhookHeaders): string | undefined {
  return readHeader(headers, 'authorization');
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bufferSource(bytes)));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/**
 * The payload texts whose hash may be `payload_hash`: the raw body and its compact JSON form (a
 * POST), the query as JSON (a GET: no body, or an empty one), and, with `mergeQueryIntoBody`, the
 * query and the body merged. A query never stands in for a body that has content: the hash of the
 * query alone would leave that body unchecked. A body that is not a string or bytes, or a query
 * that is not `URLSearchParams` or an object, gives none (it cannot be what Vonage hashed);
 * `given` says whether any was passed.
 */
function payloadVariants(options: ValidateVonageWebhookOptions): { variants: Uint8Array[]; given: boolean } {
  const variants: Uint8Array[] = [];
  const { body, query } = options;
  let parsedBody: unknown;
  let hasBody = false;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const raw = typeof body === 'string' ? encoder.encode(body) : body;
    hasBody = raw.byteLength > 0;
    if (hasBody || query === undefined) variants.push(raw);
    try {
      parsedBody = JSON.parse(typeof body === 'string' ? body : decoder.decode(body));
      const compact = JSON.stringify(parsedBody);
      if (compact !== undefined) variants.push(encoder.encode(compact));
    } catch {
      // Not JSON: only the raw body can match.
    }
  } else if (body !== undefined && body !== null) {
    hasBody = true;
  }
  const entries = queryEntries(query);
  if (entries !== undefined && !hasBody) {
    const text = queryJsonOf(entries);
    if (text !== undefined) variants.push(encoder.encode(text));
  }
  if (options.mergeQueryIntoBody === true && entries !== undefined && isPlainObject(parsedBody)) {
    const merged = mergedJson(entries, parsedBody);
    if (merged !== undefined) variants.push(encoder.encode(merged));
  }
  return { variants, given: body !== undefined || query !== undefined };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The query's entries in the order received (a repeated key keeps its first place and its last value), or undefined
 * when it is not a query.
 */
function queryEntries(query: unknown): Array<[string, unknown]> | undefined {
  if (query instanceof URLSearchParams) {
    const values = new Map<string, string>();
    for (const [key, value] of query) values.set(key, value);
    return [...values];
  }
  if (isPlainObject(query) && !ArrayBuffer.isView(query)) return Object.entries(query);
  return undefined;
}

/**
 * The query and the body as one JSON object, the way a JavaScript server merges them
 * (`Object.assign(query, body)` then `JSON.stringify`): query keys first, body values over them,
 * integer-like keys first in ascending order as JavaScript objects order them.
 */
function mergedJson(entries: Array<[string, unknown]>, body: Record<string, unknown>): string | undefined {
  const merged: Record<string, unknown> = {};
  for (const [key, value] of entries) merged[key] = value;
  for (const [key, value] of Object.entries(body)) merged[key] = value;
  try {
    return JSON.stringify(merged);
  } catch {
    return undefined;
  }
}

/**
 * The query as a compact JSON object with its keys in the order received. Written out by hand: a
 * JavaScript object would move integer-like keys (`"1"`, `"42"`) to the front. Values of another
 * JSON type (a parsed query object may hold arrays) are written as their JSON; undefined when one
 * is not JSON.
 */
function queryJsonOf(entries: Array<[string, unknown]>): string | undefined {
  const parts: string[] = [];
  for (const [key, value] of entries) {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    if (json === undefined) return undefined;
    parts.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * Verifies a signed Vonage webhook and returns its claims: the `Authorization: Bearer` token must
 * be an HS256 JWT signed with `signatureSecret`, issued (`iat`) at most `maxAgeSeconds` ago and
 * not expired, and its `payload_hash` must be the SHA-256 of the body (or of the query, for a
 * GET). Throws a `WebhookSignatureError` saying which check failed (never quoting the secret or
 * the token); a `ConfigError` for a missing secret.
 */
export async function assertVonageWebhook(options: ValidateVonageWebhookOptions): Promise<VonageWebhookClaims> {
  if (!options || typeof options.signatureSecret !== 'string' || options.signatureSecret.length === 0) {
    throw new ConfigError("Vonage webhook verification needs the account's non-empty signatureSecret");
  }
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const skew = options.clockSkewSeconds ?? DEFAULT_SKEW_SECONDS;
  if (!(Number.isFinite(maxAge) && maxAge > 0))
    throw new ConfigError('Vonage webhook verification: maxAgeSeconds must be a positive number');
  if (!(Number.isFinite(skew) && skew >= 0))
    throw new ConfigError('Vonage webhook verification: clockSkewSeconds must be zero or more');
  if (options.now !== undefined && typeof options.now !== 'function')
    throw new ConfigError('Vonage webhook verification: now must be a function');

  const authorization =
    options.authorization ?? (options.headers ? readVonageAuthorization(options.headers) : undefined);
  if (typeof authorization !== 'string' || authorization.length === 0)
    fail('missing Authorization header: the webhook is not signed');
  const match = /^Bearer[ \t]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)[ \t]*$/i.exec(authorization);
  if (!match) fail('the Authorization header is not "Bearer <jwt>"');
  const [headerPart, payloadPart, signaturePart] = match[1]!.split('.') as [string, string, string];

  const header = decodeJsonSegment(headerPart);
  if (!header) fail('the token header is not base64url JSON');
  if (header['alg'] !== 'HS256') fail('the token is not signed with HS256');

  let signature: Uint8Array;
  try {
    signature = base64UrlDecode(signaturePart);
  } catch {
    fail('the token signature is not base64url');
  }
  const key = await globalThis.crypto.subtle.importKey(
    'raw',
    encoder.encode(options.signatureSecret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  const valid = await globalThis.crypto.subtle.verify(
    'HMAC',
    key,
    bufferSource(signature),
    encoder.encode(`${headerPart}.${payloadPart}`),
  );
  if (!valid) fail('the token signature does not verify with the signature secret');

  const claims = decodeJsonSegment(payloadPart);
  if (!claims) fail('the token claims are not base64url JSON');
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  const iat = claims['iat'];
  if (typeof iat !== 'number' || !Number.isFinite(iat)) fail('the token has no numeric iat claim');
  if (iat > now + skew) fail('the token was issued in the future (iat)');
  if (now - iat > maxAge) fail(`the token is stale: issued ${now - iat} s ago, more than ${maxAge} s`);
  const exp = claims['exp'];
  if (exp !== undefined && (typeof exp !== 'number' || exp + skew < now)) fail('the token has expired (exp)');
  const nbf = claims['nbf'];
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf - skew > now)) fail('the token is not valid yet (nbf)');
  if (options.applicationId !== undefined && claims['application_id'] !== options.applicationId)
    fail('the token is for another application (application_id)');
  if (options.apiKey !== undefined && claims['api_key'] !== options.apiKey)
    fail('the token is for another account (api_key)');

  const payloadHash = claims['payload_hash'];
  if (payloadHash === undefined) {
    if (options.requirePayloadHash ?? true) fail('the token has no payload_hash claim');
  } else {
    if (typeof payloadHash !== 'string') fail('the payload_hash claim is not a string');
    const { variants, given } = payloadVariants(options);
    if (!given)
      throw new ConfigError(
        'Vonage webhook verification: pass the raw `body` (POST) or the `query` (GET) to check payload_hash',
      );
    if (variants.length === 0)
      fail(
        'the body is not the raw request body (a string or bytes) and there is no query object: nothing can match payload_hash',
      );
    let matched = false;
    // Every variant is hashed and compared, so the time taken does not say which one matched.
    for (const variant of variants)
      matched = constantTimeEqual(await sha256Hex(variant), payloadHash.toLowerCase()) || matched;
    if (!matched) fail("the payload does not match the token's payload_hash (tampered, or not the raw body)");
  }
  return claims as VonageWebhookClaims;
}

/** Like {@link assertVonageWebhook}, answering true or false instead of throwing a `WebhookSignatureError`. */
export async function validateVonageWebhook(options: ValidateVonageWebhookOptions): Promise<boolean> {
  try {
    await assertVonageWebhook(options);
    return true;
  } catch (error) {
    if (error instanceof WebhookSignatureError) return false;
    throw error;
  }
}
