/**
 * Outbound calls and commands to live calls through the Telnyx Call Control API
 * (https://developers.telnyx.com/api/call-control): `POST /v2/calls` to dial,
 * `POST /v2/calls/{call_control_id}/actions/<action>` for the rest, with a JSON body and
 * `Authorization: Bearer <API key>`.
 */
import { CallControlError, ConfigError } from '@switchboard/core';
import {
  carrierRequest,
  isJsonObject,
  logger,
  restClientConfig,
  type RestClientConfig,
  type RestFailure,
} from '@switchboard/core/protocol';
import { readDialAnswer, telnyxDialBody, type TelnyxDialOptions, type TelnyxDialResult } from './dial.js';

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
const DTMF_DIGITS = /^[0-9A-Da-d*#wW]+$/;

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** A call control id as a path segment: percent-encoded, its `:` (as in `v3:…`) kept as is. */
function pathSegment(id: string): string {
  return encodeURIComponent(id).replace(/%3A/gi, ':');
}

/**
 * The error objects of a Telnyx error body:
 * `{"errors":[{"code":"90018","title":"Call has already ended","detail":"…"}]}`.
 */
function errorsOf(failure: RestFailure): Record<string, unknown>[] {
  const errors = isJsonObject(failure.body) ? failure.body['errors'] : undefined;
  return Array.isArray(errors) ? errors.filter(isJsonObject) : [];
}

/**
 * Call Control for the call a media stream belongs to (`start.call_control_id`, the transport's
 * `callStart.callId`). A command for a call that already ended (HTTP 422, Telnyx code 90018)
 * resolves with `alreadyEnded: true`, so hanging up twice is harmless.
 */
export class TelnyxCallControl {
  readonly #authorization: string;
  readonly #rest: RestClientConfig;

  constructor(options: TelnyxCallControlOptions) {
    if (!options || !nonEmpty(options.apiKey))
      throw new ConfigError('TelnyxCallControl: apiKey (a Telnyx API key) is required');
    this.#authorization = `Bearer ${options.apiKey}`;
    this.#rest = restClientConfig('TelnyxCallControl', options, DEFAULT_BASE_URL);
  }

  /** Ends the call (`actions/hangup`). */
  async hangup(callControlId: string): Promise<{ alreadyEnded: boolean }> {
    const { alreadyEnded } = await this.action(callControlId, 'hangup', {});
    return { alreadyEnded };
  }

  /** Transfers the call to a number or SIP URI (`actions/transfer`); the media stream of this leg ends. */
  async transfer(callControlId: string, target: TelnyxTransferTarget): Promise<{ alreadyEnded: boolean }> {
    if (!target || typeof target !== 'object')
      throw new ConfigError('TelnyxCallControl.transfer: target must be { to, from? }');
    const to = typeof target.to === 'string' ? target.to.trim() : '';
    if (to.length === 0) throw new ConfigError('TelnyxCallControl.transfer: `to` must be a phone number or SIP URI');
    if (target.from !== undefined && !nonEmpty(target.from))
      throw new ConfigError('TelnyxCallControl.transfer: `from` must be a non-empty string');
    const body: Record<string, unknown> = { ...(target.extra ?? {}), to };
    if (target.from !== undefined) body['from'] = target.from;
    const { alreadyEnded } = await this.action(callControlId, 'transfer', body);
    return { alreadyEnded };
  }

  /** Plays DTMF digits into the call (`actions/send_dtmf`): 0-9, A-D, `*`, `#`, and `w`/`W` pauses. */
  async sendDtmf(
    callControlId: string,
    digits: string,
    options: { durationMs?: number } = {},
  ): Promise<{ alreadyEnded: boolean }> {
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

  /**
   * Places an outbound call (`POST /v2/calls`), its media streamed to `streamUrl` as a
   * bidirectional RTP stream and, when asked, with answering machine detection (the result comes
   * as a `call.machine.*` webhook: see `readTelnyxMachineDetection`).
   */
  async dial(options: TelnyxDialOptions): Promise<TelnyxDialResult> {
    const body = telnyxDialBody(options);
    log('dial');
    const result = await this.#post('/v2/calls', 'dial', body);
    const answer = readDialAnswer(result.body);
    if (answer === undefined) throw new CallControlError('Telnyx dial: the answer holds no data.call_control_id');
    return answer;
  }

  /** Speaks text into the call with Telnyx's text to speech (`actions/speak`); `call.speak.ended` follows. */
  async speak(
    callControlId: string,
    payload: string,
    options: { voice?: string; language?: string; extra?: Record<string, unknown> } = {},
  ): Promise<{ alreadyEnded: boolean }> {
    if (!nonEmpty(payload)) throw new ConfigError('TelnyxCallControl.speak: payload must be non-empty text');
    const body: Record<string, unknown> = { payload, voice: options.voice ?? 'female' };
    if (options.language !== undefined) body['language'] = options.language;
    const { alreadyEnded } = await this.action(callControlId, 'speak', { ...body, ...(options.extra ?? {}) });
    return { alreadyEnded };
  }

  /**
   * Joins two calls (`actions/bridge`): their parties hear each other. The other call goes in the
   * body as `call_control_id`, as Telnyx reads it (the SDK's `call_control_id_to_bridge_with`
   * parameter is renamed so on the wire).
   */
  async bridge(
    callControlId: string,
    otherCallControlId: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ alreadyEnded: boolean }> {
    if (!nonEmpty(otherCallControlId))
      throw new ConfigError('TelnyxCallControl.bridge: the other call control id must be a non-empty string');
    const body = { ...extra, call_control_id: otherCallControlId };
    const { alreadyEnded } = await this.action(callControlId, 'bridge', body);
    return { alreadyEnded };
  }

  /** Stops the call's media streams (`actions/streaming_stop`); the media WebSocket closes, the call goes on. */
  async stopStreaming(callControlId: string, streamId?: string): Promise<{ alreadyEnded: boolean }> {
    const body: Record<string, unknown> = {};
    if (nonEmpty(streamId)) body['stream_id'] = streamId;
    const { alreadyEnded } = await this.action(callControlId, 'streaming_stop', body);
    return { alreadyEnded };
  }

  /** Any Call Control command: `POST /v2/calls/{id}/actions/{action}` with `body` as JSON. */
  async action(callControlId: string, action: string, body: Record<string, unknown>): Promise<TelnyxCallActionResult> {
    if (!nonEmpty(callControlId)) throw new ConfigError('TelnyxCallControl: callControlId must be a non-empty string');
    if (!/^[a-z_]+$/.test(action)) throw new ConfigError(`TelnyxCallControl: invalid action ${JSON.stringify(action)}`);
    log('call control %s', action);
    const result = await this.#post(`/v2/calls/${pathSegment(callControlId)}/actions/${action}`, action, body);
    if (result.alreadyEnded) log('call control %s: the call had already ended', action);
    return result;
  }

  #post(path: string, action: string, body: Record<string, unknown>): Promise<TelnyxCallActionResult> {
    return carrierRequest(this.#rest, {
      path,
      method: 'POST',
      authorization: this.#authorization,
      json: body,
      what: `Telnyx ${action}`,
      rejected: `Telnyx rejected ${action}`,
      isAlreadyEnded: (failure) => errorsOf(failure).some((e) => String(e['code'] ?? '') === TELNYX_CALL_ENDED_CODE),
      readError: (failure) => {
        const first = errorsOf(failure)[0] ?? {};
        const code = typeof first['code'] === 'string' || typeof first['code'] === 'number' ? first['code'] : undefined;
        const title = typeof first['title'] === 'string' ? first['title'] : '';
        const detail = typeof first['detail'] === 'string' ? first['detail'] : '';
        return { code, text: [title, detail].filter(Boolean).join(': ') };
      },
    });
  }
}
