/**
 * The parts of the `openai` SDK client this package uses, typed structurally so that a client
 * from any compatible `openai` version (or a test double) can be injected.
 */
import OpenAI from 'openai';
import type { CallAcceptParams, CallReferParams, CallRejectParams } from 'openai/resources/realtime/calls';
import { ConfigError } from '@switchboard/core';

/** Per-request options forwarded to the SDK. */
export type OpenAIRequestOptions = { timeout?: number; maxRetries?: number; signal?: AbortSignal };

/** What webhook verification needs from an `openai` client. */
export type OpenAIWebhooksClient = {
  webhookSecret?: string | null;
  webhooks: {
    unwrap(
      payload: string,
      headers: Record<string, string>,
      secret?: string | null,
      tolerance?: number,
    ): Promise<unknown>;
  };
};

/** What call control needs from an `openai` client. */
export type OpenAICallsClient = {
  apiKey?: string | null;
  realtime: {
    calls: {
      accept(callId: string, body: CallAcceptParams, options?: OpenAIRequestOptions): PromiseLike<unknown>;
      reject(callId: string, body?: CallRejectParams | null, options?: OpenAIRequestOptions): PromiseLike<unknown>;
      refer(callId: string, body: CallReferParams, options?: OpenAIRequestOptions): PromiseLike<unknown>;
      hangup(callId: string, options?: OpenAIRequestOptions): PromiseLike<unknown>;
    };
  };
};

export type OpenAIClientOptions = {
  /** API key. Default: `OPENAI_API_KEY` (as the SDK reads it). */
  apiKey?: string;
  /** REST origin and prefix, e.g. `http://127.0.0.1:8080/v1`. Default: the SDK's (`https://api.openai.com/v1`). */
  baseURL?: string;
  /** The webhook signing secret (`whsec_…`). Default: `OPENAI_WEBHOOK_SECRET` (as the SDK reads it). */
  webhookSecret?: string;
  /** Retries of failed REST calls (connection errors, 408/409/429/5xx). Default: the SDK's (2). */
  maxRetries?: number;
};

/** Placeholder credential for a client that only verifies webhooks and never sends a request. */
const VERIFY_ONLY_KEY = 'switchboard-webhook-verification-only';

/**
 * An `openai` client from options. With `verifyOnly`, a missing API key is fine: the client is
 * then only used to verify webhook signatures, which needs no credential.
 */
export function createOpenAIClient(options: OpenAIClientOptions & { verifyOnly?: boolean }): OpenAI {
  const init: ConstructorParameters<typeof OpenAI>[0] = {};
  if (options.apiKey !== undefined) init.apiKey = options.apiKey;
  if (options.baseURL !== undefined) init.baseURL = options.baseURL;
  if (options.webhookSecret !== undefined) init.webhookSecret = options.webhookSecret;
  if (options.maxRetries !== undefined) {
    if (!Number.isInteger(options.maxRetries) || options.maxRetries < 0) {
      throw new ConfigError('maxRetries must be a non-negative integer');
    }
    init.maxRetries = options.maxRetries;
  }
  try {
    return new OpenAI(init);
  } catch (error) {
    if (options.verifyOnly && init.apiKey === undefined) return new OpenAI({ ...init, apiKey: VERIFY_ONLY_KEY });
    throw new ConfigError(`could not create an OpenAI client: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
  }
}
