/**
 * Base64 (RFC 4648, standard alphabet) in plain script, for Node and workerd alike (no Buffer,
 * no atob/btoa), and base64url without padding on top of it.
 *
 * Encoding writes ASCII codes into a byte array, two characters per table lookup, then makes
 * one string of it. Decoding maps characters through a 256-entry table and rejects anything
 * outside the alphabet.
 */

import { allocBytes } from './pool.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 61; // '='

/** For every 12-bit value, the ASCII codes of its two base64 characters (high char first). */
const PAIRS = new Uint16Array(4096);
/** Character code → 6-bit value, or 0xff when not in the alphabet. */
const VALUES = new Uint8Array(256).fill(0xff);
for (let i = 0; i < 64; i++) VALUES[ALPHABET.charCodeAt(i)] = i;
for (let i = 0; i < 4096; i++) {
  PAIRS[i] = (ALPHABET.charCodeAt(i >> 6) << 8) | ALPHABET.charCodeAt(i & 63);
}

/**
 * Base64 text is ASCII, which UTF-8 decodes unchanged: the platform's TextDecoder turns the
 * code array into a string far faster than building it in script. Without one, chunks of
 * codes go through `String.fromCharCode` (well below engines' argument limits).
 */
const ascii = typeof TextDecoder === 'function' ? new TextDecoder() : undefined;
const CHUNK = 8192;

function asciiString(chars: Uint8Array): string {
  if (ascii !== undefined) return ascii.decode(chars);
  let out = '';
  for (let i = 0; i < chars.length; i += CHUNK) {
    out += String.fromCharCode.apply(null, chars.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return out;
}

/**
 * The character codes of the last encoding of up to 16 KiB, reused: the string is made from them
 * at once, so no encoding needs an array of its own (a frame's would cost more than its encoding).
 */
const SCRATCH_MAX = 16 * 1024;
let scratch = new Uint8Array(256);

/** Base64 of `bytes`, standard alphabet, padded with '='. */
export function base64Encode(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n === 0) return '';
  const size = Math.ceil(n / 3) * 4;
  let chars: Uint8Array;
  if (size > SCRATCH_MAX) chars = new Uint8Array(size);
  else {
    if (scratch.length < size) scratch = new Uint8Array(Math.min(SCRATCH_MAX, Math.max(size, scratch.length * 2)));
    chars = scratch.length === size ? scratch : scratch.subarray(0, size);
  }
  const whole = n - (n % 3);
  let o = 0;
  for (let i = 0; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    const hi = PAIRS[v >> 12]!;
    const lo = PAIRS[v & 0xfff]!;
    chars[o] = hi >> 8;
    chars[o + 1] = hi & 0xff;
    chars[o + 2] = lo >> 8;
    chars[o + 3] = lo & 0xff;
    o += 4;
  }
  const rest = n - whole;
  if (rest > 0) {
    const v = (bytes[whole]! << 16) | (rest === 2 ? bytes[whole + 1]! << 8 : 0);
    const hi = PAIRS[v >> 12]!;
    chars[o] = hi >> 8;
    chars[o + 1] = hi & 0xff;
    chars[o + 2] = rest === 2 ? ALPHABET.charCodeAt((v >> 6) & 63) : PAD;
    chars[o + 3] = PAD;
  }
  return asciiString(chars);
}

/**
 * The text {@link base64Decode} last decoded in full and the array it returned (small ones only):
 * a carrier payload is decoded by its protocol and then, in the same turn, written to the model as
 * the text it came in; {@link isTrustedBase64} then knows the text without reading it again.
 */
let lastText: string | undefined;
let lastBytes: Uint8Array | undefined;
const REMEMBER_MAX_CHARS = 4096;
const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * True when `text` is standard, padded base64 of `bytes`'s length that may be written into JSON as
 * is: its characters are all of the alphabet. Known at once for the text {@link base64Decode}
 * last decoded into `bytes` (it checked every character then); any other text is read again.
 */
export function isTrustedBase64(text: string, bytes: Uint8Array): boolean {
  if (text.length !== Math.ceil(bytes.byteLength / 3) * 4) return false;
  if (text === lastText && bytes === lastBytes) return true;
  return STRICT_BASE64.test(text);
}

function invalid(text: string, at: number): TypeError {
  const code = text.charCodeAt(at);
  return new TypeError(`invalid base64: unexpected character code ${code} at offset ${at}`);
}

/**
 * Bytes of a base64 text (standard alphabet), in an array of their own. Padding is optional;
 * whitespace, URL-safe characters and misplaced padding are rejected with a TypeError.
 */
export function base64Decode(text: string): Uint8Array {
  return decode(text, false);
}

/**
 * {@link base64Decode} into a pooled array when small (`allocBytes`): a view of a shared buffer,
 * for the per-frame paths. @internal
 */
export function base64DecodeShared(text: string): Uint8Array {
  return decode(text, true);
}

function decode(text: string, shared: boolean): Uint8Array {
  let end = text.length;
  // Up to two trailing pad characters, only where padding can stand.
  if (end > 0 && text.charCodeAt(end - 1) === PAD) {
    end--;
    if (end > 0 && text.charCodeAt(end - 1) === PAD) end--;
    if ((text.length & 3) !== 0) throw new TypeError('invalid base64: padded text length is not a multiple of 4');
  }
  const tail = end & 3;
  if (tail === 1) throw new TypeError('invalid base64: truncated text');
  const whole = end - tail;
  const length = (whole >> 2) * 3 + (tail === 0 ? 0 : tail - 1);
  const out = shared ? allocBytes(length) : new Uint8Array(length);
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = VALUES[text.charCodeAt(i)] ?? 0xff;
    const b = VALUES[text.charCodeAt(i + 1)] ?? 0xff;
    const c = VALUES[text.charCodeAt(i + 2)] ?? 0xff;
    const d = VALUES[text.charCodeAt(i + 3)] ?? 0xff;
    if ((a | b | c | d) > 63) {
      for (let j = i; ; j++) if ((VALUES[text.charCodeAt(j)] ?? 0xff) > 63) throw invalid(text, j);
    }
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o] = v >> 16;
    out[o + 1] = (v >> 8) & 0xff;
    out[o + 2] = v & 0xff;
    o += 3;
  }
  if (tail > 0) {
    let v = 0;
    for (let j = whole; j < end; j++) {
      const x = VALUES[text.charCodeAt(j)] ?? 0xff;
      if (x > 63) throw invalid(text, j);
      v = (v << 6) | x;
    }
    if (tail === 2) {
      out[o] = v >> 4;
    } else {
      out[o] = v >> 10;
      out[o + 1] = (v >> 2) & 0xff;
    }
  }
  if (text.length <= REMEMBER_MAX_CHARS) {
    lastText = text;
    lastBytes = out;
  }
  return out;
}

/** Base64url of `bytes` (RFC 4648 §5, URL- and filename-safe alphabet), without padding (RFC 7515 §2). */
export function base64UrlEncode(bytes: Uint8Array): string {
  return base64Encode(bytes).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * Bytes of an unpadded base64url text (as {@link base64UrlEncode} writes it). `=` padding, `+`, `/`,
 * whitespace and impossible lengths are rejected with a TypeError.
 */
export function base64UrlDecode(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new TypeError('not base64url');
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return base64Decode(padded);
}
