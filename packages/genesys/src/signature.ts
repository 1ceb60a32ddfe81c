/**
 * Checking who opened the WebSocket. Genesys Cloud sends the integration's API key as `X-API-KEY`
 * on the upgrade request and signs the request with HTTP Message Signatures (RFC 9421): a
 * `Signature-Input` header naming the covered components (the request target, the authority, the
 * three `audiohook-*` headers and `x-api-key`) with `keyid` (the API key), `nonce`, `alg`
 * (`hmac-sha256`), `created` and `expires`, and a `Signature` header with the HMAC-SHA256 of the
 * signature base, keyed with the integration's client secret (base64-decoded). Sources:
 * reference/genesys.md.
 *
 * Plain WebCrypto: it runs on Node ≥ 20 and in Cloudflare Workers.
 */
import { ConfigError, WebhookSignatureError, base64Decode, type ReplayGuard } from '@switchboard/core';
import { assertReplayGuardOption, constantTimeEqual, type RequestHeaders } from '@switchboard/core/protocol';
import {
  isInnerList,
  parseDictionary,
  serializeInnerList,
  serializeItem,
  type InnerList,
} from './structured-fields.js';

/** The components every Genesys signature must cover. */
export const GENESYS_SIGNED_COMPONENTS = Object.freeze([
  '@request-target',
  '@authority',
  'audiohook-organization-id',
  'audiohook-session-id',
  'audiohook-correlation-id',
  'x-api-key',
]);

export type ValidateGenesysUpgradeOptions = {
  /** Headers of the upgrade request (a plain object as Node gives them, or a `Headers`). */
  headers: RequestHeaders;
  /** The request target: path and query as the request line has them (Node's `request.url`). */
  requestTarget: string;
  /** The authority the request was sent to; default the `Host` header. */
  authority?: string;
  /** The integration's API key (Genesys sends it as `X-API-KEY` and as the signature's `keyid`). */
  apiKey: string;
  /**
   * The integration's client secret, base64 as Genesys Cloud shows it. An empty secret means the
   * integration signs nothing: unsigned requests are then accepted on the API key alone.
   */
  clientSecret: string;
  /** How long a signature is accepted after its `created`, seconds. Default 10. */
  maxAgeSeconds?: number;
  /** Clock difference tolerated either way, seconds. Default 3. */
  clockSkewSeconds?: number;
  /** Shortest `nonce` accepted, characters. Default 22. */
  minNonceLength?: number;
  /** Refuses a signature (`keyid` and `nonce`) seen before. */
  replayGuard?: ReplayGuard;
  /** The time, ms since the epoch. Default `Date.now`. */
  now?: () => number;
};

/** Why an upgrade request was refused, or `valid`. */
export type GenesysUpgradeVerdict =
  | 'valid'
  | 'missing_api_key'
  | 'wrong_api_key'
  | 'unsigned'
  | 'malformed'
  | 'unsupported'
  | 'not_covered'
  | 'missing_component'
  | 'keyid_mismatch'
  | 'nonce'
  | 'expired'
  | 'not_yet_valid'
  | 'mismatch'
  | 'replayed';

const MESSAGES: Record<Exclude<GenesysUpgradeVerdict, 'valid'>, string> = {
  missing_api_key: 'the upgrade request has no X-API-KEY header',
  wrong_api_key: 'the X-API-KEY header is not the integration’s API key',
  unsigned: 'the upgrade request carries no Signature and Signature-Input headers',
  malformed: 'the Signature or Signature-Input header is malformed',
  unsupported: 'the signature uses an algorithm or a component this check does not support',
  not_covered: 'the signature does not cover every component Genesys signs',
  missing_component: 'a component the signature covers is missing from the request',
  keyid_mismatch: 'the signature’s keyid is not the API key',
  nonce: 'the signature has no nonce, or one that is too short',
  expired: 'the signature is too old or has expired',
  not_yet_valid: 'the signature was created in the future',
  mismatch: 'the signature does not match: wrong client secret, or the request was altered',
  replayed: 'the signature was seen before (a replayed upgrade request)',
};

function headerValue(headers: RequestHeaders, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  let raw: unknown;
  try {
    if (typeof (headers as { get?: unknown }).get === 'function') raw = (headers as Headers).get(name) ?? undefined;
    else {
      for (const key of Object.keys(headers)) {
        if (key.toLowerCase() === name) {
          raw = (headers as Record<string, unknown>)[key];
          break;
        }
      }
    }
  } catch {
    return undefined;
  }
  const values = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0 || !values.every((v) => typeof v === 'string')) return undefined;
  return (values as string[]).map((v) => v.trim().replace(/[ \t]*\r\n[ \t]+/g, ' ')).join(', ');
}

