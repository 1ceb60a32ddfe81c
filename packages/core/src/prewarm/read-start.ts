/**
 * Reading a stream until its call's start, for `PrewarmPool.accept`: the protocol detection does
 * the reading and the replay, with one "candidate" that matches the frame that starts the call.
 */
import type { MediaConnection, WebSocketLike } from '../connection.js';
import { ProtocolDetectionError, detectMediaProtocol, type ProtocolCandidate } from '../detect.js';
import { ConfigError, SwitchboardError } from '../errors.js';
import type { CallEvent, MediaStreamProtocol } from '../types.js';

/** Most frames read from a stream while looking for its start. */
const MAX_FRAMES_BEFORE_START = 64;

/**
 * Reads `socket` with `protocol` until the call's start; resolves with its call id and a
 * connection that replays every frame read. Detection does the reading and the replay: the
 * "candidate" matches the frame that starts the call.
 */
export async function readStart(
  socket: MediaConnection | WebSocketLike,
  protocol: MediaStreamProtocol,
  timeoutMs: number,
): Promise<{ callId: string | undefined; connection: MediaConnection }> {
  if (!protocol || typeof protocol.decode !== 'function')
    throw new ConfigError('accept() needs the carrier protocol to read the stream with.');
  const abort = new AbortController();
  let start: Extract<CallEvent, { type: 'call_start' }> | undefined;
  let seen = 0;
  const candidate: ProtocolCandidate = {
    name: protocol.name,
    matches(frame) {
      seen++;
      let events: CallEvent[];
      try {
        events = protocol.decode(frame);
      } catch (error) {
        abort.abort(
          new ProtocolDetectionError(
            'no_match',
            `[${protocol.name}] a frame before the call's start is not readable.`,
            {
              framesSeen: seen,
              cause: error,
            },
          ),
        );
        return false;
      }
      for (const event of events) {
        if (event.type === 'call_start') {
          start = event;
          return true;
        }
        if (event.type === 'call_end') {
          abort.abort(
            new ProtocolDetectionError('closed', `[${protocol.name}] the stream ended before it started.`, {
              framesSeen: seen,
            }),
          );
          return false;
        }
      }
      return false;
    },
    create: () => protocol,
  };
  let detected;
  try {
    detected = await detectMediaProtocol(socket, [candidate], {
      timeoutMs,
      maxFrames: MAX_FRAMES_BEFORE_START,
      signal: abort.signal,
    });
  } catch (error) {
    if (error instanceof SwitchboardError) throw error;
    throw new ProtocolDetectionError('no_match', `[${protocol.name}] the stream's start could not be read.`, {
      framesSeen: seen,
      cause: error,
    });
  }
  return { callId: start?.callId, connection: detected.connection };
}
