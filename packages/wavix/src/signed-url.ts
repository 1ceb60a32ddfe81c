/**
 * Signed stream URLs: the way to know that a WebSocket reaching your media route was opened by
 * Wavix for a call you answered. Wavix signs nothing — neither its webhooks (their OpenAPI
 * description lists no security for them) nor the stream's upgrade request — but the stream URL is
 * yours: you pass it in each `answer` or `streams` request. Sign it there with
 * {@link signWavixStreamUrl}, naming the call: the URL then carries the call id, an expiry and an
 * HMAC-SHA256 of its path and query, which {@link readWavixStreamUrlVerdict} (or
 * {@link assertWavixStreamUrl}) checks on the upgrade. A URL copied out of a log stops working when
 * it expires; a changed path or parameter does not verify; and the verified call id can be held
 * against the call the stream's `start` names (`transport.callStart.callId`).
 *
 * Scheme, host and credentials are not covered, so the check holds behind proxies that rewrite
 * them; query parameters count whatever their order. Web Crypto only (Node ≥ 20, workerd, Deno).
 */
import { ConfigError, WebhookSignatureError, base64UrlDecode, base64UrlEncode } from '@switchboard/core';

/** The query parameter holding `<expiry>.<signature>`. */
export const WAVIX_STREAM_URL_SIGNATURE_PARAM = 'wavix_sig';
/** The query parameter holding the call id the URL was signed for. */
export const WAVIX_STREAM_URL_CALL_PARAM = 'wavix_call';

/** Why a stream URL was refused. */
export type WavixStreamUrlFailure = 'missing' | 'tampered' | 'expired';

/** A stream URL that does not verify; `reason` says why. */
export class WavixStreamUrlError extends WebhookSignatureError {
  readonly reason: WavixStreamUrlFailure;
  constructor(reason: WavixStreamUrlFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

export type SignWavixStreamUrlOptions = {
  /** Your media route (`wss://agent.example.com/wavix/media`), with any query of your own. */
  url: string | URL;
  /** A secret of at least 16 characters, shared by the server that signs and the one that verifies. */
  secret: string;
  /** The call the stream is for (the webhook's `uuid`): signed into the URL. */
  callId?: string;
  /** How long the URL stays valid, in seconds (Wavix connects within moments; 60 is plenty). */
  expiresInSeconds: number;
  /** Clock in ms; default `Date.now`. */
  now?: () => number;
};

export type ValidateWavixStreamUrlOptions = {
  /** The upgrade request's URL: `req.url` (path and query) or an absolute URL. */
  url: string | URL;
  /** The secret the URL was signed with. */
  secret: string;
  /** Clock in ms; default `Date.now`. */
  now?: () => number;
};

/** The outcome of {@link readWavixStreamUrlVerdict}. */
export type WavixStreamUrlVerdict =
  | {
      valid: true;
      /** When the URL expires, in ms since the epoch. */
      expiresAt: number;
      /** The call id signed into the URL, when one was. */
      callId?: string;
    }
  | { valid: false; reason: WavixStreamUrlFailure; error: WavixStreamUrlError };

const encoder = new TextEncoder();
const MIN_SECRET_LENGTH = 16;
const MAX_TTL_SECONDS = 86_400;
/** `<expiry in s>.<32-byte HMAC in base64url: 43 characters>`. */
const SIGNATURE = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

function checkCommon(options: unknown, what: string): asserts options is { secret: string; now?: () => number } {
  if (!options || typeof options !== 'object') throw new ConfigError(`${what} needs an options object`);
  const { secret, now } = options as { secret?: unknown; now?: unknown };
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH)
    throw new ConfigError(`${what}: secret must be a string of at least ${MIN_SECRET_LENGTH} characters`);
  if (now !== undefined && typeof now !== 'function')
    throw new ConfigError(`${what}: now must be a function returning ms since the epoch`);
}

/** What is signed: expiry, path, and the query without the signature, sorted. */
function signingInput(url: URL, expiresAt: number): Uint8Array<ArrayBuffer> {
  const params = [...url.searchParams].filter(([key]) => key !== WAVIX_STREAM_URL_SIGNATURE_PARAM);
  params.sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1));
  return encoder.encode(`${expiresAt}\n${url.pathname}\n${new URLSearchParams(params).toString()}`);
}

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    usage,
  ]);
}

/**
 * Adds the call id (when given), an expiry and an HMAC-SHA256 signature to a stream URL, as query
 * parameters `wavix_call` and `wavix_sig`. Resolves with the signed URL.
 */
