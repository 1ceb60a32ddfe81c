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
import { ConfigError } from '@switchboard/core';
import {
  basicAuthorization,
  carrierRequest,
  isJsonObject,
  logger,
  restClientConfig,
  type RestClientConfig,
} from '@switchboard/core/protocol';

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
const AUTH_ID = /^[A-Za-z0-9]{10,40}$/;
const DTMF_DIGITS = /^[0-9*#wW]+$/;

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
  readonly #rest: RestClientConfig;

  constructor(options: PlivoCallControlOptions) {
    if (!options || !nonEmpty(options.authId) || !AUTH_ID.test(options.authId)) {
      throw new ConfigError('PlivoCallControl: authId must be your Plivo auth id (letters and digits)');
    }
    if (!nonEmpty(options.authToken)) throw new ConfigError('PlivoCallControl: authToken is required');
    this.#authId = options.authId;
    this.#authorization = basicAuthorization(options.authId, options.authToken);
    this.#rest = restClientConfig('PlivoCallControl', options, DEFAULT_BASE_URL);
  }

  /** Ends the call. */
  async hangup(callUuid: string): Promise<{ alreadyEnded: boolean }> {
    const { alreadyEnded } = await this.#request('DELETE', callUuid, '', undefined, 'hang-up');
    return { alreadyEnded };
  }

  /** Moves the caller (the A leg) to the Plivo XML at `target.url`; the audio stream ends. */
  async transfer(callUuid: string, target: PlivoTransferTarget): Promise<{ alreadyEnded: boolean }> {
    if (!target || typeof target !== 'object' || !nonEmpty(target.url))
      throw new ConfigError('PlivoCallControl.transfer: target must be { url, method? }');
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new ConfigError('PlivoCallControl.transfer: url must be an absolute http(s) URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new ConfigError('PlivoCallControl.transfer: url must be an absolute http(s) URL');
    const method = target.method ?? 'POST';
    if (method !== 'GET' && method !== 'POST')
      throw new ConfigError('PlivoCallControl.transfer: method must be GET or POST');
    const { alreadyEnded } = await this.#request(
      'POST',
      callUuid,
      '',
      { legs: 'aleg', aleg_url: target.url, aleg_method: method },
      'transfer',
    );
    return { alreadyEnded };
  }

  /** Plays DTMF digits into the call (0-9, `*`, `#`, `w`/`W` waits). */
  async sendDtmf(
    callUuid: string,
    digits: string,
    options: { leg?: 'aleg' | 'bleg' } = {},
  ): Promise<{ alreadyEnded: boolean }> {
    if (!nonEmpty(digits) || !DTMF_DIGITS.test(digits))
      throw new ConfigError('PlivoCallControl.sendDtmf: digits must be 0-9, *, # or w/W');
    const leg = options.leg ?? 'aleg';
    if (leg !== 'aleg' && leg !== 'bleg') throw new ConfigError('PlivoCallControl.sendDtmf: leg must be aleg or bleg');
    const { alreadyEnded } = await this.#request('POST', callUuid, 'DTMF/', { digits, leg }, 'DTMF');
    return { alreadyEnded };
  }

  async #request(
    method: 'POST' | 'DELETE',
    callUuid: string,
    sub: string,
    body: Record<string, string> | undefined,
    what: string,
  ): Promise<PlivoCallActionResult> {
    if (!nonEmpty(callUuid) || !/^[A-Za-z0-9-]{8,64}$/.test(callUuid))
      throw new ConfigError("PlivoCallControl: callUuid must be the call's UUID");
    log('call control %s', what);
    const result = await carrierRequest(this.#rest, {
      path: `/v1/Account/${this.#authId}/Call/${callUuid}/${sub}`,
      method,
      authorization: this.#authorization,
      json: body,
      what: `Plivo ${what}`,
      rejected: `Plivo rejected the ${what}`,
      // A call that is no longer live is not found: {"api_id":"…","error":"not found"}.
      isAlreadyEnded: (failure) => failure.status === 404,
      readError: (failure) => {
        const error = isJsonObject(failure.body) ? failure.body['error'] : undefined;
        return { text: typeof error === 'string' ? error : '' };
      },
    });
    if (result.alreadyEnded) log('call control %s: the call had already ended', what);
    return result;
  }
}
