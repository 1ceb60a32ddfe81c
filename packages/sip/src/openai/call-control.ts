/**
 * Call control of OpenAI SIP calls through the `openai` SDK:
 * `POST /v1/realtime/calls/{call_id}/accept | reject | refer | hangup`.
 */
import {
  OpenAIRealtimeSIP,
  type RealtimeAgent,
  type RealtimeContextData,
  type RealtimeSessionConfig,
  type RealtimeSessionOptions,
} from '@openai/agents-realtime';
import { ConfigError } from '@switchboard/core';
import { logger } from '@switchboard/core/protocol';
import type { CallAcceptParams } from 'openai/resources/realtime/calls';
import { toCallControlError, type OpenAISipCallOperation } from './call-control-error.js';
import {
  createOpenAIClient,
  type OpenAICallsClient,
  type OpenAIClientOptions,
  type OpenAIRequestOptions,
} from './client.js';
import {
  DEFAULT_OPENAI_SIP_RETRY_POLICIES,
  isRetryPolicy,
  retryDelayMs,
  sleep,
  wasUnprocessed,
  type OpenAISipRetryPolicies,
  type OpenAISipRetryPolicy,
} from './retry.js';

const log = logger('sip:openai');

export type { CallAcceptParams };
export type { OpenAISipRetryPolicies, OpenAISipRetryPolicy };
export { DEFAULT_OPENAI_SIP_RETRY_POLICIES };

export type OpenAISipCallControlOptions = OpenAIClientOptions & {
  /**
   * An `openai` client (or anything with the same `realtime.calls` methods). When absent, one is
   * created from `apiKey` / `baseURL` / `maxRetries`.
   */
  client?: OpenAICallsClient;
  /** Abort each request after this many ms. Default 10 000. */
  timeoutMs?: number;
  /**
   * Which failures of each operation are retried, up to `maxRetries` times (the client's, when
   * a client is given): `'sdk'` (the SDK's rules: connection errors, timeouts, 408, 409, 429,
   * 5xx), `'unprocessed'` (only when OpenAI did not act on the request: 408, 409, 429,
   * `x-should-retry: true`, a connection that never opened) or `'never'`. Default
   * `{ accept: 'unprocessed', refer: 'unprocessed', reject: 'sdk', hangup: 'sdk' }`: a second
   * accept after one that reached OpenAI is refused (`call_already_accepted`), which would
   * report an answered call as failed.
   */
  retryPolicy?: Partial<OpenAISipRetryPolicies>;
};

/** The outcome of a call-control request. `alreadyEnded`: OpenAI no longer knows the call (HTTP 404). */
export type OpenAISipCallResult = { alreadyEnded: boolean };

export type OpenAISipRejectOptions = {
  /** SIP final response code sent to the caller (400–699). Default: OpenAI's (603 Decline). */
  statusCode?: number;
};

type Operation = OpenAISipCallOperation;

const DEFAULT_TIMEOUT_MS = 10_000;
/** The `openai` SDK's default. */
const SDK_DEFAULT_MAX_RETRIES = 2;

function checkCallId(callId: unknown, operation: Operation): asserts callId is string {
  if (typeof callId !== 'string' || callId.trim().length === 0) {
    throw new ConfigError(`OpenAISipCallControl.${operation}: callId must be a non-empty string`);
  }
}

/**
 * Turns a session config into the accept payload, as `OpenAIRealtimeSIP.buildInitialConfig`
 * does: the agent's instructions, tools and prompt, the session options' model and config, then
 * `overrides`. Attach later with the same agent and options and the session starts identical.
 * Rejects turn-detection fields the Calls API refuses for SIP (`threshold`,
 * `prefix_padding_ms`, `silence_duration_ms`).
 */
export async function buildOpenAISipAcceptConfig<TContext = unknown>(
  agent: RealtimeAgent<TContext> | RealtimeAgent<RealtimeContextData<TContext>>,
  sessionOptions: Partial<RealtimeSessionOptions<TContext>> = {},
  overrides: Partial<RealtimeSessionConfig> = {},
): Promise<CallAcceptParams> {
  const payload = await OpenAIRealtimeSIP.buildInitialConfig(agent, sessionOptions, overrides);
  return payload as unknown as CallAcceptParams;
}

/**
 * Accept, reject, transfer (SIP REFER) and hang up OpenAI SIP calls. A call OpenAI no longer
 * knows (HTTP 404: the caller hung up, the call was already ended or never answered in time)
 * resolves with `alreadyEnded: true`, so hanging up twice is harmless. Every other failure is an
 * `OpenAISipCallControlError` (a core `CallControlError`) with the HTTP status, OpenAI's error
 * code and error object, and the request id.
 */
export class OpenAISipCallControl {
  /** The client requests go through. */
  readonly client: OpenAICallsClient;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #retryPolicy: OpenAISipRetryPolicies;

