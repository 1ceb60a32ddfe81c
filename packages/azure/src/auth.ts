/**
 * Checks on what Call Automation sends: the JWT in the `Authorization` header of every WebSocket
 * upgrade (a new token per connection, valid 24 hours) and of every mid-call webhook (a new token
 * per event, valid 5 minutes). Both are RS256 tokens issued by
 * `https://acscallautomation.communication.azure.com`, signed with the keys published at
 * `https://acscallautomation.communication.azure.com/calling/keys`, whose audience is the ACS
 * resource's id (https://learn.microsoft.com/azure/communication-services/how-tos/call-automation/secure-webhook-endpoint).
 *
 * Verified offline against a key set the application gives (`keys`), or one fetched and cached by
 * {@link createAzureKeySet}. Web Crypto only: runs on Node and in Workers.
 */
import { ConfigError, WebhookSignatureError, base64UrlDecode, type ReplayGuard } from '@switchboard/core';
import {
  assertReplayGuardOption,
  isJsonObject,
  readHeader,
  restClientConfig,
  type RequestHeaders,
} from '@switchboard/core/protocol';

/** Issuer of Call Automation's tokens. */
export const AZURE_CALL_AUTOMATION_ISSUER = 'https://acscallautomation.communication.azure.com';
/** Where Call Automation publishes its signing keys (a JSON Web Key Set). */
export const AZURE_CALL_AUTOMATION_KEYS_URL = 'https://acscallautomation.communication.azure.com/calling/keys';

/** One RSA key of a JSON Web Key Set. */
export type AzureJsonWebKey = { kty: string; kid?: string; n?: string; e?: string; alg?: string; use?: string };
/** A JSON Web Key Set: `{ keys: [...] }`. */
export type AzureKeySet = { keys: AzureJsonWebKey[] };
/** The key set, or a function that gives it (`refresh: true` when a token names a key it lacks). */
export type AzureKeySource = AzureKeySet | ((options: { refresh: boolean }) => Promise<AzureKeySet>);

export type AzureTokenCheckOptions = {
  /** The request's headers (a WebSocket upgrade or a webhook): the token is read from `Authorization: Bearer …`. */
  headers?: RequestHeaders;
  /** The token itself, instead of `headers`. */
  token?: string;
  /** The ACS resource's id (its immutable resource id, a GUID): the tokens' audience. */
  audience: string;
  /** The signing keys. */
  keys: AzureKeySource;
  /** Default {@link AZURE_CALL_AUTOMATION_ISSUER}. */
  issuer?: string;
  /** Clock skew allowed on `exp` and `nbf`, seconds. Default 60. */
  clockToleranceSeconds?: number;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Refuses a token that was already accepted (each connection and each event gets a new one). */
  replayGuard?: ReplayGuard;
};

/** The verdict on a token: its claims, or why it was refused. */
export type AzureTokenVerdict =
  { valid: true; claims: Record<string, unknown> } | { valid: false; error: WebhookSignatureError };

/** What the upgrade request of an ACS media WebSocket carries besides the frames. */
export type AzureStreamHeaders = {
  /** `x-ms-call-connection-id`: the call's id for Call Automation's REST API. */
  callConnectionId?: string;
  /** `x-ms-call-correlation-id`: the id Azure support and logs know the call by. */
  correlationId?: string;
  /** The Bearer token of `Authorization`, to check with {@link assertAzureCallAutomationToken}. */
  token?: string;
};

/** Longest token read, in characters. */
const MAX_TOKEN_CHARS = 16_384;
const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The ids and token an ACS WebSocket upgrade carries in its headers. Never throws on what a request holds. */
export function readAzureStreamHeaders(headers: RequestHeaders): AzureStreamHeaders {
  const out: AzureStreamHeaders = {};
  const callConnectionId = readHeader(headers, 'x-ms-call-connection-id')?.trim();
  if (callConnectionId) out.callConnectionId = callConnectionId;
  const correlationId = readHeader(headers, 'x-ms-call-correlation-id')?.trim();
  if (correlationId) out.correlationId = correlationId;
  const token = bearerToken(headers);
  if (token !== undefined) out.token = token;
  return out;
}

function bearerToken(headers: RequestHeaders): string | undefined {
  const value = readHeader(headers, 'authorization');
  const match = value === undefined ? null : /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1] : undefined;
}

function refuse(message: string): never {
  throw new WebhookSignatureError(`Call Automation token: ${message}`);
}

