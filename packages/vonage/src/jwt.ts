/**
 * JSON Web Tokens with Web Crypto (Node ≥ 20 and workerd): the application JWT that authenticates
 * Voice API requests, and the pieces the webhook verification shares.
 *
 * Voice API requests carry `Authorization: Bearer <jwt>`, an RS256 token signed with the
 * application's private key whose claims are `application_id`, `iat`, `jti` and `exp`
 * (https://developer.vonage.com/en/getting-started/concepts/authentication#json-web-tokens,
 * https://developer.vonage.com/jwt). Vonage honours at most 24 hours after `iat`, and 15 minutes
 * when `exp` is absent
 * (https://api.support.vonage.com/hc/en-us/articles/360000958407-How-long-is-my-JSON-Web-Token-valid-for).
 */
import { ConfigError, base64Decode, base64UrlDecode, base64UrlEncode } from '@switchboard/core';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The bytes as Web Crypto takes them (backed by an ArrayBuffer, copied only when not). */
export function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** A JSON value as base64url. */
export function base64UrlJson(value: unknown): string {
  return base64UrlEncode(encoder.encode(JSON.stringify(value)));
}

/** The JSON object in a base64url segment, or undefined. */
export function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(decoder.decode(base64UrlDecode(segment)));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Private keys

/** DER length octets. */
function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function der(tag: number, content: Uint8Array | number[]): Uint8Array {
  const body = content instanceof Uint8Array ? content : Uint8Array.from(content);
  const head = [tag, ...derLength(body.byteLength)];
  const out = new Uint8Array(head.length + body.byteLength);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters. */
const RSA_ALGORITHM = Uint8Array.from([
  0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
]);

/** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo, which Web Crypto imports. */
function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  const version = Uint8Array.from([0x02, 0x01, 0x00]);
  const key = der(0x04, pkcs1);
  const content = new Uint8Array(version.byteLength + RSA_ALGORITHM.byteLength + key.byteLength);
  content.set(version, 0);
  content.set(RSA_ALGORITHM, version.byteLength);
  content.set(key, version.byteLength + RSA_ALGORITHM.byteLength);
  return der(0x30, content);
}

const PEM = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/;

/**
 * The application's private key as the Vonage SDKs take it: PEM text, or the key file's bytes (a `Buffer` from
 * `readFile`).
 */
export type VonagePrivateKey = string | Uint8Array;

/**
 * Imports the application's private key (the PEM Vonage generates: PKCS#8 `PRIVATE KEY`; a
 * PKCS#1 `RSA PRIVATE KEY` is accepted too) for RS256 signing: PEM text, or the key file's bytes
 * as read from disk. Literal `\n` sequences, as environment variables often carry them, are read
 * as line breaks.
 */
export async function importVonagePrivateKey(key: VonagePrivateKey): Promise<CryptoKey> {
  let pem: unknown = key;
  if (key instanceof Uint8Array) {
    try {
      pem = new TextDecoder('utf-8', { fatal: true }).decode(key);
    } catch {
      throw new ConfigError('Vonage private key: the key bytes are not PEM text (UTF-8)');
    }
  }
  if (typeof pem !== 'string' || pem.length === 0)
    throw new ConfigError("Vonage private key: expected the PEM text of the application's private key");
  const match = PEM.exec(pem.replace(/\\n/g, '\n'));
  if (!match) throw new ConfigError('Vonage private key: no PEM block found (-----BEGIN PRIVATE KEY----- …)');
  const label = match[1]!;
  if (label !== 'PRIVATE KEY' && label !== 'RSA PRIVATE KEY') {
    throw new ConfigError(
      `Vonage private key: a "${label}" cannot sign; use the application's unencrypted private key`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = base64Decode(match[2]!.replace(/\s+/g, ''));
  } catch {
    throw new ConfigError('Vonage private key: the PEM body is not valid base64');
  }
  const pkcs8 = label === 'RSA PRIVATE KEY' ? pkcs1ToPkcs8(bytes) : bytes;
  try {
    return await globalThis.crypto.subtle.importKey(
      'pkcs8',
      bufferSource(pkcs8),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      false,
      ['sign'],
    );
  } catch (cause) {
    // The cause says nothing about the key material, only why the import failed.
    throw new ConfigError('Vonage private key: not an RSA private key Web Crypto can import', { cause });
  }
}

/** True for a Web Crypto key (checked by shape, so a key from another realm counts). */
function isCryptoKey(value: unknown): value is CryptoKey {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    typeof (value as CryptoKey).type === 'string' &&
    typeof (value as CryptoKey).algorithm === 'object'
  );
}

/** The signing key from PEM text, key-file bytes or a CryptoKey; a ConfigError for anything else. */
export async function resolvePrivateKey(key: unknown, what: string): Promise<CryptoKey> {
  if (typeof key === 'string' || key instanceof Uint8Array) return importVonagePrivateKey(key);
  if (isCryptoKey(key)) return key;
  throw new ConfigError(`${what}: privateKey must be PEM text, the key file's bytes, or a CryptoKey`);
}

// ---------------------------------------------------------------------------------------------
// Application JWT

export type CreateVonageJwtOptions = {
  /** The Vonage application's id. */
  applicationId: string;
  /** The application's private key: PEM text, the key file's bytes, or a key from {@link importVonagePrivateKey}. */
  privateKey: VonagePrivateKey | CryptoKey;
  /** Seconds until the token expires (`exp - iat`). Default 300; at most 86 400. */
  ttlSeconds?: number;
  /** Clock in ms; default `Date.now`. */
  now?: () => number;
  /** Further claims (`sub`, `acl`, …); they cannot replace `application_id`, `iat`, `exp` or `jti`. */
  claims?: Record<string, unknown>;
};

/** The longest lifetime Vonage honours. */
export const VONAGE_MAX_JWT_TTL_SECONDS = 86_400;
const DEFAULT_TTL_SECONDS = 300;

/** Checks `ttlSeconds`; returns the default when absent. */
export function checkTtl(ttlSeconds: number | undefined, what: string): number {
  const ttl = ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!(Number.isInteger(ttl) && ttl > 0 && ttl <= VONAGE_MAX_JWT_TTL_SECONDS)) {
    throw new ConfigError(`${what}: ttlSeconds must be a whole number from 1 to ${VONAGE_MAX_JWT_TTL_SECONDS}`);
  }
  return ttl;
}

/**
 * An application JWT for the Voice API: header `{"alg":"RS256","typ":"JWT"}`, claims
 * `application_id`, `iat`, `exp`, `jti` (a fresh UUID) and any extra `claims`, signed with the
 * application's private key.
 */
export async function createVonageJwt(options: CreateVonageJwtOptions): Promise<string> {
  if (!options || typeof options.applicationId !== 'string' || options.applicationId.length === 0) {
    throw new ConfigError('createVonageJwt: applicationId is required');
  }
  const ttl = checkTtl(options.ttlSeconds, 'createVonageJwt');
  const key = await resolvePrivateKey(options.privateKey, 'createVonageJwt');
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  const payload = {
    ...(options.claims ?? {}),
    application_id: options.applicationId,
    iat,
    exp: iat + ttl,
    jti: globalThis.crypto.randomUUID(),
  };
  const signingInput = `${base64UrlJson({ alg: 'RS256', typ: 'JWT' })}.${base64UrlJson(payload)}`;
  const signature = await globalThis.crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, encoder.encode(signingInput));
  return `${signingInput}.${base64UrlEncode(new Uint8Array(signature))}`;
}
