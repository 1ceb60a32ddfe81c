/**
 * Signed stream URLs. Exotel does not sign its requests, but the Voicebot applet's URL may be an
 * HTTPS endpoint of yours that returns the `wss://` URL at call time (`{"url": "wss://…"}`,
 * https://support.exotel.com/support/solutions/articles/3000108630). Return a URL signed with
 * {@link signExotelStreamUrl}: it carries its expiry and an HMAC-SHA256 of itself, which
 * {@link validateExotelStreamUrl} (or {@link assertExotelStreamUrl}) checks on the WebSocket
 * upgrade. A URL copied out of a log stops working when it expires, and a changed path or query
 * parameter does not verify.
 *
 * The signature covers the path and the query (everything but the signature itself), which is
 * what the upgrade request carries (`req.url`); scheme, host and credentials are not covered, so
 * the check holds behind proxies that rewrite them. Query parameters are compared whatever their
 * order. Web Crypto only: runs on Node ≥ 20, Cloudflare Workers and Deno.
 */
import { ConfigError, WebhookSignatureError, base64UrlDecode, base64UrlEncode } from '@switchboard/core';

/** The query parameter that carries `<expiry>.<signature>`: one of Exotel's three custom parameters. */
export const EXOTEL_STREAM_URL_SIGNATURE_PARAM = 'sig';

/** Why a stream URL was refused. */
export type ExotelStreamUrlFailure = 'missing' | 'tampered' | 'expired';

/** A stream URL that does not verify; `reason` says why. */
export class ExotelStreamUrlError extends WebhookSignatureError {
  readonly reason: ExotelStreamUrlFailure;
  constructor(reason: ExotelStreamUrlFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

export type SignExotelStreamUrlOptions = {
  /** The stream URL (`wss://bot.example.com/media?sample-rate=16000&lang=hi`). */
  url: string | URL;
  /** A secret of at least 16 characters, shared by the server that signs and the one that verifies. */
  secret: string;
  /** How long the URL stays valid, in seconds (Exotel connects right after fetching it; 60 is plenty). */
  expiresInSeconds: number;
  /** Clock in ms; default `Date.now`. */
  now?: () => number;
};

export type ValidateExotelStreamUrlOptions = {
  /** The upgrade request's URL: `req.url` (path and query) or an absolute URL. */
  url: string | URL;
  /** The secret the URL was signed with. */
  secret: string;
  /** Clock in ms; default `Date.now`. */
  now?: () => number;
};

/** The outcome of {@link readExotelStreamUrlVerdict}. */
export type ExotelStreamUrlVerdict =
  | { valid: true; /** When the URL expires, in ms since the epoch. */ expiresAt: number }
  | { valid: false; reason: ExotelStreamUrlFailure; error: ExotelStreamUrlError };

const encoder = new TextEncoder();
const MIN_SECRET_LENGTH = 16;
/** Signatures are 32 bytes: 43 base64url characters. */
const SIGNATURE = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

function checkSecret(secret: unknown, what: string): asserts secret is string {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`${what}: secret must be a string of at least ${MIN_SECRET_LENGTH} characters`);
  }
}

function checkClock(now: unknown, what: string): void {
  if (now !== undefined && typeof now !== 'function')
    throw new ConfigError(`${what}: now must be a function returning ms since the epoch`);
}

function parseUrl(url: string | URL, what: string): URL {
  try {
    // A path such as `req.url` is read against a placeholder origin: only path and query count.
    // It is appended, not resolved, so a path that starts with `//` stays a path (resolving would
    // read it as a host).
    if (typeof url === 'string' && url.startsWith('/')) return new URL(`http://localhost${url}`);
    return new URL(url instanceof URL ? url.href : url, 'http://localhost');
  } catch {
    throw new ConfigError(`${what}: url is not a URL`);
  }
}

/** What is signed: the expiry, the path, and the query without the signature, parameters sorted. */
function signingInput(url: URL, expiresAt: number): Uint8Array<ArrayBuffer> {
  const params = [...url.searchParams].filter(([key]) => key !== EXOTEL_STREAM_URL_SIGNATURE_PARAM);
  params.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return encoder.encode(`${expiresAt}\n${url.pathname}\n${new URLSearchParams(params).toString()}`);
}

async function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    usage,
  ]);
}

/**
 * Adds an expiry and an HMAC-SHA256 signature to a stream URL, as one query parameter
 * (`sig=<expiry>.<signature>`, about 55 characters; it counts as one of Exotel's three custom
 * parameters). Resolves with the signed URL as a string.
 */
