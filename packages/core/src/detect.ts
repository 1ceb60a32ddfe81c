/**
 * Provider auto-detection: one media route that serves several carriers. The carrier is told
 * apart by the first frame(s) it sends on the socket (Twilio's `connected`, Vonage's
 * `websocket:connected`, Asterisk's `MEDIA_START`, …); the frames read to decide are replayed to
 * the transport, so nothing is lost.
 */
import { toMediaConnection, type MediaConnection, type MediaFrame, type WebSocketLike } from './connection.js';
import { ConfigError, SwitchboardError } from './errors.js';
import { logger } from './log.js';
import type { MediaStreamProtocol } from './types.js';

const log = logger('detect');

/** One carrier the detection may pick. Provider packages export theirs (`twilioCandidate`, …). */
export interface ProtocolCandidate {
  /** Short name, for logs and errors (`twilio`, `vonage`, …). */
  readonly name: string;
  /**
   * Whether this frame says the socket speaks this carrier's protocol. Pure and cheap; it must
   * not throw (a throw counts as no match).
   */
  matches(frame: MediaFrame): boolean;
  /** A fresh protocol for one call. */
  create(): MediaStreamProtocol;
}

/**
 * The first candidate (in the order given) that recognises `frame`, or `undefined`. List the more
 * specific candidates first when two may recognise the same frame.
 */
export function detectProtocol(
  frame: MediaFrame,
  candidates: readonly ProtocolCandidate[],
): ProtocolCandidate | undefined {
  for (const candidate of candidates) {
    let matched = false;
    try {
      matched = candidate.matches(frame) === true;
    } catch (error) {
      log('candidate %s threw while matching: %s', candidate.name, (error as Error)?.message);
    }
    if (matched) return candidate;
  }
  return undefined;
}

/** Why detection gave up. */
export type ProtocolDetectionFailure = 'timeout' | 'no_match' | 'closed';

