/**
 * Commands to live calls through the Wavix Call Control API (https://docs.wavix.com/api-reference,
 * OpenAPI `docs/wavix-api.yaml` of github.com/Wavix/wavix-openapi): JSON bodies, answers of the
 * form `{"success": true, …}`, errors `{"success": false, "message": …, "errors"?: {field: text}}`,
 * and `Authorization: Bearer <API key>`.
 *
 * - answer with a stream: `POST /v1/calls/{id}/answer` with `stream_url`, `stream_type`, `stream_channel`;
 * - start / stop a stream on a live call: `POST /v1/calls/{call_id}/streams` (answers `stream_id`),
 *   `DELETE /v1/calls/{call_id}/streams/{id}`;
 * - hang up: `DELETE /v1/calls/{id}`;
 * - transfer: `POST /v1/calls/{id}/transfer` with `from` and `to`. Not in the OpenAPI document;
 *   as Wavix's Node SDK sends it (github.com/Wavix/wavix-node-sdk, `src/services/call/call.service.ts`).
 */
import { CallControlError, ConfigError } from '@switchboard/core';
import {
  carrierRequest,
  isJsonObject,
  logger,
  restClientConfig,
  type RestClientConfig,
  type RestFailure,
  type RestResult,
} from '@switchboard/core/protocol';

const log = logger('wavix');

export type WavixCallControlOptions = {
  /** A Wavix API key (Administration → API Keys), sent as a Bearer token; it needs `calls:write`. */
  apiKey: string;
  /** REST API origin; default `https://api.wavix.com`. */
  baseUrl?: string;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /** Abort each request after this many ms; default 10 000. */
  timeoutMs?: number;
};

/** Where Wavix streams the call: your WebSocket URL, and the stream's direction and channel. */
export type WavixStreamOptions = {
  /** The `wss://` URL Wavix connects to (sign it with `signWavixStreamUrl`). */
  streamUrl: string | URL;
  /** `twoway` (default): the agent is heard; `oneway`: Wavix only sends. */
  streamType?: 'oneway' | 'twoway';
  /** `inbound` (default), `outbound` or `both`; Wavix streams only `inbound` on a two-way stream. */
  streamChannel?: 'inbound' | 'outbound' | 'both';
};

/** Options of {@link WavixCallControl.answer}. */
export type WavixAnswerOptions = Partial<WavixStreamOptions> & {
  /** Record the call (`call_recording`). */
  recording?: boolean;
  /** Transcribe the call after it ends (`call_transcription`). */
  transcription?: boolean;
};

/** Where to transfer the call: the new party, and the caller id shown to it. */
export type WavixTransferTarget = {
  /** The number to dial (E.164). */
  to: string;
  /** Caller id shown to the new party: a number of your Wavix account. */
  from: string;
  /** Any further field of the transfer request (`call_recording`, `machine_detection`, …). */
  extra?: Record<string, unknown>;
};

const DEFAULT_BASE_URL = 'https://api.wavix.com';
const STREAM_TYPES = new Set(['oneway', 'twoway']);
const STREAM_CHANNELS = new Set(['inbound', 'outbound', 'both']);

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function readError(failure: RestFailure): { text: string } {
  const body = isJsonObject(failure.body) ? failure.body : {};
  const message = typeof body['message'] === 'string' ? body['message'] : '';
  const errors = isJsonObject(body['errors'])
    ? Object.entries(body['errors'])
        .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
        .map(([field, text]) => `${field} ${text}`)
    : [];
  return { text: [message, ...errors].filter(Boolean).join('; ') };
}

function streamBody(options: Partial<WavixStreamOptions>, owner: string, required: boolean): Record<string, string> {
  const body: Record<string, string> = {};
  if (options.streamUrl === undefined) {
    if (required) throw new ConfigError(`${owner}: streamUrl (the wss:// URL Wavix connects to) is required`);
    return body;
  }
  let url: URL | undefined;
  try {
    url = new URL(options.streamUrl instanceof URL ? options.streamUrl.href : String(options.streamUrl));
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'wss:' && url.protocol !== 'ws:'))
    throw new ConfigError(`${owner}: streamUrl must be an absolute ws:// or wss:// URL`);
  const type = options.streamType ?? 'twoway';
  if (!STREAM_TYPES.has(type)) throw new ConfigError(`${owner}: streamType must be "oneway" or "twoway"`);
  const channel = options.streamChannel ?? 'inbound';
  if (!STREAM_CHANNELS.has(channel))
    throw new ConfigError(`${owner}: streamChannel must be "inbound", "outbound" or "both"`);
  body['stream_url'] = url.href;
  body['stream_type'] = type;
  body['stream_channel'] = channel;
  return body;
}

/**
 * Call Control for the call a stream belongs to (`start.call_id`, the transport's
 * `callStart.callId`). Hanging up or stopping a stream of a call Wavix no longer knows (HTTP 404)
 * resolves with `alreadyEnded: true`, so doing it twice is harmless.
 */
