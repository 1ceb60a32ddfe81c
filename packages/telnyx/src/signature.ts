/**
 * Verification of Telnyx webhook signatures with Web Crypto (Node 20 or later, and workerd).
 *
 * Telnyx signs every webhook with Ed25519: `telnyx-signature-ed25519` is the base64 signature of
 * `${telnyx-timestamp}|${raw body}`, `telnyx-timestamp` the Unix time in seconds; the public key
 * is on the Mission Control portal (Keys & Credentials → Public Key), base64.
 * Sources: https://developers.telnyx.com/docs/development/api-fundamentals/webhooks (the delivery
 * contract: verify Ed25519, reject outside a replay window), the header descriptions in
 * https://developers.telnyx.com/api-reference/callbacks/texml-stream, and the SDKs' verifiers
 * (team-telnyx/telnyx-python PR #242: signed payload `{timestamp}|{payload}`, 300 s tolerance).
 */
import { ConfigError, WebhookSignatureError, base64Decode, concatBytes } from '@switchboard/core';
import { readHeader, type RequestHeaders } from '@switchboard/core/protocol';

/** Reject timestamps further than this from now, in seconds (replay protection); default 300. */
export const TELNYX_DEFAULT_TOLERANCE_SECONDS = 300;

export type TelnyxPublicKey = string | Uint8Array | CryptoKey;

export type ValidateTelnyxWebhookOptions = {
  /**
   * The account's Ed25519 public key: base64 of the 32 raw bytes (as the portal shows it), the bytes, or a `CryptoKey`.
   */
  publicKey: TelnyxPublicKey;
  /** The raw request body, exactly as received (before any JSON parsing). */
  body: string | Uint8Array;
  /** The `telnyx-signature-ed25519` header. */
  signature: string | undefined | null;
  /** The `telnyx-timestamp` header (Unix seconds). */
  timestamp: string | undefined | null;
  /** Largest accepted distance between the timestamp and now, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
};

/** Request headers: a plain object (Node) or a `Headers` (fetch); the same as core's `RequestHeaders`. */
export type TelnyxHeaders = RequestHeaders;

export type TelnyxWebhookVerdict =
  { valid: true } | { valid: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

const encoder = new TextEncoder();

async function importKey(publicKey: TelnyxPublicKey): Promise<CryptoKey> {
  if (typeof CryptoKey !== 'undefined' && publicKey instanceof CryptoKey) {
    if (publicKey.algorithm?.name !== 'Ed25519' || !publicKey.usages.includes('verify')) {
      throw new ConfigError(
        'Telnyx webhook verification: publicKey is a CryptoKey that cannot verify Ed25519 signatures',
      );
    }
    return publicKey;
  }
  let raw: Uint8Array;
  if (typeof publicKey === 'string') {
    try {
      raw = base64Decode(publicKey.trim());
    } catch {
      throw new ConfigError('Telnyx webhook verification: publicKey is not valid base64');
    }
  } else if (publicKey instanceof Uint8Array) {
    raw = publicKey;
  } else {
    throw new ConfigError('Telnyx webhook verification: publicKey must be base64, bytes or a CryptoKey');
  }
  if (raw.byteLength !== 32)
    throw new ConfigError(`Telnyx webhook verification: an Ed25519 public key has 32 bytes, got ${raw.byteLength}`);
  try {
    return await globalThis.crypto.subtle.importKey('raw', new Uint8Array(raw), { name: 'Ed25519' }, false, ['verify']);
  } catch (cause) {
    throw new ConfigError('Telnyx webhook verification: publicKey is not an Ed25519 public key Web Crypto can import', {
      cause,
    });
  }
}

/** Base64 of a 64-byte signature is 88 characters; anything much longer is not one. */
const MAX_SIGNATURE_LENGTH = 128;

/**
 * Verifies one webhook and says why it failed. Throws only a `ConfigError`, for a bad key or
 * option; whatever the request carries (headers of any type, a body that is not a string or
 * bytes, a signature that is not base64 or not 64 bytes) is a verdict.
 */
export async function readTelnyxWebhookVerdict(options: ValidateTelnyxWebhookOptions): Promise<TelnyxWebhookVerdict> {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('Telnyx webhook verification needs { publicKey, body, signature, timestamp }');
  const key = await importKey(options.publicKey);
  const tolerance = options.toleranceSeconds ?? TELNYX_DEFAULT_TOLERANCE_SECONDS;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new ConfigError('Telnyx webhook verification: toleranceSeconds must be a non-negative number');
  }
  if (options.now !== undefined && typeof options.now !== 'function')
    throw new ConfigError('Telnyx webhook verification: now must be a function');
  const { signature } = options;
  // One reading of the header for both the window and the signed text: what Telnyx signed is the
  // timestamp itself, without the whitespace a proxy or a hand-built Headers object may leave.
  const timestamp = typeof options.timestamp === 'string' ? options.timestamp.trim() : undefined;
  if (typeof signature !== 'string' || signature.length === 0 || timestamp === undefined || timestamp.length === 0) {
    return { valid: false, reason: 'missing' };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { valid: false, reason: 'malformed' };
  // The raw body as received: a parsed JSON body (or anything else) cannot be what Telnyx signed.
  const { body } = options;
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) return { valid: false, reason: 'malformed' };
  const nowSeconds = (options.now ?? Date.now)() / 1000;
  if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) return { valid: false, reason: 'stale' };

  if (signature.length > MAX_SIGNATURE_LENGTH) return { valid: false, reason: 'malformed' };
  let signatureBytes: Uint8Array;
  try {
    signatureBytes = base64Decode(signature.trim());
  } catch {
    return { valid: false, reason: 'malformed' };
  }
  if (signatureBytes.byteLength !== 64) return { valid: false, reason: 'malformed' };
  const bytes = typeof body === 'string' ? encoder.encode(body) : body;
  const signed = concatBytes([encoder.encode(`${timestamp}|`), bytes]);
  let ok: boolean;
  try {
    ok = await globalThis.crypto.subtle.verify('Ed25519', key, new Uint8Array(signatureBytes), new Uint8Array(signed));
  } catch (cause) {
    // The signature is 64 bytes and the data any bytes: only the key can be at fault.
    throw new ConfigError('Telnyx webhook verification: publicKey cannot verify Ed25519 signatures', { cause });
  }
  return ok ? { valid: true } : { valid: false, reason: 'mismatch' };
}

