/**
 * A carrier connection that exists before the carrier's socket does. A pre-warmed call creates
 * its transport (and opens the model session) on it when the voice webhook arrives; the media
 * stream's socket is plugged in with {@link PendingMediaConnection.attach} when it connects.
 *
 * Plain JavaScript only: it runs wherever the core does (Node, workerd).
 */
import { toMediaConnection, type MediaConnection, type MediaFrame, type WebSocketLike } from '../connection.js';
import { ConfigError } from '../errors.js';
import { logger } from '../log.js';

const log = logger('prewarm');

/** Default bound on the frames a transport may send before the stream attached. */
export const PENDING_DEFAULT_MAX_HELD_FRAMES = 500;
/** Bound on the carrier frames kept between attach and the first frame handler (20 s of 20 ms frames). */
const MAX_INBOUND_BUFFERED = 1000;

export type PendingMediaConnectionOptions = {
  /**
   * Most frames the transport may send before the stream attached (held, then sent in order on
   * attach). Frames beyond it are dropped and counted in `droppedFrames`. Default 500.
   */
  maxHeldFrames?: number;
};

/**
 * A {@link MediaConnection} whose socket arrives later. Before {@link attach}: sends are held
 * (bounded), it reports no frames, and `close()` ends the pending call (close handlers run).
 * After: it is the socket, with the frames that arrived before the transport listened replayed
 * first. A transport created on it is told (see `awaitingStream`) so that its carrier timers wait
 * for the stream.
 */
export class PendingMediaConnection implements MediaConnection {
  readonly #maxHeld: number;
  #held: MediaFrame[] = [];
  #dropped = 0;
  #inner: MediaConnection | undefined;
  #closedEarly = false;
  readonly #messageHandlers = new Set<(frame: MediaFrame) => void>();
  readonly #closeHandlers = new Set<(code?: number, reason?: string) => void>();
  readonly #errorHandlers = new Set<(error: unknown) => void>();
  readonly #pongHandlers = new Set<() => void>();
  readonly #attachHandlers = new Set<() => void>();
  /** Carrier frames that arrived while no frame handler was registered (kept for the first one). */
  #inbound: MediaFrame[] | null = null;
  #inboundDropped = 0;
  #flushScheduled = false;
  #corked = 0;

  constructor(options: PendingMediaConnectionOptions = {}) {
    const max = options.maxHeldFrames ?? PENDING_DEFAULT_MAX_HELD_FRAMES;
    if (!(Number.isInteger(max) && max >= 0))
      throw new ConfigError(`\`maxHeldFrames\` must be a whole number, got ${String(max)}.`);
    this.#maxHeld = max;
  }

  /** True once the stream's socket is plugged in. */
  get attached(): boolean {
    return this.#inner !== undefined;
  }

  /** Frames the transport sent before attach beyond `maxHeldFrames`, plus carrier frames no one read. */
  get droppedFrames(): number {
    return this.#dropped + this.#inboundDropped;
  }

  /** Frames held for the socket, not yet sent. */
  get heldFrames(): number {
    return this.#held.length;
  }