export async function signExotelStreamUrl(options: SignExotelStreamUrlOptions): Promise<string> {
  if (!options || typeof options !== 'object')
    throw new ConfigError('signExotelStreamUrl needs { url, secret, expiresInSeconds }');
  checkSecret(options.secret, 'signExotelStreamUrl');
  checkClock(options.now, 'signExotelStreamUrl');
  const ttl = options.expiresInSeconds;
  if (!(Number.isInteger(ttl) && ttl > 0 && ttl <= 31_536_000)) {
    throw new ConfigError('signExotelStreamUrl: expiresInSeconds must be a whole number of seconds from 1 to 31536000');
  }
  if (typeof options.url !== 'string' && !(options.url instanceof URL))
    throw new ConfigError('signExotelStreamUrl: url is required');
  let url: URL;
  try {
    url = new URL(options.url instanceof URL ? options.url.href : options.url);
  } catch {
    throw new ConfigError('signExotelStreamUrl: url must be an absolute ws:// or wss:// URL');
  }
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:')
    throw new ConfigError('signExotelStreamUrl: url must be an absolute ws:// or wss:// URL');
  url.searchParams.delete(EXOTEL_STREAM_URL_SIGNATURE_PARAM);

  const expiresAt = Math.floor((options.now ?? Date.now)() / 1000) + ttl;
  const key = await hmacKey(options.secret, 'sign');
  const signature = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, signingInput(url, expiresAt)));
  url.searchParams.append(EXOTEL_STREAM_URL_SIGNATURE_PARAM, `${expiresAt}.${base64UrlEncode(signature)}`);
  return url.href;
}

function refuse(reason: ExotelStreamUrlFailure, message: string): ExotelStreamUrlVerdict {
  return { valid: false, reason, error: new ExotelStreamUrlError(reason, message) };
}

/**
 * Checks the URL of a WebSocket upgrade against {@link signExotelStreamUrl}: resolves with
 * `{ valid: true, expiresAt }`, or `{ valid: false, reason, error }` where `reason` is `missing`
 * (no signature), `tampered` (a signature that does not match the path and query, or is not one)
 * or `expired`. Never throws for a bad URL; a `ConfigError` for a missing secret.
 */
export async function readExotelStreamUrlVerdict(
  options: ValidateExotelStreamUrlOptions,
): Promise<ExotelStreamUrlVerdict> {
  if (!options || typeof options !== 'object')
    throw new ConfigError('Exotel stream URL verification needs { url, secret }');
  checkSecret(options.secret, 'Exotel stream URL verification');
  checkClock(options.now, 'Exotel stream URL verification');
  if (typeof options.url !== 'string' && !(options.url instanceof URL))
    return refuse('missing', 'the request has no URL to verify');
  let url: URL;
  try {
    url = parseUrl(options.url, 'Exotel stream URL verification');
  } catch {
    return refuse('tampered', 'the request URL cannot be read');
  }
  const values = url.searchParams.getAll(EXOTEL_STREAM_URL_SIGNATURE_PARAM);
  if (values.length === 0)
    return refuse(
      'missing',
      `the stream URL carries no "${EXOTEL_STREAM_URL_SIGNATURE_PARAM}" parameter: it was not signed`,
    );
  if (values.length > 1)
    return refuse('tampered', `the stream URL carries more than one "${EXOTEL_STREAM_URL_SIGNATURE_PARAM}" parameter`);
  const match = SIGNATURE.exec(values[0]!);
  if (!match)
    return refuse('tampered', `the "${EXOTEL_STREAM_URL_SIGNATURE_PARAM}" parameter is not <expiry>.<signature>`);
  const expiresAt = Number(match[1]);
  let signature: Uint8Array;
  try {
    signature = base64UrlDecode(match[2]!);
  } catch {
    return refuse('tampered', 'the signature is not base64url');
  }

  const key = await hmacKey(options.secret, 'verify');
  const bytes =
    signature.buffer instanceof ArrayBuffer ? (signature as Uint8Array<ArrayBuffer>) : new Uint8Array(signature);
  // crypto.subtle.verify compares in constant time.
  if (!(await globalThis.crypto.subtle.verify('HMAC', key, bytes, signingInput(url, expiresAt)))) {
    return refuse('tampered', 'the signature does not match the stream URL (changed, or signed with another secret)');
  }
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  if (now >= expiresAt) return refuse('expired', `the stream URL expired ${now - expiresAt} s ago`);
  return { valid: true, expiresAt: expiresAt * 1000 };
}

/**
 * True when the upgrade request's URL carries a valid, unexpired signature of
 * {@link signExotelStreamUrl}. Never throws for a bad URL; a `ConfigError` for a missing secret.
 */
export async function validateExotelStreamUrl(options: ValidateExotelStreamUrlOptions): Promise<boolean> {
  return (await readExotelStreamUrlVerdict(options)).valid;
}

/**
 * Like {@link validateExotelStreamUrl}, but rejects with the {@link ExotelStreamUrlError} (a `WebhookSignatureError`)
 * saying why.
 */
export async function assertExotelStreamUrl(options: ValidateExotelStreamUrlOptions): Promise<{ expiresAt: number }> {
  const check = await readExotelStreamUrlVerdict(options);
  if (!check.valid) throw check.error;
  return { expiresAt: check.expiresAt };
}
