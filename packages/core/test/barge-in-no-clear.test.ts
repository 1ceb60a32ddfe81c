import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TelephonyRealtimeTransport } from '../src/index.js';
import { TestProtocol, until, useTransportRig, wire } from '@switchboard/conformance/testing';

// A carrier that cannot clear keeps playing everything it was sent: at a barge-in the caller
// goes on to hear all of it, so the model is told that much was heard, not what had played by then.

let clock: number;
let session: RealtimeSession | undefined;
let canClear = false;

const rig = useTransportRig(
  { beforeEach, afterEach },
  (connection, url) =>
    new TelephonyRealtimeTransport({
      connection,
      protocol: new TestProtocol({ clear: canClear }),
      url,
      now: () => clock,
      inputAudioInactivityTimeoutMs: null,
    }),
);

beforeEach(() => {
  clock = 1_000_000;
});

afterEach(() => {
  session?.close();
  session = undefined;
});

async function bargeInAfter(playedMs: number) {
  const transport = rig.make();
  rig.carrier.deliver(wire.start());
  session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), {
    transport,
    model: 'gpt-realtime',
    config: { audio: { input: { turnDetection: { type: 'server_vad', interruptResponse: false } } } },
  });
  session.on('error', () => undefined);
  await session.connect({ apiKey: 'sk-test' });
  await until(
    () =>
      (transport as unknown as { _rawSessionConfig: any })._rawSessionConfig?.audio?.input?.turn_detection !==
      undefined,
  );
  // Five deltas of 100 ms, all handed to the carrier; no mark comes back.
  rig.model.respond(
    'resp_1',
    'item_1',
    Array.from({ length: 5 }, (_, i) => new Uint8Array(800).fill(i)),
    { done: false },
  );
  await until(() => rig.carrier.commands().filter((c) => c.type === 'audio').length >= 5);
  clock += playedMs;
  rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
  await rig.model.waitFor((e) => e.type === 'response.cancel');
  const truncates = rig.model.ofType('conversation.item.truncate') as unknown as Array<{ audio_end_ms: number }>;
  return { truncates, clears: rig.carrier.commands().filter((c) => c.type === 'clear').length };
}

describe('barge-in on a carrier without clear', () => {
  it('sends no clear and truncates nothing the carrier was sent, since the caller hears all of it', async () => {
    canClear = false;
    const { truncates, clears } = await bargeInAfter(120);
    expect(clears).toBe(0);
    // All 500 ms reached the carrier and will play: the item was heard whole, nothing to truncate.
    expect(truncates).toEqual([]);
  });

  it('a carrier that can clear is truncated where the caller stopped hearing', async () => {
    canClear = true;
    const { truncates, clears } = await bargeInAfter(120);
    expect(clears).toBe(1);
    expect(truncates).toHaveLength(1);
    expect(truncates[0]!.audio_end_ms).toBeLessThan(500);
  });
});