function readJsonPart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(base64UrlDecode(part)));
  } catch {
    refuse(`its ${what} is not base64url JSON`);
  }
  if (!isJsonObject(value)) refuse(`its ${what} is not a JSON object`);
  return value;
}

function checkOptions(options: AzureTokenCheckOptions): void {
  if (!options || typeof options !== 'object') throw new ConfigError('Azure token check: options are required');
  if (typeof options.audience !== 'string' || options.audience.trim() === '')
    throw new ConfigError('Azure token check: audience (the ACS resource id) is required');
  const keys = options.keys as unknown;
  if (typeof keys !== 'function' && !(isJsonObject(keys) && Array.isArray(keys['keys'])))
    throw new ConfigError('Azure token check: keys must be a key set ({ keys: [...] }) or a function giving one');
  if (options.now !== undefined && typeof options.now !== 'function')
    throw new ConfigError('Azure token check: now must be a function');
  const tolerance = options.clockToleranceSeconds;
  if (tolerance !== undefined && (!Number.isFinite(tolerance) || tolerance < 0))
    throw new ConfigError('Azure token check: clockToleranceSeconds must be a non-negative number');
  assertReplayGuardOption(options.replayGuard, 'Azure token check');
}

async function keySet(source: AzureKeySource, refresh: boolean): Promise<AzureJsonWebKey[]> {
  const set = typeof source === 'function' ? await source({ refresh }) : source;
  return isJsonObject(set) && Array.isArray(set.keys) ? (set.keys.filter(isJsonObject) as AzureJsonWebKey[]) : [];
}

async function findKey(source: AzureKeySource, kid: unknown): Promise<AzureJsonWebKey | undefined> {
  const pick = (keys: AzureJsonWebKey[]) =>
    keys.find((key) => key.kty === 'RSA' && (kid === undefined ? keys.length === 1 : key.kid === kid));
  const found = pick(await keySet(source, false));
  if (found !== undefined || typeof source !== 'function') return found;
  // Keys rotate: a token naming a key the cached set lacks asks for the set again.
  return pick(await keySet(source, true));
}

