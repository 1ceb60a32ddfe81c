/**
 * HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 8760): the server side.
 * Nonces are stateless (a timestamp and a random part, signed with a per-endpoint key); the
 * highest nonce count seen per nonce is kept for a while to refuse replays.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseSipUri, type SipRequest } from './message.js';

export type DigestAlgorithm = 'MD5' | 'SHA-256';

/**
 * A user's secret: the password, or HA1 (`H(username:realm:password)`, hex) per algorithm so the
 * password need not be stored.
 */
export type DigestSecret = string | { ha1: Partial<Record<DigestAlgorithm, string>> };

export type DigestOptions = {
  /** The protection realm, shown to the caller (usually the endpoint's domain). */
  realm: string;
  /** The secret of a user, or undefined for an unknown user. */
  credentials: (username: string, realm: string) => DigestSecret | undefined | Promise<DigestSecret | undefined>;
  /**
   * Algorithms offered, in order of preference: one challenge each (RFC 8760 §2.4). Default
   * `['MD5']`: many user agents answer only MD5 and give up on a 401 that also carries a challenge
   * they cannot answer (baresip 1.0 on libre 1.1 does), so SHA-256 is offered only when asked
   * for, e.g. `['SHA-256', 'MD5']` for phones that skip unknown algorithms as RFC 8760 §2.4 says.
   */
  algorithms?: DigestAlgorithm[];
  /** How long a nonce stays valid, ms. Default 300 000. */
  nonceTtlMs?: number;
};

/** Offered unless `algorithms` says otherwise: what every SIP user agent can answer. */
export const DEFAULT_DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5'];

export type DigestVerdict =
  | { ok: true; username: string }
  /** Challenge again (no credentials, wrong ones, or `stale` when only the nonce expired). */
  | { ok: false; stale: boolean; reason: string }
  /** A malformed Authorization header: 400. */
  | { ok: false; badRequest: true; reason: string };

const HASH: Record<DigestAlgorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256' };
const NONCE_BYTES = 8 + 8 + 16;

function hex(algorithm: DigestAlgorithm, text: string): string {
  return createHash(HASH[algorithm]).update(text, 'utf8').digest('hex');
}

/** Parses `Digest a="b", c=d` into its parameters (names lower-cased). */
export function parseDigestCredentials(value: string): Record<string, string> | undefined {
  const match = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,]*)\s*(,|$)/gy;
  const text = match[1]!;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    params[m[1]!.toLowerCase()] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!;
    consumed = re.lastIndex;
    if (consumed >= text.length) break;
  }
  if (consumed < text.trim().length) return undefined;
  return params;
}

/**
 * Whether the digest `uri` names the request's target: the Request-URI itself, or a SIP URI of
 * the same host and port (some clients sign `sip:host:port` without the user part).
 */
function sameTarget(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  const a = parseSipUri(digestUri);
  const b = parseSipUri(requestUri);
  return (
    a !== undefined &&
    b !== undefined &&
    a.scheme === b.scheme &&
    a.host.toLowerCase() === b.host.toLowerCase() &&
    (a.port ?? 5060) === (b.port ?? 5060)
  );
}

export class DigestAuthenticator {
  readonly realm: string;
  readonly algorithms: DigestAlgorithm[];
  readonly #options: DigestOptions;
  readonly #key = randomBytes(32);
  readonly #ttlMs: number;
  /** Highest nonce count seen per nonce (replay protection), with when the nonce expires. */
  readonly #counts = new Map<string, { nc: number; expires: number }>();

