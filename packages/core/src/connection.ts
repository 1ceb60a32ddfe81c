import { ConfigError } from './errors.js';

/** A carrier frame as received: text or binary. */
export type MediaFrame = string | Uint8Array;

/**
 * The carrier socket, I/O only. Wraps a Node `ws` socket, a WHATWG `WebSocket` (browsers, Deno,
 * workerd) or anything else that can send frames and report them.
 */
export interface MediaConnection {
  send(frame: MediaFrame): void;
  /** Registers the frame handler; returns a function that removes it. */
  onMessage(handler: (frame: MediaFrame) => void): () => void;
  onClose(handler: (code?: number, reason?: string) => void): () => void;
  onError(handler: (error: unknown) => void): () => void;
  close(code?: number, reason?: string): void;
  /** Bytes queued in the socket and not yet written, when the socket reports it. */
  readonly bufferedAmount: number;
  /** True once the socket is closing or closed. */
  readonly closed: boolean;
  /**
   * Optional: hold writes until {@link uncork}, so several frames leave in one socket write.
   * Calls nest; a connection without it writes each frame at once.
   */
  cork?(): void;
  uncork?(): void;
  /**
   * Optional: sends a WebSocket ping. With {@link onPong}, lets a transport tell a quiet carrier
   * from a dead one.
   */
  ping?(): void;
  /** Optional: registers a pong handler; returns a function that removes it. */
  onPong?(handler: () => void): () => void;
  /** Optional: drops the socket at once, without a closing handshake (a peer that stopped answering). */
  terminate?(): void;
}

/**
 * `connection` with its sends and its frame handler passed through `send` and `onMessage`;
 * everything else (close, errors, cork, ping, terminate) goes straight to the connection. For
 * code that watches or filters a carrier socket without owning it (a recorder, a size limit).
 */
export function interceptConnection(
  connection: MediaConnection,
  hooks: {
    /** Sends `frame` (call `send(frame)` to pass it on). Default: passes it on. */
    send?: (frame: MediaFrame, send: (frame: MediaFrame) => void) => void;
    /** The handler to register in place of `handler`. Default: `handler` itself. */
    onMessage?: (handler: (frame: MediaFrame) => void) => (frame: MediaFrame) => void;
  },
): MediaConnection {
  const pass = (frame: MediaFrame) => connection.send(frame);
  const wrapped: MediaConnection = {
    send: hooks.send ? (frame) => hooks.send!(frame, pass) : pass,
    onMessage: (handler) => connection.onMessage(hooks.onMessage ? hooks.onMessage(handler) : handler),
    onClose: (handler) => connection.onClose(handler),
    onError: (handler) => connection.onError(handler),
    close: (code, reason) => connection.close(code, reason),
    get bufferedAmount() {
      return connection.bufferedAmount;
    },
    get closed() {
      return connection.closed;
    },
  };
  if (connection.cork && connection.uncork) {
    wrapped.cork = () => connection.cork!();
    wrapped.uncork = () => connection.uncork!();
  }
  if (connection.ping) wrapped.ping = () => connection.ping!();
  if (connection.onPong) wrapped.onPong = (handler) => connection.onPong!(handler);
  if (connection.terminate) wrapped.terminate = () => connection.terminate!();
  return wrapped;
}

/** The part of Node's `ws` WebSocket the wrapper uses. */
export interface NodeWsLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number, reason: unknown) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  ping?(): void;
  terminate?(): void;
}

/** The part of a WHATWG WebSocket the wrapper uses. */
export interface WhatwgWebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount?: number;
  binaryType?: string;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  // `any`: DOM, workerd and undici type their listener parameters differently.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addEventListener(type: string, listener: (event: any) => void): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  removeEventListener(type: string, listener: (event: any) => void): void;
}

export type WebSocketLike = NodeWsLike | WhatwgWebSocketLike;

const CLOSING = 2;

function isMediaConnection(value: unknown): value is MediaConnection {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as MediaConnection).onMessage === 'function' &&
    typeof (value as MediaConnection).send === 'function'
  );
}

function isNodeWs(value: unknown): value is NodeWsLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NodeWsLike).on === 'function' &&
    typeof (value as NodeWsLike).off === 'function' &&
    typeof (value as NodeWsLike).send === 'function'
  );
}

function isWhatwg(value: unknown): value is WhatwgWebSocketLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as WhatwgWebSocketLike).addEventListener === 'function' &&
    typeof (value as WhatwgWebSocketLike).send === 'function'
  );
}