function check(options: ValidateGenesysUpgradeOptions): Uint8Array {
  if (typeof options !== 'object' || options === null) throw new ConfigError('Genesys upgrade check: options required');
  if (typeof options.apiKey !== 'string' || options.apiKey.length === 0)
    throw new ConfigError('Genesys upgrade check: apiKey (the integration’s API key) is required');
  if (typeof options.clientSecret !== 'string')
    throw new ConfigError('Genesys upgrade check: clientSecret (base64, possibly empty) is required');
  if (typeof options.requestTarget !== 'string' || !options.requestTarget.startsWith('/'))
    throw new ConfigError('Genesys upgrade check: requestTarget must be the request’s path and query');
  assertReplayGuardOption(options.replayGuard, 'Genesys upgrade check');
  let key: Uint8Array;
  try {
    key = base64Decode(options.clientSecret);
  } catch {
    throw new ConfigError('Genesys upgrade check: clientSecret is not base64');
  }
  return key;
}

async function hmac(key: Uint8Array, text: string): Promise<Uint8Array> {
  const subtle = globalThis.crypto.subtle;
  // A zero-length HMAC key is refused by WebCrypto; HMAC pads keys with zeros, so one zero byte is the same key.
  const raw = key.byteLength === 0 ? new Uint8Array(1) : new Uint8Array(key);
  const cryptoKey = await subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', cryptoKey, new TextEncoder().encode(text)));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.byteLength ^ b.byteLength;
  for (let i = 0; i < Math.max(a.byteLength, b.byteLength); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** A covered component: its serialized identifier (`"x-api-key"`) and its value. */
type Component = { id: string; value: string };

/** The signature base of RFC 9421, section 2.5. */
function signatureBase(components: Component[], list: InnerList): string {
  const lines = components.map((c) => `${c.id}: ${c.value}`);
  lines.push(`"@signature-params": ${serializeInnerList(list)}`);
  return lines.join('\n');
}

/** What one signature says, or why it is refused before its HMAC is checked. */
function readSignature(
  options: ValidateGenesysUpgradeOptions,
  list: InnerList,
): { verdict: GenesysUpgradeVerdict } | { components: Component[]; nonce: string; keyid: string } {
  const params = new Map(list.params);
  const alg = params.get('alg');
  if (alg !== undefined && alg !== 'hmac-sha256') return { verdict: 'unsupported' };
  const keyid = params.get('keyid');
  if (typeof keyid !== 'string' || !constantTimeEqual(keyid, options.apiKey)) return { verdict: 'keyid_mismatch' };
  const nonce = params.get('nonce');
  if (typeof nonce !== 'string' || nonce.length < (options.minNonceLength ?? 22)) return { verdict: 'nonce' };
  const created = params.get('created');
  const expires = params.get('expires');
  if (typeof created !== 'number' || (expires !== undefined && typeof expires !== 'number'))
    return { verdict: 'malformed' };
  const now = (options.now ?? Date.now)() / 1000;
  const skew = options.clockSkewSeconds ?? 3;
  if (created > now + skew) return { verdict: 'not_yet_valid' };
  if (now > created + (options.maxAgeSeconds ?? 10) + skew) return { verdict: 'expired' };
  if (typeof expires === 'number' && now > expires + skew) return { verdict: 'expired' };
  const names = new Set<string>();
  const components: Component[] = [];
  for (const it of list.items) {
    if (typeof it.value !== 'string' || it.params.length > 0) return { verdict: 'unsupported' };
    const name = it.value;
    if (names.has(name)) return { verdict: 'malformed' };
    names.add(name);
    let value: string | undefined;
    if (name === '@request-target') value = options.requestTarget;
    else if (name === '@authority') value = (options.authority ?? headerValue(options.headers, 'host'))?.toLowerCase();
    else if (name === '@method') value = 'GET';
    else if (name.startsWith('@')) return { verdict: 'unsupported' };
    else value = headerValue(options.headers, name);
    if (value === undefined) return { verdict: 'missing_component' };
    components.push({ id: serializeItem(it), value });
  }
  if (!GENESYS_SIGNED_COMPONENTS.every((name) => names.has(name))) return { verdict: 'not_covered' };
  return { components, nonce, keyid };
}

/**
 * Checks a Genesys upgrade request: the API key, then the signature (covered components,
 * `keyid`, nonce, age, HMAC-SHA256 with the client secret), then, with a `replayGuard`, that
 * the signature was not seen before. Never throws on what the request carries; throws a
 * `ConfigError` for bad options.
 */
export async function readGenesysUpgradeVerdict(
  options: ValidateGenesysUpgradeOptions,
): Promise<GenesysUpgradeVerdict> {
  const key = check(options);
  const apiKey = headerValue(options.headers, 'x-api-key');
  if (apiKey === undefined) return 'missing_api_key';
  if (!constantTimeEqual(apiKey, options.apiKey)) return 'wrong_api_key';
  const inputText = headerValue(options.headers, 'signature-input');
  const signatureText = headerValue(options.headers, 'signature');
  if (inputText === undefined && signatureText === undefined) return key.byteLength === 0 ? 'valid' : 'unsigned';
  if (inputText === undefined || signatureText === undefined) return 'malformed';
  const inputs = parseDictionary(inputText);
  const signatures = parseDictionary(signatureText);
  if (!inputs || !signatures || inputs.size === 0) return 'malformed';
  let first: GenesysUpgradeVerdict | undefined;
  for (const [label, member] of inputs) {
    const signature = signatures.get(label);
    if (!isInnerList(member) || !signature || isInnerList(signature) || !(signature.value instanceof Uint8Array)) {
      first ??= 'malformed';
      continue;
    }
    const read = readSignature(options, member);
    if ('verdict' in read) {
      first ??= read.verdict;
      continue;
    }
    const expected = await hmac(key, signatureBase(read.components, member));
    if (!bytesEqual(expected, signature.value)) {
      first ??= 'mismatch';
      continue;
    }
    if (options.replayGuard !== undefined && !(await options.replayGuard.check(`${read.keyid}.${read.nonce}`)))
      return 'replayed';
    return 'valid';
  }
  return first ?? 'malformed';
}

/** True when {@link readGenesysUpgradeVerdict} says `valid`. */
export async function validateGenesysUpgrade(options: ValidateGenesysUpgradeOptions): Promise<boolean> {
  return (await readGenesysUpgradeVerdict(options)) === 'valid';
}

/** Like {@link validateGenesysUpgrade}, but throws a `WebhookSignatureError` saying why the request was refused. */
export async function assertGenesysUpgrade(options: ValidateGenesysUpgradeOptions): Promise<void> {
  const verdict = await readGenesysUpgradeVerdict(options);
  if (verdict !== 'valid')
    throw new WebhookSignatureError(`Genesys upgrade refused (${verdict}): ${MESSAGES[verdict]}`);
}

export type SignGenesysUpgradeOptions = {
  apiKey: string;
  /** The client secret, base64. */
  clientSecret: string;
  /** Path and query of the upgrade request. */
  requestTarget: string;
  /** Host (and port) the request goes to; sent as `Host`. */
  authority: string;
  organizationId: string;
  sessionId: string;
  correlationId: string;
  /** Signature time, seconds since the epoch. Default now. */
  created?: number;
  /** Default 32 random base64url characters. */
  nonce?: string;
};

/**
 * The headers Genesys Cloud sends on an upgrade request, signed as it signs them: for tests and
 * for clients that stand in for Genesys.
 */
export async function signGenesysUpgrade(options: SignGenesysUpgradeOptions): Promise<Record<string, string>> {
  const headers: Record<string, string> = {
    host: options.authority,
    'audiohook-organization-id': options.organizationId,
    'audiohook-session-id': options.sessionId,
    'audiohook-correlation-id': options.correlationId,
    'x-api-key': options.apiKey,
  };
  const nonce =
    options.nonce ??
    btoa(String.fromCharCode(...globalThis.crypto.getRandomValues(new Uint8Array(24))))
      .replaceAll('+', '-')
      .replaceAll('/', '_');
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const list: InnerList = {
    items: GENESYS_SIGNED_COMPONENTS.map((name) => ({ value: name, params: [] })),
    params: [
      ['keyid', options.apiKey],
      ['nonce', nonce],
      ['alg', 'hmac-sha256'],
      ['created', created],
      ['expires', created + 60],
    ],
  };
  const components = GENESYS_SIGNED_COMPONENTS.map((name) => ({
    id: `"${name}"`,
    value: name === '@request-target' ? options.requestTarget : (headers[name === '@authority' ? 'host' : name] ?? ''),
  }));
  const signature = await hmac(base64Decode(options.clientSecret), signatureBase(components, list));
  headers['signature-input'] = `sig1=${serializeInnerList(list)}`;
  headers['signature'] = `sig1=:${btoa(String.fromCharCode(...signature))}:`;
  return headers;
}
