/**
 * The webhook endpoint of OpenAI SIP: verify the delivery, read the call, de-duplicate, then
 * accept (or reject) it and attach a `RealtimeSession`. Framework-neutral at its core
 * (`handle(body, headers)`), with adapters for fetch-style servers and for Fastify.
 */
import type {
  RealtimeAgent,
  RealtimeContextData,
  RealtimeSessionConfig,
  RealtimeSessionOptions,
} from '@openai/agents-realtime';
import { ConfigError, ProtocolError, SwitchboardError, WebhookSignatureError } from '@switchboard/core';
import { logger } from '@switchboard/core/protocol';
import type { CallAcceptParams } from 'openai/resources/realtime/calls';
import { OpenAISipCallControl } from './call-control.js';
import {
  createOpenAIClient,
  type OpenAICallsClient,
  type OpenAIClientOptions,
  type OpenAIWebhooksClient,
} from './client.js';
import { OpenAISipMemoryDedupStore, type OpenAISipDedupStore } from './dedup.js';
import { attachOpenAISipSession, type OpenAISipAttachedSession, type OpenAISipTransportOptions } from './transport.js';
import {
  OpenAIWebhookSignatureError,
  checkWebhookSecret,
  parseOpenAISipCall,
  assertOpenAIWebhook,
  type OpenAISipCall,
  type VerifiedOpenAIWebhook,
  type OpenAIWebhookHeaders,
} from './webhook.js';

const log = logger('sip:openai');

type AnyAgent<TContext> = RealtimeAgent<TContext> | RealtimeAgent<RealtimeContextData<TContext>>;

/** Answer the call, then (with an agent) attach a `RealtimeSession` to it. */
export type OpenAISipAcceptDecision<TContext = unknown> = {
  action: 'accept';
  /**
   * The agent that takes the call: the accept payload is built from it, and the session runs it.
   * Default: the handler's `agent` (with the handler's `sessionOptions`).
   */
  agent?: AnyAgent<TContext>;
  /** Session options (model, config, ...) for both the accept payload and the session. */
  sessionOptions?: Partial<RealtimeSessionOptions<TContext>>;
  /** Config applied on top of the agent's and the session options' when building the payload. */
  overrides?: Partial<RealtimeSessionConfig>;
  /** Accept with exactly this payload instead of building one from the agent. */
  config?: Omit<CallAcceptParams, 'type'>;
  /** Attach a `RealtimeSession` after accepting. Default: true when an agent is given. */
  attach?: boolean;
};

/** Decline the call with a SIP status code (default 603 Decline). */
export type OpenAISipRejectDecision = { action: 'reject'; statusCode?: number };

/**
 * What to do with an incoming call. `undefined` (or `{ action: 'handled' }`) means the callback
 * took care of the call itself.
 */
export type OpenAISipCallDecision<TContext = unknown> =
  OpenAISipAcceptDecision<TContext> | OpenAISipRejectDecision | { action: 'handled' };

/** The call and the session attached to it. */
export type OpenAISipAttachedCall<TContext = unknown> = OpenAISipAttachedSession<TContext> & { call: OpenAISipCall };

export type OpenAISipWebhookHandlerOptions<TContext = unknown> = OpenAIClientOptions & {
  /**
   * An `openai` client: its `webhooks.unwrap` verifies deliveries (with its `webhookSecret`
   * unless `webhookSecret` is given) and its `realtime.calls` answers calls. When absent, one is
   * created from `apiKey`, `baseURL`, `webhookSecret` and `maxRetries`.
   */
  client?: OpenAIWebhooksClient & OpenAICallsClient;
  /** Call control to use instead of one over `client`. */
  callControl?: OpenAISipCallControl;
  /** Accepted clock difference for `webhook-timestamp`, in seconds. Default 300. */
  toleranceSeconds?: number;
  /**
   * Remembers handled deliveries (`webhook-id`) and calls (call id) so that each call is
   * accepted and attached once. Default: an in-memory store; `false` turns de-duplication off.
   */
  dedup?: OpenAISipDedupStore | false;
  /**
   * The agent that answers when `onIncomingCall` is absent (every call is accepted with it), and
   * when it returns `{ action: 'accept' }` without an agent.
   */
  agent?: AnyAgent<TContext>;
  /** Session options for `agent` (the model, the session config). */
  sessionOptions?: Partial<RealtimeSessionOptions<TContext>>;
  /** Decides what to do with each new call. Default: accept with `agent`. */
  onIncomingCall?: (
    call: OpenAISipCall,
  ) => OpenAISipCallDecision<TContext> | undefined | void | Promise<OpenAISipCallDecision<TContext> | undefined | void>;
  /** Called with each attached session (after `call_start`). */
  onSession?: (attached: OpenAISipAttachedCall<TContext>) => void | Promise<void>;
  /** Called with every verified event that is not `realtime.call.incoming`. */
  onEvent?: (webhook: VerifiedOpenAIWebhook) => void | Promise<void>;
  /** Failures that happen after the response (attach, `onSession`), and every failed delivery. */
  onError?: (error: unknown, call?: OpenAISipCall) => void;
  /** Realtime WebSocket endpoint to attach sessions to (`?call_id=` is added). Default OpenAI's. */
  realtimeUrl?: string;
  /** API key for the session WebSocket. Default: the client's key. */
  realtimeApiKey?: string | (() => string | Promise<string>);
  /** Further options for each session's transport (`createWebSocket`, ...). */
  transportOptions?: Omit<OpenAISipTransportOptions, 'call' | 'callId' | 'url' | 'callControl'>;
};