  constructor(options: OpenAISipCallControlOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ConfigError('OpenAISipCallControl: timeoutMs must be a positive number');
    }
    this.#timeoutMs = timeoutMs;
    const policy = options.retryPolicy ?? {};
    if (typeof policy !== 'object' || policy === null)
      throw new ConfigError('OpenAISipCallControl: retryPolicy must be an object');
    for (const [operation, value] of Object.entries(policy)) {
      if (!(operation in DEFAULT_OPENAI_SIP_RETRY_POLICIES)) {
        throw new ConfigError(
          `OpenAISipCallControl: retryPolicy has no operation ${JSON.stringify(operation)} (accept, reject, refer, hangup)`,
        );
      }
      if (value !== undefined && !isRetryPolicy(value)) {
        throw new ConfigError(`OpenAISipCallControl: retryPolicy.${operation} must be 'sdk', 'unprocessed' or 'never'`);
      }
    }
    this.#retryPolicy = { ...DEFAULT_OPENAI_SIP_RETRY_POLICIES };
    for (const [operation, value] of Object.entries(policy) as Array<
      [keyof OpenAISipRetryPolicies, OpenAISipRetryPolicy | undefined]
    >) {
      if (value !== undefined) this.#retryPolicy[operation] = value;
    }
    if (options.client !== undefined) {
      if (typeof options.client?.realtime?.calls?.accept !== 'function') {
        throw new ConfigError(
          'OpenAISipCallControl: client must be an `openai` client (client.realtime.calls is missing)',
        );
      }
      this.client = options.client;
    } else {
      this.client = createOpenAIClient(options);
    }
    const clientRetries = (this.client as { maxRetries?: unknown }).maxRetries;
    const maxRetries =
      options.maxRetries ?? (typeof clientRetries === 'number' ? clientRetries : SDK_DEFAULT_MAX_RETRIES);
    if (!Number.isInteger(maxRetries) || maxRetries < 0)
      throw new ConfigError('OpenAISipCallControl: maxRetries must be a non-negative integer');
    this.#maxRetries = maxRetries;
  }

  /** Answers the call with this session configuration (`type: 'realtime'` is added when missing). */
  accept(callId: string, config: Omit<CallAcceptParams, 'type'> & { type?: 'realtime' }): Promise<OpenAISipCallResult> {
    checkCallId(callId, 'accept');
    if (typeof config !== 'object' || config === null) {
      throw new ConfigError('OpenAISipCallControl.accept: config must be a session configuration object');
    }
    const body = { ...config, type: 'realtime' } as CallAcceptParams;
    return this.#run('accept', callId, (options) => this.client.realtime.calls.accept(callId, body, options));
  }

  /**
   * Answers the call with the session an agent and its session options produce (see
   * {@link buildOpenAISipAcceptConfig}). Resolves with the payload that was sent.
   */
  async acceptAgent<TContext = unknown>(
    callId: string,
    agent: RealtimeAgent<TContext> | RealtimeAgent<RealtimeContextData<TContext>>,
    sessionOptions: Partial<RealtimeSessionOptions<TContext>> = {},
    overrides: Partial<RealtimeSessionConfig> = {},
  ): Promise<OpenAISipCallResult & { config: CallAcceptParams }> {
    checkCallId(callId, 'accept');
    const config = await buildOpenAISipAcceptConfig(agent, sessionOptions, overrides);
    const result = await this.accept(callId, config);
    return { ...result, config };
  }

  /** Declines the call with a SIP status code (default 603 Decline). */
  reject(callId: string, options: OpenAISipRejectOptions = {}): Promise<OpenAISipCallResult> {
    checkCallId(callId, 'reject');
    const statusCode = options?.statusCode;
    if (statusCode !== undefined && (!Number.isInteger(statusCode) || statusCode < 400 || statusCode > 699)) {
      throw new ConfigError('OpenAISipCallControl.reject: statusCode must be a SIP failure code between 400 and 699');
    }
    const body = statusCode === undefined ? {} : { status_code: statusCode };
    return this.#run('reject', callId, (request) => this.client.realtime.calls.reject(callId, body, request));
  }

  /**
   * Transfers the call (SIP REFER) to a `tel:` or `sip:`/`sips:` URI. A bare number such as
   * `+15551230000` is sent as `tel:+15551230000`.
   */
  refer(callId: string, target: string): Promise<OpenAISipCallResult> {
    checkCallId(callId, 'refer');
    const targetUri = referTarget(target);
    return this.#run('refer', callId, (request) =>
      this.client.realtime.calls.refer(callId, { target_uri: targetUri }, request),
    );
  }

  /** Ends the call. */
  hangup(callId: string): Promise<OpenAISipCallResult> {
    checkCallId(callId, 'hangup');
    return this.#run('hangup', callId, (request) => this.client.realtime.calls.hangup(callId, request));
  }

  async #run(
    operation: Operation,
    callId: string,
    send: (options: OpenAIRequestOptions) => PromiseLike<unknown>,
  ): Promise<OpenAISipCallResult> {
    const policy = this.#retryPolicy[operation];
    // Under 'sdk' the SDK retries; otherwise each attempt is one request, retried (or not) here.
    const request: OpenAIRequestOptions = {
      timeout: this.#timeoutMs,
      maxRetries: policy === 'sdk' ? this.#maxRetries : 0,
    };
    for (let retry = 0; ; retry++) {
      try {
        await send(request);
        log('%s %s: ok', operation, callId);
        return { alreadyEnded: false };
      } catch (error) {
        const status = (error as { status?: unknown })?.status;
        if (status === 404) {
          log('%s %s: the call is gone (404)', operation, callId);
          return { alreadyEnded: true };
        }
        if (policy === 'unprocessed' && retry < this.#maxRetries && wasUnprocessed(error)) {
          const delayMs = retryDelayMs(error, retry);
          log(
            '%s %s: not processed (%s), retrying in %d ms',
            operation,
            callId,
            typeof status === 'number' ? status : 'no connection',
            Math.round(delayMs),
          );
          await sleep(delayMs);
          continue;
        }
        throw toCallControlError(operation, callId, error);
      }
    }
  }
}

/** The REFER target as a URI. */
export function referTarget(target: unknown): string {
  const text = typeof target === 'string' ? target.trim() : '';
  if (/^(tel|sips?):\S+$/i.test(text)) return text;
  if (/^\+?[0-9][0-9().\- ]*$/.test(text)) return `tel:${text.replace(/[().\- ]/g, '')}`;
  throw new ConfigError('OpenAISipCallControl.refer: target must be a tel: or sip: URI, or a phone number');
}