/** No candidate recognised the carrier's first frames, none arrived in time, or the socket closed. */
export class ProtocolDetectionError extends SwitchboardError {
  readonly reason: ProtocolDetectionFailure;
  /** How many frames were read before giving up. */
  readonly framesSeen: number;
  constructor(reason: ProtocolDetectionFailure, message: string, options: { framesSeen: number; cause?: unknown }) {
    super('protocol_undetected', message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.framesSeen = options.framesSeen;
  }
}

export type DetectMediaProtocolOptions = {
  /** Give up when no candidate matched within this many ms. Default 10 000. */
  timeoutMs?: number;
  /**
   * Frames to read before giving up: a frame no candidate recognises is kept (for the replay) and
   * the next one tried. Default 1 (the decision is made on the first frame).
   */
  maxFrames?: number;
  /** Abort the wait (rejects with the signal's reason). */
  signal?: AbortSignal;
  /**
   * Most frames kept for the replay while no handler is registered on the returned connection
   * (the carrier keeps streaming while you create the transport). Frames beyond it are dropped
   * and counted in `connection.droppedFrames`. Default 1000 (20 s of 20 ms frames).
   */
  maxBufferedFrames?: number;
};

export type DetectedMediaProtocol = {
  /** A fresh protocol from the matching candidate. */
  protocol: MediaStreamProtocol;
  /** The candidate that matched. */
  candidate: ProtocolCandidate;
  /**
   * The carrier socket, to hand to the transport in place of the original: the first handler
   * registered with `onMessage` (and any registered in the same turn) receives the frames the
   * detection read, in order and in a microtask after registration, then the live frames. Until
   * a handler registers, frames are kept up to `maxBufferedFrames`: create the transport right away.
   */
  connection: ReplayedMediaConnection;
};

/** The connection {@link detectMediaProtocol} returns. */
export interface ReplayedMediaConnection extends MediaConnection {
  /** Frames dropped because more than `maxBufferedFrames` arrived before a handler registered. */
  readonly droppedFrames: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BUFFERED_FRAMES = 1000;
/** The longest delay timers take; a longer one fires at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * Waits for the carrier's first frame(s) on `socket`, picks the protocol with
 * {@link detectProtocol}, and returns it with a connection that replays the frames it read.
 * Rejects with a {@link ProtocolDetectionError} on timeout, when no candidate matches within
 * `maxFrames` frames, or when the socket closes first; the socket is then left as it is (close it).
 *
 * ```ts
 * const { protocol, connection } = await detectMediaProtocol(socket, [twilioCandidate, vonageCandidate]);
 * const transport = new TelephonyRealtimeTransport({ connection, protocol });
 * ```
 */
export function detectMediaProtocol(
  socket: MediaConnection | WebSocketLike,
  candidates: readonly ProtocolCandidate[],
  options: DetectMediaProtocolOptions = {},
): Promise<DetectedMediaProtocol> {
  if (!Array.isArray(candidates) || candidates.length === 0) {
    throw new ConfigError('detectMediaProtocol needs at least one protocol candidate.');
  }
  for (const candidate of candidates) {
    if (!candidate || typeof candidate.matches !== 'function' || typeof candidate.create !== 'function') {
      throw new ConfigError('Each protocol candidate needs `name`, `matches(frame)` and `create()`.');
    }
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
    throw new ConfigError(
      `\`timeoutMs\` must be a positive number of ms up to ${MAX_TIMEOUT_MS}, got ${String(timeoutMs)}.`,
    );
  }
  const maxFrames = options.maxFrames ?? 1;
  if (!(Number.isInteger(maxFrames) && maxFrames >= 1))
    throw new ConfigError(`\`maxFrames\` must be a whole number of at least 1, got ${String(maxFrames)}.`);
  const maxBuffered = options.maxBufferedFrames ?? Math.max(DEFAULT_MAX_BUFFERED_FRAMES, maxFrames);
  if (!(Number.isInteger(maxBuffered) && maxBuffered >= maxFrames)) {
    throw new ConfigError(
      `\`maxBufferedFrames\` must be a whole number of at least \`maxFrames\` (${maxFrames}), got ${String(maxBuffered)}.`,
    );
  }

  const inner = toMediaConnection(socket);
  const replay = new ReplayingConnection(inner, maxBuffered);

  return new Promise<DetectedMediaProtocol>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cleanups: Array<() => void> = [];
    const finish = (outcome: { ok: DetectedMediaProtocol } | { error: unknown }) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const cleanup of cleanups) cleanup();
      if ('ok' in outcome) {
        resolve(outcome.ok);
      } else {
        replay.release();
        reject(outcome.error);
      }
    };

    if (options.signal?.aborted) {
      replay.release();
      reject(options.signal.reason);
      return;
    }
    if (inner.closed) {
      replay.release();
      reject(new ProtocolDetectionError('closed', 'The carrier socket is already closed.', { framesSeen: 0 }));
      return;
    }

    cleanups.push(
      replay.onBuffered((frame, count) => {
        const candidate = detectProtocol(frame, candidates);
        if (candidate) {
          let protocol: MediaStreamProtocol;
          try {
            protocol = candidate.create();
          } catch (error) {
            finish({ error });
            return;
          }
          log('detected %s after %d frame(s)', candidate.name, count);
          finish({ ok: { protocol, candidate, connection: replay } });
        } else if (count >= maxFrames) {
          finish({
            error: new ProtocolDetectionError(
              'no_match',
              `No carrier protocol recognised the first ${count === 1 ? 'frame' : `${count} frames`} (candidates: ${candidates.map((c) => c.name).join(', ')}).`,
              { framesSeen: count },
            ),
          });
        }
      }),
      inner.onClose((code) =>
        finish({
          error: new ProtocolDetectionError(
            'closed',
            `The carrier socket closed (code ${code ?? 'none'}) before its protocol was recognised.`,
            {
              framesSeen: replay.bufferedCount,
            },
          ),
        }),
      ),
    );
    timer = setTimeout(
      () =>
        finish({
          error: new ProtocolDetectionError(
            'timeout',
            `No carrier protocol recognised within ${timeoutMs} ms (${replay.bufferedCount} frame(s) read).`,
            {
              framesSeen: replay.bufferedCount,
            },
          ),
        }),
      timeoutMs,
    );
    if (options.signal) {
      const onAbort = () => finish({ error: options.signal!.reason });
      options.signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => options.signal!.removeEventListener('abort', onAbort));
    }
  });
}

