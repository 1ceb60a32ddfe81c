/**
 * Validation of Twilio's `X-Twilio-Signature` with Web Crypto (Node >= 20 and workerd).
 *
 * The signature is base64(HMAC-SHA1(authToken, url + name1 + value1 + name2 + value2 …)),
 * the POST parameters sorted by name. Only form-encoded bodies (and requests without a body,
 * such as the media WebSocket upgrade) are supported: JSON webhooks signed through a
 * `bodySHA256` query parameter are not.
 *
 * The signature carries no timestamp, so a captured request verifies for ever: pass a
 * `ReplayGuard` (from `@switchboard/core`) as `replayGuard` to refuse a delivery seen before. Its
 * key is the verified signature, which commits to the URL and every parameter. Headers are not
 * signed, so none (`I-Twilio-Idempotency-Token` included) takes part in the key: a replayer could
 * change them at will.
 */
import {
  ConfigError,
  WebhookSignatureError,
  assertReplayGuardOption,
  base64Encode,
  constantTimeEqual,
  readHeader,
  type ReplayGuard,
  type RequestHeaders,
} from '@switchboard/core';

/** Form parameters of a signed request. A repeated name carries an array of values. */
export type TwilioSignedParams = Record<string, string | readonly string[]> | URLSearchParams;

export type ValidateTwilioSignatureOptions = {
  authToken: string;
  /** The `X-Twilio-Signature` header as received. */
  signature: string | undefined | null;
  /** The full URL Twilio requested, query string included, exactly as configured in Twilio. */
  url: string;
  /** The form-encoded POST parameters; omit for GET requests and WebSocket upgrades. */
  params?: TwilioSignedParams;
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

function hmacKey(authToken: string): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey('raw', encoder.encode(authToken), { name: 'HMAC', hash: 'SHA-1' }, false, [
    'sign',
  ]);
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
  if (typeof params !== 'object' || Array.isArray(params) || ArrayBuffer.isView(params) || params instanceof ArrayBuffer) return undefined;
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string') add(name, value);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) for (const v of value as string[]) add(name, v);
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

/** The signature Twilio puts in `X-Twilio-Signature` for this URL and these form parameters. */
export async function computeTwilioSignature(authToken: string, url: string, params?: TwilioSignedParams): Promise<string> {
  checkAuthToken(authToken);
  if (typeof url !== 'string') throw new ConfigError('computeTwilioSignature: url must be a string');
  const grouped = groupParams(params);
  if (grouped === undefined) throw new ConfigError('computeTwilioSignature: params must be URLSearchParams or an object of strings and string arrays');
  return sign(await hmacKey(authToken), signedText(url, grouped));
}

const DEFAULT_PORTS: Record<string, string> = { 'https:': '443', 'wss:': '443', 'http:': '80', 'ws:': '80' };

/**
 * The URL as given, plus the same URL with the scheme's default port written out (or removed
 * when it is written out): Twilio does not sign consistently either way.
 */
export function twilioSignatureUrlVariants(url: string): string[] {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#]*)(.*)$/s.exec(url);
  if (!match) return [url];
  const [, scheme = '', authority = '', rest = ''] = match;
  const defaultPort = DEFAULT_PORTS[scheme.toLowerCase()];
  if (defaultPort === undefined) return [url];
  const at = authority.lastIndexOf('@');
  const userinfo = authority.slice(0, at + 1);
  const hostPort = authority.slice(at + 1);
  // A port follows the last ':' unless that ':' sits inside an IPv6 literal ("[::1]").
  const portMatch = /^(.*?)(?::(\d*))?$/s.exec(hostPort);
  const host = portMatch?.[1] ?? hostPort;
  const port = portMatch?.[2];
  if (host.startsWith('[') && !host.endsWith(']')) return [url];
  if (port === undefined) return [url, `${scheme}//${userinfo}${host}:${defaultPort}${rest}`];
  if (port === defaultPort) return [url, `${scheme}//${userinfo}${host}${rest}`];
  return [url];
}

/** What a signature check found. @internal */
export type TwilioSignatureVerdict = 'missing' | 'mismatch' | 'replayed' | 'valid';

/**
 * Checks Twilio's scheme (shared with SignalWire's Compatibility webhooks); with a `replayGuard`,
 * a verified delivery is then remembered, keyed by its signature. @internal
 */
export async function twilioSignatureVerdict(options: ValidateTwilioSignatureOptions): Promise<TwilioSignatureVerdict> {
  checkAuthToken(options?.authToken);
  assertReplayGuardOption(options.replayGuard);
  const signature = options.signature;
  if (typeof signature !== 'string' || signature.length === 0) return 'missing';
  // The URL and the parameters come from the request: when they cannot be what Twilio signed,
  // the signature does not match them.
  const grouped = groupParams(options.params);
  if (typeof options.url !== 'string' || grouped === undefined) return 'mismatch';
  const key = await hmacKey(options.authToken);
  let valid = false;
  // Every variant is computed and compared, so the time taken does not say which one matched.
  for (const url of twilioSignatureUrlVariants(options.url)) {
    const expected = await sign(key, signedText(url, grouped));
    valid = constantTimeEqual(expected, signature) || valid;
  }
  if (!valid) return 'mismatch';
  if (options.replayGuard !== undefined && !(await options.replayGuard.check(signature))) return 'replayed';
  return 'valid';
}

/**
 * Throws the `WebhookSignatureError` that says why a check failed: a missing header, a signature
 * that does not match, or a replayed delivery. None of the messages contains a key or signature.
 * @internal
 */
export function throwUnlessValid(verdict: TwilioSignatureVerdict, header: string, carrier: string): void {
  if (verdict === 'missing') throw new WebhookSignatureError(`missing ${header} header: the request did not come from ${carrier}`);
  if (verdict === 'mismatch') throw new WebhookSignatureError(`${header} does not match the request URL and parameters`);
  if (verdict === 'replayed') {
    throw new WebhookSignatureError(
      `${header} was already accepted for this URL and these parameters: the request was replayed (the signature carries no timestamp, so a repeated delivery is refused)`,
    );
  }
}

/**
 * True when `signature` is Twilio's signature of `url` and `params` under `authToken` (and, with a
 * `replayGuard`, the delivery was not accepted before). The URL is also tried with its default
 * port (:443 for https/wss, :80 for http/ws) added or removed. Form-encoded bodies only;
 * `bodySHA256` JSON webhooks are not supported.
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
