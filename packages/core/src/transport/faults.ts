import { describeError, SwitchboardError } from '../errors.js';

/**
 * Why a call ended on a fault: each is emitted as an `error` event, and its `code` is the
 * `call_end` reason.
 */
export const faults = {
  modelLost: () =>
    new SwitchboardError('model_disconnected', 'The model connection closed during the call; ending the call.'),
  modelConnectTimeout: (timeoutMs: number) =>
    new SwitchboardError(
      'model_connect_timeout',
      `The model did not finish connecting (socket open and session.created) within ${timeoutMs} ms; ending the call.`,
    ),
  modelConnectFailed: (cause: unknown) =>
    new SwitchboardError(
      'model_connect_failed',
      `The model connection failed: ${describeError(cause)}; ending the call.`,
      { cause },
    ),
  callEnded: (reason: string | undefined, cause?: unknown) =>
    new SwitchboardError('call_ended', `The call ended (${reason ?? 'closed'}) before the model session was set up.`, {
      cause,
    }),
  carrierSocket: (cause: unknown) =>
    new SwitchboardError('carrier_socket_error', 'The carrier socket reported an error.', { cause }),
  carrierIdle: (quietMs: number) =>
    new SwitchboardError(
      'carrier_idle',
      `The carrier sent nothing for ${Math.round(quietMs)} ms (no frame, no pong); ending the call.`,
    ),
  noCallStart: (waitedMs: number) =>
    new SwitchboardError(
      'no_call_start',
      `The carrier's socket started no call within ${Math.round(waitedMs)} ms (no start frame); ending it.`,
    ),
  carrierBackpressure: (bufferedBytes: number) =>
    new SwitchboardError(
      'carrier_backpressure',
      `The carrier stopped reading: ${bufferedBytes} bytes of audio waiting for it; ending the call.`,
    ),
};

/** How the carrier socket is let go when a call ends: a close handshake with a code, or dropped. */
export type CarrierClose = { code: number; text: string; terminate?: boolean };

/** The carrier's close when the model could not be reached: 1011, with a reason naming why. */
export function bridgeFailed(error: SwitchboardError): CarrierClose {
  const status = (error as { status?: unknown }).status;
  const text =
    typeof status === 'number' ? `model connection refused (${status})` : `model connection failed (${error.code})`;
  return { code: 1011, text: text.slice(0, 120) };
}