/** True when the webhook carries a valid, fresh Telnyx signature. */
export async function validateTelnyxWebhook(options: ValidateTelnyxWebhookOptions): Promise<boolean> {
  return (await readTelnyxWebhookVerdict(options)).valid;
}

const REASONS: Record<Exclude<TelnyxWebhookVerdict, { valid: true }>['reason'], string> = {
  missing: 'missing telnyx-signature-ed25519 or telnyx-timestamp header: the request did not come from Telnyx',
  malformed:
    'telnyx-signature-ed25519 or telnyx-timestamp is malformed, or the body is not the raw request body (a string or bytes)',
  stale: 'telnyx-timestamp is outside the allowed window (a replayed or delayed webhook)',
  mismatch: 'telnyx-signature-ed25519 does not match the timestamp and body',
};

/** Like {@link validateTelnyxWebhook}, but throws a `WebhookSignatureError` saying why it failed. */
export async function assertTelnyxWebhook(options: ValidateTelnyxWebhookOptions): Promise<void> {
  const verdict = await readTelnyxWebhookVerdict(options);
  if (!verdict.valid) throw new WebhookSignatureError(REASONS[verdict.reason]);
}

/** The two signature headers of a request, looked up case-insensitively. */
export function readTelnyxSignatureHeaders(headers: TelnyxHeaders): {
  signature: string | undefined;
  timestamp: string | undefined;
} {
  return {
    signature: readHeader(headers, 'telnyx-signature-ed25519'),
    timestamp: readHeader(headers, 'telnyx-timestamp'),
  };
}
