/**
 * Validation of Twilio's `X-Twilio-Signature` with Web Crypto (Node 20 or later, and workerd).
 *
 * The signature is base64(HMAC(key, url + name1 + value1 + name2 + value2 …)), the POST
 * parameters sorted by name. The key is the account's auth token and the HMAC SHA-1, unless a
 * Webhooks Rule signs with a SharedKey: then Twilio adds
 * `X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=<HMAC_SHA1|HMAC_SHA256>`, the key is
 * the SharedKey's secret and the hash the one named there. A JSON body is not signed as
 * parameters: Twilio adds `bodySHA256=<hex SHA-256 of the body>` to the URL and signs the URL
 * alone, so the body must be checked against that hash.
 *
 * The signature carries no timestamp, so a captured request verifies for ever: pass a
 * `ReplayGuard` (from `@switchboard/core`) as `replayGuard` to refuse a delivery seen before. Its
 * key is the verified signature, which commits to the URL and every parameter (or, through
 * `bodySHA256`, the body). Headers are not signed, so none (`I-Twilio-Idempotency-Token`
 * included) takes part in the key: a replayer could change them at will.
 */
import { ConfigError, WebhookSignatureError, base64Encode, type ReplayGuard } from '@switchboard/core';
import {
  assertReplayGuardOption,
  constantTimeEqual,
  readHeader,
  type RequestHeaders,
} from '@switchboard/core/protocol';
import { signatureUrlCandidates } from './signature-url.js';

export { twilioSignatureUrlVariants, twilioSignatureUrlCandidates } from './signature-url.js';

/** Form parameters of a signed request. A repeated name carries an array of values. */
export type TwilioSignedParams = Record<string, string | readonly string[]> | URLSearchParams;

/** The HMAC a signature is made with: SHA-1 (auth token, and SharedKeys set so) or SHA-256. */
export type TwilioSignatureAlgorithm = 'HMAC_SHA1' | 'HMAC_SHA256';

/** A raw request body: text (read as UTF-8) or bytes. */
export type TwilioRequestBody = string | Uint8Array;

export type ValidateTwilioSignatureOptions = {
  /**
   * The account's auth token, or the SharedKey secret when Twilio signs with a SharedKey (a
   * Webhooks Rule; see `sharedKeySecret` to pass both and let the request's header choose).
   */
  authToken: string;
  /** The `X-Twilio-Signature` header as received. */
  signature: string | undefined | null;
  /** The full URL Twilio requested, query string included, exactly as configured in Twilio. */
  url: string;
  /**
   * The form-encoded POST parameters; omit for GET requests and WebSocket upgrades. Not used
   * when the URL carries `bodySHA256` (a JSON body): Twilio then signs the URL alone.
   */
  params?: TwilioSignedParams;
  /**
   * The raw request body, exactly as received (before any JSON parsing). Required when the URL
   * carries a `bodySHA256` query parameter: the body must hash to it, and without a body such a
   * request does not verify (`false`; the assert functions say the body is missing). Not used
   * otherwise.
   */
  body?: TwilioRequestBody | null;
  /**
   * The `X-Twilio-Webhooks-Signature-Settings` header as received (see
   * {@link readTwilioSignatureSettingsHeader}). When present, the request was signed with a
   * SharedKey and the algorithm it names (`HMAC_SHA1` when it names none); an algorithm other than
   * HMAC_SHA1 or HMAC_SHA256 does not verify. Default: none (auth token, HMAC-SHA1).
   */
  signatureSettings?: string | null;
  /**
   * The algorithm to expect. Default: the one `signatureSettings` names, else `HMAC_SHA1`. When
   * set and the request's settings header names another, the request does not verify.
   */
  algorithm?: TwilioSignatureAlgorithm;
  /**
   * The SharedKey secret, used instead of `authToken` for requests that carry a settings header
   * (`signatureSettings`); requests without one are checked with `authToken`. Default: none
   * (`authToken` is used for both).
   */
  sharedKeySecret?: string;
  /**
   * Refuse a delivery already accepted (same URL and parameters, hence the same signature) within
   * the guard's TTL. Remembered only once the signature verified; the key is the signature, so
   * `replayGuard.forget(signature)` lets the carrier's retry through after handling failed.
   */
  replayGuard?: ReplayGuard;
};

/** Request headers: a plain object as Node gives them, or a `Headers`. */
export type TwilioHeaders = RequestHeaders;

export type ValidateTwilioWebSocketUpgradeOptions = {
  authToken: string;
  /** Headers of the upgrade request (a plain object as Node gives them, or a `Headers`). */
  headers: TwilioHeaders;
  /** The `wss://` URL of the upgrade request, exactly as written in the `<Stream url>`. */
  url: string;
};

const encoder = new TextEncoder();

