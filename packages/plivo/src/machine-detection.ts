/**
 * Plivo's asynchronous answering machine detection, as delivered to a call.
 *
 * A call placed with `machine_detection=true` (or `hangup`) and a `machine_detection_url` makes
 * Plivo request that URL once it has decided, with `Machine` (`true` / `false`), `CallUUID`,
 * `RequestUUID`, `From`, `To`, `Direction`, `IfMachine` (`continue` / `hangup`),
 * `Event=MachineDetection` and `CallStatus`
 * (https://www.plivo.com/docs/voice/api/call/asynchronous-machine-detection). Plivo detects a
 * machine, not the end of its greeting: `greetingEnded` is always false.
 *
 * `CallUUID` is the call's UUID, the same id the call's audio stream carries as `start.callId`
 * (the transport's `callStart.callId`), so a `CallDirectory` finds the call by it.
 */
import type { MachineDetectionEvent } from '@switchboard/core';

/** The callback's parameters: the form body (POST) or the query (GET), as parsed. */
export type PlivoMachineDetectionParams = URLSearchParams | Record<string, unknown>;

function reader(params: PlivoMachineDetectionParams): (name: string) => string | undefined {
  if (params instanceof URLSearchParams) return (name) => params.get(name) ?? undefined;
  return (name) => {
    const value = Object.prototype.hasOwnProperty.call(params, name) ? params[name] : undefined;
    if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
    return typeof value === 'string' ? value : typeof value === 'boolean' ? String(value) : undefined;
  };
}

/**
 * The machine detection result of a Plivo callback as a `MachineDetectionEvent` for the call
 * (`callId` = `CallUUID`), or `undefined` when the parameters are not one (another event, no
 * `CallUUID`, a `Machine` that is neither true nor false). Verify the request first
 * (`assertPlivoSignatureV3`): this reads, it does not authenticate.
 */
export function readPlivoMachineDetection(params: PlivoMachineDetectionParams): MachineDetectionEvent | undefined {
  if (!params || typeof params !== 'object') return undefined;
  const read = reader(params);
  const event = read('Event');
  if (event !== undefined && event !== 'MachineDetection') return undefined;
  const callId = read('CallUUID');
  if (callId === undefined || callId.length === 0 || callId.length > 128) return undefined;
  const machine = read('Machine')?.toLowerCase();
  if (machine !== 'true' && machine !== 'false') return undefined;
  const raw: Record<string, string> = {};
  if (params instanceof URLSearchParams) for (const [name, value] of params) raw[name] ??= value;
  else
    for (const name of Object.keys(params)) {
      const value = read(name);
      if (value !== undefined) raw[name] = value;
    }
  return {
    type: 'machine_detection',
    callId,
    carrier: 'plivo',
    answeredBy: machine === 'true' ? 'machine' : 'human',
    greetingEnded: false,
    carrierResult: `Machine=${machine}`,
    raw,
  };
}
