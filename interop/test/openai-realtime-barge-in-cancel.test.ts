/**
 * The barge-in's `response.cancel` and the service's refusal of it, held against the `openai`
 * SDK's realtime types (openai@7.57.0, resources/realtime/realtime.d.ts), with the Agents SDK
 * (@openai/agents-realtime 0.20.0) running the session:
 *
 * - the cancel the transport sends has only the fields of the SDK's `ResponseCancelEvent`
 *   (`type`, `event_id`, `response_id`), each a string;
 * - a refusal written as the SDK's `RealtimeErrorEvent` (code `response_cancel_not_active`,
 *   `error.event_id` naming the cancel) is recognised and reaches the session as no error; the same
 *   refusal naming another client event still does.
 */
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import type { RealtimeErrorEvent, ResponseCancelEvent } from 'openai/resources/realtime/realtime';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { TelephonyRealtimeTransport } from '@switchboard/core';
import { TestProtocol, until, useTransportRig, wire } from '@switchboard/conformance/testing';

/** Every field of the SDK's cancel event: the compiler checks the list is exactly its keys. */
const CANCEL_FIELDS = ['type', 'event_id', 'response_id'] as const satisfies ReadonlyArray<keyof ResponseCancelEvent>;
type Missing = Exclude<keyof ResponseCancelEvent, (typeof CANCEL_FIELDS)[number]>;
const allFields: [Missing] extends [never] ? true : false = true;

const rig = useTransportRig(
  { beforeEach, afterEach },
  (connection, url) =>
    new TelephonyRealtimeTransport({
      connection,
      protocol: new TestProtocol(),
      url,
      inputAudioInactivityTimeoutMs: null,
    }),
);
let session: RealtimeSession | undefined;
// Runs before the rig closes the transport and stops the model (after-hooks run last-first).
afterEach(() => {
  session?.close();
});

it('sends a cancel shaped as the SDK types it, and takes the SDK-typed refusal of it as no error', async () => {
  expect(allFields).toBe(true);
  const { model: server, carrier } = rig;
  const transport = rig.make();
  carrier.deliver(wire.start());
  session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), {
    transport,
    model: 'gpt-realtime',
    config: { audio: { input: { turnDetection: { type: 'server_vad', interruptResponse: false } } } },
  });
  const errors: unknown[] = [];
  session.on('error', (e) => errors.push(e));
  await session.connect({ apiKey: 'sk-test' });
  await until(() => server.ofType('session.update').length > 0);

  server.respond('resp_1', 'item_1', [new Uint8Array(800).fill(1), new Uint8Array(800).fill(2)], { done: false });
  await until(() => carrier.commands().some((c) => c.type === 'audio'));
  server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
  const cancel = await server.waitFor((e) => e.type === 'response.cancel');
  expect(Object.keys(cancel).sort()).toEqual([...CANCEL_FIELDS].sort());
  for (const field of CANCEL_FIELDS) expect(typeof cancel[field]).toBe('string');
  expect(cancel.response_id).toBe('resp_1');

  server.finish('resp_1', 'item_1');
  const refusal = (eventId: string): RealtimeErrorEvent => ({
    type: 'error',
    event_id: `evt_refusal_${eventId}`,
    error: {
      type: 'invalid_request_error',
      code: 'response_cancel_not_active',
      message: 'Cancellation failed: response resp_1 is not in progress.',
      param: null,
      event_id: eventId,
    },
  });
  server.send({ ...refusal(cancel.event_id as string) });
  server.send({ ...refusal('someone_else') });
  await until(() => errors.length > 0);
  expect(errors).toHaveLength(1);
  expect(JSON.stringify(errors[0])).toContain('someone_else');
});
