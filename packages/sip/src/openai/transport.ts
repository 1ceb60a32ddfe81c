/**
 * The model-side transport of an OpenAI SIP call: the SDK's `OpenAIRealtimeSIP` (a WebSocket to
 * `/v1/realtime?call_id=…`), plus the call events every Switchboard transport emits.
 */
import {
  OpenAIRealtimeSIP,
  RealtimeSession,
  type OpenAIRealtimeEventTypes,
  type OpenAIRealtimeWebSocketOptions,
  type RealtimeAgent,
  type RealtimeContextData,
  type RealtimeSessionOptions,
  type RealtimeTransportLayerConnectOptions,
} from '@openai/agents-realtime';
import {
  ConfigError,
  SwitchboardError,
  type AudioFormat,
  type CallEndEvent,
  type CallStartEvent,
  type EndAfterPlaybackOptions,
  type EndAfterPlaybackResult,
} from '@switchboard/core';
import { logger, registerCallTools, type PlaybackWait } from '@switchboard/core/protocol';
import type { OpenAISipCallControl, OpenAISipCallResult } from './call-control.js';
import { endOptions, OpenAISipPlayback } from './playback.js';
import { sipCustomParameters, type OpenAISipAddress, type OpenAISipHeader } from './sip-headers.js';
import type { OpenAISipCall } from './webhook.js';

const log = logger('sip:openai');

/** The Realtime WebSocket endpoint; `?call_id=` is added per call. */
export const OPENAI_REALTIME_URL = 'wss://api.openai.com/v1/realtime';

/**
 * The `format` reported in `call_start`. Nominal: the SIP leg's media runs between the trunk and
 * OpenAI and never through this process; G.711 μ-law 8 kHz is what a SIP trunk usually carries.
 */
export const OPENAI_SIP_NOMINAL_FORMAT: AudioFormat = Object.freeze({
  encoding: 'pcmu',
  sampleRate: 8000,
  channels: 1,
});

/** `call_start` of an OpenAI SIP call: the core event, plus the SIP details. */
export type OpenAISipCallStartEvent = CallStartEvent & {
  /** OpenAI's call id; also the `streamId`. */
  callId: string;
  sip: {
    /** The SIP `Call-ID` header. */
    callId?: string;
    from?: OpenAISipAddress;
    to?: OpenAISipAddress;
    /** Every forwarded INVITE header, in order (empty when the transport was given only a call id). */
    headers: OpenAISipHeader[];
    mediaSecurity?: string;
  };
};

/**
 * Why the attachment ended: `closed` (this side called `close()`), `disconnected` (OpenAI closed
 * the socket: the call ended, was transferred away, or the connection failed). Once the agent
 * hung up (`endAfterPlayback`, the end_call tool) or transferred the call (the transfer_call
 * tool), `call_end` carries that reason instead (`agent_hangup`, `transferred`).
 */
export type OpenAISipCallEndReason = 'closed' | 'disconnected';

/** The SDK transport's events, plus `call_start` and `call_end`. */
export type OpenAISipTransportEventTypes = OpenAIRealtimeEventTypes & {
  call_start: [event: OpenAISipCallStartEvent];
  call_end: [event: CallEndEvent];
};
type EventName = keyof OpenAISipTransportEventTypes;
type Listener<K extends EventName> = (...args: OpenAISipTransportEventTypes[K]) => void;

export type OpenAISipTransportOptions = OpenAIRealtimeWebSocketOptions & {
  /** The call from the webhook: gives the call id and the SIP headers `call_start` carries. */
  call?: OpenAISipCall;
  /** The call id, when no `call` is given (or to override it). */
  callId?: string;
  /**
   * Call control for {@link OpenAISipTransport.hangup} and {@link OpenAISipTransport.refer}.
   */
  callControl?: OpenAISipCallControl;
};

/**
 * `url` with `call_id` set to the call. Any other query parameters are kept; a `call_id`
 * already present is replaced.
 */
export function openAIRealtimeCallUrl(url: string, callId: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`OpenAISipTransport: url is not an absolute URL`);
  }
  if (!/^(wss?|https?):$/.test(parsed.protocol)) {
    throw new ConfigError('OpenAISipTransport: url must be a ws(s):// URL');
  }
  if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  else if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  parsed.searchParams.set('call_id', callId);
  return parsed.toString();
}

