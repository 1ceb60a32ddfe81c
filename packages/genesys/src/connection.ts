/**
 * The Genesys socket as the core transport sees it. Two things the core does not do for a media
 * stream, AudioHook needs:
 *
 * - answers: `opened`, `pong` and `closed` leave right after the frame that asked for them was
 *   handled (the protocol queues them; see `protocol.ts`);
 * - the close transaction: Genesys, not the server, ends a session. When the call ends on the
 *   bridge's side (a hang-up, the model gone, the application), the bridge sends `disconnect` if
 *   it has not yet, waits for Genesys's `close`, answers `closed`, and only then closes the socket
 *   (or after `closeTimeoutMs`, should Genesys never answer). To the core the socket reads as
 *   closed from the moment it asked to close it.
 */
import { systemClock, type Clock, type MediaConnection, type MediaFrame } from '@switchboard/core';
import { logger } from '@switchboard/core/protocol';
import type { GenesysAudioHookProtocol } from './protocol.js';

const log = logger('genesys');

/** How long the bridge waits for Genesys's `close` after its `disconnect`, ms, by default. */
export const GENESYS_CLOSE_TIMEOUT_MS = 5000;

/** `call_end` reasons that end a session as `completed`; any other ends it as `error`. */
const COMPLETED = new Set(['agent_hangup', 'transferred', 'closed', 'shutdown', 'end', 'disconnect']);

export type GenesysConnectionOptions = {
  /** Longest wait for Genesys's `close` once the bridge ended the call, ms. Default 5000. */
  closeTimeoutMs?: number;
  clock?: Clock;
};

/** The socket, answering for the protocol and holding its close until the close transaction ends. */
export class GenesysConnection implements MediaConnection {
  readonly #socket: MediaConnection;
  readonly #protocol: GenesysAudioHookProtocol;
  readonly #clock: Clock;
  readonly #closeTimeoutMs: number;
  #closing = false;
  #endReason: string | undefined;
  #timer: unknown;
  #detach: Array<() => void> = [];

  constructor(socket: MediaConnection, protocol: GenesysAudioHookProtocol, options: GenesysConnectionOptions = {}) {
    this.#socket = socket;
    this.#protocol = protocol;
    this.#clock = options.clock ?? systemClock;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? GENESYS_CLOSE_TIMEOUT_MS;
    if (socket.cork && socket.uncork) {
      this.cork = () => socket.cork!();
      this.uncork = () => socket.uncork!();
    }
    if (socket.ping) this.ping = () => socket.ping!();
    if (socket.onPong) this.onPong = (handler) => socket.onPong!(handler);
    if (socket.terminate) this.terminate = () => socket.terminate!();
  }

  cork?(): void;
  uncork?(): void;
  ping?(): void;
  onPong?(handler: () => void): () => void;
  terminate?(): void;

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  get closed(): boolean {
    return this.#closing || this.#socket.closed;
  }

  send(frame: MediaFrame): void {
    this.#socket.send(frame);
  }

  /** Sends what the protocol has queued (its answers), if the socket is still open. */
  flush(): void {
    this.sendControl(this.#protocol.takeReplies());
  }

  /** Sends frames the protocol wrote outside the core's commands (`pause`, `resume`, `disconnect`). */
  sendControl(frames: string[]): void {
    if (frames.length === 0 || this.#socket.closed) return;
    try {
      for (const frame of frames) this.#socket.send(frame);
    } catch (error) {
      // A socket that fails as it closes: the close or error event tells the transport.
      log('sending to Genesys failed: %s', (error as Error)?.message);
    }
  }

  /** The reason the call ended with, for the `disconnect` the bridge sends when it closes. */
  noteEnd(reason: string): void {
    this.#endReason ??= reason;
  }

  onMessage(handler: (frame: MediaFrame) => void): () => void {
    return this.#socket.onMessage((frame) => {
      try {
        handler(frame);
      } finally {
        this.flush();
      }
    });
  }

  onClose(handler: (code?: number, reason?: string) => void): () => void {
    return this.#socket.onClose(handler);
  }

  onError(handler: (error: unknown) => void): () => void {
    return this.#socket.onError(handler);
  }

  close(code?: number, reason?: string): void {
    if (this.#closing || this.#socket.closed) return;
    this.#closing = true;
    const protocol = this.#protocol;
    if (!protocol.sessionOpen) {
      // Never opened, or Genesys already closed the session (and was answered `closed`).
      this.flush();
      this.#socket.close(code, reason);
      return;
    }
    const end = this.#endReason ?? 'closed';
    this.sendControl(
      protocol.disconnect(
        protocol.disconnectSent ? undefined : COMPLETED.has(end) ? {} : { reason: 'error', info: end },
      ),
    );
    log('waiting up to %dms for Genesys to close the session', this.#closeTimeoutMs);
    const finish = () => {
      for (const detach of this.#detach.splice(0)) detach();
      if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      try {
        if (!this.#socket.closed) this.#socket.close(code, reason);
      } catch (error) {
        log('closing the Genesys socket failed: %s', (error as Error)?.message);
      }
    };
    this.#detach.push(
      this.#socket.onMessage((frame) => {
        try {
          protocol.decode(frame);
        } catch {
          // Late audio or anything else after the call ended: only the close matters now.
        }
        this.flush();
        if (protocol.closeReceived) finish();
      }),
      this.#socket.onClose(() => finish()),
    );
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      log('Genesys did not close the session within %dms: closing the socket', this.#closeTimeoutMs);
      finish();
    }, this.#closeTimeoutMs);
  }
}