function checkAuthToken(authToken: unknown): asserts authToken is string {
  if (typeof authToken !== 'string' || authToken.length === 0) {
    throw new ConfigError('Twilio signature validation needs a non-empty authToken');
  }
}

const HASHES: Record<TwilioSignatureAlgorithm, string> = { HMAC_SHA1: 'SHA-1', HMAC_SHA256: 'SHA-256' };

function hmacKey(secret: string, algorithm: TwilioSignatureAlgorithm = 'HMAC_SHA1'): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: HASHES[algorithm] },
    false,
    ['sign'],
  );
}

function isAlgorithm(value: unknown): value is TwilioSignatureAlgorithm {
  return value === 'HMAC_SHA1' || value === 'HMAC_SHA256';
}

/** What `X-Twilio-Webhooks-Signature-Settings` says: the SharedKey's id and the algorithm. */
export type TwilioSignatureSettings = {
  /** The SharedKey's id (`key=`), to pick its secret when there are several; undefined when absent. */
  key: string | undefined;
  /** The algorithm named (upper-cased), `HMAC_SHA1` when the header names none. */
  algorithm: string;
};

/**
 * Parses `X-Twilio-Webhooks-Signature-Settings` (`key=<id>,algorithm=HMAC_SHA256`): comma-separated
 * `name=value` pairs, names and values trimmed. A header without `algorithm=` means HMAC_SHA1.
 * Never throws: anything that is not a string reads as an empty header.
 */
export function parseTwilioSignatureSettings(header: string | null | undefined): TwilioSignatureSettings {
  let key: string | undefined;
  let algorithm: string | undefined;
  const text = typeof header === 'string' ? header : '';
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 'algorithm' && algorithm === undefined && value.length > 0) algorithm = value.toUpperCase();
    else if (name === 'key' && key === undefined && value.length > 0) key = value;
  }
  return { key, algorithm: algorithm ?? 'HMAC_SHA1' };
}

/** The `X-Twilio-Webhooks-Signature-Settings` header (present only on SharedKey-signed webhooks). */
export function readTwilioSignatureSettingsHeader(headers: RequestHeaders): string | undefined {
  return readHeader(headers, 'x-twilio-webhooks-signature-settings');
}

function bodyBytes(body: TwilioRequestBody): Uint8Array<ArrayBuffer> {
  // A copy of given bytes: they may sit in a SharedArrayBuffer, which Web Crypto does not take.
  return typeof body === 'string' ? encoder.encode(body) : new Uint8Array(body);
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/**
 * The `bodySHA256` value Twilio puts in the URL of a webhook with a JSON body: the lower-case hex
 * SHA-256 of the body's bytes (a string is taken as UTF-8).
 */
export async function computeTwilioBodySHA256(body: TwilioRequestBody): Promise<string> {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new ConfigError('computeTwilioBodySHA256: body must be a string or a Uint8Array');
  }
  return hex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bodyBytes(body))));
}

/**
 * The `bodySHA256` query parameter of a URL (the first, when repeated), or undefined when it has
 * none. Only the query counts: the text after the first `?`, up to a `#`.
 */
