/**
 * Validation of Plivo's `X-Plivo-Signature-V3` with Web Crypto (Node 20 or later, and workerd).
 *
 * Plivo sends `X-Plivo-Signature-V3` (HMAC-SHA256 with the account's or subaccount's auth token;
 * `X-Plivo-Signature-Ma-V3` uses the main account's token) and `X-Plivo-Signature-V3-Nonce`
 * (https://docs.plivo.com/docs/voice/xml/request/validation). The signed text, as Plivo's server
 * SDKs build it (plivo-python `plivo/utils/signature_v3.py`, plivo-node `lib/utils/v3Security.js`):
 *
 * - the URL without its query: `scheme://host[:port]/path`;
 * - GET: the query parameters (and any given), sorted by name and then value, as `name=value`
 *   joined by `&`, after a `?` when there are any;
 * - POST: the URL's query parameters the same way; then, when the body has parameters, `?` +
 *   that query + (`.` when the query is not empty) + every body parameter as `namevalue`, sorted
 *   by name and then value, with no separator;
 * - then `.` + the nonce.
 *
 * The signature is the base64 of that HMAC. The header may carry several signatures separated by
 * commas (token rotation): any one matching is enough. Where Plivo's server SDKs read a URL
 * differently, a request is checked against each reading: a URL with credentials
 * (`https://user:pass@host/…`) with them (plivo-python) and without them (plivo-node 4.79), and a
 * URL holding characters outside ASCII as UTF-8 (as computed here) and encoded twice (both SDKs). V3 signs no
 * timestamp, so there is no
 * freshness window; pass a `ReplayGuard` from `@switchboard/core` (or a `PlivoReplayGuard`, which
 * prefixes its keys with `plivo:`) as `replayGuard` to refuse a delivery seen before.
 */
import { ConfigError, WebhookSignatureError, base64Encode, type ReplayGuard } from '@switchboard/core';
import {
  assertReplayGuardOption,
  constantTimeEqual,
  readHeader,
  type RequestHeaders,
} from '@switchboard/core/protocol';

/** Parameters of a signed request. A repeated name carries an array of values. */
export type PlivoSignedParams = Record<string, string | readonly string[]> | URLSearchParams;

export type PlivoSignatureV3Options = {
  authToken: string;
  /** The request method: Plivo signs GET and POST callbacks. */
  method: 'GET' | 'POST' | (string & {});
  /** The full URL Plivo requested (the answer/callback URL), query string included. */
  url: string;
  /** The form-encoded POST parameters (or extra GET parameters). */
  params?: PlivoSignedParams;
  /** The `X-Plivo-Signature-V3-Nonce` header. */
  nonce: string | undefined | null;
};

export type ValidatePlivoSignatureV3Options = PlivoSignatureV3Options & {
  /** The `X-Plivo-Signature-V3` (or `X-Plivo-Signature-Ma-V3`) header. */
  signature: string | undefined | null;
  /**
   * Refuse a delivery whose nonce was already accepted (V3 signs no timestamp, so this is the only
   * replay protection). Remembered only once the signature verified, keyed
   * `${nonce}.${signature}` (the signature that matched); `replayGuard.forget(key)` accepts that
   * delivery once more. A `ReplayGuard` from `@switchboard/core`, such as a `PlivoReplayGuard`.
   */
  replayGuard?: ReplayGuard;
};

const encoder = new TextEncoder();

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The parameters by name, added to `into`; undefined when they cannot be what Plivo signed (only a
 * `URLSearchParams` or an object of strings and string arrays qualifies). None (`undefined`,
 * `null`) adds nothing.
 */