async function verifySignature(key: AzureJsonWebKey, signed: string, signature: Uint8Array): Promise<boolean> {
  if (typeof key.n !== 'string' || typeof key.e !== 'string') return false;
  const subtle = globalThis.crypto.subtle;
  try {
    const imported = await subtle.importKey(
      'jwk',
      { kty: 'RSA', n: key.n, e: key.e, alg: 'RS256', ext: true },
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    return await subtle.verify('RSASSA-PKCS1-v1_5', imported, new Uint8Array(signature), encoder.encode(signed));
  } catch {
    return false;
  }
}

async function verify(options: AzureTokenCheckOptions): Promise<Record<string, unknown>> {
  const token = options.token ?? (options.headers === undefined ? undefined : bearerToken(options.headers));
  if (typeof token !== 'string' || token === '') refuse('missing (no Authorization: Bearer header)');
  if (token.length > MAX_TOKEN_CHARS) refuse(`longer than ${MAX_TOKEN_CHARS} characters`);
  const parts = token.split('.');
  if (parts.length !== 3) refuse('not a JWT (three dot-separated parts)');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = readJsonPart(headerPart, 'header');
  if (header['alg'] !== 'RS256') refuse('its algorithm is not RS256');
  const claims = readJsonPart(payloadPart, 'payload');
  let signature: Uint8Array;
  try {
    signature = base64UrlDecode(signaturePart);
  } catch {
    refuse('its signature is not base64url');
  }
  const kid = header['kid'];
  if (kid !== undefined && typeof kid !== 'string') refuse('its kid is not a string');
  const key = await findKey(options.keys, kid);
  if (key === undefined) refuse('signed with a key the key set does not hold');
  if (!(await verifySignature(key, `${headerPart}.${payloadPart}`, signature))) refuse('the signature does not verify');

  if (claims['iss'] !== (options.issuer ?? AZURE_CALL_AUTOMATION_ISSUER)) refuse('issued by someone else');
  const aud = claims['aud'];
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(options.audience)) refuse('meant for another audience');
  const now = (options.now ?? Date.now)() / 1000;
  const tolerance = options.clockToleranceSeconds ?? 60;
  const exp = claims['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) refuse('without an expiry (exp)');
  if (now - tolerance >= exp) refuse('expired');
  const nbf = claims['nbf'];
  if (nbf !== undefined && (typeof nbf !== 'number' || now + tolerance < nbf)) refuse('not valid yet (nbf)');

  if (options.replayGuard !== undefined) {
    const jti = claims['jti'];
    const fresh = await options.replayGuard.check(`azure:${typeof jti === 'string' && jti ? jti : signaturePart}`);
    if (!fresh) refuse('already used (a replay)');
  }
  return claims;
}

/**
 * The verdict on Call Automation's token in a WebSocket upgrade or a webhook: valid with the
 * token's claims, or not valid with a `WebhookSignatureError` saying why. Throws only a
 * `ConfigError`, for options that cannot check anything (no audience, no keys).
 */
export async function readAzureCallAutomationTokenVerdict(options: AzureTokenCheckOptions): Promise<AzureTokenVerdict> {
  checkOptions(options);
  try {
    return { valid: true, claims: await verify(options) };
  } catch (error) {
    if (error instanceof WebhookSignatureError) return { valid: false, error };
    return {
      valid: false,
      error: new WebhookSignatureError('Call Automation token: could not be checked', { cause: error }),
    };
  }
}

/** True when the request carries a valid Call Automation token; false otherwise. */
export async function validateAzureCallAutomationToken(options: AzureTokenCheckOptions): Promise<boolean> {
  return (await readAzureCallAutomationTokenVerdict(options)).valid;
}

/** The token's claims; a `WebhookSignatureError` when it is missing or does not verify. */
export async function assertAzureCallAutomationToken(
  options: AzureTokenCheckOptions,
): Promise<Record<string, unknown>> {
  const verdict = await readAzureCallAutomationTokenVerdict(options);
  if (!verdict.valid) throw verdict.error;
  return verdict.claims;
}

export type AzureKeySetOptions = {
  /** Default {@link AZURE_CALL_AUTOMATION_KEYS_URL}. */
  url?: string;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /** How long a fetched set is used, ms. Default one hour. */
  cacheMs?: number;
  /**
   * Shortest time between two fetches, ms, so that tokens naming unknown keys cannot make it
   * fetch on every request. Default 60 000.
   */
  minRefreshMs?: number;
  /** Abort a fetch after this many ms; default 10 000. */
  timeoutMs?: number;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
};

/**
 * A key source for the token checks that fetches Call Automation's published keys, keeps them
 * for `cacheMs`, and fetches again (at most once a `minRefreshMs`) when a token names a key the
 * set lacks. A failed fetch rejects; the checks then refuse the token.
 */
export function createAzureKeySet(
  options: AzureKeySetOptions = {},
): (options: { refresh: boolean }) => Promise<AzureKeySet> {
  const url = options.url ?? AZURE_CALL_AUTOMATION_KEYS_URL;
  const restOptions: { baseUrl: string; fetch?: typeof fetch; timeoutMs?: number } = { baseUrl: url };
  if (options.fetch !== undefined) restOptions.fetch = options.fetch;
  if (options.timeoutMs !== undefined) restOptions.timeoutMs = options.timeoutMs;
  const rest = restClientConfig('createAzureKeySet', restOptions, url);
  const cacheMs = options.cacheMs ?? 60 * 60 * 1000;
  const minRefreshMs = options.minRefreshMs ?? 60_000;
  const now = options.now ?? Date.now;
  let cached: { set: AzureKeySet; at: number } | undefined;
  let pending: Promise<AzureKeySet> | undefined;

  const load = async (): Promise<AzureKeySet> => {
    const response = await rest.fetch(url, { method: 'GET', signal: AbortSignal.timeout(rest.timeoutMs) });
    if (!response.ok) throw new WebhookSignatureError(`Call Automation keys: HTTP ${response.status} from ${url}`);
    const body: unknown = await response.json();
    if (!isJsonObject(body) || !Array.isArray(body['keys']))
      throw new WebhookSignatureError('Call Automation keys: the answer is not a JSON Web Key Set');
    const set: AzureKeySet = { keys: (body['keys'] as unknown[]).filter(isJsonObject) as AzureJsonWebKey[] };
    cached = { set, at: now() };
    return set;
  };

  return async ({ refresh }) => {
    const age = cached === undefined ? Infinity : now() - cached.at;
    if (cached !== undefined && age < cacheMs && !(refresh && age >= minRefreshMs)) return cached.set;
    pending ??= load().finally(() => (pending = undefined));
    return pending;
  };
}
