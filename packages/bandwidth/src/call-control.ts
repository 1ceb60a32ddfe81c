/**
 * Commands to live calls through the Bandwidth Voice API: a POST to
 * `/api/v2/accounts/<accountId>/calls/<callId>` with `state: completed` hangs up, and with
 * `state: active` and a `redirectUrl` interrupts the call's BXML and fetches new BXML from the
 * URL (a `<Transfer>` there transfers the call). Sources: the Voice API description in Bandwidth's
 * SDKs (`bandwidth.yml`, operation `updateCall`, server `https://voice.bandwidth.com/api/v2`).
 *
 * Authentication: OAuth 2.0 client credentials (`clientId`, `clientSecret`, exchanged at
 * `https://api.bandwidth.com/api/v1/oauth2/token` for a Bearer token, kept until a minute before it
 * expires), or the legacy API user's Basic credentials (`username`, `password`).
 */
import { CallControlError, ConfigError } from '@switchboard/core';
import {
  absoluteHttpUrl,
  basicAuthorization,
  carrierRequest,
  isJsonObject,
  logger,
  restClientConfig,
  type RestClientConfig,
  type RestClientOptions,
  type RestFailure,
} from '@switchboard/core/protocol';

const log = logger('bandwidth');

const DEFAULT_BASE_URL = 'https://voice.bandwidth.com/api/v2';
const DEFAULT_TOKEN_URL = 'https://api.bandwidth.com/api/v1/oauth2/token';
/** A token is renewed this long before Bandwidth says it expires. */
const TOKEN_MARGIN_MS = 60_000;
/** Lifetime assumed for a token whose answer names none. */
const DEFAULT_TOKEN_LIFETIME_S = 300;

export type BandwidthCallControlOptions = RestClientOptions & {
  /** Your Bandwidth account id (the `accountId` of webhooks and of the stream's `start`). */
  accountId: string;
  /** OAuth 2.0 client id (with `clientSecret`): the way Bandwidth asks API clients to authenticate. */
  clientId?: string;
  /** OAuth 2.0 client secret. */
  clientSecret?: string;
  /** The legacy API user's name (with `password`), sent as Basic credentials. */
  username?: string;
  /** The legacy API user's password. */
  password?: string;
  /** The OAuth token endpoint; default `https://api.bandwidth.com/api/v1/oauth2/token`. */
  tokenUrl?: string;
  /** Clock in ms for the token's expiry; default `Date.now`. */
  now?: () => number;
};

/** Where a redirect fetches the call's next BXML. */
export type BandwidthRedirect = {
  /** An absolute http(s) URL answering with BXML (a `<Transfer>`, a `<SpeakSentence>`, …). */
  url: string;
  /** `POST` (Bandwidth's default) or `GET`. */
  method?: 'POST' | 'GET';
  /** Basic credentials Bandwidth sends to `url`. */
  username?: string;
  password?: string;
  /** A URL tried when `url` does not answer. */
  fallbackUrl?: string;
  /** A tag sent with this and later webhooks of the call. */
  tag?: string;
};

export type BandwidthCallActionResult = { alreadyEnded: boolean };

type Auth = { kind: 'basic'; header: string } | { kind: 'oauth'; id: string; secret: string; token: RestClientConfig };

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** Bandwidth's Voice API error body: `{"type":"validation","description":"…","id":…}`. */
function describeFailure(failure: RestFailure): { code?: string; text: string } {
  const body = isJsonObject(failure.body) ? failure.body : {};
  const type = typeof body['type'] === 'string' ? body['type'] : undefined;
  const text = typeof body['description'] === 'string' ? body['description'] : '';
  return type === undefined ? { text } : { code: type, text };
}

function readAuth(options: BandwidthCallControlOptions, rest: RestClientOptions): Auth {
  const oauth = options.clientId !== undefined || options.clientSecret !== undefined;
  const basic = options.username !== undefined || options.password !== undefined;
  if (oauth && basic)
    throw new ConfigError('BandwidthCallControl: give clientId/clientSecret or username/password, not both');
  if (oauth) {
    if (!nonEmpty(options.clientId) || !nonEmpty(options.clientSecret))
      throw new ConfigError('BandwidthCallControl: clientId and clientSecret must both be non-empty strings');
    const tokenUrl = absoluteHttpUrl(options.tokenUrl ?? DEFAULT_TOKEN_URL, 'BandwidthCallControl: tokenUrl');
    // The token request goes to the endpoint itself (carrierRequest appends an empty path).
    const token = restClientConfig('BandwidthCallControl', { ...rest, baseUrl: tokenUrl.href }, DEFAULT_TOKEN_URL);
    return { kind: 'oauth', id: options.clientId, secret: options.clientSecret, token };
  }
  if (!nonEmpty(options.username) || !nonEmpty(options.password))
    throw new ConfigError('BandwidthCallControl needs clientId and clientSecret (OAuth) or username and password');
  return { kind: 'basic', header: basicAuthorization(options.username, options.password) };
}

/**
 * Voice API commands for the call a media stream belongs to (`metadata.callId` of the stream's
 * `start`, the transport's `callStart.callId`). A command for a call Bandwidth no longer knows
 * (HTTP 404), or, for a hang-up, one that has already ended (HTTP 409), resolves with
 * `alreadyEnded: true`, so hanging up twice is harmless.
 */
export class BandwidthCallControl {
  readonly #accountId: string;
  readonly #rest: RestClientConfig;
  readonly #auth: Auth;
  readonly #now: () => number;
  #token: { value: string; expiresAt: number } | undefined;
  #pendingToken: Promise<string> | undefined;