  /**
   * Plugs in the stream's socket: the held frames are sent in order, then every call goes to the
   * socket. Carrier frames are delivered to the registered frame handler; frames that arrive
   * while none is registered are kept (bounded) for the first one. Once only: a second attach,
   * or an attach after `close()`, is a {@link ConfigError} (the socket is left as it is). A
   * socket that closed before it was attached is reported to the close handlers as closed.
   */
  attach(connection: MediaConnection | WebSocketLike): void {
    if (this.#inner) throw new ConfigError('This pending call already has its stream attached.');
    if (this.#closedEarly) throw new ConfigError('This pending call was closed before its stream arrived.');
    const inner = toMediaConnection(connection);
    this.#inner = inner;
    this.#inbound = this.#messageHandlers.size === 0 ? [] : null;
    inner.onMessage((frame) => this.#receive(frame));
    let closeTold = false;
    const closed = (code?: number, reason?: string) => {
      if (closeTold) return;
      closeTold = true;
      this.#each(this.#closeHandlers, (h) => h(code, reason));
    };
    inner.onClose(closed);
    // A socket closed before it was attached sends no close event: tell the handlers once the
    // frames it delivered before (replayed in a microtask) have been.
    if (inner.closed) queueMicrotask(() => closed());
    inner.onError((error) => this.#each(this.#errorHandlers, (h) => h(error)));
    inner.onPong?.(() => this.#each(this.#pongHandlers, (h) => h()));
    const held = this.#held;
    this.#held = [];
    if (held.length > 0 && !inner.closed) {
      inner.cork?.();
      try {
        for (const frame of held) inner.send(frame);
      } catch (error) {
        log('sending the held frames failed: %s', (error as Error)?.message);
      } finally {
        inner.uncork?.();
      }
    }
    for (let i = 0; i < this.#corked; i++) inner.cork?.();
    this.#each(this.#attachHandlers, (h) => h());
    this.#attachHandlers.clear();
  }

  /** Calls `handler` once the stream attached (at once when it already has). Returns a remover. */
  onAttach(handler: () => void): () => void {
    if (this.#inner) {
      handler();
      return () => undefined;
    }
    this.#attachHandlers.add(handler);
    return () => this.#attachHandlers.delete(handler);
  }

  send(frame: MediaFrame): void {
    if (this.#inner) {
      this.#inner.send(frame);
      return;
    }
    if (this.#closedEarly) return;
    if (this.#held.length >= this.#maxHeld) {
      if (this.#dropped === 0) log('%d frames held for a stream not yet attached: dropping more', this.#held.length);
      this.#dropped++;
      return;
    }
    this.#held.push(frame);
  }

  onMessage(handler: (frame: MediaFrame) => void): () => void {
    this.#messageHandlers.add(handler);
    if (this.#inbound !== null && !this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flushInbound());
    }
    return () => void this.#messageHandlers.delete(handler);
  }

  onClose(handler: (code?: number, reason?: string) => void): () => void {
    this.#closeHandlers.add(handler);
    return () => void this.#closeHandlers.delete(handler);
  }

  onError(handler: (error: unknown) => void): () => void {
    this.#errorHandlers.add(handler);
    return () => void this.#errorHandlers.delete(handler);
  }

  onPong(handler: () => void): () => void {
    this.#pongHandlers.add(handler);
    return () => void this.#pongHandlers.delete(handler);
  }

  ping(): void {
    this.#inner?.ping?.();
  }

  cork(): void {
    this.#corked++;
    this.#inner?.cork?.();
  }

  uncork(): void {
    if (this.#corked > 0) this.#corked--;
    this.#inner?.uncork?.();
  }

  terminate(): void {
    if (!this.#inner) {
      this.close(1001, 'terminated');
      return;
    }
    if (this.#inner.terminate) this.#inner.terminate();
    else this.#inner.close(1001, 'terminated');
  }

  /** Before attach: ends the pending call (held frames dropped, close handlers told). After: closes the socket. */
  close(code?: number, reason?: string): void {
    if (this.#inner) {
      this.#inner.close(code, reason);
      return;
    }
    if (this.#closedEarly) return;
    this.#closedEarly = true;
    this.#held = [];
    this.#attachHandlers.clear();
    this.#each(this.#closeHandlers, (h) => h(code, reason));
  }

  get bufferedAmount(): number {
    return this.#inner ? this.#inner.bufferedAmount : 0;
  }

  get closed(): boolean {
    return this.#inner ? this.#inner.closed : this.#closedEarly;
  }

  #receive(frame: MediaFrame): void {
    if (this.#inbound !== null) {
      if (this.#messageHandlers.size === 0 && this.#inbound.length >= MAX_INBOUND_BUFFERED) {
        this.#inboundDropped++;
        return;
      }
      this.#inbound.push(frame);
      return;
    }
    for (const handler of [...this.#messageHandlers]) handler(frame);
  }

  #flushInbound(): void {
    const frames = this.#inbound;
    if (frames === null) return;
    if (this.#messageHandlers.size === 0) {
      this.#flushScheduled = false;
      return;
    }
    // Frames that arrive while the replay runs are appended to the same list and replayed in order.
    for (let i = 0; i < frames.length; i++) {
      for (const handler of [...this.#messageHandlers]) handler(frames[i]!);
    }
    this.#inbound = null;
  }

  #each<T>(handlers: Set<T>, call: (handler: T) => void): void {
    for (const handler of [...handlers]) {
      try {
        call(handler);
      } catch (error) {
        log('a connection handler threw: %s', (error as Error)?.message);
      }
    }
  }
}