  constructor(options: DigestOptions) {
    if (
      !options ||
      typeof options.realm !== 'string' ||
      options.realm === '' ||
      typeof options.credentials !== 'function'
    ) {
      throw new TypeError('digest authentication needs a `realm` and a `credentials` function');
    }
    if (/["\\\r\n]/.test(options.realm))
      throw new TypeError('the realm may not contain quotes, backslashes or line breaks');
    this.#options = options;
    this.realm = options.realm;
    this.algorithms = options.algorithms ? [...options.algorithms] : [...DEFAULT_DIGEST_ALGORITHMS];
    if (this.algorithms.length === 0 || this.algorithms.some((a) => !(a in HASH)))
      throw new TypeError('digest algorithms must be MD5 and/or SHA-256');
    this.#ttlMs = options.nonceTtlMs ?? 300_000;
  }

  /** WWW-Authenticate values, one per algorithm. */
  challenge(stale = false): string[] {
    const nonce = this.#nonce();
    return this.algorithms.map(
      (algorithm) =>
        `Digest realm="${this.realm}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"${stale ? ', stale=true' : ''}`,
    );
  }

  /** Checks the request's Authorization header(s) for this realm. */
  async verify(request: SipRequest): Promise<DigestVerdict> {
    const headers = request.headers.getAll('authorization');
    if (headers.length === 0) return { ok: false, stale: false, reason: 'no credentials' };
    let last: DigestVerdict = { ok: false, stale: false, reason: 'no credentials for this realm' };
    for (const header of headers) {
      const params = parseDigestCredentials(header);
      if (!params) return { ok: false, badRequest: true, reason: 'malformed Authorization header' };
      if (params['realm'] !== this.realm) continue;
      last = await this.#check(request, params);
      if (last.ok) return last;
    }
    return last;
  }

  async #check(request: SipRequest, p: Record<string, string>): Promise<DigestVerdict> {
    const { username, nonce, uri, response } = p;
    if (!username || !nonce || !uri || !response)
      return { ok: false, badRequest: true, reason: 'Authorization lacks username, nonce, uri or response' };
    const algorithmName = (p['algorithm'] ?? 'MD5').toUpperCase();
    const sess = algorithmName.endsWith('-SESS');
    const algorithm = (sess ? algorithmName.slice(0, -5) : algorithmName) as DigestAlgorithm;
    if (!this.algorithms.includes(algorithm))
      return { ok: false, stale: false, reason: `algorithm ${algorithmName} not offered` };
    if (!sameTarget(uri, request.uri))
      return { ok: false, badRequest: true, reason: 'the digest uri does not name the Request-URI' };
    const qop = p['qop'];
    if (qop !== undefined && qop !== 'auth') return { ok: false, stale: false, reason: `qop ${qop} not offered` };
    const nonceState = this.#checkNonce(nonce);
    if (nonceState === 'invalid') return { ok: false, stale: false, reason: 'nonce not issued here' };

    const secret = await this.#options.credentials(username, this.realm);
    if (secret === undefined) return { ok: false, stale: false, reason: 'unknown user' };
    let ha1 =
      typeof secret === 'string' ? hex(algorithm, `${username}:${this.realm}:${secret}`) : secret.ha1[algorithm];
    if (!ha1) return { ok: false, stale: false, reason: `no ${algorithm} secret for the user` };
    if (sess) {
      if (!p['cnonce']) return { ok: false, badRequest: true, reason: '-sess algorithm without cnonce' };
      ha1 = hex(algorithm, `${ha1}:${nonce}:${p['cnonce']}`);
    }
    const ha2 = hex(algorithm, `${request.method}:${uri}`);
    let expected: string;
    if (qop === 'auth') {
      const nc = p['nc'];
      const cnonce = p['cnonce'];
      if (!nc || !/^[0-9a-fA-F]{8}$/.test(nc) || !cnonce)
        return { ok: false, badRequest: true, reason: 'qop=auth without a valid nc or cnonce' };
      expected = hex(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
    } else {
      expected = hex(algorithm, `${ha1}:${nonce}:${ha2}`);
    }
    const given = Buffer.from(response.toLowerCase(), 'utf8');
    const wanted = Buffer.from(expected, 'utf8');
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted))
      return { ok: false, stale: false, reason: 'wrong credentials' };
    // Right credentials on an expired nonce: ask again without prompting the user (stale=true).
    if (nonceState === 'expired') return { ok: false, stale: true, reason: 'nonce expired' };
    if (qop === 'auth') {
      if (!this.#countUp(nonce, parseInt(p['nc']!, 16)))
        return { ok: false, stale: true, reason: 'nonce count replayed' };
    } else if (this.#counts.has(nonce) || !this.#countUp(nonce, Number.MAX_SAFE_INTEGER)) {
      // Without qop there is no count to tell a replay from a new request: the nonce is good once.
      return { ok: false, stale: true, reason: 'nonce reused without qop' };
    }
    return { ok: true, username };
  }

  #nonce(): string {
    const body = Buffer.alloc(16);
    body.writeBigUInt64BE(BigInt(Date.now()), 0);
    randomBytes(8).copy(body, 8);
    const mac = createHmac('sha256', this.#key).update(body).digest().subarray(0, 16);
    return Buffer.concat([body, mac]).toString('base64url');
  }

  #checkNonce(nonce: string): 'valid' | 'expired' | 'invalid' {
    let bytes: Buffer;
    try {
      bytes = Buffer.from(nonce, 'base64url');
    } catch {
      return 'invalid';
    }
    if (bytes.length !== NONCE_BYTES || bytes.toString('base64url') !== nonce) return 'invalid';
    const body = bytes.subarray(0, 16);
    const mac = createHmac('sha256', this.#key).update(body).digest().subarray(0, 16);
    if (!timingSafeEqual(mac, bytes.subarray(16))) return 'invalid';
    const issued = Number(body.readBigUInt64BE(0));
    return Date.now() - issued > this.#ttlMs ? 'expired' : 'valid';
  }

  #countUp(nonce: string, nc: number): boolean {
    const now = Date.now();
    if (this.#counts.size > 10_000) {
      for (const [key, entry] of this.#counts) if (entry.expires < now) this.#counts.delete(key);
    }
    const entry = this.#counts.get(nonce);
    if (entry && nc <= entry.nc) return false;
    this.#counts.set(nonce, { nc, expires: now + this.#ttlMs });
    return true;
  }
}