/** Converts whatever a socket library delivers as binary data into one Uint8Array. */
export function toBytes(data: unknown): Uint8Array {
  // A subclass (Node's Buffer) has different `slice` semantics: hand out a plain view instead.
  if (data instanceof Uint8Array)
    return data.constructor === Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) {
    // ws 'fragments' binaryType: a list of Buffers.
    let total = 0;
    for (const part of data as Uint8Array[]) total += part.byteLength;
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of data as Uint8Array[]) {
      out.set(part, offset);
      offset += part.byteLength;
    }
    return out;
  }
  throw new TypeError('Unsupported binary frame type');
}

const textDecoder = /* @__PURE__ */ new TextDecoder();

function wrapNodeWs(ws: NodeWsLike): MediaConnection {
  // `ws` exposes its net.Socket as `_socket`; corking it joins the frames of one burst.
  const raw = () => (ws as unknown as { _socket?: { cork?: () => void; uncork?: () => void } })._socket;
  return {
    send: (frame) => ws.send(frame),
    cork: () => raw()?.cork?.(),
    uncork: () => raw()?.uncork?.(),
    onMessage(handler) {
      const listener = (data: unknown, isBinary: boolean) => {
        if (isBinary) handler(toBytes(data));
        // A text frame arrives as a Buffer: decoded as it is, without a view made of it first.
        else if (typeof data === 'string') handler(data);
        else handler(textDecoder.decode(ArrayBuffer.isView(data) ? data : toBytes(data)));
      };
      ws.on('message', listener);
      return () => void ws.off('message', listener);
    },
    onClose(handler) {
      const listener = (code: number, reason: unknown) =>
        handler(
          code,
          reason === undefined ? undefined : typeof reason === 'string' ? reason : textDecoder.decode(toBytes(reason)),
        );
      ws.on('close', listener);
      return () => void ws.off('close', listener);
    },
    onError(handler) {
      ws.on('error', handler);
      return () => void ws.off('error', handler);
    },
    close: (code, reason) => ws.close(code, reason),
    ...(typeof ws.ping === 'function'
      ? {
          ping: () => ws.ping!(),
          onPong(handler: () => void) {
            const listener = () => handler();
            (ws.on as (event: string, listener: () => void) => unknown)('pong', listener);
            return () => void ws.off('pong', listener);
          },
        }
      : {}),
    ...(typeof ws.terminate === 'function' ? { terminate: () => ws.terminate!() } : {}),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    get closed() {
      return ws.readyState >= CLOSING;
    },
  };
}

function wrapWhatwg(ws: WhatwgWebSocketLike): MediaConnection {
  if ('binaryType' in ws) {
    try {
      ws.binaryType = 'arraybuffer';
    } catch {
      // Some implementations (workerd) fix the binary type; toBytes handles both.
    }
  }
  return {
    send: (frame) => ws.send(frame),
    onMessage(handler) {
      const listener = (event: { data: unknown }) => {
        const data = event.data;
        handler(typeof data === 'string' ? data : toBytes(data));
      };
      ws.addEventListener('message', listener);
      return () => ws.removeEventListener('message', listener);
    },
    onClose(handler) {
      const listener = (event: { code?: number; reason?: string }) => handler(event.code, event.reason);
      ws.addEventListener('close', listener);
      return () => ws.removeEventListener('close', listener);
    },
    onError(handler) {
      const listener = (event: unknown) => handler(event);
      ws.addEventListener('error', listener);
      return () => ws.removeEventListener('error', listener);
    },
    close: (code, reason) => ws.close(code, reason),
    get bufferedAmount() {
      return ws.bufferedAmount ?? 0;
    },
    get closed() {
      return ws.readyState >= CLOSING;
    },
  };
}

/**
 * Wraps a carrier socket. Accepts a {@link MediaConnection} (returned as is), a Node `ws`
 * socket (as handed out by `ws`, `@fastify/websocket`, ...) or a WHATWG `WebSocket`.
 */
export function toMediaConnection(socket: MediaConnection | WebSocketLike): MediaConnection {
  if (isMediaConnection(socket)) return socket;
  if (isNodeWs(socket)) return wrapNodeWs(socket);
  if (isWhatwg(socket)) return wrapWhatwg(socket);
  throw new ConfigError('Expected a carrier WebSocket (a `ws` socket, a WHATWG WebSocket) or a MediaConnection.');
}
