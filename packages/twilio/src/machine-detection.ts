/**
 * Twilio's answering machine detection, as delivered to a call.
 *
 * A call placed with `MachineDetection` and `AsyncAmd=true` makes Twilio request the
 * `AsyncAmdStatusCallback` URL once it has decided, with `CallSid`, `AccountSid`, `AnsweredBy` and
 * `MachineDetectionDuration` (ms) (https://www.twilio.com/docs/voice/answering-machine-detection).
 * Synchronous detection sends the same `AnsweredBy` with the request for the call's `url`, so the
 * same reader serves both. `AnsweredBy` is one of
 * - `human`, `fax`, `unknown`;
 * - `machine_start` (`MachineDetection=Enable`: a machine, its greeting still playing);
 * - `machine_end_beep`, `machine_end_silence`, `machine_end_other` (`DetectMessageEnd`: the
 *   greeting is over, a message can be left now).
 *
 * `CallSid` is the call's sid, the same id the call's Media Stream carries as `start.callSid`
 * (the transport's `callStart.callId`), so a `CallDirectory` finds the call by it.
 */
import type { MachineDetectionEvent } from '@switchboard/core';

/** The callback's parameters: the form body (POST) or the query (GET), as parsed. */
export type TwilioMachineDetectionParams = URLSearchParams | Record<string, unknown>;

const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
/** SignalWire's call ids are UUIDs. */
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** The longest value kept in `raw`; a callback's fields are short. */
const MAX_RAW_VALUE = 1024;
/** At most this many fields are kept in `raw`. */
const MAX_RAW_FIELDS = 64;

const ANSWERED_BY: Readonly<
  Record<string, { answeredBy: MachineDetectionEvent['answeredBy']; greetingEnded: boolean }>
> = {
  human: { answeredBy: 'human', greetingEnded: false },
  machine_start: { answeredBy: 'machine', greetingEnded: false },
  machine_end_beep: { answeredBy: 'machine', greetingEnded: true },
  machine_end_silence: { answeredBy: 'machine', greetingEnded: true },
  machine_end_other: { answeredBy: 'machine', greetingEnded: true },
  fax: { answeredBy: 'fax', greetingEnded: false },
  unknown: { answeredBy: 'unknown', greetingEnded: false },
};

function reader(params: TwilioMachineDetectionParams): (name: string) => string | undefined {
  if (params instanceof URLSearchParams) return (name) => params.get(name) ?? undefined;
  return (name) => {
    const value = Object.prototype.hasOwnProperty.call(params, name) ? params[name] : undefined;
    if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
    return typeof value === 'string' ? value : undefined;
  };
}

function rawFields(params: TwilioMachineDetectionParams, read: (name: string) => string | undefined) {
  const raw: Record<string, string> = {};
  const names = params instanceof URLSearchParams ? [...new Set(params.keys())] : Object.keys(params);
  for (const name of names.slice(0, MAX_RAW_FIELDS)) {
    const value = read(name);
    if (value !== undefined) raw[name] = value.slice(0, MAX_RAW_VALUE);
  }
  return raw;
}

/**
 * The answering machine detection result of a Twilio callback as a `MachineDetectionEvent` for
 * the call (`callId` = `CallSid`), or `undefined` when the parameters are not one (no `CallSid`,
 * no or an unknown `AnsweredBy`). Verify the request first (`assertTwilioSignature` with the
 * callback's URL and these parameters): this reads, it does not authenticate.
 *
 * SignalWire's compatibility API sends the same callback; its call ids (UUIDs) are accepted too.
 */
export function readTwilioMachineDetection(params: TwilioMachineDetectionParams): MachineDetectionEvent | undefined {
  if (!params || typeof params !== 'object') return undefined;
  const read = reader(params);
  const callId = read('CallSid');
  if (callId === undefined || !(CALL_SID.test(callId) || UUID.test(callId))) return undefined;
  const carrierResult = read('AnsweredBy');
  if (carrierResult === undefined || !Object.prototype.hasOwnProperty.call(ANSWERED_BY, carrierResult))
    return undefined;
  const { answeredBy, greetingEnded } = ANSWERED_BY[carrierResult]!;
  const event: MachineDetectionEvent = {
    type: 'machine_detection',
    callId,
    carrier: UUID.test(callId) ? 'signalwire' : 'twilio',
    answeredBy,
    greetingEnded,
    carrierResult,
    raw: rawFields(params, read),
  };
  const duration = read('MachineDetectionDuration');
  if (duration !== undefined && /^\d{1,9}$/.test(duration)) event.detectionMs = Number(duration);
  return event;
}
