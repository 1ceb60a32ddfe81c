/**
 * Forwarding a carrier's stream to the instance that pre-warmed its call: every frame the carrier
 * sends (those read to find the call, then the live ones) goes to the owner's media route, every
 * frame the owner sends goes back to the carrier, and either side closing closes the other.
 */
import { toMediaConnection, type MediaConnection, type MediaFrame, type WebSocketLike } from '../connection.js';
import { logger } from '../log.js';

const log = logger('prewarm');

/** Most carrier frames kept while the socket to the owner opens (20 s of 20 ms frames). */
const MAX_FRAMES_BEFORE_OPEN = 1000;
const CONNECTING = 0;

/** Close codes a WebSocket endpoint may send; anything else (1005, 1006, ...) becomes 1000. */
function sendableCode(code: number | undefined): number {
  if (code === undefined) return 1000;
  if (code === 1000 || (code >= 3000 && code <= 4999)) return code;
  return code >= 1001 && code <= 1011 && code !== 1004 && code !== 1005 && code !== 1006 ? code : 1000;
}

/** A close reason a WebSocket endpoint may send (at most 123 bytes). */
function sendableReason(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  let out = reason.slice(0, 123);
  while (new TextEncoder().encode(out).byteLength > 123) out = out.slice(0, -1);
  return out;
}

/** Calls `ready` once `socket` is open (at once when it is not a connecting WebSocket). */
function whenOpen(socket: MediaConnection | WebSocketLike, ready: () => void): void {
  const state = (socket as { readyState?: unknown }).readyState;
  if (state !== CONNECTING) {
    ready();
    return;
  }
  const events = socket as {
    once?: (event: 'open', listener: () => void) => unknown;
    addEventListener?: (type: 'open', listener: () => void, options?: { once: boolean }) => void;
  };
  if (typeof events.once === 'function') events.once('open', ready);
  else if (typeof events.addEventListener === 'function') events.addEventListener('open', ready, { once: true });
  else ready();
}

/** Statistics of one forwarded stream, for tests and logs. */
export type ForwardedStream = {
  /** Frames from the carrier dropped because the owner's socket took too long to open. */
  readonly droppedFrames: number;
};

/**
 * Pipes `carrier` to the socket `upstream` (opened by the caller towards the owner's URL) both
 * ways. Nothing either side does can throw out of here: failures close both sockets.
 */
export function pipeStream(carrier: MediaConnection, upstream: MediaConnection | WebSocketLike): ForwardedStream {
  const stats = { droppedFrames: 0 };
  let owner: MediaConnection;
  try {
    owner = toMediaConnection(upstream);
  } catch (error) {
    log('forward: not a socket: %s', (error as Error)?.message);
    safely(() => carrier.close(1011, 'forward failed'));
    return stats;
  }
  let waiting: MediaFrame[] | null = [];
  let done = false;
  const closeBoth = (code?: number, reason?: string) => {
    if (done) return;
    done = true;
    waiting = null;
    const sendCode = sendableCode(code);
    const sendReason = sendableReason(reason);
    if (!carrier.closed) safely(() => carrier.close(sendCode, sendReason));
    if (!owner.closed) safely(() => owner.close(sendCode, sendReason));
  };

  carrier.onError((error) => log('forward: carrier socket error: %s', (error as Error)?.message ?? error));
  owner.onError((error) => log('forward: owner socket error: %s', (error as Error)?.message ?? error));
  carrier.onClose((code, reason) => closeBoth(code, reason));
  owner.onClose((code, reason) => closeBoth(code, reason));
  owner.onMessage((frame) => {
    if (!done && !carrier.closed) safely(() => carrier.send(frame));
  });
  carrier.onMessage((frame) => {
    if (done) return;
    if (waiting !== null) {
      if (waiting.length >= MAX_FRAMES_BEFORE_OPEN) stats.droppedFrames++;
      else waiting.push(frame);
      return;
    }
    safely(() => owner.send(frame));
  });
  whenOpen(upstream, () => {
    const frames = waiting;
    if (frames === null || done) return;
    // Frames that arrive while these are sent are appended and sent in order.
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      if (!safely(() => owner.send(frame))) {
        closeBoth(1011, 'forward failed');
        return;
      }
    }
    waiting = null;
  });
  if (carrier.closed || owner.closed) closeBoth();
  return stats;
}

function safely(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    log('forward: %s', (error as Error)?.message ?? error);
    return false;
  }
}