export type OpenAISipWebhookOutcome =
  /** The call was accepted (and, with an agent, a session is being attached). */
  | 'accepted'
  | 'rejected'
  /** `onIncomingCall` handled the call itself. */
  | 'handled'
  /** Already seen: same `webhook-id` or same call id. Nothing was done. */
  | 'duplicate'
  /** OpenAI no longer knows the call (404 on accept or reject). */
  | 'call_gone'
  /** A verified event of another type. */
  | 'ignored'
  /** The signature, body or timestamp did not verify. Nothing was done. */
  | 'invalid_signature'
  /** A verified delivery that could not be read. */
  | 'bad_request'
  /** Accepting or rejecting failed; the delivery may be retried. */
  | 'failed';

export type OpenAISipWebhookResult<TContext = unknown> = {
  /** HTTP status to answer with: 200, 400, 401 or 500 (OpenAI retries on non-2xx). */
  status: number;
  outcome: OpenAISipWebhookOutcome;
  /** The response body (JSON). */
  body: string;
  call?: OpenAISipCall;
  error?: unknown;
  /**
   * When a session is being attached: resolves with it once connected, or with `undefined` when
   * attaching failed (the error goes to `onError`). Never rejects.
   */
  session?: Promise<OpenAISipAttachedCall<TContext> | undefined>;
};

/** The subset of a Fastify request the adapter reads. */
export type OpenAISipFastifyRequest = {
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  /** Set by `fastify-raw-body` / `@fastify/raw-body`. */
  rawBody?: unknown;
};

/** The subset of a Fastify reply the adapter uses. */
export type OpenAISipFastifyReply = {
  code(statusCode: number): OpenAISipFastifyReply;
  header(name: string, value: string): OpenAISipFastifyReply;
  send(payload?: unknown): OpenAISipFastifyReply;
};

/**
 * The subset of a Fastify instance the plugin uses. Request and reply are `any` here on purpose:
 * Fastify's own route and parser types are generic over the server and type provider, and only
 * `any` lets every Fastify instance match without this package depending on Fastify.
 */
export interface OpenAISipFastifyInstance {
  removeAllContentTypeParsers(): unknown;
  addContentTypeParser(
    contentType: string,
    options: { parseAs: 'string'; bodyLimit?: number },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    parser: (request: any, body: any, done: (error: Error | null, body?: unknown) => void) => void,
  ): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  post(path: string, handler: (request: any, reply: any) => any): unknown;
}

export type OpenAISipFastifyPluginOptions = {
  /** Route path. Default `/openai/webhook`. */
  path?: string;
  /** Largest accepted body, in bytes. Default 1 MiB. */
  bodyLimit?: number;
};

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
/** Largest webhook body read, in bytes (a `realtime.call.incoming` is a few kilobytes). */
const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * The request body, or undefined past `limit` bytes: the signature can only be checked on the
 * whole body, so an unauthenticated sender must not make this process hold an unbounded one.
 */
async function readLimitedBody(request: Request, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > limit) return undefined;
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The server side of OpenAI SIP. Give it the raw request body and headers of each webhook
 * delivery; it verifies the signature with the `openai` SDK (nothing is accepted when it does
 * not verify), reads `realtime.call.incoming` into an {@link OpenAISipCall}, drops duplicate
 * deliveries, asks `onIncomingCall` (or uses `agent`), accepts or rejects through the Calls API,
 * and attaches a `RealtimeSession` over an `OpenAISipTransport`.
 */