function bodyHashOf(url: string): string | undefined {
  const start = url.indexOf('?');
  if (start === -1) return undefined;
  const end = url.indexOf('#', start);
  try {
    const value = new URLSearchParams(url.slice(start + 1, end === -1 ? undefined : end)).get('bodySHA256');
    return value ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * The form parameters by name, or undefined when they cannot be what Twilio signed: only a
 * `URLSearchParams` or an object whose values are strings or arrays of strings qualifies (a body
 * parser may hand over numbers, nested objects or bytes for a forged request). No parameters
 * (`undefined`, `null`) is an empty map.
 */
function groupParams(params: unknown): Map<string, string[]> | undefined {
  const grouped = new Map<string, string[]>();
  if (params === undefined || params === null) return grouped;
  const add = (name: string, value: string) => {
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  };
  if (params instanceof URLSearchParams) {
    for (const [name, value] of params) add(name, value);
    return grouped;
  }
  if (
    typeof params !== 'object' ||
    Array.isArray(params) ||
    ArrayBuffer.isView(params) ||
    params instanceof ArrayBuffer
  )
    return undefined;
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string') add(name, value);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
      for (const v of value as string[]) add(name, v);
    else return undefined;
  }
  return grouped;
}

/**
 * The text that is signed: the URL, then every parameter name followed by its value, names in
 * ascending order. Like Twilio's own validators, the values of a repeated name are taken once
 * each, in ascending order.
 */
function signedText(url: string, grouped: Map<string, string[]>): string {
  let text = url;
  for (const name of [...grouped.keys()].sort(compareCodeUnits)) {
    for (const value of [...new Set(grouped.get(name))].sort(compareCodeUnits)) text += name + value;
  }
  return text;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function sign(key: CryptoKey, text: string): Promise<string> {
  const mac = await globalThis.crypto.subtle.sign('HMAC', key, encoder.encode(text));
  return base64Encode(new Uint8Array(mac));
}

/**
 * The text as SignalWire's helper library builds it: like {@link signedText}, but the values of a
 * repeated name in the order given, each occurrence kept.
 */
function signedTextInGivenOrder(url: string, grouped: Map<string, string[]>): string {
  let text = url;
  for (const name of [...grouped.keys()].sort(compareCodeUnits)) {
    for (const value of grouped.get(name)!) text += name + value;
  }
  return text;
}

export type ComputeTwilioSignatureOptions = {
  /** Default `HMAC_SHA1` (the auth token's); `HMAC_SHA256` for SharedKeys set so. */
  algorithm?: TwilioSignatureAlgorithm;
};

/**
 * The signature Twilio puts in `X-Twilio-Signature` for this URL and these form parameters, keyed
 * with `authToken` (or a SharedKey secret). For a JSON webhook, put `bodySHA256` (see
 * {@link computeTwilioBodySHA256}) in the URL and pass no parameters.
 */
export async function computeTwilioSignature(
  authToken: string,
  url: string,
  params?: TwilioSignedParams,
  options: ComputeTwilioSignatureOptions = {},
): Promise<string> {
  checkAuthToken(authToken);
  if (typeof url !== 'string') throw new ConfigError('computeTwilioSignature: url must be a string');
  const grouped = groupParams(params);
  if (grouped === undefined)
    throw new ConfigError(
      'computeTwilioSignature: params must be URLSearchParams or an object of strings and string arrays',
    );
  const algorithm = options?.algorithm ?? 'HMAC_SHA1';
  if (!isAlgorithm(algorithm))
    throw new ConfigError('computeTwilioSignature: algorithm must be HMAC_SHA1 or HMAC_SHA256');
  return sign(await hmacKey(authToken, algorithm), signedText(url, grouped));
}

/** What a signature check found. @internal */
export type TwilioSignatureVerdict = 'missing' | 'mismatch' | 'body_missing' | 'algorithm' | 'replayed' | 'valid';

/** How a verdict is reached beyond Twilio's own rules. @internal */
export type TwilioVerdictVariant = {
  /** Also accept the values of a repeated name in the order given (SignalWire's helper library). */
  valuesInGivenOrder?: boolean;
  /** Ignore SharedKey settings (SignalWire has none). */
  noSettings?: boolean;
  /** Also accept the URL as given with scheme and host lower-cased (SignalWire's helper library). */
  lowerHost?: boolean;
};

/**
 * Checks Twilio's scheme (shared with SignalWire's Compatibility webhooks); with a `replayGuard`,
 * a verified delivery is then remembered, keyed by its signature. @internal
 */
export async function twilioSignatureVerdict(
  options: ValidateTwilioSignatureOptions,
  variant: TwilioVerdictVariant = {},
): Promise<TwilioSignatureVerdict> {
  checkAuthToken(options?.authToken);
  assertReplayGuardOption(options.replayGuard);
  if (options.algorithm !== undefined && !isAlgorithm(options.algorithm)) {
    throw new ConfigError('Twilio signature validation: algorithm must be HMAC_SHA1 or HMAC_SHA256');
  }
  if (
    options.sharedKeySecret !== undefined &&
    (typeof options.sharedKeySecret !== 'string' || options.sharedKeySecret.length === 0)
  ) {
    throw new ConfigError('Twilio signature validation: sharedKeySecret must be a non-empty string');
  }
  const signature = options.signature;
  if (typeof signature !== 'string' || signature.length === 0) return 'missing';
  // The URL, parameters, body and settings come from the request: when they cannot be what
  // Twilio signed, the signature does not match them.
  if (typeof options.url !== 'string') return 'mismatch';

  // Which secret and hash: a settings header means a SharedKey and the algorithm it names.
  const settingsHeader = variant.noSettings ? undefined : options.signatureSettings;
  const hasSettings = typeof settingsHeader === 'string' && settingsHeader.length > 0;
  const announced = hasSettings ? parseTwilioSignatureSettings(settingsHeader).algorithm : undefined;
  const algorithm = options.algorithm ?? announced ?? 'HMAC_SHA1';
  if (!isAlgorithm(algorithm) || (announced !== undefined && announced !== algorithm)) return 'algorithm';
  const secret = hasSettings && options.sharedKeySecret !== undefined ? options.sharedKeySecret : options.authToken;

  // A JSON webhook: the URL alone is signed, and the body must hash to its bodySHA256.
  const bodyHash = bodyHashOf(options.url);
  let grouped: Map<string, string[]> | undefined;
  let bodyMatches = true;
  if (bodyHash !== undefined) {
    const body = options.body;
    if (body === undefined || body === null) return 'body_missing';
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) return 'mismatch';
    bodyMatches = constantTimeEqual(await computeTwilioBodySHA256(body), bodyHash.toLowerCase());
    grouped = new Map();
  } else {
    grouped = groupParams(options.params);
    if (grouped === undefined) return 'mismatch';
  }

  const key = await hmacKey(secret, algorithm);
  let valid = false;
  // Every candidate is computed and compared, so the time taken does not say which one matched.
  for (const url of signatureUrlCandidates(options.url, variant.lowerHost === true)) {
    valid = constantTimeEqual(await sign(key, signedText(url, grouped)), signature) || valid;
    if (variant.valuesInGivenOrder) {
      valid = constantTimeEqual(await sign(key, signedTextInGivenOrder(url, grouped)), signature) || valid;
    }
  }
  if (!valid || !bodyMatches) return 'mismatch';
  if (options.replayGuard !== undefined && !(await options.replayGuard.check(signature))) return 'replayed';
  return 'valid';
}

/**
 * Throws the `WebhookSignatureError` that says why a check failed: a missing header, a signature
 * that does not match, a JSON webhook checked without its body, an algorithm that is not
 * supported or not the one expected, or a replayed delivery. None of the messages contains a key
 * or signature. @internal
 */
export function throwUnlessValid(verdict: TwilioSignatureVerdict, header: string, carrier: string): void {
  if (verdict === 'missing')
    throw new WebhookSignatureError(`missing ${header} header: the request did not come from ${carrier}`);
  if (verdict === 'mismatch')
    throw new WebhookSignatureError(`${header} does not match the request URL, parameters and body`);
  if (verdict === 'body_missing') {
    throw new WebhookSignatureError(
      `the request URL carries bodySHA256 (a JSON webhook): pass the raw request body as \`body\` so that it can be checked against the hash`,
    );
  }
  if (verdict === 'algorithm') {
    throw new WebhookSignatureError(
      'X-Twilio-Webhooks-Signature-Settings names a signature algorithm that is not supported (HMAC_SHA1, HMAC_SHA256) or not the one expected',
    );
  }
  if (verdict === 'replayed') {
    throw new WebhookSignatureError(
      `${header} was already accepted for this URL and these parameters: the request was replayed (the signature carries no timestamp, so a repeated delivery is refused)`,
    );
  }
}

/**
 * True when `signature` is Twilio's signature of `url` and `params` under `authToken` (and, with a
 * `replayGuard`, the delivery was not accepted before). The URL is also tried in the forms
 * Twilio's helper library accepts ({@link twilioSignatureUrlCandidates}): with its default port
 * (:443 for https/wss, :80 for http/ws) added or removed, as the WHATWG URL parser writes it, and
 * with its query re-encoded. A URL with `bodySHA256` (a JSON webhook) verifies only with the
 * `body` that hashes to it; `signatureSettings` selects a SharedKey's algorithm (HMAC-SHA256).
 */
export async function validateTwilioSignature(options: ValidateTwilioSignatureOptions): Promise<boolean> {
  return (await twilioSignatureVerdict(options)) === 'valid';
}

/**
 * Like {@link validateTwilioSignature}, but throws a `WebhookSignatureError` when the header is
 * missing, does not match, or (with a `replayGuard`) the delivery was replayed (three different
 * messages; none contains the token or signature).
 */
export async function assertTwilioSignature(options: ValidateTwilioSignatureOptions): Promise<void> {
  throwUnlessValid(await twilioSignatureVerdict(options), 'X-Twilio-Signature', 'Twilio');
}

/** The `X-Twilio-Signature` header, looked up case-insensitively (first value when repeated). */
export function readTwilioSignatureHeader(headers: TwilioHeaders): string | undefined {
  return readHeader(headers, 'x-twilio-signature');
}

/**
 * Validates the media WebSocket upgrade request: Twilio signs the `wss://` URL of the
 * `<Stream>` with no parameters.
 */
export function validateTwilioWebSocketUpgrade(options: ValidateTwilioWebSocketUpgradeOptions): Promise<boolean> {
  return validateTwilioSignature({
    authToken: options.authToken,
    signature: readTwilioSignatureHeader(options.headers),
    url: options.url,
  });
}

/** Like {@link validateTwilioWebSocketUpgrade}, throwing a `WebhookSignatureError` on failure. */
export function assertTwilioWebSocketUpgrade(options: ValidateTwilioWebSocketUpgradeOptions): Promise<void> {
  return assertTwilioSignature({
    authToken: options.authToken,
    signature: readTwilioSignatureHeader(options.headers),
    url: options.url,
  });
}
