/**
 * Hang-up, transfer and DTMF of a live call through the Telnyx Call Control API
 * (https://developers.telnyx.com/api/call-control): `POST /v2/calls/{call_control_id}/actions/<action>`
 * with a JSON body and `Authorization: Bearer <API key>`.
 */
import { CallControlError, ConfigError, logger } from '@switchboard/core';

const log = logger('telnyx');

export type TelnyxCallControlOptions = {
  /** A Telnyx API key (`KEY…`), sent as a Bearer token. */
  apiKey: string;
  /** REST API origin; default `https://api.telnyx.com`. */
  baseUrl?: string;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /** Abort each request after this many ms; default 10 000. */
  timeoutMs?: number;
};

/** Where to send the call: a number or SIP URI, with an optional caller id and extra Call Control fields. */
export type TelnyxTransferTarget = {
  /** E.164 number or SIP URI to dial. */
  to: string;
  /** Caller id shown to the new party (E.164). */
  from?: string;
  /** Any further field of the transfer command (`timeout_secs`, `client_state`, `custom_headers`, …). */
  extra?: Record<string, unknown>;
};

export type TelnyxCallActionResult = { alreadyEnded: boolean; body?: unknown };

/** Telnyx's error code for a command sent to a call that is no longer active. */
export const TELNYX_CALL_ENDED_CODE = '90018';
const DEFAULT_BASE_URL = 'https://api.telnyx.com';
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_PROVIDER_MESSAGE = 300;
const DTMF_DIGITS = /^[0-9A-Da-d*#wW]+$/;

type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** A call control id as a path segment: percent-encoded, its `:` (as in `v3:…`) kept as is. */
function pathSegment(id: string): string {
  return encodeURIComponent(id).replace(/%3A/gi, ':');
}

/**
 * Call Control for the call a media stream belongs to (`start.call_control_id`, the transport's
 * `callStart.callId`). A command for a call that already ended (HTTP 422, Telnyx code 90018)
 * resolves with `alreadyEnded: true`, so hanging up twice is harmless.
 */
export class TelnyxCallControl {
  readonly #authorization: string;
  readonly #baseUrl: string;
  readonly #fetch: FetchFn;
  readonly #timeoutMs: number;

  constructor(options: TelnyxCallControlOptions) {
    if (!options || !nonEmpty(options.apiKey)) throw new ConfigError('TelnyxCallControl: apiKey (a Telnyx API key) is required');
    this.#authorization = `Bearer ${options.apiKey}`;
    const baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
    } catch {
      throw new ConfigError('TelnyxCallControl: baseUrl is not an absolute URL');
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ConfigError('TelnyxCallControl: baseUrl must be an http(s) URL');
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ConfigError('TelnyxCallControl: timeoutMs must be a positive number');
    this.#timeoutMs = timeoutMs;
    const custom = options.fetch;
    if (custom !== undefined && typeof custom !== 'function') throw new ConfigError('TelnyxCallControl: fetch must be a function');
    this.#fetch = custom ? (input, init) => custom(input, init) : (input, init) => globalThis.fetch(input, init);
  }

  /** Ends the call (`actions/hangup`). */
  async hangup(callControlId: string): Promise<{ alreadyEnded: boolean }> {
    const { alreadyEnded } = await this.action(callControlId, 'hangup', {});
    return { alreadyEnded };
  }

  /** Transfers the call to a number or SIP URI (`actions/transfer`); the media stream of this leg ends. */
  async transfer(callControlId: string, target: TelnyxTransferTarget): Promise<{ alreadyEnded: boolean }> {
    if (!target || typeof target !== 'object') throw new ConfigError('TelnyxCallControl.transfer: target must be { to, from? }');
    const to = typeof target.to === 'string' ? target.to.trim() : '';
    if (to.length === 0) throw new ConfigError('TelnyxCallControl.transfer: `to` must be a phone number or SIP URI');
    if (target.from !== undefined && !nonEmpty(target.from)) throw new ConfigError('TelnyxCallControl.transfer: `from` must be a non-empty string');
    const body: Record<string, unknown> = { ...(target.extra ?? {}), to };
    if (target.from !== undefined) body['from'] = target.from;
    const { alreadyEnded } = await this.action(callControlId, 'transfer', body);
    return { alreadyEnded };
  }

  /** Plays DTMF digits into the call (`actions/send_dtmf`): 0-9, A-D, `*`, `#`, and `w`/`W` pauses. */
  async sendDtmf(callControlId: string, digits: string, options: { durationMs?: number } = {}): Promise<{ alreadyEnded: boolean }> {
    if (!nonEmpty(digits) || !DTMF_DIGITS.test(digits)) {
      throw new ConfigError('TelnyxCallControl.sendDtmf: digits must be 0-9, A-D, *, # or w/W pauses');
    }
    const body: Record<string, unknown> = { digits };
    if (options.durationMs !== undefined) {
      if (!Number.isInteger(options.durationMs) || options.durationMs < 100 || options.durationMs > 500) {
        throw new ConfigError('TelnyxCallControl.sendDtmf: durationMs must be an integer from 100 to 500');
      }
      body['duration_millis'] = options.durationMs;
    }
    const { alreadyEnded } = await this.action(callControlId, 'send_dtmf', body);
    return { alreadyEnded };
  }

  /** Any Call Control command: `POST /v2/calls/{id}/actions/{action}` with `body` as JSON. */
  async action(callControlId: string, action: string, body: Record<string, unknown>): Promise<TelnyxCallActionResult> {
    if (!nonEmpty(callControlId)) throw new ConfigError('TelnyxCallControl: callControlId must be a non-empty string');
    if (!/^[a-z_]+$/.test(action)) throw new ConfigError(`TelnyxCallControl: invalid action ${JSON.stringify(action)}`);
    const url = `${this.#baseUrl}/v2/calls/${pathSegment(callControlId)}/actions/${action}`;
    log('call control %s', action);

    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: 'POST',
        headers: { Authorization: this.#authorization, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new CallControlError(
        timedOut ? `Telnyx ${action} timed out after ${this.#timeoutMs} ms` : `Telnyx ${action} failed: the request did not complete`,
        { cause: error },
      );
    }

    const text = await response.text().catch(() => '');
    let json: unknown;
    try {
      json = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      json = undefined;
    }
    if (response.ok) return { alreadyEnded: false, body: json };

    // Errors come as {"errors":[{"code":"90018","title":"Call has already ended","detail":"…"}]}.
    const errors = typeof json === 'object' && json !== null && Array.isArray((json as { errors?: unknown }).errors) ? (json as { errors: unknown[] }).errors : [];
    const first = (errors.find((e) => typeof e === 'object' && e !== null) ?? {}) as Record<string, unknown>;
    const codes = errors.map((e) => (typeof e === 'object' && e !== null ? String((e as Record<string, unknown>)['code'] ?? '') : ''));
    if (codes.includes(TELNYX_CALL_ENDED_CODE)) {
      log('call control %s: the call had already ended', action);
      return { alreadyEnded: true };
    }
    const code = typeof first['code'] === 'string' || typeof first['code'] === 'number' ? first['code'] : undefined;
    const title = typeof first['title'] === 'string' ? first['title'] : '';
    const detail = typeof first['detail'] === 'string' ? first['detail'] : '';
    const providerMessage = [title, detail].filter(Boolean).join(': ').slice(0, MAX_PROVIDER_MESSAGE);
    let message = `Telnyx rejected ${action} (HTTP ${response.status}`;
    if (code !== undefined) message += `, code ${code}`;
    message += ')';
    if (providerMessage) message += `: ${providerMessage}`;
    const errorOptions: { status: number; providerCode?: number | string } = { status: response.status };
    if (code !== undefined) errorOptions.providerCode = code;
    throw new CallControlError(message, errorOptions);
  }
}
