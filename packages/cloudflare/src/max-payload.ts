/**
 * A bound on the size of the carrier's messages for sockets accepted inside a Worker. `ws` on Node
 * has `maxPayload`; a Workers `WebSocket` has no such option (only the platform's own, much larger
 * limit), so the bound is kept here: the first message over it closes the socket with 1009
 * (message too big) and is not handed on, nor is anything after it.
 */
import { ConfigError, type MediaConnection, type MediaFrame } from '@switchboard/core';
import { interceptConnection } from '@switchboard/core/protocol';
import { log } from './log.js';

/** Close code for a message larger than the bound (RFC 6455: message too big). */
export const CLOSE_MESSAGE_TOO_BIG = 1009;

/** Default bound for any protocol other than the default Twilio one: 1 MiB. */
export const MEDIA_MAX_PAYLOAD_OTHER_PROTOCOLS = 1024 * 1024;

const encoder = new TextEncoder();

/** The frame's size in bytes as it crossed the wire (UTF-8 for text), computed only when it could matter. */
function exceeds(frame: MediaFrame, max: number): boolean {
  if (typeof frame !== 'string') return frame.byteLength > max;
  // A UTF-16 code unit is 1 to 3 bytes of UTF-8.
  if (frame.length > max) return true;
  if (frame.length * 3 <= max) return false;
  return encoder.encode(frame).byteLength > max;
}

/** Checks a `maxPayload` option: a positive whole number of bytes. */
export function checkMaxPayload(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${where}: maxPayload must be a positive whole number of bytes`);
  }
  return value;
}

/**
 * `connection`, with every message larger than `maxPayload` bytes refused: the socket is closed
 * with 1009 and the message dropped, as `ws` does on Node.
 */
export function limitMessageSize(connection: MediaConnection, maxPayload: number): MediaConnection {
  let tooBig = false;
  return interceptConnection(connection, {
    onMessage: (handler) => (frame) => {
      if (tooBig) return;
      if (exceeds(frame, maxPayload)) {
        tooBig = true;
        log('closing the carrier socket: a message over %d bytes', maxPayload);
        try {
          connection.close(CLOSE_MESSAGE_TOO_BIG, 'message too big');
        } catch (error) {
          log('close failed: %s', (error as Error)?.message);
        }
        return;
      }
      handler(frame);
    },
  });
}
