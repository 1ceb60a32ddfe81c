import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  type EndAfterPlaybackResult,
  type HangUpRequest,
  type TelephonyRealtimeTransport,
} from '../src/index.js';
import { until, wire } from '@switchboard/conformance/testing';
import { useCoreTransport } from './helpers/transport.js';

const mulaw = (n: number, fill: number) => new Uint8Array(n).fill(fill);

const rig = useCoreTransport({ beforeEach, afterEach });
const connected = rig.connected;

const marks = () => rig.carrier.commands().filter((c) => c.type === 'mark') as Array<{ type: 'mark'; name: string }>;
const audioMs = () =>
  rig.carrier
    .commands()
    .filter((c) => c.type === 'audio')
    .reduce((ms, c) => ms + (c as { payload: Uint8Array }).payload.byteLength / 8, 0);

/** The model says a goodbye of `deltas` × 100 ms, all of which reaches the carrier. */
async function goodbye(t: TelephonyRealtimeTransport, deltas = 5, id = 'resp_bye') {
  const ends: string[] = [];
  t.on('response.done', (e) => ends.push(e.response.id!));
  rig.server.respond(
    id,
    `item_${id}`,
    Array.from({ length: deltas }, (_, i) => mulaw(800, i + 1)),
  );
  await until(() => ends.includes(id) && audioMs() + t.outputQueuedBytes / 8 >= deltas * 100);
}

function settled<T>(promise: Promise<T>) {
  const state: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(state, { value, done: true }),
    (error: unknown) => Object.assign(state, { error, done: true }),
  );
  return state;
}

describe('endAfterPlayback on a carrier that acknowledges playback', () => {
  it('hangs up only once every mark of the goodbye came back, then ends with agent_hangup', async () => {
    const t = await connected();
    const ends: string[] = [];
    t.on('call_end', (e) => ends.push(e.reason));
    await goodbye(t);
    const result = settled(t.endAfterPlayback());
    const sent = marks();
    expect(sent.length).toBeGreaterThan(1);
    // The carrier plays for a while; the clock runs past the playout but acks are missing.
    rig.clock.advance(2000);
    for (const mark of sent.slice(0, -1)) rig.carrier.deliver(wire.ack(mark.name));
    await new Promise((r) => setTimeout(r, 20));
    expect(rig.carrier.closed).toBe(false);
    expect(result.done).toBe(false);
    rig.carrier.deliver(wire.ack(sent.at(-1)!.name));
    await until(() => result.done);
    expect(result.value).toMatchObject({ reason: 'agent_hangup', heardAll: true });
    expect(result.value!.waitedMs).toBeGreaterThanOrEqual(2000);
    expect(rig.carrier.closed).toBe(true);
    expect(ends).toEqual(['agent_hangup']);
    expect(t.endReason).toBe('agent_hangup');
  });

  it('is bounded: a carrier that never acks does not keep the call up past timeoutMs', async () => {
    const t = await connected();
    await goodbye(t);
    const result = settled(t.endAfterPlayback({ timeoutMs: 3000, reason: 'goodbye' }));
    rig.clock.advance(2999);
    await new Promise((r) => setTimeout(r, 20));
    expect(result.done).toBe(false);
    expect(rig.carrier.closed).toBe(false);
    rig.clock.advance(1);
    await until(() => result.done);
    expect(result.value).toEqual<EndAfterPlaybackResult>({ reason: 'goodbye', heardAll: false, waitedMs: 3000 });
    expect(rig.carrier.closed).toBe(true);
    expect(t.endReason).toBe('goodbye');
  });

  it('waits for the response in flight to be done before it looks at playback', async () => {
    const t = await connected();
    const created: string[] = [];
    t.on('response.created', (e) => created.push(e.response.id!));
    rig.server.respond('resp_1', 'item_1', [mulaw(800, 1)], { done: false });
    await until(() => created.includes('resp_1') && audioMs() >= 100);
    const result = settled(t.endAfterPlayback());
    for (const mark of marks()) rig.carrier.deliver(wire.ack(mark.name));
    rig.clock.advance(1000);
    await new Promise((r) => setTimeout(r, 20));
    expect(result.done).toBe(false);
    // The rest of the reply, and its end.
    rig.server.delta('resp_1', 'item_1', mulaw(800, 2));
    rig.server.finish('resp_1', 'item_1');
    await until(() => audioMs() >= 200 && marks().length >= 2);
    expect(result.done).toBe(false);
    for (const mark of marks()) rig.carrier.deliver(wire.ack(mark.name));
    await until(() => result.done);
    expect(result.value).toMatchObject({ heardAll: true });
  });

  it('a caller who hangs up during the wait ends it: not heard in full, with the carrier’s reason', async () => {
    const t = await connected();
    await goodbye(t);
    const result = settled(t.endAfterPlayback());
    rig.carrier.deliver(wire.stop());
    await until(() => result.done);
    expect(result.value).toMatchObject({ reason: 'stop', heardAll: false });
  });

  it('ends at once when nothing is playing', async () => {
    const t = await connected();
    await expect(t.endAfterPlayback()).resolves.toEqual({ reason: 'agent_hangup', heardAll: true, waitedMs: 0 });
    expect(rig.carrier.closed).toBe(true);
  });

  it('is idempotent, and after the call ended reports the reason it ended with', async () => {
    const t = await connected();
    const first = t.endAfterPlayback({ reason: 'first' });
    expect(t.endAfterPlayback({ reason: 'second' })).toBe(first);
    await first;
    expect(t.endReason).toBe('first');
    rig.newCarrier();
    const other = await connected();
    other.end('carrier_gone');
    await expect(other.endAfterPlayback()).resolves.toMatchObject({ reason: 'carrier_gone', heardAll: false });
  });

  it('refuses a bad timeout with a ConfigError (a rejected promise, nothing thrown)', async () => {
    const t = await connected();
    await expect(t.endAfterPlayback({ timeoutMs: -1 })).rejects.toBeInstanceOf(ConfigError);
    expect(rig.carrier.closed).toBe(false);
  });
});