  constructor(options: BandwidthCallControlOptions) {
    if (!options || typeof options !== 'object') throw new ConfigError('BandwidthCallControl needs options');
    if (!nonEmpty(options.accountId)) throw new ConfigError('BandwidthCallControl: accountId is required');
    if (options.now !== undefined && typeof options.now !== 'function')
      throw new ConfigError('BandwidthCallControl: now must be a function returning ms');
    const rest: RestClientOptions = {};
    if (options.fetch !== undefined) rest.fetch = options.fetch;
    if (options.timeoutMs !== undefined) rest.timeoutMs = options.timeoutMs;
    this.#accountId = options.accountId;
    this.#rest = restClientConfig(
      'BandwidthCallControl',
      options.baseUrl === undefined ? rest : { ...rest, baseUrl: options.baseUrl },
      DEFAULT_BASE_URL,
    );
    this.#auth = readAuth(options, rest);
    this.#now = options.now ?? Date.now;
  }

  /** Ends the call (`state: completed`): hangs up an answered call, rejects or cancels an unanswered one. */
  async hangup(callId: string): Promise<BandwidthCallActionResult> {
    return this.update(callId, { state: 'completed' }, 'hangup');
  }

  /**
   * Interrupts the call's BXML and fetches new BXML from `target.url` (`state: active`). Answer
   * that request with {@link bandwidthTransferBxml} to transfer the call; the media stream ends.
   */
  async redirect(callId: string, target: BandwidthRedirect): Promise<BandwidthCallActionResult> {
    if (!target || typeof target !== 'object')
      throw new ConfigError('BandwidthCallControl.redirect: target must be { url, method?, … }');
    const body: Record<string, unknown> = {
      state: 'active',
      redirectUrl: absoluteHttpUrl(target.url, 'BandwidthCallControl.redirect: url').href,
    };
    if (target.method !== undefined) {
      if (target.method !== 'POST' && target.method !== 'GET')
        throw new ConfigError('BandwidthCallControl.redirect: method must be POST or GET');
      body['redirectMethod'] = target.method;
    }
    if ((target.username === undefined) !== (target.password === undefined))
      throw new ConfigError('BandwidthCallControl.redirect: username and password go together');
    if (target.username !== undefined) {
      body['username'] = target.username;
      body['password'] = target.password;
    }
    if (target.fallbackUrl !== undefined)
      body['redirectFallbackUrl'] = absoluteHttpUrl(
        target.fallbackUrl,
        'BandwidthCallControl.redirect: fallbackUrl',
      ).href;
    if (target.tag !== undefined) {
      if (typeof target.tag !== 'string' || target.tag.length > 4096)
        throw new ConfigError('BandwidthCallControl.redirect: tag must be a string of at most 4096 characters');
      body['tag'] = target.tag;
    }
    return this.update(callId, body, 'redirect');
  }

  /** Any update of a call: `POST /accounts/{accountId}/calls/{callId}` with `body` as JSON. */
  async update(callId: string, body: Record<string, unknown>, what = 'update'): Promise<BandwidthCallActionResult> {
    if (!nonEmpty(callId)) throw new ConfigError('BandwidthCallControl: callId must be a non-empty string');
    log('call %s', what);
    const hangup = body['state'] === 'completed';
    const result = await carrierRequest(this.#rest, {
      path: `/accounts/${encodeURIComponent(this.#accountId)}/calls/${encodeURIComponent(callId)}`,
      method: 'POST',
      authorization: await this.#authorization(),
      json: body,
      what: `Bandwidth ${what}`,
      rejected: `Bandwidth rejected ${what}`,
      isAlreadyEnded: (failure) => failure.status === 404 || (hangup && failure.status === 409),
      readError: describeFailure,
    });
    if (result.alreadyEnded) log('call %s: the call had already ended', what);
    return { alreadyEnded: result.alreadyEnded };
  }

  async #authorization(): Promise<string> {
    const auth = this.#auth;
    if (auth.kind === 'basic') return auth.header;
    const token = this.#token;
    if (token !== undefined && this.#now() < token.expiresAt) return `Bearer ${token.value}`;
    // Calls that need a token at once share one request for it.
    this.#pendingToken ??= this.#fetchToken(auth).finally(() => {
      this.#pendingToken = undefined;
    });
    return `Bearer ${await this.#pendingToken}`;
  }

  async #fetchToken(auth: Extract<Auth, { kind: 'oauth' }>): Promise<string> {
    const requestedAt = this.#now();
    const result = await carrierRequest(auth.token, {
      path: '',
      method: 'POST',
      authorization: basicAuthorization(auth.id, auth.secret),
      form: new URLSearchParams({ grant_type: 'client_credentials' }),
      what: 'Bandwidth token request',
      rejected: 'Bandwidth refused the client credentials',
      readError: (failure) => {
        const body = isJsonObject(failure.body) ? failure.body : {};
        const code = typeof body['error'] === 'string' ? body['error'] : undefined;
        const text = typeof body['error_description'] === 'string' ? body['error_description'] : '';
        return code === undefined ? { text } : { code, text };
      },
    });
    const body = isJsonObject(result.body) ? result.body : {};
    const value = body['access_token'];
    if (!nonEmpty(value)) throw new CallControlError('Bandwidth token request: the answer holds no access_token');
    const lifetime = body['expires_in'];
    const seconds =
      typeof lifetime === 'number' && Number.isFinite(lifetime) && lifetime > 0 ? lifetime : DEFAULT_TOKEN_LIFETIME_S;
    this.#token = { value, expiresAt: requestedAt + seconds * 1000 - TOKEN_MARGIN_MS };
    return value;
  }
}