export class WavixCallControl {
  readonly #authorization: string;
  readonly #rest: RestClientConfig;

  constructor(options: WavixCallControlOptions) {
    if (!options || !nonEmpty(options.apiKey))
      throw new ConfigError('WavixCallControl: apiKey (a Wavix API key) is required');
    this.#authorization = `Bearer ${options.apiKey}`;
    this.#rest = restClientConfig('WavixCallControl', options, DEFAULT_BASE_URL);
  }

  /**
   * Answers an inbound call (`POST /v1/calls/{id}/answer`), with a stream to `streamUrl` when
   * given: the one request that connects a caller to the agent.
   */
  async answer(callId: string, options: WavixAnswerOptions = {}): Promise<{ alreadyEnded: boolean }> {
    if (!options || typeof options !== 'object')
      throw new ConfigError('WavixCallControl.answer: options must be an object');
    const body: Record<string, unknown> = streamBody(options, 'WavixCallControl.answer', false);
    if (options.recording !== undefined) body['call_recording'] = options.recording === true;
    if (options.transcription !== undefined) body['call_transcription'] = options.transcription === true;
    const { alreadyEnded } = await this.#send('POST', `/v1/calls/${this.#id(callId)}/answer`, 'answer', body, false);
    return { alreadyEnded };
  }

  /** Starts a stream on a live call (`POST /v1/calls/{call_id}/streams`); resolves with its `stream_id`. */
  async startStream(callId: string, options: WavixStreamOptions): Promise<{ streamId: string }> {
    if (!options || typeof options !== 'object')
      throw new ConfigError('WavixCallControl.startStream: options must be { streamUrl, … }');
    const body = streamBody(options, 'WavixCallControl.startStream', true);
    const result = await this.#send('POST', `/v1/calls/${this.#id(callId)}/streams`, 'start stream', body, false);
    const streamId = isJsonObject(result.body) ? result.body['stream_id'] : undefined;
    if (!nonEmpty(streamId)) throw new CallControlError('Wavix start stream: the answer holds no stream_id');
    return { streamId };
  }

  /** Stops a stream (`DELETE /v1/calls/{call_id}/streams/{id}`): its WebSocket closes, the call goes on. */
  async stopStream(callId: string, streamId: string): Promise<{ alreadyEnded: boolean }> {
    const path = `/v1/calls/${this.#id(callId)}/streams/${this.#id(streamId, 'streamId')}`;
    const { alreadyEnded } = await this.#send('DELETE', path, 'stop stream', undefined, true);
    return { alreadyEnded };
  }

  /** Ends the call (`DELETE /v1/calls/{id}`). */
  async hangup(callId: string): Promise<{ alreadyEnded: boolean }> {
    const { alreadyEnded } = await this.#send('DELETE', `/v1/calls/${this.#id(callId)}`, 'hangup', undefined, true);
    return { alreadyEnded };
  }

  /** Transfers the call to another number (`POST /v1/calls/{id}/transfer`); the stream of this leg ends. */
  async transfer(callId: string, target: WavixTransferTarget): Promise<{ alreadyEnded: boolean }> {
    if (!target || typeof target !== 'object')
      throw new ConfigError('WavixCallControl.transfer: target must be { to, from }');
    const to = typeof target.to === 'string' ? target.to.trim() : '';
    const from = typeof target.from === 'string' ? target.from.trim() : '';
    if (to.length === 0) throw new ConfigError('WavixCallControl.transfer: `to` must be a phone number');
    if (from.length === 0)
      throw new ConfigError('WavixCallControl.transfer: `from` must be a phone number of your account');
    if (target.extra !== undefined && !isJsonObject(target.extra))
      throw new ConfigError('WavixCallControl.transfer: `extra` must be an object');
    const body = { ...(target.extra ?? {}), from, to };
    const { alreadyEnded } = await this.#send('POST', `/v1/calls/${this.#id(callId)}/transfer`, 'transfer', body, true);
    return { alreadyEnded };
  }

  #id(value: unknown, what = 'callId'): string {
    if (!nonEmpty(value)) throw new ConfigError(`WavixCallControl: ${what} must be a non-empty string`);
    return encodeURIComponent(value);
  }

  #send(
    method: 'POST' | 'DELETE',
    path: string,
    action: string,
    body: Record<string, unknown> | undefined,
    goneIsEnded: boolean,
  ): Promise<RestResult> {
    log('call control %s', action);
    return carrierRequest(this.#rest, {
      path,
      method,
      authorization: this.#authorization,
      ...(body === undefined ? {} : { json: body }),
      what: `Wavix ${action}`,
      rejected: `Wavix rejected ${action}`,
      // Wavix answers 404 for a call (or stream) it no longer has: ended already.
      ...(goneIsEnded ? { isAlreadyEnded: (failure: RestFailure) => failure.status === 404 } : {}),
      readError,
    });
  }
}
