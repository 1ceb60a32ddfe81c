/**
 * Call Automation's REST API for the call a stream belongs to
 * (https://learn.microsoft.com/rest/api/communication/callautomation/call-connection):
 * `POST /calling/callConnections/{id}:terminate` ends the call for everyone,
 * `DELETE /calling/callConnections/{id}` takes only the application out of it, and
 * `POST /calling/callConnections/{id}:transferToParticipant` moves the caller elsewhere.
 *
 * Requests are signed as the Azure SDKs sign them with an access key: `x-ms-date`,
 * `x-ms-content-sha256` (base64 SHA-256 of the body) and
 * `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=…`, the
 * signature an HMAC-SHA256 (key: the base64-decoded access key) of
 * `VERB\n<path and query>\n<x-ms-date>;<host>;<content hash>`. A Microsoft Entra token
 * (`getToken`) is sent as a Bearer token instead.
 */
import { CallControlError, ConfigError, base64Decode, base64Encode } from '@switchboard/core';
import { isJsonObject, logger, restClientConfig, type RestClientConfig } from '@switchboard/core/protocol';
import type { AzureMediaStreamingOptions } from './media-streaming.js';

const log = logger('azure');

/** The Call Automation API version sent by default: the first stable one with bidirectional streaming. */
export const AZURE_CALL_AUTOMATION_API_VERSION = '2025-05-15';

export type AzureCallAutomationOptions = {
  /** The resource's connection string (`endpoint=https://….communication.azure.com/;accesskey=…`). */
  connectionString?: string;
  /** The resource's endpoint (`https://<resource>.communication.azure.com`), with `accessKey` or `getToken`. */
  endpoint?: string;
  /** The resource's access key (base64), for HMAC-signed requests. */
  accessKey?: string;
  /** A Microsoft Entra access token for `https://communication.azure.com/.default`, sent as a Bearer token. */
  getToken?: () => Promise<string>;
  /** `api-version` of every request; default {@link AZURE_CALL_AUTOMATION_API_VERSION}. */
  apiVersion?: string;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /** Abort each request after this many ms; default 10 000. */
  timeoutMs?: number;
  /** Clock for `x-ms-date`; default `Date.now`. */
  now?: () => number;
};

/**
 * Who to transfer to: an E.164 number (`+14255550123`), an ACS user (`8:acs:…`), or a
 * `CommunicationIdentifierModel` as the REST API takes it.
 */
export type AzureTransferTarget = string | Record<string, unknown>;

export type AzureTransferOptions = {
  /** The caller id the target sees, an E.164 number of the resource (`sourceCallerIdNumber`). */
  sourceCallerIdNumber?: string;
  /** Echoed in the `CallTransferAccepted` / `CallTransferFailed` events (`operationContext`). */
  operationContext?: string;
  /** Where those events go, instead of the call's callback URI (`operationCallbackUri`). */
  operationCallbackUri?: string;
  /** Any further field of the request, sent as written (`customCallingContext`, `transferee`, …). */
  extra?: Record<string, unknown>;
};

export type AzureAnswerOptions = {
  /** Where Call Automation posts the call's events (`callbackUri`), an https URL. */
  callbackUri: string;
  /** The stream to open: see `azureMediaStreamingOptions()`. */
  mediaStreamingOptions?: AzureMediaStreamingOptions;
  /** Echoed in the call's events (`operationContext`). */
  operationContext?: string;
  /** Any further field of the request, sent as written (`callIntelligenceOptions`, …). */
  extra?: Record<string, unknown>;
};

/** What `answerCall` answers with: the call's id for every later request, and its stream's subscription id. */
export type AzureAnswerResult = { callConnectionId: string; mediaStreamingSubscriptionId?: string; body: unknown };

/** Parts of a request to sign: method, URL and body, at a time. */
export type AzureSignInput = {
  method: string;
  url: string;
  body?: string;
  accessKey: string;
  /** When the request is signed, ms since the epoch; default now. */
  date?: number;
};