export async function signWavixStreamUrl(options: SignWavixStreamUrlOptions): Promise<string> {
  checkCommon(options, 'signWavixStreamUrl');
  const ttl = options.expiresInSeconds;
  if (!(Number.isInteger(ttl) && ttl > 0 && ttl <= MAX_TTL_SECONDS))
    throw new ConfigError(`signWavixStreamUrl: expiresInSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`);
  if (options.callId !== undefined && (typeof options.callId !== 'string' || options.callId.length === 0))
    throw new ConfigError('signWavixStreamUrl: callId must be a non-empty string');
  let url: URL | undefined;
  try {
    url = new URL(options.url instanceof URL ? options.url.href : String(options.url));
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'wss:' && url.protocol !== 'ws:'))
    throw new ConfigError('signWavixStreamUrl: url must be an absolute ws:// or wss:// URL');
  url.searchParams.delete(WAVIX_STREAM_URL_SIGNATURE_PARAM);
  url.searchParams.delete(WAVIX_STREAM_URL_CALL_PARAM);
  if (options.callId !== undefined) url.searchParams.set(WAVIX_STREAM_URL_CALL_PARAM, options.callId);
  const expiresAt = Math.floor((options.now ?? Date.now)() / 1000) + ttl;
  const key = await hmacKey(options.secret, 'sign');
  const signature = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, signingInput(url, expiresAt)));
  url.searchParams.append(WAVIX_STREAM_URL_SIGNATURE_PARAM, `${expiresAt}.${base64UrlEncode(signature)}`);
  return url.href;
}

function refuse(reason: WavixStreamUrlFailure, message: string): WavixStreamUrlVerdict {
  return { valid: false, reason, error: new WavixStreamUrlError(reason, message) };
}

function readUrl(value: unknown): URL | undefined {
  try {
    if (value instanceof URL) return new URL(value.href);
    if (typeof value !== 'string') return undefined;
    // A path such as `req.url` is appended to a placeholder origin, not resolved: `//x` stays a path.
    return value.startsWith('/') ? new URL(`http://localhost${value}`) : new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * Checks an upgrade request's URL against {@link signWavixStreamUrl}: resolves with
 * `{ valid: true, expiresAt, callId? }` or `{ valid: false, reason, error }` (`missing`: not
 * signed; `tampered`: a signature that does not match, or is not one; `expired`). Never throws for
 * what the request holds; a `ConfigError` for a bad secret.
 */
export async function readWavixStreamUrlVerdict(
  options: ValidateWavixStreamUrlOptions,
): Promise<WavixStreamUrlVerdict> {
  checkCommon(options, 'Wavix stream URL verification');
  const url = readUrl(options.url);
  if (!url) return refuse(options.url === undefined ? 'missing' : 'tampered', 'the request URL cannot be read');
  const values = url.searchParams.getAll(WAVIX_STREAM_URL_SIGNATURE_PARAM);
  if (values.length === 0)
    return refuse(
      'missing',
      `the stream URL carries no "${WAVIX_STREAM_URL_SIGNATURE_PARAM}" parameter: it was not signed`,
    );
  if (values.length > 1 || url.searchParams.getAll(WAVIX_STREAM_URL_CALL_PARAM).length > 1)
    return refuse('tampered', 'the stream URL repeats a signed parameter');
  const match = SIGNATURE.exec(values[0]!);
  if (!match)
    return refuse('tampered', `the "${WAVIX_STREAM_URL_SIGNATURE_PARAM}" parameter is not <expiry>.<signature>`);
  const expiresAt = Number(match[1]);
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = new Uint8Array(base64UrlDecode(match[2]!));
  } catch {
    return refuse('tampered', 'the signature is not base64url');
  }
  const key = await hmacKey(options.secret, 'verify');
  // crypto.subtle.verify compares in constant time.
  if (!(await globalThis.crypto.subtle.verify('HMAC', key, signature, signingInput(url, expiresAt))))
    return refuse('tampered', 'the signature does not match the stream URL (changed, or signed with another secret)');
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  if (now >= expiresAt) return refuse('expired', `the stream URL expired ${now - expiresAt} s ago`);
  const callId = url.searchParams.get(WAVIX_STREAM_URL_CALL_PARAM);
  return callId === null
    ? { valid: true, expiresAt: expiresAt * 1000 }
    : { valid: true, expiresAt: expiresAt * 1000, callId };
}

/** True when the upgrade URL carries a valid, unexpired signature of {@link signWavixStreamUrl}. */
export async function validateWavixStreamUrl(options: ValidateWavixStreamUrlOptions): Promise<boolean> {
  return (await readWavixStreamUrlVerdict(options)).valid;
}

/**
 * Like {@link validateWavixStreamUrl}, but rejects with the {@link WavixStreamUrlError} (a
 * `WebhookSignatureError`) saying why; resolves with the expiry and the signed call id.
 */
export async function assertWavixStreamUrl(
  options: ValidateWavixStreamUrlOptions,
): Promise<{ expiresAt: number; callId?: string }> {
  const verdict = await readWavixStreamUrlVerdict(options);
  if (!verdict.valid) throw verdict.error;
  return verdict.callId === undefined
    ? { expiresAt: verdict.expiresAt }
    : { expiresAt: verdict.expiresAt, callId: verdict.callId };
}

/**
 * The parameters of a stream URL, for `customParameters`: its query as a record (the first value of
 * a repeated name), without the signature; the signed call id stays, as `wavix_call`. Reads
 * `req.url` (path and query) or an absolute URL; an unreadable one gives `{}`.
 */
export function readWavixStreamUrlParameters(url: string | URL): Record<string, string> {
  const parsed = readUrl(url);
  const parameters: Record<string, string> = {};
  if (!parsed) return parameters;
  for (const [name, value] of parsed.searchParams) {
    if (name === WAVIX_STREAM_URL_SIGNATURE_PARAM || Object.hasOwn(parameters, name)) continue;
    Object.defineProperty(parameters, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return parameters;
}
