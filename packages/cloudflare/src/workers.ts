/**
 * The few Workers runtime types this package touches, declared here so that neither the package
 * nor its users need `@cloudflare/workers-types` (whose globals clash with the DOM library).
 * They are structural: the runtime's own objects satisfy them.
 */

/** A WebSocket as workerd hands it out: a WHATWG WebSocket plus `accept()`. */
export interface WorkersWebSocket {
  readonly readyState: number;
  readonly protocol?: string | null;
  accept(): void;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  // `any`: the runtime's event types differ between workers-types, the DOM library and undici.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addEventListener(type: string, listener: (event: any) => void): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  removeEventListener(type: string, listener: (event: any) => void): void;
}

/** `new WebSocketPair()`: index 0 goes back to the client in the 101 response, index 1 stays in the Worker. */
export interface WorkersWebSocketPair {
  0: WorkersWebSocket;
  1: WorkersWebSocket;
}

/** A `fetch()` response of the Workers runtime: an accepted upgrade carries the socket. */
export type WorkersResponse = Response & { webSocket?: WorkersWebSocket | null };

/** The `fetch` a Worker calls (the global one by default). */
export type WorkersFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** What a Durable Object's constructor receives (only the parts used here). */
export interface DurableObjectStateLike {
  readonly id: { toString(): string; readonly name?: string };
  waitUntil?(promise: Promise<unknown>): void;
}

/** A Durable Object namespace binding (only the parts used here). */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  newUniqueId(): unknown;
  get(id: never): { fetch(request: Request): Promise<Response> };
}

/** `new WebSocketPair()`, or a clear error outside the Workers runtime. */
export function createWebSocketPair(): WorkersWebSocketPair {
  const Pair = (globalThis as { WebSocketPair?: new () => WorkersWebSocketPair }).WebSocketPair;
  if (typeof Pair !== 'function') {
    throw new TypeError('WebSocketPair is not available: this runs only inside a Cloudflare Worker (workerd).');
  }
  return new Pair();
}

/** A 101 response that hands `client` to whoever sent the upgrade. */
export function upgradeResponse(client: WorkersWebSocket, headers?: HeadersInit): Response {
  return new Response(null, { status: 101, webSocket: client, headers } as ResponseInit);
}

/** Close codes an endpoint may not send (they only report what happened). */
const RESERVED_CLOSE_CODES = new Set([1005, 1006, 1015]);

/**
 * Accepts the Worker's end of a WebSocket and answers the peer's close frame with one of its own.
 * Before the `web_socket_auto_reply_to_close` compatibility flag, workerd leaves that to the Worker:
 * a socket whose close is never answered leaves the peer waiting, and the runtime reports the
 * request as hung.
 *
 * The answer goes out on a later task, never from inside the `close` event. workerd writes a
 * socket's frames in a pump that runs between tasks; when one pump has just sent the last frame
 * (an audio chunk, the model's `session.update`) and the task that follows it has not run yet, a
 * close queued meanwhile starts a second pump, which that task then cancels by releasing the
 * socket (both directions look closed to it): the peer sees the connection drop without a close
 * frame (1006). A timer runs only once the runtime has no other task ready, so by then that pump's
 * task is over. Until the answer has gone out, the socket's own `close()` (the SDK's or the
 * transport's, called from the same event) does nothing: the answer carries the peer's code. A
 * `close()` without a code sends 1000.
 */
export function acceptWebSocket(socket: WorkersWebSocket): void {
  socket.accept();
  const close = socket.close.bind(socket);
  let answering = false;
  socket.close = (code?: number, reason?: string) => {
    // A close without a code goes out as a normal closure, not as a frame without a status (1005).
    if (!answering) close(code ?? 1000, reason);
  };
  const onClose = (event: { code?: number; reason?: string }) => {
    socket.removeEventListener('close', onClose);
    answering = true;
    const code = event.code !== undefined && !RESERVED_CLOSE_CODES.has(event.code) ? event.code : 1000;
    setTimeout(() => {
      try {
        close(code, event.reason ?? '');
      } catch {
        // Already closed from this side.
      }
    }, 0);
  };
  socket.addEventListener('close', onClose);
}
