/**
 * Telnyx answering machine detection results as the core's {@link MachineDetectionEvent}.
 *
 * A call dialled with `answering_machine_detection` gets these webhooks
 * (https://developers.telnyx.com/api/call-control/dial-call, the `telnyx` SDK's
 * `CallMachine*WebhookEvent` types), each `{"data":{"event_type":…,"payload":{"call_control_id":…,"result":…}}}`:
 *
 * - `call.machine.detection.ended`: `human`, `machine`, `not_sure`
 * - `call.machine.greeting.ended`: `beep_detected`, `ended`, `not_sure`
 * - `call.machine.premium.detection.ended`: `human_residence`, `human_business`, `machine`,
 *   `silence`, `fax_detected`, `not_sure`
 * - `call.machine.premium.greeting.ended`: `beep_detected`, `no_beep_detected`
 *
 * The event's `callId` is `payload.call_control_id`: the id Telnyx also puts in the media
 * stream's `start.call_control_id`, which the transport reports as `callStart.callId`, so a
 * `CallDirectory` matches the two.
 */
import type { MachineDetectionEvent } from '@switchboard/core';
import { isJsonObject } from '@switchboard/core/protocol';
import { assertTelnyxWebhook, type ValidateTelnyxWebhookOptions } from './signature.js';

type Reading = Pick<MachineDetectionEvent, 'answeredBy' | 'greetingEnded'>;

const DETECTION: Record<string, Reading> = {
  human: { answeredBy: 'human', greetingEnded: false },
  human_residence: { answeredBy: 'human', greetingEnded: false },
  human_business: { answeredBy: 'human', greetingEnded: false },
  machine: { answeredBy: 'machine', greetingEnded: false },
  fax_detected: { answeredBy: 'fax', greetingEnded: false },
  // Nobody spoke within the analysis time: a dead line or a person who waits.
  silence: { answeredBy: 'unknown', greetingEnded: false },
  not_sure: { answeredBy: 'unknown', greetingEnded: false },
};

/**
 * A greeting result is sent only for a call a machine answered. Every result means Telnyx has
 * stopped listening to the greeting (a beep, silence after it, or the greeting analysis time ran
 * out: `not_sure`, `no_beep_detected`); no later event comes, so each says "speak now".
 */
const GREETING: Record<string, Reading> = {
  beep_detected: { answeredBy: 'machine', greetingEnded: true },
  ended: { answeredBy: 'machine', greetingEnded: true },
  not_sure: { answeredBy: 'machine', greetingEnded: true },
  no_beep_detected: { answeredBy: 'machine', greetingEnded: true },
};

const TABLES: Record<string, Record<string, Reading>> = {
  'call.machine.detection.ended': DETECTION,
  'call.machine.premium.detection.ended': DETECTION,
  'call.machine.greeting.ended': GREETING,
  'call.machine.premium.greeting.ended': GREETING,
};

/** Webhook bodies are small; a larger one is not a detection result. */
const MAX_BODY = 64 * 1024;
const decoder = new TextDecoder();

function parse(body: string | Uint8Array): unknown {
  if (body.length > MAX_BODY) return undefined;
  try {
    return JSON.parse(typeof body === 'string' ? body : decoder.decode(body)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Reads a Telnyx webhook as a machine detection result. Takes the parsed body (`{ data: … }`),
 * its `data` object, or the raw body (a string or bytes). Any other webhook, and anything
 * malformed, gives `undefined`; nothing throws. Verify the webhook first
 * ({@link readVerifiedTelnyxMachineDetection} does both).
 */
export function readTelnyxMachineDetection(webhook: unknown): MachineDetectionEvent | undefined {
  const body = typeof webhook === 'string' || webhook instanceof Uint8Array ? parse(webhook) : webhook;
  if (!isJsonObject(body)) return undefined;
  const data = isJsonObject(body['data']) ? body['data'] : body;
  const type = data['event_type'];
  const payload = data['payload'];
  if (typeof type !== 'string' || !isJsonObject(payload)) return undefined;
  const table = Object.hasOwn(TABLES, type) ? TABLES[type] : undefined;
  if (table === undefined) return undefined;
  const callId = payload['call_control_id'];
  const result = payload['result'];
  if (typeof callId !== 'string' || callId.length === 0 || typeof result !== 'string') return undefined;
  const reading = Object.hasOwn(table, result) ? table[result] : undefined;
  const greeting = table === GREETING;
  return {
    type: 'machine_detection',
    callId,
    carrier: 'telnyx',
    // A result this code does not know yet: what the event type alone tells.
    answeredBy: reading?.answeredBy ?? (greeting ? 'machine' : 'unknown'),
    greetingEnded: reading?.greetingEnded ?? greeting,
    carrierResult: result,
    raw: data,
  };
}

/**
 * Verifies a webhook's Ed25519 signature (throwing a `WebhookSignatureError` when it fails, like
 * `assertTelnyxWebhook`), then reads it with {@link readTelnyxMachineDetection}.
 */
export async function readVerifiedTelnyxMachineDetection(
  options: ValidateTelnyxWebhookOptions,
): Promise<MachineDetectionEvent | undefined> {
  await assertTelnyxWebhook(options);
  return typeof options.body === 'string' || options.body instanceof Uint8Array
    ? readTelnyxMachineDetection(options.body)
    : undefined;
}
