/**
 * Call control through the Vonage Voice API
 * (https://developer.vonage.com/en/api/voice, servers `https://api.nexmo.com/v1/calls`):
 *
 * - `PUT /v1/calls/{uuid}` `{"action":"hangup"}` ends the call (204 No Content; 404 when the call
 *   is unknown or gone);
 * - `PUT /v1/calls/{uuid}` `{"action":"transfer","destination":{"type":"ncco","ncco":[…]}}` (or
 *   `"url":["https://…"]`, a URL returning an NCCO) moves it to a new NCCO;
 * - `PUT /v1/calls/{uuid}/dtmf` `{"digits":"…"}` plays DTMF into it.
 *
 * Every request carries an application JWT (`Authorization: Bearer …`, see `jwt.ts`).
 */
import { ConfigError } from '@switchboard/core';
import {
  carrierRequest,
  isJsonObject,
  logger,
  restClientConfig,
  type RestClientConfig,
  type RestFailure,
} from '@switchboard/core/protocol';
import { checkTtl, createVonageJwt, resolvePrivateKey, type VonagePrivateKey } from './jwt.js';
import type { NccoAction } from './ncco.js';

const log = logger('vonage');

export type VonageCallControlOptions = {
  /** The Vonage application's id. */
  applicationId: string;
  /**
   * The application's private key: PEM text (PKCS#8 as Vonage generates it, or PKCS#1), the key
   * file's bytes (`readFileSync('private.key')`), or a CryptoKey.
   */
  privateKey: VonagePrivateKey | CryptoKey;
  /** Voice API origin; default `https://api.nexmo.com` (regional ones: `https://api-us.vonage.com`, …). */
  baseUrl?: string;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /** Abort each request after this many ms; default 10 000. */
  timeoutMs?: number;
  /** Lifetime of each request's JWT, in seconds; default 300. */
  tokenTtlSeconds?: number;
  /** Clock in ms for the JWT's `iat`; default `Date.now`. */
  now?: () => number;
};

/**
 * Where to move the call: an NCCO of your own, a URL that returns one, or a number or SIP URI to
 * connect (`from`: the caller id shown, a number of your Vonage account). The NCCO may come from
 * this package's helpers or from `@vonage/voice`'s `NCCOBuilder` (whose action type admits any
 * object); every action must be an object with a string `action`.
 */
export type VonageTransferTarget =
  { ncco: ReadonlyArray<NccoAction | Record<string, unknown>> } | { url: string } | { to: string; from?: string };

export type VonageCallUpdateResult = { alreadyEnded: boolean; body?: unknown };