describe('endAfterPlayback on a carrier without acks (the playout clock)', () => {
  it('hangs up once the playout clock is past the end of the goodbye', async () => {
    const t = await connected({ playbackAck: 'none' });
    await goodbye(t, 5);
    const result = settled(t.endAfterPlayback());
    rig.clock.advance(400);
    await new Promise((r) => setTimeout(r, 20));
    expect(result.done).toBe(false);
    rig.clock.advance(200);
    await until(() => result.done);
    expect(result.value).toMatchObject({ reason: 'agent_hangup', heardAll: true });
    expect(result.value!.waitedMs).toBeGreaterThanOrEqual(500);
    expect(rig.carrier.closed).toBe(true);
  });

  it('on a paced carrier waits for the audio held in the transport too', async () => {
    const t = await connected({ playbackAck: 'none', pacing: { leadMs: 200 } });
    await goodbye(t, 10);
    expect(t.outputQueuedBytes).toBeGreaterThan(0);
    const result = settled(t.endAfterPlayback());
    for (let i = 0; i < 9 && !result.done; i++) rig.clock.advance(100);
    await new Promise((r) => setTimeout(r, 20));
    expect(result.done).toBe(false);
    for (let i = 0; i < 5 && !result.done; i++) {
      rig.clock.advance(100);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => result.done);
    expect(audioMs()).toBe(1000);
    expect(result.value).toMatchObject({ heardAll: true });
  });
});

describe('the hangUp option', () => {
  it('is called with the call’s ids before the call ends; a carrier that closes meanwhile still ends as agent_hangup', async () => {
    const calls: HangUpRequest[] = [];
    let closedAtHangUp: boolean | undefined;
    const t = await connected(
      {},
      {
        hangUp: async (call) => {
          calls.push(call);
          closedAtHangUp = rig.carrier.closed;
          // The carrier takes the call down and closes the stream before the REST call returns.
          rig.carrier.close();
        },
      },
    );
    const ends: string[] = [];
    t.on('call_end', (e) => ends.push(e.reason));
    const result = await t.endAfterPlayback({ reason: 'done_here' });
    expect(calls).toEqual([{ reason: 'done_here', callId: 'call-1', streamId: 'S1' }]);
    expect(closedAtHangUp).toBe(false);
    expect(ends).toEqual(['done_here']);
    expect(result.reason).toBe('done_here');
  });

  it('that throws or rejects becomes an error event, and the call still ends', async () => {
    for (const hangUp of [
      () => {
        throw new Error('sync boom');
      },
      () => Promise.reject(new Error('async boom')),
    ]) {
      rig.newCarrier();
      const t = await connected({}, { hangUp });
      const errors: unknown[] = [];
      t.on('error', (e) => errors.push(e.error));
      await expect(t.endAfterPlayback()).resolves.toMatchObject({ reason: 'agent_hangup' });
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toMatch(/boom/);
      expect(rig.carrier.closed).toBe(true);
    }
  });

  it('that never settles does not keep the call up', async () => {
    const t = await connected({}, { hangUp: () => new Promise(() => undefined) });
    const result = settled(t.endAfterPlayback());
    await new Promise((r) => setTimeout(r, 20));
    expect(result.done).toBe(false);
    rig.clock.advance(10_000);
    await until(() => result.done);
    expect(rig.carrier.closed).toBe(true);
  });
});

describe('a response started after endAfterPlayback', () => {
  it('is cancelled, none of its audio is played, and it is counted', async () => {
    const t = await connected();
    await goodbye(t);
    const result = settled(t.endAfterPlayback());
    const before = audioMs();
    rig.server.respond('resp_more', 'item_more', [mulaw(800, 9), mulaw(800, 9)], { done: false });
    await rig.server.waitFor((e) => e.type === 'response.cancel' && e.response_id === 'resp_more');
    await until(() => t.metrics.lateAudioDroppedBytes >= 1600);
    expect(audioMs()).toBe(before);
    expect(t.metrics.responsesCancelledAtHangUp).toBe(1);
    // The goodbye's own audio still plays out before the hang-up.
    expect(result.done).toBe(false);
    for (const mark of marks()) rig.carrier.deliver(wire.ack(mark.name));
    await until(() => result.done);
    expect(result.value).toMatchObject({ heardAll: true });
  });
});
