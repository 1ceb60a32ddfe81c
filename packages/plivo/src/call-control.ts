/**
 * Hang-up, transfer and DTMF of a live call through Plivo's Voice API, Basic auth with the auth id
 * and auth token:
 * - hang up: `DELETE /v1/Account/{auth_id}/Call/{call_uuid}/` (https://www.plivo.com/docs/voice/detailed-reference/api/call/hangup-a-call/;
 *   without a call UUID it would end every call of the account, so one is always required)
 * - transfer: `POST /v1/Account/{auth_id}/Call/{call_uuid}/` with `legs`, `aleg_url`, `aleg_method`
 *   (https://plivo.com/docs/voice/api/call/transfer-a-call)
 * - DTMF: `POST /v1/Account/{auth_id}/Call/{call_uuid}/DTMF/` with `digits`, `leg`
 *   (http://plivo.com/docs/api/call/dtmf/)
 * - a new call: `POST /v1/Account/{auth_id}/Call/` with `from`, `to`, `answer_url` and, for machine
 *   detection, `machine_detection` (`true` or `hangup`), `machine_detection_time` (2000-10000 ms),
 *   `machine_detection_url` / `_method` (https://www.plivo.com/docs/voice/api/call/make-a-call,
 *   https://www.plivo.com/docs/voice/api/call/asynchronous-machine-detection). Plivo answers
 *   `{"message":"call fired","request_uuid":…}`: the call's UUID is not known yet; it arrives in
 *   the answer request (`CallUUID`), in the stream's `start.callId` and in the machine detection
 *   callback.
 */
import { ConfigError } from '@switchboard/core';
import {
  absoluteHttpUrl,
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

/**
 * A call to place with {@link PlivoCallControl.createCall}. Numbers are written with their country
 * code and without `+` (a leading `+` is removed); `to` may also be a SIP URI (`sip:…`).
 */
export type PlivoCreateCallOptions = {
  /** The caller id: a number of your Plivo account. */
  from: string;
  /** The number or SIP URI to call; several are dialled at once (Plivo's `<` list). */
  to: string | readonly string[];
  /** Requested once the call is answered; answer with a `<Stream bidirectional="true">` to reach the agent. */
  answerUrl: string;
  answerMethod?: 'GET' | 'POST';
  /**
   * Answering machine detection, asynchronous: `'true'` reports the result to
   * `machineDetectionUrl`, `'hangup'` ends the call when a machine answers.
   */
  machineDetection?: 'true' | 'hangup';
  /** How long detection may listen, in ms: 2000 to 10000 (Plivo's default 5000). */
  machineDetectionTime?: number;
  /** Where Plivo reports the result (`Machine=true|false`, `CallUUID`): read it with `readPlivoMachineDetection`. */
  machineDetectionUrl?: string;
  machineDetectionMethod?: 'GET' | 'POST';
  hangupUrl?: string;
  hangupMethod?: 'GET' | 'POST';
  ringUrl?: string;
  ringMethod?: 'GET' | 'POST';
  fallbackAnswerUrl?: string;
  fallbackMethod?: 'GET' | 'POST';
  callerName?: string;
  /** Seconds the call may ring before it is given up (Plivo's default 120). */
  ringTimeout?: number;
  /** Seconds after the answer at which Plivo ends the call. */
  timeLimit?: number;
  /**
   * SIP headers for a SIP `to` (Plivo adds `X-PH-`): names and values of letters and digits only
   * (values may hold `%`), as Plivo requires.
   */
  sipHeaders?: Record<string, string>;
};

/** What Plivo answered to a new call: its request id (the call's UUID comes with the answer request). */
export type PlivoCreateCallResult = { requestUuid: string; message?: string; body: unknown };

const DEFAULT_BASE_URL = 'https://api.plivo.com';
const AUTH_ID = /^[A-Za-z0-9]{10,40}$/;
const DTMF_DIGITS = /^[0-9*#wW]+$/;
const METHODS = new Set(['GET', 'POST']);
/** Plivo's rules for custom SIP headers (`X-PH-<name>`): https://support.plivo.com/hc/en-us/articles/360041883871 */
const SIP_HEADER_NAME = /^[A-Za-z0-9]{1,24}$/;
const SIP_HEADER_VALUE = /^[A-Za-z0-9%]{0,120}$/;

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function httpUrl(value: unknown, what: string): string {
  absoluteHttpUrl(value, `PlivoCallControl.createCall: ${what}`);
  return value as string;
}

/** `name=value,name=value` for Plivo's `sip_headers` / `sipHeaders`, checked against Plivo's rules. */
export function plivoSipHeaders(headers: Record<string, string>, owner = 'plivoSipHeaders'): string {
  if (!headers || typeof headers !== 'object') throw new ConfigError(`${owner}: SIP headers must be an object`);
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!SIP_HEADER_NAME.test(name))
      throw new ConfigError(`${owner}: SIP header names are 1-24 letters or digits (Plivo adds X-PH-)`);
    if (typeof value !== 'string' || !SIP_HEADER_VALUE.test(value))
      throw new ConfigError(`${owner}: SIP header values are at most 120 letters, digits or %`);
    pairs.push(`${name}=${value}`);
  }
  return pairs.join(',');
}