/**
 * A `RealtimeTransportLayer` for a call answered through OpenAI SIP: the SDK's
 * `OpenAIRealtimeSIP`, which controls the call's Realtime session over a WebSocket opened with
 * `?call_id=`. The audio flows between the SIP trunk and OpenAI; this transport carries events
 * only (`sendAudio` throws, `interrupt()` clears OpenAI's output buffer).
 *
 * On top of the SDK it emits `call_start` when the socket opens (call id, `From`/`To` URIs,
 * `X-` headers as `customParameters`, without the prefix) and `call_end` when it closes, like the
 * other Switchboard transports (also on `*`, so `transport_event` on the session sees them). The
 * constructor's `url` is the endpoint to attach to (default `wss://api.openai.com/v1/realtime`):
 * the call id is added to it, so a local simulator works as well as the real service.
 */
export class OpenAISipTransport extends OpenAIRealtimeSIP {
  /** The call from the webhook, when given. */
  readonly call: OpenAISipCall | undefined;
  readonly #callControl: OpenAISipCallControl | undefined;
  readonly #baseUrl: string;
  #callId: string | undefined;
  #callStart: OpenAISipCallStartEvent | undefined;
  #attached = false;
  #closing = false;
  readonly #playback = new OpenAISipPlayback();
  #ending: Promise<EndAfterPlaybackResult> | undefined;
  /** The playback wait of `endAfterPlayback`, once it began. */
  #waited: Promise<PlaybackWait> | undefined;
  /** The reason `call_end` carries if the socket closes now (the agent hung up or transferred). */
  #endingAs: string | undefined;
  /** The reason of the last `call_end`; undefined while attached (or before). */
  #endReason: string | undefined;

