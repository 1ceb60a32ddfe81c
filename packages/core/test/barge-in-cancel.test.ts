import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TelephonyRealtimeTransport } from '../src/index.js';
import { TestProtocol, tick, until, useTransportRig, wire } from '@switchboard/conformance/testing';

// A barge-in's `response.cancel` can cross the end of the response on the wire: the model
// finished the reply (or, with `interrupt_response`, cancelled it itself) just before the cancel
// arrived, and the service answers `response_cancel_not_active`. The caller has stopped hearing
// the reply by then and its item is truncated; that answer is no error of the call.

const mulaw = (n: number, fill: number) => new Uint8Array(n).fill(fill);

let clock: number;
let session: RealtimeSession | undefined;

const rig = useTransportRig(
  { beforeEach, afterEach },
  (connection, url) =>
    new TelephonyRealtimeTransport({
      connection,
      protocol: new TestProtocol(),
      url,
      now: () => clock,
      inputAudioInactivityTimeoutMs: null,
    }),
);

beforeEach(() => {
  clock = 1_000_000;
});

// Runs before the rig closes the transport and stops the model (after-hooks run last-first).
afterEach(() => {
  session?.close();
  session = undefined;
});

/** A call with a RealtimeSession on it, as users run one; every `error` the session sees is kept. */
async function call(turnDetection: { type: 'server_vad' | 'semantic_vad'; interruptResponse: boolean }) {
  const transport = rig.make();
  rig.carrier.deliver(wire.start());
  const errors: unknown[] = [];
  session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), {
    transport,
    model: 'gpt-realtime',
    config: { audio: { input: { turnDetection } } },
  });
  session.on('error', (e) => errors.push(e));
  await session.connect({ apiKey: 'sk-test' });
  await until(() => rig.model.ofType('session.update').some((e) => (e.session as any)?.audio?.input?.turn_detection));
  // The SDK reads the session's turn detection from `session.updated`: wait until it has it.
  await until(
    () =>
      (transport as unknown as { _rawSessionConfig: any })._rawSessionConfig?.audio?.input?.turn_detection !==
      undefined,
  );
  return { t: transport, errors };
}

/** The model streams `n` deltas of 100 ms for `id` (not done), and the carrier got them. */
async function reply(id: string, itemId: string, n: number) {
  const before = rig.carrier.commands().filter((c) => c.type === 'audio').length;
  rig.model.respond(
    id,
    itemId,
    Array.from({ length: n }, (_, i) => mulaw(800, i)),
    { done: false },
  );
  await until(() => rig.carrier.commands().filter((c) => c.type === 'audio').length >= before + n);
}

function refuse(cancel: { event_id?: string; response_id?: string }) {
  rig.model.send({
    type: 'error',
    error: {
      type: 'invalid_request_error',
      code: 'response_cancel_not_active',
      message: cancel.response_id
        ? `Cancellation failed: response ${cancel.response_id} is not in progress.`
        : 'Cancellation failed: no active response found.',
      param: null,
      event_id: cancel.event_id ?? null,
    },
  });
}

describe('barge-in: a cancel that crosses the end of the response', () => {
  it('names the response and its own event id, and the refusal of it reaches no one as an error', async () => {
    const { t, errors } = await call({ type: 'server_vad', interruptResponse: false });
    await reply('resp_1', 'item_1', 5);
    clock += 120;
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    const cancel = (await rig.model.waitFor((e) => e.type === 'response.cancel')) as {
      event_id?: string;
      response_id?: string;
    };
    expect(cancel.response_id).toBe('resp_1');
    expect(typeof cancel.event_id).toBe('string');
    // The caller stopped hearing the reply at once, and the model learns where.
    expect(rig.carrier.commands().some((c) => c.type === 'clear')).toBe(true);
    const truncate = (await rig.model.waitFor((e) => e.type === 'conversation.item.truncate')) as any;
    expect(truncate.audio_end_ms).toBe(120);
    // The model had finished the reply before the cancel reached it.
    rig.model.finish('resp_1', 'item_1', 'completed');
    refuse(cancel);
    // A later error of another kind still comes through: the refusal was handled before it.
    rig.model.send({
      type: 'error',
      error: { type: 'invalid_request_error', code: 'something_else', message: 'later', param: null, event_id: null },
    });
    await until(() => errors.length > 0);
    expect(errors.map((e: any) => e.error?.error?.error?.code ?? e.error?.error?.code)).toEqual(['something_else']);
    expect(t.metrics.truncations).toEqual([{ itemId: 'item_1', contentIndex: 0, audioEndMs: 120, sentMs: 500 }]);
  });

  it('leaves alone a refusal of a cancel it did not send, and one without an event id', async () => {
    const { t, errors } = await call({ type: 'server_vad', interruptResponse: false });
    await reply('resp_1', 'item_1', 2);
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await rig.model.waitFor((e) => e.type === 'response.cancel');
    // The application's own cancel, refused: that one is the application's to see.
    t.sendEvent({ type: 'response.cancel', event_id: 'app_cancel_1' });
    refuse({ event_id: 'app_cancel_1' });
    refuse({});
    await until(() => errors.length >= 2);
    await tick(20);
    expect(errors).toHaveLength(2);
  });

  for (const turnDetection of [
    { type: 'server_vad', interruptResponse: true },
    { type: 'semantic_vad', interruptResponse: true },
  ] as const) {
    it(`${turnDetection.type} with interrupt_response: the server cancels its reply, the bridge clears and truncates without racing it`, async () => {
      const { t, errors } = await call(turnDetection);
      await reply('resp_1', 'item_1', 5);
      clock += 80;
      rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
      rig.model.finish('resp_1', 'item_1', 'cancelled');
      const truncate = (await rig.model.waitFor((e) => e.type === 'conversation.item.truncate')) as any;
      expect(truncate.audio_end_ms).toBe(80);
      expect(rig.carrier.commands().some((c) => c.type === 'clear')).toBe(true);
      // An application-level interrupt right after (a guardrail, a DTMF menu) crosses the
      // server's own cancel: nothing is generating any more, so nothing is cancelled again.
      t.interrupt();
      await tick(30);
      expect(rig.model.ofType('response.cancel')).toHaveLength(0);
      expect(errors).toHaveLength(0);
    });
  }
});