const DEFAULT_BASE_URL = 'https://api.nexmo.com';
const CALL_UUID = /^[0-9A-Za-z][0-9A-Za-z_-]{0,127}$/;
const DTMF_DIGITS = /^[0-9*#A-Da-d]+$/;
/** A refusal that says the call is already over: resolved as done, not thrown. */
const ENDED =
  /\b(already\s+(completed|ended|terminated|hung\s*up|disconnected)|call\s+(has\s+)?(ended|completed|terminated))\b/i;

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function checkUuid(uuid: unknown, what: string): asserts uuid is string {
  if (!nonEmpty(uuid) || !CALL_UUID.test(uuid))
    throw new ConfigError(`VonageCallControl.${what}: the call uuid must be the call's UUID (letters, digits, "-")`);
}

/** `title` and `detail` of a Vonage error body (`{"type":"https://…#unauthorized","title":"Unauthorized","detail":"…"}`). */
function titleAndDetail(failure: RestFailure): [string, string] {
  const info = isJsonObject(failure.body) ? failure.body : {};
  const title = typeof info['title'] === 'string' ? info['title'] : '';
  const detail = typeof info['detail'] === 'string' ? info['detail'] : '';
  return [title, detail];
}

/** A 404, or a refusal saying the call is already over. */
function isAlreadyEnded(failure: RestFailure): boolean {
  if (failure.status === 404) return true;
  if (failure.status !== 400 && failure.status !== 409 && failure.status !== 410) return false;
  return ENDED.test(titleAndDetail(failure).join(' '));
}

/**
 * Hang-up, transfer and DTMF of a live call through the Vonage Voice API. A call that already
 * ended (HTTP 404, or a refusal saying it is completed) resolves with `alreadyEnded: true`, so
 * hanging up twice is harmless. Failures are `CallControlError`s; neither the key nor the token
 * ever appears in a message.
 */
export class VonageCallControl {
  readonly #applicationId: string;
  readonly #key: Promise<CryptoKey>;
  readonly #rest: RestClientConfig;
  readonly #ttl: number;
  readonly #now: () => number;

  constructor(options: VonageCallControlOptions) {
    if (!options || typeof options !== 'object' || !nonEmpty(options.applicationId)) {
      throw new ConfigError('VonageCallControl: applicationId is required');
    }
    this.#applicationId = options.applicationId;
    const privateKey: unknown = options.privateKey;
    if ((typeof privateKey === 'string' || privateKey instanceof Uint8Array) && privateKey.length === 0) {
      throw new ConfigError('VonageCallControl: privateKey is required');
    }
    if (!privateKey || (typeof privateKey !== 'string' && typeof privateKey !== 'object')) {
      throw new ConfigError(
        "VonageCallControl: privateKey is required (PEM text, the key file's bytes, or a CryptoKey)",
      );
    }
    if (typeof privateKey === 'object' && !(privateKey instanceof Uint8Array) && !('algorithm' in privateKey)) {
      throw new ConfigError("VonageCallControl: privateKey must be PEM text, the key file's bytes, or a CryptoKey");
    }
    this.#key = resolvePrivateKey(privateKey, 'VonageCallControl');
    // Reported on first use; keep an unused failure from being unhandled meanwhile.
    this.#key.catch(() => undefined);

    this.#rest = restClientConfig('VonageCallControl', options, DEFAULT_BASE_URL);
    this.#ttl = checkTtl(options.tokenTtlSeconds, 'VonageCallControl');
    this.#now = options.now ?? Date.now;
  }

  /** Ends the call. */
  async hangup(uuid: string): Promise<{ alreadyEnded: boolean }> {
    checkUuid(uuid, 'hangup');
    const { alreadyEnded } = await this.#put(`/v1/calls/${encodeURIComponent(uuid)}`, { action: 'hangup' }, uuid);
    return { alreadyEnded };
  }

  /**
   * Moves the call to a new NCCO: yours (`{ ncco }`), one fetched from a URL (`{ url }`), or a
   * `connect` to a number or SIP URI (`{ to, from? }`). The WebSocket leg of the current NCCO ends.
   */
  async transfer(uuid: string, target: VonageTransferTarget): Promise<{ alreadyEnded: boolean }> {
    checkUuid(uuid, 'transfer');
    let destination: Record<string, unknown>;
    if (target && 'ncco' in target) {
      if (!Array.isArray(target.ncco) || target.ncco.length === 0)
        throw new ConfigError('VonageCallControl.transfer: ncco must be a non-empty array of actions');
      for (const action of target.ncco as unknown[]) {
        const name =
          typeof action === 'object' && action !== null && !Array.isArray(action)
            ? (action as Record<string, unknown>)['action']
            : undefined;
        if (typeof name !== 'string' || name.length === 0)
          throw new ConfigError(
            'VonageCallControl.transfer: every NCCO action must be an object with a string "action"',
          );
      }
      destination = { type: 'ncco', ncco: target.ncco };
    } else if (target && 'url' in target) {
      let url: URL | undefined;
      try {
        url = new URL(target.url);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
        throw new ConfigError('VonageCallControl.transfer: url must be an absolute http(s) URL');
      destination = { type: 'ncco', url: [target.url] };
    } else if (target && 'to' in target) {
      const to = typeof target.to === 'string' ? target.to.trim() : '';
      if (to.length === 0) throw new ConfigError('VonageCallControl.transfer: `to` must be a phone number or SIP URI');
      if (target.from !== undefined && !nonEmpty(target.from))
        throw new ConfigError('VonageCallControl.transfer: from must be a non-empty string');
      // Vonage writes numbers in E.164 without the leading "+".
      const endpoint = /^sips?:/i.test(to)
        ? { type: 'sip', uri: to }
        : { type: 'phone', number: to.replace(/^\+/, '') };
      const connect: Record<string, unknown> = { action: 'connect', endpoint: [endpoint] };
      if (target.from !== undefined) connect['from'] = target.from.replace(/^\+/, '');
      destination = { type: 'ncco', ncco: [connect] };
    } else {
      throw new ConfigError('VonageCallControl.transfer: target must be { ncco }, { url } or { to }');
    }
    const { alreadyEnded } = await this.#put(
      `/v1/calls/${encodeURIComponent(uuid)}`,
      { action: 'transfer', destination },
      uuid,
    );
    return { alreadyEnded };
  }

  /** Plays DTMF digits (`0-9`, `*`, `#`, `A-D`) into the call. */
  async sendDtmf(uuid: string, digits: string): Promise<{ alreadyEnded: boolean }> {
    checkUuid(uuid, 'sendDtmf');
    if (typeof digits !== 'string' || !DTMF_DIGITS.test(digits))
      throw new ConfigError('VonageCallControl.sendDtmf: digits must be 0-9, *, #, A-D');
    const { alreadyEnded } = await this.#put(`/v1/calls/${encodeURIComponent(uuid)}/dtmf`, { digits }, uuid);
    return { alreadyEnded };
  }

  /** Any `PUT /v1/calls/{uuid}` with the given JSON body (`mute`, `earmuff`, …). */
  async update(uuid: string, body: Record<string, unknown>): Promise<VonageCallUpdateResult> {
    checkUuid(uuid, 'update');
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new ConfigError('VonageCallControl.update: body must be an object');
    return this.#put(`/v1/calls/${encodeURIComponent(uuid)}`, body, uuid);
  }

  async #put(path: string, body: unknown, uuid: string): Promise<VonageCallUpdateResult> {
    const token = await createVonageJwt({
      applicationId: this.#applicationId,
      privateKey: await this.#key,
      ttlSeconds: this.#ttl,
      now: this.#now,
    });
    const result = await carrierRequest(this.#rest, {
      path,
      method: 'PUT',
      authorization: `Bearer ${token}`,
      json: body,
      what: `Vonage call update for ${uuid}`,
      rejected: `Vonage rejected the call update for ${uuid}`,
      isAlreadyEnded,
      readError: (failure) => {
        const type = isJsonObject(failure.body) ? failure.body['type'] : undefined;
        const code = typeof type === 'string' || typeof type === 'number' ? type : undefined;
        // The type is a documentation URL: kept as the provider code, left out of the message.
        return { code, quoteCode: false, text: titleAndDetail(failure).filter(Boolean).join(': ') };
      },
    });
    if (result.alreadyEnded) log('call %s already ended', uuid);
    return result;
  }
}