/** A number without its `+`, or a SIP URI as given. */
function destination(value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (/^sips?:/i.test(text)) return text;
  const number = text.replace(/^\+/, '');
  if (!/^[0-9]{3,20}$/.test(number))
    throw new ConfigError('PlivoCallControl.createCall: `to` must be numbers with their country code or SIP URIs');
  return number;
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

  /**
   * Places a call. Plivo requests `answerUrl` once it is answered; with `machineDetection` it
   * reports to `machineDetectionUrl` whether a machine answered.
   */
  async createCall(options: PlivoCreateCallOptions): Promise<PlivoCreateCallResult> {
    if (!options || typeof options !== 'object') throw new ConfigError('PlivoCallControl.createCall needs options');
    const from = typeof options.from === 'string' ? options.from.trim().replace(/^\+/, '') : '';
    if (from.length === 0) throw new ConfigError('PlivoCallControl.createCall: `from` is required');
    const targets = typeof options.to === 'string' ? [options.to] : Array.isArray(options.to) ? options.to : [];
    if (targets.length === 0) throw new ConfigError('PlivoCallControl.createCall: `to` is required');
    const body: Record<string, unknown> = {
      from,
      to: targets.map(destination).join('<'),
      answer_url: httpUrl(options.answerUrl, 'answerUrl'),
    };
    const method = (key: string, value: unknown) => {
      if (value === undefined) return;
      if (typeof value !== 'string' || !METHODS.has(value))
        throw new ConfigError(`PlivoCallControl.createCall: ${key} must be GET or POST`);
      body[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
    };
    const url = (key: string, value: unknown) => {
      if (value !== undefined) body[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = httpUrl(value, key);
    };
    const seconds = (key: string, value: unknown, min: number) => {
      if (value === undefined) return;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
        throw new ConfigError(`PlivoCallControl.createCall: ${key} must be a whole number of seconds, at least ${min}`);
      body[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
    };
    method('answerMethod', options.answerMethod);
    if (options.machineDetection !== undefined) {
      if (options.machineDetection !== 'true' && options.machineDetection !== 'hangup')
        throw new ConfigError("PlivoCallControl.createCall: machineDetection must be 'true' or 'hangup'");
      body['machine_detection'] = options.machineDetection;
    }
    const time = options.machineDetectionTime;
    if (time !== undefined) {
      if (typeof time !== 'number' || !Number.isInteger(time) || time < 2000 || time > 10000)
        throw new ConfigError('PlivoCallControl.createCall: machineDetectionTime must be 2000 to 10000 ms');
      body['machine_detection_time'] = time;
    }
    url('machineDetectionUrl', options.machineDetectionUrl);
    method('machineDetectionMethod', options.machineDetectionMethod);
    if (
      options.machineDetection === undefined &&
      (time !== undefined || options.machineDetectionUrl !== undefined || options.machineDetectionMethod !== undefined)
    )
      throw new ConfigError('PlivoCallControl.createCall: the machineDetection* options need machineDetection');
    url('hangupUrl', options.hangupUrl);
    method('hangupMethod', options.hangupMethod);
    url('ringUrl', options.ringUrl);
    method('ringMethod', options.ringMethod);
    url('fallbackAnswerUrl', options.fallbackAnswerUrl);
    method('fallbackMethod', options.fallbackMethod);
    if (options.callerName !== undefined) {
      if (!nonEmpty(options.callerName) || options.callerName.length > 50)
        throw new ConfigError('PlivoCallControl.createCall: callerName must be 1 to 50 characters');
      body['caller_name'] = options.callerName;
    }
    seconds('ringTimeout', options.ringTimeout, 1);
    seconds('timeLimit', options.timeLimit, 1);
    if (options.sipHeaders !== undefined)
      body['sip_headers'] = plivoSipHeaders(options.sipHeaders, 'PlivoCallControl.createCall');
    const { body: answer } = await this.#send('POST', `/v1/Account/${this.#authId}/Call/`, body, 'call');
    const fields = isJsonObject(answer) ? answer : {};
    const requestUuid = fields['request_uuid'];
    const result: PlivoCreateCallResult = {
      requestUuid: typeof requestUuid === 'string' ? requestUuid : '',
      body: answer,
    };
    if (typeof fields['message'] === 'string') result.message = fields['message'];
    return result;
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
    absoluteHttpUrl(target.url, 'PlivoCallControl.transfer: url');
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
    return this.#send(method, `/v1/Account/${this.#authId}/Call/${callUuid}/${sub}`, body, what);
  }

  async #send(
    method: 'POST' | 'DELETE',
    path: string,
    body: Record<string, unknown> | undefined,
    what: string,
  ): Promise<PlivoCallActionResult> {
    log('call control %s', what);
    const result = await carrierRequest(this.#rest, {
      path,
      method,
      authorization: this.#authorization,
      json: body,
      what: `Plivo ${what}`,
      rejected: `Plivo rejected the ${what}`,
      // A call that is no longer live is not found: {"api_id":"…","error":"not found"}.
      // (Not for a new call: there a 404 is a refusal like any other.)
      isAlreadyEnded: (failure) => what !== 'call' && failure.status === 404,
      readError: (failure) => {
        const error = isJsonObject(failure.body) ? failure.body['error'] : undefined;
        return { text: typeof error === 'string' ? error : '' };
      },
    });
    if (result.alreadyEnded) log('call control %s: the call had already ended', what);
    return result;
  }
}