  constructor(options: OpenAISipTransportOptions = {}) {
    const { call, callId, callControl, url, ...rest } = options;
    super(rest);
    if (callId !== undefined && (typeof callId !== 'string' || callId.length === 0)) {
      throw new ConfigError('OpenAISipTransport: callId must be a non-empty string');
    }
    if (call !== undefined && (typeof call?.callId !== 'string' || call.callId.length === 0)) {
      throw new ConfigError('OpenAISipTransport: call must be an OpenAISipCall (from the webhook) with a callId');
    }
    this.call = call;
    this.#callId = callId ?? call?.callId;
    this.#callControl = callControl;
    this.#baseUrl = url ?? OPENAI_REALTIME_URL;
    openAIRealtimeCallUrl(this.#baseUrl, 'check'); // fail fast on a bad url
    super.on('*', (event: unknown) => this.#playback.observe(event));
    // endCallTool() and transferCallTool() of @switchboard/core act on this transport too.
    registerCallTools(this, {
      waitForPlayback: (timeoutMs) => this.#waitForPlayback(timeoutMs),
      hangUpWaited: () => this.#waited,
      endingAs: (reason) => (this.#endingAs = reason),
      emitError: (error) => this.#emitError(error),
      callId: () => this.#callId,
      streamId: () => this.#callStart?.streamId,
      callStart: () => this.#callStart,
      endReason: () => this.#endReason,
      end: (reason) => this.#end(reason),
    });
  }

  // Typed events: the SDK's, plus call_start and call_end.
  override on<K extends EventName>(type: K, listener: Listener<K>): this {
    super.on(type as keyof OpenAIRealtimeEventTypes, listener as never);
    return this;
  }
  override once<K extends EventName>(type: K, listener: Listener<K>): this {
    super.once(type as keyof OpenAIRealtimeEventTypes, listener as never);
    return this;
  }
  override off<K extends EventName>(type: K, listener: Listener<K>): this {
    super.off(type as keyof OpenAIRealtimeEventTypes, listener as never);
    return this;
  }

  /** OpenAI's call id: from the constructor, or from the last `connect`. */
  get callId(): string | undefined {
    return this.#callId;
  }

  /** The `call_start` of the current (or last) attachment. */
  get callStart(): OpenAISipCallStartEvent | undefined {
    return this.#callStart;
  }

  /**
   * Opens the socket to `<url>?call_id=<callId>`. The call id comes from the options
   * (`session.connect({ apiKey, callId })`), else from the constructor. A `url` in the options
   * is used as the endpoint the same way.
   */
  override async connect(options: RealtimeTransportLayerConnectOptions): Promise<void> {
    const callId = options.callId ?? this.#callId;
    if (typeof callId !== 'string' || callId.length === 0) {
      throw new ConfigError(
        'OpenAISipTransport: no call id; pass `call`/`callId` to the constructor or `callId` to connect()',
      );
    }
    if (this.#callId !== undefined && options.callId !== undefined && options.callId !== this.#callId && this.call) {
      throw new ConfigError(
        `OpenAISipTransport: this transport belongs to call ${this.#callId}, not ${options.callId}`,
      );
    }
    this.#callId = callId;
    const url = openAIRealtimeCallUrl(options.url ?? this.#baseUrl, callId);
    log('attaching to call %s', callId);
    await super.connect({ ...options, callId, url });
  }

  override close(): void {
    this.#closing = true;
    try {
      super.close();
    } finally {
      this.#closing = false;
    }
  }

  /** Ends the call through OpenAI's REST API (needs `callControl`). The socket closes when OpenAI ends the call. */
  hangup(): Promise<OpenAISipCallResult> {
    return this.#control('hangup').hangup(this.#requireCallId('hangup'));
  }

  /**
   * Hangs up (through `callControl`) once the caller heard everything, as far as OpenAI reports
   * it: no response in progress, and OpenAI's output buffer stopped for every response with audio
   * (`output_audio_buffer.stopped`), at most `timeoutMs` (default 15 000); then closes the socket,
   * and `call_end` carries `reason` (also when OpenAI closed the socket first). Rejects, leaving
   * the socket open, when the hang-up fails. Idempotent. The same method as the core transports',
   * and `endCallTool()` runs it on an OpenAI SIP call.
   */
  endAfterPlayback(options?: EndAfterPlaybackOptions): Promise<EndAfterPlaybackResult> {
    if (this.#ending) return this.#ending;
    let settings: { reason: string; timeoutMs: number };
    try {
      settings = endOptions(options);
      this.#control('endAfterPlayback');
    } catch (error) {
      return Promise.reject(error);
    }
    const { reason, timeoutMs } = settings;
    this.#waited = this.#waitForPlayback(timeoutMs);
    this.#ending = (async () => {
      const { heardAll, waitedMs } = await this.#waited!;
      // One turn first: what the application does once the wait is over (the end_call tool's
      // output to the model) goes out before the call ends.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (this.#ended()) return { reason: this.#endReason ?? reason, heardAll, waitedMs };
      log('hanging up %s (%s) after %dms of playback wait', this.#callId, reason, waitedMs);
      // OpenAI closes the socket once the call is hung up, maybe before the request returns.
      this.#endingAs = reason;
      try {
        await this.hangup();
      } catch (error) {
        this.#endingAs = undefined;
        throw error;
      }
      this.#end(reason);
      return { reason: this.#endReason ?? reason, heardAll, waitedMs };
    })();
    return this.#ending;
  }

  async #waitForPlayback(timeoutMs: number): Promise<PlaybackWait> {
    const started = performance.now();
    const heardAll = await this.#playback.waitUntilIdle(timeoutMs, () => this.#ended());
    return { heardAll, waitedMs: Math.max(0, performance.now() - started) };
  }

  /** Ends the attachment with `reason` (`call_end` carries it); nothing once it ended. */
  #end(reason: string): void {
    if (this.#endReason !== undefined) return;
    this.#endingAs = reason;
    this.close();
  }

  /** True once the call's socket closed after it had opened. */
  #ended(): boolean {
    return this.#callStart !== undefined && !this.#attached;
  }

  /** Transfers the call with SIP REFER to a `tel:` / `sip:` URI or a number (needs `callControl`). */
  refer(target: string): Promise<OpenAISipCallResult> {
    return this.#control('refer').refer(this.#requireCallId('refer'), target);
  }

  protected override _onOpen(): void {
    super._onOpen();
    if (this.#attached) return;
    this.#attached = true;
    this.#endReason = undefined;
    this.#endingAs = undefined;
    const event = this.#buildCallStart();
    this.#callStart = event;
    log('call_start %s', event.callId);
    this.#emitExtra('call_start', event);
  }

  protected override _onClose(): void {
    try {
      super._onClose();
    } finally {
      if (this.#attached) {
        this.#attached = false;
        const closed: OpenAISipCallEndReason = this.#closing ? 'closed' : 'disconnected';
        const reason = this.#endingAs ?? closed;
        this.#endReason = reason;
        log('call_end %s (%s)', this.#callId, reason);
        this.#emitExtra('call_end', { type: 'call_end', reason });
      }
    }
  }

  #buildCallStart(): OpenAISipCallStartEvent {
    const callId = this.#callId!;
    const call = this.call && this.call.callId === callId ? this.call : undefined;
    const event: OpenAISipCallStartEvent = {
      type: 'call_start',
      callId,
      streamId: callId,
      format: { ...OPENAI_SIP_NOMINAL_FORMAT },
      customParameters: sipCustomParameters((call?.sipHeaders ?? []).map((h) => [h.name, h.value] as const)),
      raw: call?.event ?? null,
      sip: { headers: call ? call.sipHeaders.map((h) => ({ ...h })) : [] },
    };
    const from = call?.from?.uri ?? call?.from?.raw;
    if (from !== undefined) event.from = from;
    const to = call?.to?.uri ?? call?.to?.raw;
    if (to !== undefined) event.to = to;
    if (call?.sipCallId !== undefined) event.sip.callId = call.sipCallId;
    if (call?.from !== undefined) event.sip.from = { ...call.from };
    if (call?.to !== undefined) event.sip.to = { ...call.to };
    if (call?.mediaSecurity !== undefined) event.sip.mediaSecurity = call.mediaSecurity;
    return event;
  }

  #control(operation: string): OpenAISipCallControl {
    if (!this.#callControl) {
      throw new ConfigError(`OpenAISipTransport.${operation}: pass callControl to the constructor`);
    }
    return this.#callControl;
  }

  #requireCallId(operation: string): string {
    if (!this.#callId) throw new SwitchboardError('no_call', `OpenAISipTransport.${operation}: no call id yet`);
    return this.#callId;
  }

  #emitExtra(name: 'call_start' | 'call_end', event: { type: string; [key: string]: unknown }): void {
    for (const [type, payload] of [
      [name, event],
      ['*', event],
    ] as const) {
      try {
        (this.emit as (type: string, ...args: unknown[]) => boolean)(type, payload);
      } catch (error) {
        this.#emitError(error);
      }
    }
  }

  #emitError(error: unknown): void {
    try {
      this.emit('error', { type: 'error', error });
    } catch (listenerError) {
      log('error listener threw: %s', (listenerError as Error)?.message);
    }
  }
}

export type AttachOpenAISipSessionOptions<TContext = unknown> = {
  /** The call from the webhook, or just its call id. */
  call: OpenAISipCall | string;
  agent: RealtimeAgent<TContext> | RealtimeAgent<RealtimeContextData<TContext>>;
  /** The same options the call was accepted with (see `buildOpenAISipAcceptConfig`); `transport` is replaced. */
  sessionOptions?: Partial<RealtimeSessionOptions<TContext>>;
  /** API key for the WebSocket. Default: the key of `callControl`'s client, else `OPENAI_API_KEY`. */
  apiKey?: string | (() => string | Promise<string>);
  /** Realtime endpoint (`?call_id=` is added). Default `wss://api.openai.com/v1/realtime`. */
  url?: string;
  /** Call control for `transport.hangup()` / `transport.refer()`. */
  callControl?: OpenAISipCallControl;
  /** Further transport options (`createWebSocket`, ...). */
  transportOptions?: Omit<OpenAISipTransportOptions, 'call' | 'callId' | 'url' | 'callControl'>;
  /** Close the session when OpenAI closes the socket (the call ended). Default true. */
  closeOnCallEnd?: boolean;
};

export type OpenAISipAttachedSession<TContext = unknown> = {
  session: RealtimeSession<TContext>;
  transport: OpenAISipTransport;
};

/**
 * Creates an {@link OpenAISipTransport} and a `RealtimeSession` on it and connects them to the
 * call. Resolves once the socket is open and the session configuration is sent; `call_start`
 * has been emitted by then.
 */
export async function attachOpenAISipSession<TContext = unknown>(
  options: AttachOpenAISipSessionOptions<TContext>,
): Promise<OpenAISipAttachedSession<TContext>> {
  const call = typeof options.call === 'string' ? undefined : options.call;
  const callId = typeof options.call === 'string' ? options.call : options.call?.callId;
  if (typeof callId !== 'string' || callId.length === 0) {
    throw new ConfigError('attachOpenAISipSession: call must be an OpenAISipCall or a non-empty call id');
  }
  const transportOptions: OpenAISipTransportOptions = { ...(options.transportOptions ?? {}), callId };
  if (call) transportOptions.call = call;
  if (options.url !== undefined) transportOptions.url = options.url;
  if (options.callControl) transportOptions.callControl = options.callControl;
  const apiKey = options.apiKey ?? defaultApiKey(options.callControl);
  if (apiKey === undefined) {
    throw new ConfigError(
      'attachOpenAISipSession: no API key; pass apiKey, a callControl with a client key, or set OPENAI_API_KEY',
    );
  }
  const transport = new OpenAISipTransport(transportOptions);
  const session = new RealtimeSession<TContext>(options.agent, { ...(options.sessionOptions ?? {}), transport });
  if (options.closeOnCallEnd ?? true) {
    transport.on('call_end', (event) => {
      if (event.reason !== 'closed') session.close();
    });
  }
  try {
    await session.connect({ apiKey, callId });
  } catch (error) {
    session.close();
    throw error;
  }
  return { session, transport };
}

function defaultApiKey(callControl: OpenAISipCallControl | undefined): string | undefined {
  const fromClient = (callControl?.client as { apiKey?: unknown } | undefined)?.apiKey;
  if (typeof fromClient === 'string' && fromClient.length > 0) return fromClient;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[
    'OPENAI_API_KEY'
  ];
  return typeof env === 'string' && env.length > 0 ? env : undefined;
}
