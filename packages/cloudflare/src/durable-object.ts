/**
 * One call per Durable Object: the Worker forwards the media upgrade to an object, and the object
 * runs the bridge. The call's state then lives in one addressable place (other requests about the
 * same call reach the same object), at the price of an object that stays awake for the whole call.
 */
import { isWebSocketUpgrade, upgradeMedia, type MediaCall, type MediaUpgradeOptions } from './media.js';
import { log } from './log.js';
import type { DurableObjectNamespaceLike, DurableObjectStateLike } from './workers.js';

/** A Durable Object class as the runtime instantiates it. */
export interface CallDurableObject {
  fetch(request: Request): Promise<Response>;
}
export type CallDurableObjectClass<Env> = new (state: DurableObjectStateLike, env: Env) => CallDurableObject;

/** What a call object reports to a plain `GET` (no upgrade): whether it carries a call, and its counters. */
export type CallObjectStatus = {
  active: boolean;
  callId?: string;
  streamId?: string;
  metrics?: Record<string, unknown>;
};

/**
 * A Durable Object class that bridges one call at a time. `configure` returns the
 * {@link MediaUpgradeOptions} for a call from the object's `env` (secrets, agent). Export the
 * class from the Worker's main module under the `class_name` of its binding.
 *
 * A second upgrade while a call is active is answered 409; the object takes the next call once the
 * current one ended or could not be set up. A plain `GET` to the object returns a
 * {@link CallObjectStatus} as JSON.
 */
export function createCallDurableObject<Env = unknown>(
  configure: (env: Env, request: Request) => MediaUpgradeOptions | Promise<MediaUpgradeOptions>,
): CallDurableObjectClass<Env> {
  return class SwitchboardCallObject implements CallDurableObject {
    readonly #state: DurableObjectStateLike;
    readonly #env: Env;
    #call: MediaCall | undefined;
    #busy = false;

    constructor(state: DurableObjectStateLike, env: Env) {
      this.#state = state;
      this.#env = env;
    }

    async fetch(request: Request): Promise<Response> {
      if (!isWebSocketUpgrade(request)) return Response.json(this.#status());
      if (this.#busy) return new Response('This call object already carries a call', { status: 409 });
      this.#busy = true;
      try {
        const options = await configure(this.#env, request);
        const state = this.#state;
        const previous = this.#call;
        const { response, ended } = await upgradeMedia(request, {
          ...options,
          context: options.context ?? (state.waitUntil ? { waitUntil: (p) => state.waitUntil!(p) } : undefined),
          onCall: (call) => {
            this.#call = call;
            options.onCall?.(call);
          },
        });
        // A new call was accepted: the last call's status no longer applies, even if this one fails to start.
        if (response.status === 101 && this.#call === previous) this.#call = undefined;
        // Free for the next call once this one is over, including one that could not be set up.
        void ended.then(() => {
          this.#busy = false;
          if (response.status === 101) log('call object %s: call ended', state.id.toString().slice(0, 8));
        });
        return response;
      } catch (error) {
        this.#busy = false;
        throw error;
      }
    }

    #status(): CallObjectStatus {
      const transport = this.#call?.transport;
      return {
        active: this.#busy,
        ...(transport?.callStart?.callId ? { callId: transport.callStart.callId } : {}),
        ...(transport?.streamId ? { streamId: transport.streamId } : {}),
        ...(transport ? { metrics: JSON.parse(JSON.stringify(transport.metrics)) as Record<string, unknown> } : {}),
      };
    }
  };
}

/**
 * Forwards a request (the media upgrade) to a call object: the one named `name` (for example the
 * call sid, so later requests about the call reach it too), or a new one.
 */
export function forwardToCallObject(
  request: Request,
  namespace: DurableObjectNamespaceLike,
  name?: string,
): Promise<Response> {
  const id = name === undefined ? namespace.newUniqueId() : namespace.idFromName(name);
  return namespace.get(id as never).fetch(request);
}