const encoder = new TextEncoder();

/**
 * The headers that sign one request with an ACS access key, as the Azure SDKs write them:
 * `x-ms-date`, `x-ms-content-sha256` and `Authorization`. Uses Web Crypto only.
 */
export async function signAzureRequest(input: AzureSignInput): Promise<Record<string, string>> {
  let key: Uint8Array;
  try {
    key = base64Decode(input.accessKey);
  } catch {
    throw new ConfigError('signAzureRequest: accessKey is not base64');
  }
  if (key.byteLength === 0) throw new ConfigError('signAzureRequest: accessKey is empty');
  const url = new URL(input.url);
  const date = new Date(input.date ?? Date.now()).toUTCString();
  const subtle = globalThis.crypto.subtle;
  const contentHash = base64Encode(new Uint8Array(await subtle.digest('SHA-256', encoder.encode(input.body ?? ''))));
  const toSign = `${input.method.toUpperCase()}\n${url.pathname}${url.search}\n${date};${url.host};${contentHash}`;
  const hmac = await subtle.importKey('raw', new Uint8Array(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const signature = base64Encode(new Uint8Array(await subtle.sign('HMAC', hmac, encoder.encode(toSign))));
  return {
    'x-ms-date': date,
    'x-ms-content-sha256': contentHash,
    Authorization: `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
  };
}

/** `endpoint=…;accesskey=…` → its two parts. */
function parseConnectionString(value: string): { endpoint: string; accessKey: string } {
  const parts = new Map<string, string>();
  for (const part of value.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) parts.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const endpoint = parts.get('endpoint');
  const accessKey = parts.get('accesskey');
  if (!endpoint || !accessKey)
    throw new ConfigError('AzureCallAutomation: connectionString must hold endpoint=…;accesskey=…');
  return { endpoint, accessKey };
}

/** A transfer target as a `CommunicationIdentifierModel`. */
function identifierOf(target: AzureTransferTarget): Record<string, unknown> {
  if (isJsonObject(target)) return { ...target };
  if (typeof target !== 'string' || target.trim() === '')
    throw new ConfigError(
      'AzureCallAutomation.transfer: the target must be a phone number, an ACS user id or an identifier',
    );
  const value = target.trim();
  // A phone number's raw id is `4:` and the number, with its `+` (what the JS SDK's
  // getIdentifierRawId writes) or without it.
  const phone = /^\+[1-9]\d{1,14}$/.test(value)
    ? value
    : /^4:\+?[1-9]\d{1,14}$/.test(value)
      ? `+${value.slice(2).replace(/^\+/, '')}`
      : undefined;
  if (phone !== undefined) return { kind: 'phoneNumber', phoneNumber: { value: phone } };
  if (/^8:(acs|spool|dod-acs|gcch-acs):/.test(value))
    return { kind: 'communicationUser', communicationUser: { id: value } };
  throw new ConfigError(
    'AzureCallAutomation.transfer: a string target must be an E.164 number (+14255550123, or 4:+14255550123) or an ACS user id (8:acs:…)',
  );
}

/** `{"error":{"code":"…","message":"…"}}`, ACS's `CommunicationErrorResponse`. */
function readError(body: unknown): { code?: string; message?: string } {
  const error = isJsonObject(body) ? body['error'] : undefined;
  if (!isJsonObject(error)) return {};
  const out: { code?: string; message?: string } = {};
  if (typeof error['code'] === 'string') out.code = error['code'];
  if (typeof error['message'] === 'string') out.message = error['message'].slice(0, 300);
  return out;
}

/**
 * Call Automation for the call a stream belongs to (its `callConnectionId`, the transport's
 * `callStart.callId`). A command for a call ACS no longer knows (HTTP 404) resolves with
 * `alreadyEnded: true`, so hanging up twice is harmless.
 */
export class AzureCallAutomation {
  readonly #rest: RestClientConfig;
  readonly #accessKey: string | undefined;
  readonly #getToken: (() => Promise<string>) | undefined;
  readonly #apiVersion: string;
  readonly #now: () => number;

  constructor(options: AzureCallAutomationOptions) {
    if (!options || typeof options !== 'object') throw new ConfigError('AzureCallAutomation: options are required');
    let endpoint = options.endpoint;
    let accessKey = options.accessKey;
    if (options.connectionString !== undefined) {
      if (typeof options.connectionString !== 'string')
        throw new ConfigError('AzureCallAutomation: connectionString must be a string');
      ({ endpoint, accessKey } = parseConnectionString(options.connectionString));
    }
    if (typeof endpoint !== 'string' || endpoint === '')
      throw new ConfigError('AzureCallAutomation: endpoint (or connectionString) is required');
    if (accessKey === undefined && typeof options.getToken !== 'function')
      throw new ConfigError('AzureCallAutomation: accessKey, connectionString or getToken is required');
    if (accessKey !== undefined) {
      let key: Uint8Array | undefined;
      try {
        key = base64Decode(accessKey);
      } catch {
        key = undefined;
      }
      if (!key || key.byteLength === 0) throw new ConfigError('AzureCallAutomation: accessKey must be base64');
    }
    const apiVersion = options.apiVersion ?? AZURE_CALL_AUTOMATION_API_VERSION;
    if (typeof apiVersion !== 'string' || !/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(apiVersion))
      throw new ConfigError('AzureCallAutomation: apiVersion must look like 2025-05-15');
    const restOptions: { baseUrl: string; fetch?: typeof fetch; timeoutMs?: number } = { baseUrl: endpoint };
    if (options.fetch !== undefined) restOptions.fetch = options.fetch;
    if (options.timeoutMs !== undefined) restOptions.timeoutMs = options.timeoutMs;
    this.#rest = restClientConfig('AzureCallAutomation', restOptions, endpoint);
    this.#accessKey = accessKey;
    this.#getToken = options.getToken;
    this.#apiVersion = apiVersion;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Answers an incoming call (`POST /calling/callConnections:answer`) with the
   * `incomingCallContext` of its `Microsoft.Communication.IncomingCall` event, opening the media
   * stream `mediaStreamingOptions` describes. Resolves with the call's `callConnectionId`, the
   * id ACS also sends in the stream's `x-ms-call-connection-id` header.
   */
  async answerCall(incomingCallContext: string, options: AzureAnswerOptions): Promise<AzureAnswerResult> {
    if (typeof incomingCallContext !== 'string' || incomingCallContext === '')
      throw new ConfigError('AzureCallAutomation.answerCall: incomingCallContext must be a non-empty string');
    if (!options || typeof options.callbackUri !== 'string' || !/^https?:\/\//.test(options.callbackUri))
      throw new ConfigError('AzureCallAutomation.answerCall: callbackUri must be an http(s) URL');
    const body: Record<string, unknown> = {
      ...(options.extra ?? {}),
      incomingCallContext,
      callbackUri: options.callbackUri,
    };
    if (options.mediaStreamingOptions !== undefined) body['mediaStreamingOptions'] = options.mediaStreamingOptions;
    if (options.operationContext !== undefined) body['operationContext'] = options.operationContext;
    const result = await this.#send('POST', '/calling/callConnections:answer', JSON.stringify(body), 'answer');
    const answer = isJsonObject(result.body) ? result.body : {};
    const callConnectionId = answer['callConnectionId'];
    if (result.alreadyEnded || typeof callConnectionId !== 'string' || callConnectionId === '')
      throw new CallControlError('Azure answer: the answer holds no callConnectionId (the call may be gone)');
    const subscription = answer['mediaStreamingSubscription'];
    const id = isJsonObject(subscription) ? subscription['id'] : undefined;
    return typeof id === 'string'
      ? { callConnectionId, mediaStreamingSubscriptionId: id, body: result.body }
      : { callConnectionId, body: result.body };
  }

  /**
   * Hangs up. `forEveryone` (default true) ends the call for every participant (`:terminate`);
   * false takes only the application out of it (`DELETE`), the others stay connected.
   */
  async hangUp(callConnectionId: string, options: { forEveryone?: boolean } = {}): Promise<{ alreadyEnded: boolean }> {
    const path = this.#path(callConnectionId);
    const { alreadyEnded } =
      options.forEveryone === false
        ? await this.#send('DELETE', path, undefined, 'hang up')
        : await this.#send('POST', `${path}:terminate`, undefined, 'terminate');
    return { alreadyEnded };
  }

  /**
   * Transfers the call (`:transferToParticipant`): the caller leaves the application for the
   * target, and the media stream ends.
   */
  async transfer(
    callConnectionId: string,
    target: AzureTransferTarget,
    options: AzureTransferOptions = {},
  ): Promise<{ alreadyEnded: boolean; operationContext?: string }> {
    const body: Record<string, unknown> = { ...(options.extra ?? {}), targetParticipant: identifierOf(target) };
    if (options.sourceCallerIdNumber !== undefined) {
      if (!/^\+[1-9]\d{1,14}$/.test(options.sourceCallerIdNumber))
        throw new ConfigError('AzureCallAutomation.transfer: sourceCallerIdNumber must be an E.164 number');
      body['sourceCallerIdNumber'] = { value: options.sourceCallerIdNumber };
    }
    if (options.operationContext !== undefined) body['operationContext'] = options.operationContext;
    if (options.operationCallbackUri !== undefined) body['operationCallbackUri'] = options.operationCallbackUri;
    const result = await this.#send(
      'POST',
      `${this.#path(callConnectionId)}:transferToParticipant`,
      JSON.stringify(body),
      'transfer',
    );
    const context = isJsonObject(result.body) ? result.body['operationContext'] : undefined;
    return typeof context === 'string'
      ? { alreadyEnded: result.alreadyEnded, operationContext: context }
      : { alreadyEnded: result.alreadyEnded };
  }

  #path(callConnectionId: string): string {
    if (typeof callConnectionId !== 'string' || callConnectionId.trim() === '')
      throw new ConfigError('AzureCallAutomation: callConnectionId must be a non-empty string');
    return `/calling/callConnections/${encodeURIComponent(callConnectionId)}`;
  }

  async #send(
    method: 'POST' | 'DELETE',
    path: string,
    body: string | undefined,
    what: string,
  ): Promise<{ alreadyEnded: boolean; body?: unknown }> {
    const url = `${this.#rest.baseUrl}${path}?api-version=${this.#apiVersion}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.#accessKey !== undefined) {
      const signed = await signAzureRequest({
        method,
        url,
        accessKey: this.#accessKey,
        date: this.#now(),
        body: body ?? '',
      });
      Object.assign(headers, signed);
    } else {
      const token = await this.#getToken!();
      if (typeof token !== 'string' || token === '')
        throw new ConfigError('AzureCallAutomation: getToken resolved with no token');
      headers['Authorization'] = `Bearer ${token}`;
    }
    log('%s', what);
    let response: Response;
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(this.#rest.timeoutMs) };
    if (body !== undefined) init.body = body;
    try {
      response = await this.#rest.fetch(url, init);
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new CallControlError(
        timedOut
          ? `Azure ${what} timed out after ${this.#rest.timeoutMs} ms`
          : `Azure ${what} failed: the request did not complete`,
        { cause: error },
      );
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.ok) return { alreadyEnded: false, body: parsed };
    if (response.status === 404) return { alreadyEnded: true };
    const error = readError(parsed);
    let message = `Azure ${what} was refused (HTTP ${response.status}`;
    if (error.code !== undefined) message += `, code ${error.code}`;
    message += ')';
    if (error.message) message += `: ${error.message}`;
    const details: { status: number; providerCode?: string } = { status: response.status };
    if (error.code !== undefined) details.providerCode = error.code;
    throw new CallControlError(message, details);
  }
}