function toMap(params: unknown, into = new Map<string, string[]>()): Map<string, string[]> | undefined {
  if (params === undefined || params === null) return into;
  const add = (name: string, value: string) => {
    const list = into.get(name);
    if (list) list.push(value);
    else into.set(name, [value]);
  };
  if (params instanceof URLSearchParams) {
    for (const [name, value] of params) add(name, value);
    return into;
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
  return into;
}

function sortedPairs(map: Map<string, string[]>, join: (name: string, value: string) => string): string[] {
  const out: string[] = [];
  for (const name of [...map.keys()].sort(compareCodeUnits)) {
    for (const value of [...map.get(name)!].sort(compareCodeUnits)) out.push(join(name, value));
  }
  return out;
}

/** Why a request cannot be signed, or the signed text (before `.` + nonce). */
type SignedBase = { base: string } | { error: string };

/** `scheme://authority/path?query` of an absolute URL, or undefined. */
function splitUrl(url: unknown): { scheme: string; authority: string; path: string; query: string } | undefined {
  if (typeof url !== 'string') return undefined;
  const match = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/.exec(url);
  if (!match) return undefined;
  const [, scheme = '', authority = '', path = '', query = ''] = match;
  return { scheme, authority, path, query };
}

/**
 * The URL as plivo-node reads it when it carries credentials (`https://user:pass@host/…`): its
 * URL parser keeps the host and port only. plivo-python signs the credentials with the host, as
 * {@link signedBase} does, so a request is checked against both readings. Undefined when the URL
 * has no credentials.
 */
function withoutUserinfo(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  const bare = url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1');
  return bare === url ? undefined : bare;
}

/**
 * The URL as both Plivo server SDKs sign it when it holds characters outside ASCII (a path
 * written `/plivo/réponse` rather than `/plivo/r%C3%A9ponse`): they take its UTF-8 bytes as
 * characters and encode those once more, so `é` is signed as the UTF-8 of `Ã©`. Undefined for an
 * ASCII URL, where both readings are the same.
 */
function latin1OfUtf8(url: unknown): string | undefined {
  // eslint-disable-next-line no-control-regex -- any character outside ASCII
  if (typeof url !== 'string' || !/[^\x00-\x7f]/.test(url)) return undefined;
  let out = '';
  for (const byte of encoder.encode(url)) out += String.fromCharCode(byte);
  return out;
}

/** Every URL a request may have been signed for: as given, then the SDKs' other readings. */
function urlReadings(url: unknown): unknown[] {
  const readings: unknown[] = [url];
  for (const variant of [withoutUserinfo(url), latin1OfUtf8(url)]) if (variant !== undefined) readings.push(variant);
  const both = withoutUserinfo(latin1OfUtf8(url));
  if (both !== undefined) readings.push(both);
  return readings;
}

function signedBase(method: unknown, url: unknown, params: unknown): SignedBase {
  const parts = splitUrl(url);
  if (parts === undefined) return { error: 'url must be an absolute URL' };
  const { scheme, authority, path, query } = parts;
  const base = `${scheme}//${authority}${path}`;
  const queryMap = toMap(new URLSearchParams(query))!;
  const upper = typeof method === 'string' ? method.toUpperCase() : undefined;
  if (upper === 'GET') {
    const all = toMap(params, queryMap);
    if (all === undefined) return { error: 'params must be URLSearchParams or an object of strings and string arrays' };
    const q = sortedPairs(all, (n, v) => `${n}=${v}`).join('&');
    return { base: q.length > 0 ? `${base}?${q}` : base };
  }
  if (upper !== 'POST')
    return {
      error: `method must be GET or POST, got ${typeof method === 'string' ? JSON.stringify(method.slice(0, 16)) : typeof method}`,
    };
  const q = sortedPairs(queryMap, (n, v) => `${n}=${v}`).join('&');
  const body = toMap(params);
  if (body === undefined) return { error: 'params must be URLSearchParams or an object of strings and string arrays' };
  if (body.size === 0) return { base: q.length > 0 ? `${base}?${q}` : base };
  return { base: `${base}?${q}${q.length > 0 ? '.' : ''}${sortedPairs(body, (n, v) => n + v).join('')}` };
}

/**
 * The text Plivo signs for this request, before `.` + nonce. Throws a `ConfigError` for a method
 * other than GET or POST, a URL that is not absolute, or parameters that are not strings.
 */
export function plivoSignatureV3Base(method: string, url: string, params?: PlivoSignedParams): string {
  const signed = signedBase(method, url, params);
  if ('error' in signed) throw new ConfigError(`Plivo signature: ${signed.error}`);
  return signed.base;
}

function checkToken(authToken: unknown): asserts authToken is string {
  if (typeof authToken !== 'string' || authToken.length === 0)
    throw new ConfigError('Plivo signature validation needs a non-empty authToken');
}

async function hmacBase64(authToken: string, text: string): Promise<string> {
  const key = await globalThis.crypto.subtle.importKey(
    'raw',
    encoder.encode(authToken),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await globalThis.crypto.subtle.sign('HMAC', key, encoder.encode(text));
  return base64Encode(new Uint8Array(mac));
}

/** The signature Plivo puts in `X-Plivo-Signature-V3` for this request and nonce. */
export async function computePlivoSignatureV3(options: PlivoSignatureV3Options): Promise<string> {
  checkToken(options.authToken);
  if (typeof options.nonce !== 'string' || options.nonce.length === 0)
    throw new ConfigError('Plivo signature: nonce must be a non-empty string');
  return hmacBase64(
    options.authToken,
    `${plivoSignatureV3Base(options.method, options.url, options.params)}.${options.nonce}`,
  );
}

/**
 * The signature that matched (the expected one), or undefined. Every candidate is compared. A
 * request whose method, URL or parameters cannot be signed matches nothing.
 */
async function matchingSignature(
  options: ValidatePlivoSignatureV3Options & { signature: string; nonce: string },
): Promise<string | undefined> {
  const signed = signedBase(options.method, options.url, options.params);
  if ('error' in signed) return undefined;
  const bases = [signed.base];
  for (const url of urlReadings(options.url).slice(1)) {
    const other = signedBase(options.method, url, options.params);
    if (!('error' in other)) bases.push(other.base);
  }
  const candidates = options.signature.split(',').map((c) => c.trim());
  let matched: string | undefined;
  for (const base of bases) {
    const expected = await hmacBase64(options.authToken, `${base}.${options.nonce}`);
    let valid = false;
    for (const candidate of candidates) valid = constantTimeEqual(expected, candidate) || valid;
    if (valid) matched ??= expected;
  }
  return matched;
}

/** What a V3 signature check found. */
type PlivoSignatureVerdict = 'missing' | 'mismatch' | 'replayed' | 'valid';

/**
 * Checks the V3 signature; with a `replayGuard`, a verified delivery is then remembered, keyed by
 * its nonce and the signature that matched.
 */
async function plivoSignatureVerdict(options: ValidatePlivoSignatureV3Options): Promise<PlivoSignatureVerdict> {
  checkToken(options?.authToken);
  assertReplayGuardOption(options.replayGuard, 'Plivo signature');
  const { signature, nonce } = options;
  if (typeof signature !== 'string' || signature.length === 0 || typeof nonce !== 'string' || nonce.length === 0)
    return 'missing';
  const matched = await matchingSignature({ ...options, signature, nonce });
  if (matched === undefined) return 'mismatch';
  if (options.replayGuard !== undefined && !(await options.replayGuard.check(`${nonce}.${matched}`))) return 'replayed';
  return 'valid';
}

/**
 * True when `signature` (one or several, comma-separated) holds Plivo's V3 signature of the
 * request, and, with a `replayGuard`, the delivery was not seen before.
 */
export async function validatePlivoSignatureV3(options: ValidatePlivoSignatureV3Options): Promise<boolean> {
  return (await plivoSignatureVerdict(options)) === 'valid';
}

/**
 * Like {@link validatePlivoSignatureV3}, but throws a `WebhookSignatureError` saying why: missing
 * headers, a signature that does not match, or (with a `replayGuard`) a replayed delivery.
 */
export async function assertPlivoSignatureV3(options: ValidatePlivoSignatureV3Options): Promise<void> {
  const verdict = await plivoSignatureVerdict(options);
  if (verdict === 'missing') {
    throw new WebhookSignatureError(
      'missing X-Plivo-Signature-V3 or X-Plivo-Signature-V3-Nonce header: the request did not come from Plivo',
    );
  }
  if (verdict === 'mismatch')
    throw new WebhookSignatureError('X-Plivo-Signature-V3 does not match the request URL, parameters and nonce');
  if (verdict === 'replayed') {
    throw new WebhookSignatureError(
      'X-Plivo-Signature-V3-Nonce was already used: the request was replayed (Plivo signs no timestamp, so a repeated nonce is refused)',
    );
  }
}

/** Request headers: a plain object as Node gives them, or a `Headers`. */
export type PlivoHeaders = RequestHeaders;

/** `X-Plivo-Signature-V3`, `X-Plivo-Signature-Ma-V3` and `X-Plivo-Signature-V3-Nonce`, looked up case-insensitively. */
export function readPlivoSignatureHeaders(headers: PlivoHeaders): {
  signature: string | undefined;
  mainAccountSignature: string | undefined;
  nonce: string | undefined;
} {
  return {
    signature: readHeader(headers, 'x-plivo-signature-v3'),
    mainAccountSignature: readHeader(headers, 'x-plivo-signature-ma-v3'),
    nonce: readHeader(headers, 'x-plivo-signature-v3-nonce'),
  };
}