/**
 * A connection that keeps every frame from the moment it is created until a handler is
 * registered, then delivers them (in a microtask, so the registering constructor finishes first)
 * before the live ones.
 */
class ReplayingConnection implements ReplayedMediaConnection {
  readonly #inner: MediaConnection;
  readonly #maxBuffered: number;
  #dropped = 0;
  readonly #handlers = new Set<(frame: MediaFrame) => void>();
  #buffer: MediaFrame[] | null = [];
  #count = 0;
  #observer: ((frame: MediaFrame, count: number) => void) | undefined;
  #detachInner: (() => void) | undefined;
  #flushScheduled = false;

  constructor(inner: MediaConnection, maxBuffered: number) {
    this.#inner = inner;
    this.#maxBuffered = maxBuffered;
    this.#detachInner = inner.onMessage((frame) => this.#receive(frame));
    if (typeof inner.cork === 'function' && typeof inner.uncork === 'function') {
      this.cork = () => inner.cork!();
      this.uncork = () => inner.uncork!();
    }
    // What lets a transport tell a quiet carrier from a dead one, and drop a dead one.
    if (typeof inner.ping === 'function') this.ping = () => inner.ping!();
    if (typeof inner.onPong === 'function') this.onPong = (handler) => inner.onPong!(handler);
    if (typeof inner.terminate === 'function') this.terminate = () => inner.terminate!();
  }

  cork?: () => void;
  uncork?: () => void;
  ping?: () => void;
  onPong?: (handler: () => void) => () => void;
  terminate?: () => void;

  get droppedFrames(): number {
    return this.#dropped;
  }

  /** Frames read so far while buffering. */
  get bufferedCount(): number {
    return this.#count;
  }

  /** Called with each frame kept while no handler is registered (the detection's view). */
  onBuffered(observer: (frame: MediaFrame, count: number) => void): () => void {
    this.#observer = observer;
    return () => {
      if (this.#observer === observer) this.#observer = undefined;
    };
  }

  /** Drops the buffer and the listener on the carrier socket (detection failed). */
  release(): void {
    this.#buffer = null;
    this.#observer = undefined;
    this.#detachInner?.();
    this.#detachInner = undefined;
  }

  send(frame: MediaFrame): void {
    this.#inner.send(frame);
  }

  onMessage(handler: (frame: MediaFrame) => void): () => void {
    this.#handlers.add(handler);
    if (this.#buffer !== null && !this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
    return () => {
      this.#handlers.delete(handler);
      // The last handler gone: leave no listener behind on the carrier socket.
      if (this.#handlers.size === 0 && this.#buffer === null) {
        this.#detachInner?.();
        this.#detachInner = undefined;
      }
    };
  }

  onClose(handler: (code?: number, reason?: string) => void): () => void {
    return this.#inner.onClose(handler);
  }

  onError(handler: (error: unknown) => void): () => void {
    return this.#inner.onError(handler);
  }

  close(code?: number, reason?: string): void {
    this.#inner.close(code, reason);
  }

  get bufferedAmount(): number {
    return this.#inner.bufferedAmount;
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  #receive(frame: MediaFrame): void {
    if (this.#buffer !== null) {
      if (this.#handlers.size === 0 && this.#buffer.length >= this.#maxBuffered) {
        // Nobody reads the socket yet: keep the first frames (the start message), count the rest.
        if (this.#dropped === 0)
          log('no handler after %d buffered frames: dropping the frames that follow', this.#buffer.length);
        this.#dropped++;
        return;
      }
      this.#buffer.push(frame);
      this.#count++;
      this.#observer?.(frame, this.#count);
      return;
    }
    for (const handler of [...this.#handlers]) handler(frame);
  }

  #flush(): void {
    const buffered = this.#buffer;
    if (buffered === null) return;
    this.#observer = undefined;
    // Frames that arrive while the replay runs (a handler may send, the socket may deliver) are
    // appended to the same buffer and replayed in order.
    for (let i = 0; i < buffered.length; i++) {
      for (const handler of [...this.#handlers]) handler(buffered[i]!);
    }
    this.#buffer = null;
    if (this.#handlers.size === 0) {
      this.#detachInner?.();
      this.#detachInner = undefined;
    }
  }
}