export class OpenAISipWebhookHandler<TContext = unknown> {
  readonly callControl: OpenAISipCallControl;
  readonly #client: OpenAIWebhooksClient & OpenAICallsClient;
  readonly #secret: string;
  readonly #options: OpenAISipWebhookHandlerOptions<TContext>;
  readonly #dedup: OpenAISipDedupStore | undefined;
  /** The outcome of each delivery being handled in this process, by de-duplication key. */
  readonly #inFlight = new Map<string, Promise<OpenAISipWebhookResult<TContext>>>();

  constructor(options: OpenAISipWebhookHandlerOptions<TContext>) {
    if (typeof options !== 'object' || options === null)
      throw new ConfigError('OpenAISipWebhookHandler: options are required');
    if (options.onIncomingCall === undefined && options.agent === undefined) {
      throw new ConfigError('OpenAISipWebhookHandler: pass onIncomingCall, or an agent to accept every call with');
    }
    if (options.onIncomingCall !== undefined && typeof options.onIncomingCall !== 'function') {
      throw new ConfigError('OpenAISipWebhookHandler: onIncomingCall must be a function');
    }
    this.#options = options;
    this.#client = options.client ?? createOpenAIClient(options);
    if (typeof this.#client?.webhooks?.unwrap !== 'function') {
      throw new ConfigError(
        'OpenAISipWebhookHandler: client must be an `openai` client (client.webhooks.unwrap is missing)',
      );
    }
    this.#secret = checkWebhookSecret(options.webhookSecret ?? this.#client.webhookSecret, 'OpenAISipWebhookHandler');
    this.callControl = options.callControl ?? new OpenAISipCallControl({ client: this.#client });
    this.#dedup = options.dedup === false ? undefined : (options.dedup ?? new OpenAISipMemoryDedupStore());
    if (
      options.toleranceSeconds !== undefined &&
      !(Number.isFinite(options.toleranceSeconds) && options.toleranceSeconds > 0)
    ) {
      throw new ConfigError('OpenAISipWebhookHandler: toleranceSeconds must be a positive number');
    }
  }

  /** Handles one delivery: `body` is the raw request body, exactly as received. */
  async handle(body: string | Uint8Array, headers: OpenAIWebhookHeaders): Promise<OpenAISipWebhookResult<TContext>> {
    let webhook: VerifiedOpenAIWebhook;
    try {
      webhook = await assertOpenAIWebhook(body, headers, {
        client: this.#client,
        secret: this.#secret,
        ...(this.#options.toleranceSeconds !== undefined ? { toleranceSeconds: this.#options.toleranceSeconds } : {}),
      });
    } catch (error) {
      if (error instanceof WebhookSignatureError) {
        const status = error instanceof OpenAIWebhookSignatureError ? error.status : 401;
        log('rejected a delivery: %s', error.message);
        this.#report(error);
        return this.#result(status, 'invalid_signature', { error });
      }
      if (error instanceof ProtocolError) {
        this.#report(error);
        return this.#result(400, 'bad_request', { error });
      }
      throw error;
    }

    if (webhook.event.type !== 'realtime.call.incoming') {
      try {
        await this.#options.onEvent?.(webhook);
      } catch (error) {
        this.#report(error);
        return this.#result(500, 'failed', { error });
      }
      return this.#result(200, 'ignored');
    }

    let call: OpenAISipCall;
    try {
      call = parseOpenAISipCall(webhook.event, webhook.webhookId);
    } catch (error) {
      this.#report(error);
      return this.#result(400, 'bad_request', { error });
    }

    const keys = [`webhook:${webhook.webhookId}`, `call:${call.callId}`];
    const claimed: string[] = [];
    // A duplicate that arrives while this delivery is still being handled here waits for its
    // outcome: answering it 200 at once would end OpenAI's retries even if this one then fails.
    let settle!: (result: OpenAISipWebhookResult<TContext>) => void;
    const outcome = new Promise<OpenAISipWebhookResult<TContext>>((resolve) => (settle = resolve));
    const finish = (result: OpenAISipWebhookResult<TContext>): OpenAISipWebhookResult<TContext> => {
      settle(result);
      for (const key of claimed) if (this.#inFlight.get(key) === outcome) this.#inFlight.delete(key);
      return result;
    };
    if (this.#dedup) {
      try {
        for (const key of keys) {
          if (!(await this.#dedup.claim(key))) {
            const earlier = await this.#inFlight.get(key);
            if (earlier !== undefined && earlier.status >= 500) {
              // The delivery this one duplicates failed and was forgotten: fail too, so it is retried.
              await this.#release(claimed);
              return finish(this.#result(500, 'failed', { call, error: earlier.error }));
            }
            log('duplicate delivery %s for call %s', webhook.webhookId, call.callId);
            return finish(this.#result(200, 'duplicate', { call }));
          }
          claimed.push(key);
          this.#inFlight.set(key, outcome);
        }
      } catch (error) {
        await this.#release(claimed);
        this.#report(error, call);
        return finish(this.#result(500, 'failed', { call, error }));
      }
    }

    try {
      return finish(await this.#decide(call));
    } catch (error) {
      // Let OpenAI's retry of this delivery go through.
      await this.#release(claimed);
      this.#report(error, call);
      return finish(this.#result(500, 'failed', { call, error }));
    }
  }

  /**
   * A fetch-style handler: `Request` in, `Response` out (Node 20+, Workers, Deno, Bun, Hono, ...).
   * A body over 1 MiB is answered 413 unread.
   */
  readonly fetch = async (request: Request): Promise<Response> => {
    if (request.method !== 'POST') {
      return new Response(JSON.stringify({ ok: false, error: 'method not allowed' }), {
        status: 405,
        headers: { ...JSON_HEADERS, allow: 'POST' },
      });
    }
    const body = await readLimitedBody(request, DEFAULT_BODY_LIMIT);
    if (body === undefined) {
      return new Response(JSON.stringify({ ok: false, error: 'body too large' }), {
        status: 413,
        headers: JSON_HEADERS,
      });
    }
    const result = await this.handle(body, request.headers);
    return new Response(result.body, { status: result.status, headers: JSON_HEADERS });
  };

  /**
   * A Fastify route handler. Needs the raw body: either `request.rawBody` (from
   * `fastify-raw-body`) or a string body (a content-type parser with `parseAs: 'string'`, as
   * {@link fastifyPlugin} registers). A body Fastify already parsed as JSON cannot be verified
   * and gets 500.
   */
  readonly fastifyHandler = async (
    request: OpenAISipFastifyRequest,
    reply: OpenAISipFastifyReply,
  ): Promise<OpenAISipFastifyReply> => {
    const raw = request.rawBody ?? request.body;
    if (typeof raw !== 'string' && !(raw instanceof Uint8Array)) {
      const error = new ConfigError(
        'OpenAISipWebhookHandler: the raw request body is not available; register fastifyPlugin(), or fastify-raw-body for this route',
      );
      this.#report(error);
      return reply
        .code(500)
        .header('content-type', JSON_HEADERS['content-type'])
        .send(JSON.stringify({ ok: false, error: error.message }));
    }
    const result = await this.handle(raw, request.headers);
    return reply.code(result.status).header('content-type', JSON_HEADERS['content-type']).send(result.body);
  };

  /**
   * A Fastify plugin that serves the webhook at `path` and keeps the raw body for it (its
   * content-type parsers apply inside the plugin only):
   * `app.register(handler.fastifyPlugin({ path: '/openai/webhook' }))`.
   */
  fastifyPlugin(options: OpenAISipFastifyPluginOptions = {}): (instance: OpenAISipFastifyInstance) => Promise<void> {
    const path = options.path ?? '/openai/webhook';
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new ConfigError('fastifyPlugin: path must start with "/"');
    const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
    if (!Number.isInteger(bodyLimit) || bodyLimit <= 0)
      throw new ConfigError('fastifyPlugin: bodyLimit must be a positive integer');
    return async (instance) => {
      instance.removeAllContentTypeParsers();
      instance.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, body));
      instance.post(path, this.fastifyHandler);
    };
  }

  async #decide(call: OpenAISipCall): Promise<OpenAISipWebhookResult<TContext>> {
    const options = this.#options;
    const decision: OpenAISipCallDecision<TContext> | undefined | void = options.onIncomingCall
      ? await options.onIncomingCall(call)
      : {
          action: 'accept',
          agent: options.agent!,
          ...(options.sessionOptions ? { sessionOptions: options.sessionOptions } : {}),
        };

    if (decision === undefined || decision === null || decision.action === 'handled') {
      return this.#result(200, 'handled', { call });
    }
    if (decision.action === 'reject') {
      const { alreadyEnded } = await this.callControl.reject(
        call.callId,
        decision.statusCode !== undefined ? { statusCode: decision.statusCode } : {},
      );
      return this.#result(200, alreadyEnded ? 'call_gone' : 'rejected', { call });
    }
    if (decision.action !== 'accept') {
      throw new ConfigError(
        `onIncomingCall returned an unknown action: ${String((decision as { action?: unknown }).action)}`,
      );
    }

    // Without an agent of its own, the decision uses the handler's agent and session options.
    const agent = decision.agent ?? options.agent;
    const sessionOptions = decision.agent
      ? decision.sessionOptions
      : (decision.sessionOptions ?? options.sessionOptions);
    const attach = decision.attach ?? agent !== undefined;
    if (attach && agent === undefined) throw new ConfigError('onIncomingCall: attach needs an agent');
    if (decision.config === undefined && agent === undefined)
      throw new ConfigError('onIncomingCall: accept needs an agent or a config');

    const { alreadyEnded } =
      decision.config !== undefined
        ? await this.callControl.accept(call.callId, decision.config)
        : await this.callControl.acceptAgent(call.callId, agent!, sessionOptions ?? {}, decision.overrides ?? {});
    if (alreadyEnded) {
      log('call %s was gone before it was accepted', call.callId);
      return this.#result(200, 'call_gone', { call });
    }
    log('accepted call %s', call.callId);
    if (!attach) return this.#result(200, 'accepted', { call });
    const session = this.#attach(call, agent!, sessionOptions);
    return this.#result(200, 'accepted', { call, session });
  }

  async #attach(
    call: OpenAISipCall,
    agent: AnyAgent<TContext>,
    sessionOptions: Partial<RealtimeSessionOptions<TContext>> | undefined,
  ): Promise<OpenAISipAttachedCall<TContext> | undefined> {
    const options = this.#options;
    let attached: OpenAISipAttachedCall<TContext>;
    try {
      const apiKey = options.realtimeApiKey ?? options.apiKey;
      const session = await attachOpenAISipSession<TContext>({
        call,
        agent,
        callControl: this.callControl,
        ...(sessionOptions ? { sessionOptions } : {}),
        ...(apiKey !== undefined ? { apiKey } : {}),
        ...(options.realtimeUrl !== undefined ? { url: options.realtimeUrl } : {}),
        ...(options.transportOptions ? { transportOptions: options.transportOptions } : {}),
      });
      attached = { ...session, call };
    } catch (error) {
      log('attaching to call %s failed: %s', call.callId, message(error));
      const failure = new SwitchboardError(
        'sip_attach_failed',
        `attaching a session to call ${call.callId} failed: ${message(error)}`,
        {
          cause: error,
        },
      );
      this.#report(failure, call);
      return undefined;
    }
    if (options.onSession) {
      try {
        await options.onSession(attached);
      } catch (error) {
        this.#report(error, call);
      }
    }
    return attached;
  }

  async #release(keys: string[]): Promise<void> {
    for (const key of keys) {
      try {
        await this.#dedup?.release(key);
      } catch (error) {
        this.#report(error);
      }
    }
  }

  #report(error: unknown, call?: OpenAISipCall): void {
    if (!this.#options.onError) return;
    try {
      this.#options.onError(error, call);
    } catch (listenerError) {
      log('onError threw: %s', message(listenerError));
    }
  }

  #result(
    status: number,
    outcome: OpenAISipWebhookOutcome,
    extra: {
      call?: OpenAISipCall;
      error?: unknown;
      session?: Promise<OpenAISipAttachedCall<TContext> | undefined>;
    } = {},
  ): OpenAISipWebhookResult<TContext> {
    const ok = status < 400;
    const payload: Record<string, unknown> = { ok, outcome };
    // Signature and request errors are safe to return; internal failures are not detailed.
    if (!ok && status < 500 && extra.error !== undefined) payload['error'] = message(extra.error);
    const result: OpenAISipWebhookResult<TContext> = { status, outcome, body: JSON.stringify(payload) };
    if (extra.call) result.call = extra.call;
    if (extra.error !== undefined) result.error = extra.error;
    if (extra.session) result.session = extra.session;
    return result;
  }
}
