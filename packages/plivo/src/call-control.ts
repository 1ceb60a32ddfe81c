/**
 * Hang-up, transfer and DTMF of a live call through Plivo's Voice API, Basic auth with the auth id
 * and auth token:
 * - hang up: `DELETE /v1/Account/{auth_id}/Call/{call_uuid}/` (https://www.plivo.com/docs/voice/detailed-reference/api/call/hangup-a-call/;
 *   without a call UUID it would end every call of the account, so one is always required)
 * - transfer: `POST /v1/Account/{auth_id}/Call/{call_uuid}/` with `legs`, `aleg_url`, `aleg_method`
 *   (https://plivo.com/docs/voice/api/call/transfer-a-call)
 * - DTMF: `POST /v1/Account/{auth_id}/Call/{call_uuid}/DTMF/` with `digits`, `leg`
 *   (http://plivo.com/docs/api/call/dtmf/)
 */
import { CallControlError, ConfigError, base64Encode, logger } from '@switchboard/core';

const log = logger('plivo');

export type PlivoCallControlOptions = {
  /** The account's (or subaccount's) auth id, `MA…` / `SA…`. */
  authId: string;
  authToken: string;
  /** REST API origin; default `https://api.plivo.com`. */
  baseUrl?: string;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /** Abort each request after this many ms; default 10 000. */
  timeoutMs?: number;
};

/** Where to send the call: a URL that answers with Plivo XML (a `<Dial>`, a conference, another stream). */
export type PlivoTransferTarget = { url: string; method?: 'GET' | 'POST' };

export type PlivoCallActionResult = { alreadyEnded: boolean; body?: unknown };

const DEFAULT_BASE_URL = 'https://api.plivo.com';
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_PROVIDER_MESSAGE = 300;
const AUTH_ID = /^[A-Za-z0-9]{10,40}$/;
const DTMF_DIGITS = /^[0-9*#wW]+$/;

type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/**
 * Call control for the call a stream belongs to (`start.callId`, the transport's
 * `callStart.callId`). Plivo answers 404 for a call that is no longer live: that resolves with
 * `alreadyEnded: true`, so hanging up twice is harmless.
 */
export class PlivoCallControl {
  readonly #authId: string;
  readonly #authorization: string;
  readonly #baseUrl: string;
  readonly #fetch: FetchFn;
  readonly #timeoutMs: number;

  constructor(options: PlivoCallControlOptions) {
    if (!options || !nonEmpty(options.authId) || !AUTH_ID.test(options.authId)) {
      throw new ConfigError('PlivoCallControl: authId must be your Plivo auth id (letters and digits)');
    }
    if (!nonEmpty(options.authToken)) throw new ConfigError('PlivoCallControl: authToken is required');
    this.#authId = options.authId;
    this.#authorization = `Basic ${base64Encode(new TextEncoder().encode(`${options.authId}:${options.authToken}`))}`;
    const baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
    } catch {
      throw new ConfigError('PlivoCallControl: baseUrl is not an absolute URL');
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ConfigError('PlivoCallControl: baseUrl must be an http(s) URL');
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ConfigError('PlivoCallControl: timeoutMs must be a positive number');
    this.#timeoutMs = timeoutMs;
    const custom = options.fetch;
    if (custom !== undefined && typeof custom !== 'function') throw new ConfigError('PlivoCallControl: fetch must be a function');
    this.#fetch = custom ? (input, init) => custom(input, init) : (input, init) => globalThis.fetch(input, init);
  }

  /** Ends the call. */
  async hangup(callUuid: string): Promise<{ alreadyEnded: boolean }> {
    const { alreadyEnded } = await this.#request('DELETE', callUuid, '', undefined, 'hang-up');
    return { alreadyEnded };
  }

  /** Moves the caller (the A leg) to the Plivo XML at `target.url`; the audio stream ends. */
  async transfer(callUuid: string, target: PlivoTransferTarget): Promise<{ alreadyEnded: boolean }> {
    if (!target || typeof target !== 'object' || !nonEmpty(target.url)) throw new ConfigError('PlivoCallControl.transfer: target must be { url, method? }');
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new ConfigError('PlivoCallControl.transfer: url must be an absolute http(s) URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('PlivoCallControl.transfer: url must be an absolute http(s) URL');
    const method = target.method ?? 'POST';
    if (method !== 'GET' && method !== 'POST') throw new ConfigError('PlivoCallControl.transfer: method must be GET or POST');
    const { alreadyEnded } = await this.#request('POST', callUuid, '', { legs: 'aleg', aleg_url: target.url, aleg_method: method }, 'transfer');
    return { alreadyEnded };
  }

  /** Plays DTMF digits into the call (0-9, `*`, `#`, `w`/`W` waits). */
  async sendDtmf(callUuid: string, digits: string, options: { leg?: 'aleg' | 'bleg' } = {}): Promise<{ alreadyEnded: boolean }> {
    if (!nonEmpty(digits) || !DTMF_DIGITS.test(digits)) throw new ConfigError('PlivoCallControl.sendDtmf: digits must be 0-9, *, # or w/W');
    const leg = options.leg ?? 'aleg';
    if (leg !== 'aleg' && leg !== 'bleg') throw new ConfigError('PlivoCallControl.sendDtmf: leg must be aleg or bleg');
    const { alreadyEnded } = await this.#request('POST', callUuid, 'DTMF/', { digits, leg }, 'DTMF');
    return { alreadyEnded };
  }

  async #request(method: 'POST' | 'DELETE', callUuid: string, sub: string, body: Record<string, string> | undefined, what: string): Promise<PlivoCallActionResult> {
    if (!nonEmpty(callUuid) || !/^[A-Za-z0-9-]{8,64}$/.test(callUuid)) throw new ConfigError('PlivoCallControl: callUuid must be the call\'s UUID');
    const url = `${this.#baseUrl}/v1/Account/${this.#authId}/Call/${callUuid}/${sub}`;
    log('call control %s', what);
    const headers: Record<string, string> = { Authorization: this.#authorization, Accept: 'application/json' };
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(this.#timeoutMs) };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await this.#fetch(url, init);
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new CallControlError(timedOut ? `Plivo ${what} timed out after ${this.#timeoutMs} ms` : `Plivo ${what} failed: the request did not complete`, {
        cause: error,
      });
    }
    const text = await response.text().catch(() => '');
    let json: unknown;
    try {
      json = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      json = undefined;
    }
    if (response.ok) return { alreadyEnded: false, body: json };
    // A call that is no longer live is not found: {"api_id":"…","error":"not found"}.
    if (response.status === 404) {
      log('call control %s: the call had already ended', what);
      return { alreadyEnded: true };
    }
    const info = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
    const providerMessage = typeof info['error'] === 'string' ? info['error'].slice(0, MAX_PROVIDER_MESSAGE) : '';
    throw new CallControlError(`Plivo rejected the ${what} (HTTP ${response.status})${providerMessage ? `: ${providerMessage}` : ''}`, {
      status: response.status,
    });
  }
}
