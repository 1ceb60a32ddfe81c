import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { TelephonyRealtimeTransport } from '../src/index.js';
import {
  FakeCarrier,
  FakeRealtimeServer,
  ManualClock,
  TestProtocol,
  until,
  wire,
} from '@switchboard/conformance/testing';

// What a loaded machine does to a call: the bridge's event loop stalls, and replies run late.
// Conditions are awaited with generous deadlines; nothing here depends on how fast the machine is.

const mulaw = (n: number, fill: number) => new Uint8Array(n).fill(fill);

let server: FakeRealtimeServer;
let url: string;
const cleanups: Array<() => unknown> = [];

beforeEach(async () => {
  server = new FakeRealtimeServer();
  url = await server.start();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await server.stop();
});

/** A carrier on a real loopback socket: what it sends waits in the socket while the bridge is stalled. */
async function loopbackCarrier(): Promise<{ carrier: WebSocket; bridgeSide: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const bridgeSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const carrier = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  await new Promise<void>((resolve, reject) => {
    carrier.once('open', () => resolve());
    carrier.once('error', reject);
  });
  cleanups.push(async () => {
    carrier.terminate();
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return { carrier, bridgeSide: await bridgeSide };
}

/** Blocks the event loop for `ms`, as a long GC pause or a descheduled process does. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('a stalled bridge', () => {
  it('takes a stall of its own event loop for no quiet line: what arrived meanwhile is read first', async () => {
    const { carrier, bridgeSide } = await loopbackCarrier();
    const t = new TelephonyRealtimeTransport({
      connection: bridgeSide,
      protocol: new TestProtocol(),
      url,
      inputAudioInactivityTimeoutMs: 300,
    });
    cleanups.push(() => t.close());
    carrier.send(wire.start());
    await t.connect({ apiKey: 'sk-test' });
    carrier.send(wire.audio(mulaw(160, 1), 1, 0));
    await until(() => server.inputAudio().byteLength >= 160, 20_000);
    const started = new Promise((resolve) => t.once('input_audio_buffer.speech_started', resolve));
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await started;
    // The bridge stalls for twice the inactivity timeout in the same turn of its event loop as it
    // read the caller's latest frame (a listener of that frame's raw event starts it, after the
    // I/O phase: the next loop runs its due timers first), so the line was not quiet when the
    // stall began however slow the machine was before; the caller's next frame and the end of the
    // turn are on their way during it.
    await new Promise<void>((resolve) => {
      const onEvent = (event: { type?: string }) => {
        if (event?.type !== 'testcarrier_message') return;
        t.off('*', onEvent);
        setImmediate(() => {
          carrier.send(wire.audio(mulaw(160, 3), 3, 40));
          server.send({ type: 'input_audio_buffer.speech_stopped', item_id: 'u1', audio_end_ms: 60 });
          stall(600);
          resolve();
        });
      };
      t.on('*', onEvent);
      carrier.send(wire.audio(mulaw(160, 2), 2, 20));
    });
    await until(() => server.inputAudio().byteLength >= 480, 20_000);
    await until(() => server.received.length > 0 && t.metrics.framesIn >= 4, 20_000);
    // The line never went quiet: no inactivity silence, the model has exactly the three frames.
    expect(t.metrics.inactivityPaddedMs).toBe(0);
    expect(server.inputAudio()).toEqual(new Uint8Array([...mulaw(160, 1), ...mulaw(160, 2), ...mulaw(160, 3)]));
  });

  // The bridge cancels a reply at a barge-in and drops the audio of it still on the way. When the
  // caller had heard everything that had arrived (the reply ran late: nothing was left to play),
  // the barge-in truncates nothing; once audio of the item is dropped, the item is truncated at
  // what was heard, so the model does not keep audio the caller never heard.
  it('truncates a cancelled reply at what the caller heard when it drops audio still on the way', async () => {
    const carrier = new FakeCarrier();
    const t = new TelephonyRealtimeTransport({
      connection: carrier,
      protocol: new TestProtocol(),
      url,
      inputAudioInactivityTimeoutMs: null,
    });
    cleanups.push(() => t.close());
    carrier.deliver(wire.start());
    await t.connect({ apiKey: 'sk-test' });
    // 100 ms of the reply arrives, is sent, and the carrier has played it (its mark comes back).
    server.respond('resp_1', 'item_1', [mulaw(800, 1)], { done: false });
    await until(() => carrier.commands().some((c) => c.type === 'mark'), 20_000);
    const mark = carrier.commands().find((c) => c.type === 'mark') as { name: string };
    carrier.deliver(wire.ack(mark.name));
    // The caller speaks while the next part of the reply is late: nothing to clear, the response is cancelled.
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await server.waitFor((e) => e.type === 'response.cancel', 20_000);
    expect(carrier.commands().some((c) => c.type === 'clear')).toBe(false);
    // 200 ms more of it were already on their way: dropped.
    server.delta('resp_1', 'item_1', mulaw(1600, 2));
    server.finish('resp_1', 'item_1', 'cancelled');
    await until(() => t.metrics.lateAudioDroppedBytes === 1600, 20_000);
    const truncate = await server.waitFor((e) => e.type === 'conversation.item.truncate', 2000);
    expect(truncate).toMatchObject({ item_id: 'item_1', content_index: 0, audio_end_ms: 100 });
  });

  // A bridge that paces its output holds most of a reply while the carrier plays the rest. When
  // the reply's response is done at a moment the carrier has played everything sent so far (the
  // pump ran late: an underrun), the playback ledger used to forget the item although the bridge still
  // held audio of it; the audio sent next was filed under a new entry with no content, so a
  // barge-in would clear and discard the rest without truncating the item. The ledger keeps an
  // item until all of its audio has been sent.
  it('truncates a paced reply whose response ended during an underrun', async () => {
    const carrier = new FakeCarrier();
    const clock = new ManualClock();
    const t = new TelephonyRealtimeTransport({
      connection: carrier,
      protocol: new TestProtocol({ playbackAck: 'none', pacing: { leadMs: 100 } }),
      url,
      clock,
      inputAudioInactivityTimeoutMs: null,
    });
    cleanups.push(() => t.close());
    carrier.deliver(wire.start());
    await t.connect({ apiKey: 'sk-test' });
    const audioOut = () => carrier.commands().filter((c) => c.type === 'audio').length;
    // One second of reply: the bridge sends its 100 ms lead and holds the rest.
    server.respond('resp_1', 'item_1', [mulaw(8000, 1)], { done: false });
    await until(() => audioOut() > 0, 20_000);
    const sentFirst = audioOut();
    // The pump is late (its timer has not run) while the carrier plays out what it has...
    clock.time += 300;
    // ...and the response ends meanwhile.
    const done = new Promise((resolve) => t.once('response.done', resolve));
    server.finish('resp_1', 'item_1');
    await done;
    // The pump catches up: the next 100 ms go out, of which the caller hears 40 ms.
    clock.advance(0);
    expect(audioOut()).toBeGreaterThan(sentFirst);
    clock.time += 40;
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => carrier.commands().some((c) => c.type === 'clear'), 20_000);
    const truncate = await server.waitFor((e) => e.type === 'conversation.item.truncate', 2000);
    expect(truncate).toMatchObject({ item_id: 'item_1', audio_end_ms: 140 });
  });
});
