/**
 * Reading Wavix's `on-call` webhook: the POST Wavix sends your callback URL when a call is set up,
 * rings, is answered, ends, or has an in-call event (a playback or a DTMF collection). The body is
 * the call object of Wavix's OpenAPI description (`webhooks.OnCallEvent`, schema `Call`): `uuid`
 * (and its alias `id`), `direction`, `event_type`, `event_payload`, `from`, `to`, timestamps and
 * `tag`. Wavix does not sign it: check what it claims against Call Control, or let only the call
 * ids it names reach your stream route (see `signWavixStreamUrl`).
 */
import { ProtocolError } from '@switchboard/core';
import { isJsonObject, nonEmptyString } from '@switchboard/core/protocol';

/** The call lifecycle events Wavix reports, as its OpenAPI description lists them. */
export type WavixCallEventType =
  | 'call_setup'
  | 'ringing'
  | 'early_media'
  | 'answered'
  | 'completed'
  | 'busy'
  | 'cancelled'
  | 'rejected'
  | 'on_call_event';

/** What an `on-call` webhook says. */
export type WavixCallWebhook = {
  /** The call's id: what `WavixCallControl` takes and the stream's `start.call_id` names. */
  callId: string;
  /** The event; an event type Wavix adds later comes through as sent. */
  eventType: WavixCallEventType | (string & {});
  direction?: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  /** For `on_call_event` of type `collect` with status `completed`: the digits the caller pressed. */
  digits?: string;
  /** The call's `tag` (your metadata), when not empty. */
  tag?: string;
  /** The parsed body. */
  raw: Record<string, unknown>;
};

/** Code of the ProtocolError for a webhook body that is not a Wavix call event. */
export const WAVIX_WEBHOOK_ERROR_CODE = 'wavix_invalid_webhook';

function fail(message: string, body: unknown): never {
  throw new ProtocolError('wavix', message, { frame: body, code: WAVIX_WEBHOOK_ERROR_CODE });
}

/**
 * Reads an `on-call` webhook body (the parsed JSON, or its text). Throws a `ProtocolError` (code
 * `wavix_invalid_webhook`) for a body that names no call or no event.
 */
export function readWavixCallWebhook(body: unknown): WavixCallWebhook {
  let value = body;
  if (typeof body === 'string') {
    if (body.length > 100_000) fail('webhook body longer than 100000 characters', body);
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      fail('webhook body is not JSON', body);
    }
  }
  if (!isJsonObject(value)) fail('webhook body is not a JSON object', body);
  const callId = nonEmptyString(value['uuid']) ?? nonEmptyString(value['id']);
  if (callId === undefined) fail('webhook body names no call (no uuid or id)', body);
  const eventType = nonEmptyString(value['event_type']);
  if (eventType === undefined) fail('webhook body has no event_type', body);
  const webhook: WavixCallWebhook = { callId, eventType, raw: value };
  const direction = value['direction'];
  if (direction === 'inbound' || direction === 'outbound') webhook.direction = direction;
  const from = nonEmptyString(value['from']);
  if (from !== undefined) webhook.from = from;
  const to = nonEmptyString(value['to']);
  if (to !== undefined) webhook.to = to;
  const tag = nonEmptyString(value['tag']);
  if (tag !== undefined) webhook.tag = tag;
  const payload = value['event_payload'];
  if (isJsonObject(payload) && payload['type'] === 'collect' && isJsonObject(payload['payload'])) {
    const collect = payload['payload'];
    const digits = nonEmptyString(collect['digits']);
    if (collect['status'] === 'completed' && digits !== undefined) webhook.digits = digits;
  }
  return webhook;
}
