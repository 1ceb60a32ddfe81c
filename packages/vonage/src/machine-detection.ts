/**
 * Vonage's machine detection, as delivered to a call.
 *
 * A call placed with `machine_detection` or `advanced_machine_detection` reports on its event
 * webhook (`event_url`): `status: "human"` or `status: "machine"`, and, with advanced detection
 * listening for the beep (`detect_beep`, `default`), a further `machine` event with
 * `sub_state: "beep_start"` once the voicemail beeps, or `"beep_timeout"` when no beep came within
 * `beep_timeout` (https://developer.vonage.com/en/voice/voice-api/concepts/advanced-machine-detection).
 * Either sub-state means the greeting is over: a message left now is recorded.
 *
 * Which call: the event's `uuid` is the leg detection ran on, the PSTN leg placed by
 * `POST /v1/calls`. The WebSocket of a `connect` action is a leg of its own with another uuid, and
 * Vonage's `websocket:connected` frame carries only the headers the NCCO gave it. So the socket
 * knows the PSTN uuid only when the NCCO puts it in the headers: answer the call's answer webhook
 * with `connectWebSocketNcco({ uri, answer })`, which copies the webhook's `uuid` into the
 * headers, and the transport's `callStart.callId` is the uuid these events carry.
 */
import type { MachineDetectionEvent } from '@switchboard/core';

/** The event webhook's payload: the JSON body (POST) as parsed, or the query (GET). */
export type VonageMachineDetectionPayload = Record<string, unknown> | URLSearchParams;

/**
 * The machine detection result in a Vonage event webhook as a `MachineDetectionEvent` for the call
 * (`callId` = the event's `uuid`), or `undefined` for any other event (`answered`, `completed`, …)
 * or one without a uuid. Verify the request first (`assertVonageWebhook`): this reads, it does not
 * authenticate.
 */
export function readVonageMachineDetection(payload: VonageMachineDetectionPayload): MachineDetectionEvent | undefined {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const read = (name: string): string | undefined => {
    const value =
      payload instanceof URLSearchParams
        ? (payload.get(name) ?? undefined)
        : Object.prototype.hasOwnProperty.call(payload, name)
          ? payload[name]
          : undefined;
    return typeof value === 'string' ? value : undefined;
  };
  const status = read('status');
  if (status !== 'human' && status !== 'machine') return undefined;
  const callId = read('uuid');
  if (callId === undefined || callId.length === 0 || callId.length > 128) return undefined;
  const subState = read('sub_state');
  const raw = payload instanceof URLSearchParams ? Object.fromEntries(payload) : payload;
  const event: MachineDetectionEvent = {
    type: 'machine_detection',
    callId,
    carrier: 'vonage',
    answeredBy: status,
    greetingEnded: status === 'machine' && (subState === 'beep_start' || subState === 'beep_timeout'),
    carrierResult: subState ? `${status}:${subState}` : status,
    raw,
  };
  return event;
}
