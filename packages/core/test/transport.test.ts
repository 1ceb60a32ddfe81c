import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProtocolError, TelephonyRealtimeTransport, type TelephonyRealtimeTransportOptions } from '../src/index.js';
import { FakeCarrier, FakeRealtimeServer, TestProtocol, tick, until, wire } from '@switchboard/conformance/testing';

const isFullUpdate = (e: { type: string; session?: unknown }) =>
  e.type === 'session.update' && typeof (e.session as { audio?: unknown })?.audio === 'object';
const mulaw = (n: number, fill: number) => new Uint8Array(n).fill(fill);

let server: FakeRealtimeServer;
let url: string;
let carrier: FakeCarrier;
let clock: number;
let transport: TelephonyRealtimeTransport | undefined;

beforeEach(async () => {
  server = new FakeRealtimeServer();
  url = await server.start();
  carrier = new FakeCarrier();
  clock = 1_000_000;
});

afterEach(async () => {
  transport?.close();
  transport = undefined;
  await server.stop();
});

function makeTransport(options: Partial<TelephonyRealtimeTransportOptions> = {}) {
  transport = new TelephonyRealtimeTransport({
    connection: carrier,
    protocol: new TestProtocol(),
    url,
    now: () => clock,
    inputAudioInactivityTimeoutMs: null,
    ...options,
  });
  return transport;
}

async function connected(options: Partial<TelephonyRealtimeTransportOptions> = {}) {
  const t = makeTransport(options);
  carrier.deliver(wire.start());
  await t.connect({ apiKey: 'sk-test' });
  return t;
}

describe('format negotiation', () => {
  it('forces μ-law both ways under a RealtimeSession that seeds PCM 24 kHz defaults', async () => {
    const t = makeTransport();
    carrier.deliver(wire.start('S1', 'pcmu', 8000));
    const session = new RealtimeSession(new RealtimeAgent({ name: 'a' }), {
      transport: t,
      config: {
        audio: { input: { format: { type: 'audio/pcm', rate: 24000 } }, output: { format: 'pcm16', voice: 'verse' } },
      },
    });
    await session.connect({ apiKey: 'sk-test' });
    const first = (await server.waitFor(isFullUpdate)) as any;
    expect(first.session.audio.input.format).toEqual({ type: 'audio/pcmu' });
    expect(first.session.audio.output.format).toEqual({ type: 'audio/pcmu' });
    expect(first.session.audio.output.voice).toBe('verse');

    // A later update (agent handoff, updateAgent) keeps the call's format.
    await session.updateAgent(new RealtimeAgent({ name: 'b', instructions: 'second agent' }));
    await until(() => server.received.filter(isFullUpdate).length >= 2);
    for (const update of server.ofType('session.update') as any[]) {
      if (!update.session.audio) continue;
      expect(update.session.audio.input.format).toEqual({ type: 'audio/pcmu' });
      expect(update.session.audio.output.format).toEqual({ type: 'audio/pcmu' });
    }
    session.close();
  });

  it('passes A-law through as audio/pcma', async () => {
    const t = makeTransport();
    carrier.deliver(wire.start('S1', 'pcma', 8000));
    await t.connect({ apiKey: 'sk-test' });
    const update = (await server.waitFor(isFullUpdate)) as any;
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcma' });
    expect(update.session.audio.output.format).toEqual({ type: 'audio/pcma' });
  });

  it('resamples L16 16 kHz to PCM16 24 kHz and re-configures a session opened before the start', async () => {
    const t = makeTransport();
    await t.connect({ apiKey: 'sk-test' });
    const before = (await server.waitFor(isFullUpdate)) as any;
    expect(before.session.audio.input.format).toEqual({ type: 'audio/pcmu' });

    carrier.deliver(wire.start('S1', 'l16', 16000));
    await until(() => server.received.filter(isFullUpdate).length >= 2);
    const after = server.received.filter(isFullUpdate).at(-1) as any;
    expect(after.session.audio.input.format).toEqual({ type: 'audio/pcm', rate: 24000 });
    expect(after.session.audio.output.format).toEqual({ type: 'audio/pcm', rate: 24000 });

    // 100 ms of 16 kHz PCM16 (3200 bytes) becomes about 100 ms of 24 kHz PCM16 (4800 bytes).
    for (let i = 0; i < 5; i++) carrier.deliver(wire.audio(new Uint8Array(640), i + 1, i * 20));
    await until(() => server.ofType('input_audio_buffer.append').length >= 5);
    const bytes = server.inputAudio().byteLength;
    expect(bytes).toBeGreaterThan(4800 - 200);
    expect(bytes).toBeLessThanOrEqual(4800);
  });
});

describe('early media', () => {
  it('keeps audio that arrives before the model socket opens and sends it first, in order, with nothing lost', async () => {
    const t = makeTransport();
    carrier.deliver(wire.start());
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 60; i++) {
      const f = mulaw(160, i);
      frames.push(f);
      carrier.deliver(wire.audio(f, i + 1, i * 20));
    }
    expect(t.earlyMediaBufferedBytes).toBe(60 * 160);
    await t.connect({ apiKey: 'sk-test' });
    for (let i = 60; i < 70; i++) {
      const f = mulaw(160, i);
      frames.push(f);
      carrier.deliver(wire.audio(f, i + 1, i * 20));
    }
    await until(() => server.inputAudio().byteLength >= 70 * 160);
    const expected = new Uint8Array(70 * 160);
    frames.forEach((f, i) => expected.set(f, i * 160));
    expect(server.inputAudio()).toEqual(expected);
    // The session is configured before any audio is appended.
    const firstAppend = server.received.findIndex((e) => e.type === 'input_audio_buffer.append');
    const firstUpdate = server.received.findIndex((e) => e.type === 'session.update');
    expect(firstUpdate).toBeLessThan(firstAppend);
    expect(t.metrics.earlyMediaBytes).toBe(60 * 160);
    expect(t.metrics.earlyMediaDroppedBytes).toBe(0);
  });

  it('bounds the early-media buffer and counts what it drops', async () => {
    const t = makeTransport({ earlyMediaMaxMs: 100 });
    carrier.deliver(wire.start());
    for (let i = 0; i < 10; i++) carrier.deliver(wire.audio(mulaw(160, i), i + 1, i * 20));
    expect(t.earlyMediaBufferedBytes).toBe(800);
    expect(t.metrics.earlyMediaDroppedBytes).toBe(800);
    await t.connect({ apiKey: 'sk-test' });
    await until(() => server.inputAudio().byteLength >= 800);
    // The newest 100 ms are kept.
    expect(server.inputAudio()[0]).toBe(5);
  });
});

describe('input', () => {
  it('reorders frames by sequence number', async () => {
    await connected();
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    carrier.deliver(wire.audio(mulaw(160, 3), 3, 40));
    carrier.deliver(wire.audio(mulaw(160, 2), 2, 20));
    carrier.deliver(wire.audio(mulaw(160, 4), 4, 60));
    await until(() => server.inputAudio().byteLength >= 640);
    const audio = server.inputAudio();
    expect([audio[0], audio[160], audio[320], audio[480]]).toEqual([1, 2, 3, 4]);
  });

  it('forwards each in-order frame without waiting for the next', async () => {
    await connected();
    carrier.deliver(wire.audio(mulaw(160, 7), 1, 0));
    await until(() => server.inputAudio().byteLength === 160);
    expect(server.inputAudio()[0]).toBe(7);
  });

  it('gives up on a missing frame after the reorder window and counts it', async () => {
    const t = await connected({ reorderWindow: 2 });
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    for (const seq of [3, 4, 5]) carrier.deliver(wire.audio(mulaw(160, seq), seq, (seq - 1) * 20));
    await until(() => server.inputAudio().byteLength >= 4 * 160 + 160);
    expect(t.metrics.framesMissing).toBe(1);
    // The hole left by frame 2 is filled with silence from the timestamps.
    expect(t.metrics.gapsPaddedMs).toBe(20);
  });

  it('fills a lost frame with silence of the last frame’s length where the carrier gives no timestamps', async () => {
    const t = await connected({ reorderWindow: 2 });
    carrier.deliver(wire.audio(mulaw(160, 1), 1));
    for (const seq of [3, 4, 5]) carrier.deliver(wire.audio(mulaw(160, seq), seq));
    await until(() => server.inputAudio().byteLength >= 5 * 160);
    expect(t.metrics.framesMissing).toBe(1);
    expect(t.metrics.gapsPaddedMs).toBe(20);
    // In order: frame 1, 20 ms of μ-law silence where frame 2 was, frames 3 to 5.
    const fills = Array.from(server.inputAudio().filter((_, i) => i % 160 === 0));
    expect(fills).toEqual([1, 0xff, 3, 4, 5]);
  });

  it('drops a duplicate or late frame and counts it', async () => {
    const t = await connected();
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    carrier.deliver(wire.audio(mulaw(160, 2), 2, 20));
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    await until(() => server.inputAudio().byteLength >= 320);
    await tick(20);
    expect(server.inputAudio().byteLength).toBe(320);
    expect(t.metrics.lateFramesDropped).toBe(1);
  });

  it('pads a 2 s timestamp gap with μ-law silence', async () => {
    const t = await connected();
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    carrier.deliver(wire.audio(mulaw(160, 2), 2, 20));
    clock += 2040; // the carrier really went quiet for 2 s
    carrier.deliver(wire.audio(mulaw(160, 3), 3, 2040));
    await until(() => server.inputAudio().byteLength >= 480 + 16000);
    const audio = server.inputAudio();
    expect(audio.byteLength).toBe(480 + 16000);
    expect(audio.subarray(320, 320 + 16000).every((b) => b === 0xff)).toBe(true);
    expect(audio[320 + 16000]).toBe(3);
    expect(t.metrics.gapsPaddedMs).toBe(2000);
  });

  it('caps gap padding and counts the unpadded remainder', async () => {
    const t = await connected({ maxGapPadMs: 500 });
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    clock += 2020;
    carrier.deliver(wire.audio(mulaw(160, 2), 2, 2020));
    await until(() => server.inputAudio().byteLength >= 320 + 4000);
    expect(t.metrics.gapsPaddedMs).toBe(500);
    expect(t.metrics.gapsUnpaddedMs).toBe(1500);
  });
});

/** Drives a response of `n` 100 ms μ-law deltas (800 bytes each) and waits until the carrier got them. */
async function playResponse(id: string, itemId: string, n: number, opts: { done?: boolean } = {}) {
  const before = carrier.commands().filter((c) => c.type === 'audio').length;
  server.respond(
    id,
    itemId,
    Array.from({ length: n }, (_, i) => mulaw(800, i)),
    opts,
  );
  await until(() => carrier.commands().filter((c) => c.type === 'audio').length >= before + n);
}

function marks(): string[] {
  return carrier.commands().flatMap((c) => (c.type === 'mark' ? [c.name] : []));
}

describe('output and playback ledger', () => {
  it('frames model audio to the carrier rules and follows each delta with a mark', async () => {
    await connected();
    server.respond('resp_1', 'item_1', [mulaw(250, 1), mulaw(250, 2)], { done: false });
    await until(() => carrier.commands().filter((c) => c.type === 'audio').length >= 2);
    const audio = carrier.commands().filter((c) => c.type === 'audio') as Array<{ payload: Uint8Array }>;
    // 20 ms = 160 bytes at 8 kHz μ-law: 250 bytes go out as 160 + 90 held, then 320 (90+230) + 20 held.
    expect(audio.map((a) => a.payload.byteLength)).toEqual([160, 320]);
    expect(marks()).toHaveLength(2);
    server.finish('resp_1', 'item_1');
    await until(() => carrier.commands().filter((c) => c.type === 'audio').length >= 3);
    const last = carrier
      .commands()
      .filter((c) => c.type === 'audio')
      .at(-1) as { payload: Uint8Array };
    expect(last.payload.byteLength).toBe(160);
    // The held 20 bytes go out first, padded with μ-law silence.
    expect(last.payload.subarray(0, 20).every((b) => b === 2)).toBe(true);
    expect(last.payload.subarray(20).every((b) => b === 0xff)).toBe(true);
  });

  it('shows audio deltas on * as the SDK does, and leaves malformed ones to the SDK’s checks', async () => {
    const t = await connected();
    const raw: any[] = [];
    t.on('*', (e) => raw.push(e));
    await playResponse('resp_1', 'item_1', 1, { done: false });
    expect(raw.find((e) => e.type === 'response.output_audio.delta')).toMatchObject({
      item_id: 'item_1',
      response_id: 'resp_1',
    });
    const audioBefore = carrier.commands().filter((c) => c.type === 'audio').length;
    // No content_index: the SDK's schema rejects it, so no audio may come of it.
    server.send({
      type: 'response.output_audio.delta',
      response_id: 'resp_1',
      item_id: 'item_1',
      output_index: 0,
      delta: 'AAAA',
    });
    await until(() => raw.filter((e) => e.type === 'response.output_audio.delta').length === 2);
    await tick(20);
    expect(carrier.commands().filter((c) => c.type === 'audio')).toHaveLength(audioBefore);
  });

  it('writes each delta’s audio and its mark in one corked burst', async () => {
    await connected();
    await playResponse('resp_1', 'item_1', 2, { done: false });
    expect(carrier.corked).toBe(0);
    const kinds = carrier.bursts.map((burst) => burst.map((f) => JSON.parse(f as string).e));
    expect(kinds).toEqual([
      ['play', 'mark'],
      ['play', 'mark'],
    ]);
  });

  it('truncates at the acknowledged position plus the time the carrier has been playing since', async () => {
    const t = await connected();
    await playResponse('resp_1', 'item_1', 5, { done: false }); // 500 ms sent
    const [m1, m2] = marks();
    clock += 100;
    carrier.deliver(wire.ack(m1!));
    clock += 100;
    carrier.deliver(wire.ack(m2!));
    clock += 30; // 30 ms into the third delta
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    const truncate = (await server.waitFor((e) => e.type === 'conversation.item.truncate')) as any;
    expect(truncate.item_id).toBe('item_1');
    expect(truncate.content_index).toBe(0);
    expect(truncate.audio_end_ms).toBe(230);
    expect(carrier.commands().some((c) => c.type === 'clear')).toBe(true);
    await server.waitFor((e) => e.type === 'response.cancel');
    expect(t.metrics.bargeIns).toBe(1);
    expect(t.metrics.truncations).toEqual([{ itemId: 'item_1', contentIndex: 0, audioEndMs: 230, sentMs: 500 }]);
  });

  it('never truncates beyond the audio it sent', async () => {
    await connected();
    await playResponse('resp_1', 'item_1', 2, { done: false });
    clock += 10_000; // long after the carrier must have finished
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => server.ofType('response.cancel').length === 1);
    // Nothing was left unheard: cancel the generation, but nothing to truncate.
    await tick(20);
    expect(server.ofType('conversation.item.truncate')).toHaveLength(0);
  });

  it('ignores marks echoed after a clear and marks of an older generation', async () => {
    const t = await connected();
    await playResponse('resp_1', 'item_1', 3, { done: false });
    const old = marks();
    clock += 50;
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await server.waitFor((e) => e.type === 'conversation.item.truncate');
    // The carrier echoes every pending mark after the clear.
    for (const name of old) carrier.deliver(wire.ack(name));
    carrier.deliver(wire.ack('not-ours'));
    expect(t.metrics.staleAcks).toBe(4);

    // A new response: its played position comes only from its own acks.
    server.finish('resp_1', 'item_1', 'cancelled');
    await playResponse('resp_2', 'item_2', 3, { done: false });
    const fresh = marks().slice(old.length);
    clock += 100;
    carrier.deliver(wire.ack(fresh[0]!));
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u2', audio_start_ms: 0 });
    const truncate = (await server.waitFor(
      (e) => e.type === 'conversation.item.truncate' && e.item_id === 'item_2',
    )) as any;
    expect(truncate.audio_end_ms).toBe(100);
  });

  it('drops (and counts) audio of a cancelled response that arrives after the barge-in', async () => {
    const t = await connected();
    await playResponse('resp_1', 'item_1', 2, { done: false });
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await server.waitFor((e) => e.type === 'response.cancel');
    const sentBefore = carrier.sent.length;
    server.delta('resp_1', 'item_1', mulaw(800, 9));
    server.finish('resp_1', 'item_1', 'cancelled');
    await until(() => t.metrics.lateAudioDroppedBytes === 800);
    expect(carrier.sent.length).toBe(sentBefore);
  });

  it('measures the time from the end of the caller’s speech to the first audio sent to the carrier', async () => {
    const t = await connected();
    const stopped = new Promise((resolve) => t.once('input_audio_buffer.speech_stopped', resolve));
    server.send({ type: 'input_audio_buffer.speech_stopped', item_id: 'u1', audio_end_ms: 900 });
    await stopped;
    clock += 320;
    await playResponse('resp_1', 'item_1', 2, { done: false });
    expect(t.metrics.responseLatenciesMs).toEqual([320]);
    expect(t.metrics.audioBytesOut).toBe(1600);
    expect(t.metrics.framesOut).toBe(carrier.sent.length);
  });

  it('does nothing on speech when nothing is playing or generating', async () => {
    const t = await connected();
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await tick(50);
    expect(carrier.sent).toHaveLength(0);
    expect(server.ofType('response.cancel')).toHaveLength(0);
    expect(t.metrics.bargeIns).toBe(0);
  });

  it('emits audio_interrupted on interrupt()', async () => {
    const t = await connected();
    await playResponse('resp_1', 'item_1', 2, { done: false });
    let interrupted = 0;
    t.on('audio_interrupted', () => interrupted++);
    t.interrupt();
    t.interrupt(); // a second call has nothing left to interrupt
    expect(interrupted).toBe(1);
  });

  it('uses a playout clock where the carrier sends no acknowledgements', async () => {
    await connected({ protocol: new TestProtocol({ playbackAck: 'none' }) });
    await playResponse('resp_1', 'item_1', 5, { done: false });
    expect(marks()).toHaveLength(0);
    clock += 260;
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    const truncate = (await server.waitFor((e) => e.type === 'conversation.item.truncate')) as any;
    expect(truncate.audio_end_ms).toBe(260);
  });
});

describe('edge cases', () => {
  it('counts inactivity silence towards the timestamp gap it filled, so a hole is padded once', async () => {
    const t = await connected({ inputAudioInactivityTimeoutMs: 20 });
    carrier.deliver(wire.audio(mulaw(160, 1), 1, 0));
    const started = new Promise((resolve) => t.once('input_audio_buffer.speech_started', resolve));
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await started;
    clock += 30; // the line goes quiet
    await until(() => t.metrics.inactivityPaddedMs === 1000);
    clock += 1990;
    carrier.deliver(wire.audio(mulaw(160, 2), 2, 2020)); // media resumes after a 2 s hole
    await until(() => server.inputAudio().byteLength >= 320 + 16000);
    // Frame 2 lands 2 s after frame 1's end: 1 s of inactivity silence plus 1 s of gap padding,
    // not 1 s + 2 s. (Silence the line may need later comes after it.)
    const audio = server.inputAudio();
    expect(audio.subarray(160, 160 + 16000).every((b) => b === 0xff)).toBe(true);
    expect(audio[160 + 16000]).toBe(2);
    expect(t.metrics.gapsPaddedMs).toBe(1000);
  });

  it('keeps the call alive when an application listener throws', async () => {
    const t = makeTransport();
    t.on('call_start', () => {
      throw new Error('listener bug');
    });
    t.on('*', () => {
      throw new Error('another listener bug');
    });
    t.on('call_end', () => {
      throw new Error('a third one');
    });
    const errors: unknown[] = [];
    t.on('error', (e) => errors.push(e.error));
    carrier.deliver(wire.start());
    await t.connect({ apiKey: 'sk-test' });
    carrier.deliver(wire.audio(mulaw(160, 5), 1, 0));
    await until(() => server.inputAudio().byteLength === 160);
    carrier.deliver(wire.stop());
    await until(() => server.closedSockets === 1);
    expect(t.status).toBe('disconnected');
    expect(errors.length).toBeGreaterThan(0);
  });

  it('files audio under the right item even when a listener throws', async () => {
    const t = await connected();
    await playResponse('resp_1', 'item_1', 1);
    carrier.deliver(wire.ack(marks()[0]!));
    t.on('*', (e) => {
      if (e.type === 'response.output_audio.delta') throw new Error('listener bug');
    });
    await playResponse('resp_2', 'item_2', 2, { done: false });
    clock += 50;
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await server.waitFor((e) => e.type === 'conversation.item.truncate');
    await tick(20);
    expect(server.ofType('conversation.item.truncate').map((e) => e.item_id)).toEqual(['item_2']);
  });

  it('treats frame padding as no part of the item: heard to its own end, it keeps its transcript', async () => {
    await connected();
    server.respond('resp_1', 'item_1', [mulaw(250, 1)]); // 31.25 ms, sent as two 20 ms frames
    await until(() => marks().length === 2);
    clock += 35; // the carrier is in the padding: the caller heard the whole reply
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => carrier.commands().some((c) => c.type === 'clear')); // still playing: cleared
    await tick(30);
    expect(server.ofType('conversation.item.truncate')).toHaveLength(0);
  });

  it('cut inside its audio, an item is truncated where the caller stopped hearing it', async () => {
    await connected();
    server.respond('resp_1', 'item_1', [mulaw(250, 1)]);
    await until(() => marks().length === 2);
    clock += 25;
    server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    const truncate = (await server.waitFor((e) => e.type === 'conversation.item.truncate')) as any;
    expect(truncate.audio_end_ms).toBe(25);
  });

  it('on a second start, tells the model what the caller heard and stops the response in flight', async () => {
    const t = await connected();
    await playResponse('resp_1', 'item_1', 5, { done: false });
    clock += 120;
    carrier.deliver(wire.start('S2'));
    const truncate = (await server.waitFor((e) => e.type === 'conversation.item.truncate')) as any;
    expect(truncate.audio_end_ms).toBe(120);
    await server.waitFor((e) => e.type === 'response.cancel');
    // The old stream is gone: no clear is sent for it.
    expect(carrier.commands().some((c) => c.type === 'clear')).toBe(false);
    expect(t.streamId).toBe('S2');
  });

  it('counts audio it could not send when the carrier socket is gone', async () => {
    const t = await connected();
    const send = carrier.send.bind(carrier);
    let sends = 0;
    carrier.send = (frame) => {
      if (++sends > 2) throw new Error('socket is closing'); // after the first frame and its mark
      send(frame);
    };
    server.respond('resp_1', 'item_1', [mulaw(160, 1), mulaw(320, 2)], { done: false });
    await until(() => t.metrics.outputUnsentBytes > 0);
    expect(t.metrics.audioBytesOut).toBe(160);
    expect(t.metrics.outputUnsentBytes).toBe(320);
  });
});

describe('events and bad input', () => {
  it('emits call_start, dtmf and the raw carrier frame on the transport and on *', async () => {
    const t = makeTransport();
    const seen: any[] = [];
    t.on('*', (e) => seen.push(e));
    const starts: any[] = [];
    const digits: string[] = [];
    t.on('call_start', (e) => starts.push(e));
    t.on('dtmf', (e) => digits.push(e.digit));
    carrier.deliver(wire.start('S9'));
    carrier.deliver(wire.dtmf('5'));
    carrier.deliver(wire.dtmf('#'));
    expect(starts[0]).toMatchObject({
      type: 'call_start',
      streamId: 'S9',
      callId: 'call-1',
      customParameters: { who: 'test' },
    });
    expect(digits).toEqual(['5', '#']);
    expect(seen.filter((e) => e.type === 'testcarrier_message')).toHaveLength(3);
    expect(seen.filter((e) => e.type === 'dtmf').map((e) => e.digit)).toEqual(['5', '#']);
    expect(seen.some((e) => e.type === 'call_start')).toBe(true);
  });

  it('turns a malformed frame into an error event and handles the next frame', async () => {
    const t = await connected();
    const errors: unknown[] = [];
    t.on('error', (e) => errors.push(e.error));
    carrier.deliver('{not json');
    carrier.deliver(JSON.stringify({ e: 'bogus' }));
    carrier.deliver(wire.audio(mulaw(160, 4), 1, 0));
    await until(() => server.inputAudio().byteLength === 160);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(ProtocolError);
    expect(t.metrics.malformedFrames).toBe(2);
  });
});

describe('lifecycle', () => {
  it('closes the model socket on call_end and leaves no listeners on the carrier', async () => {
    const t = await connected();
    const ends: any[] = [];
    t.on('call_end', (e) => ends.push(e));
    expect(carrier.listenerCount).toBe(3);
    carrier.deliver(wire.stop());
    await until(() => t.status === 'disconnected');
    await until(() => server.closedSockets === 1);
    expect(ends).toMatchObject([{ type: 'call_end', reason: 'stop' }]);
    expect(carrier.listenerCount).toBe(0);
  });

  it('ends the call at once when the carrier socket closed before the transport was built', async () => {
    // No close event will ever reach this transport's listener.
    carrier.close();
    const t = makeTransport();
    const events: string[] = [];
    t.on('call_start', () => events.push('call_start'));
    t.on('call_end', (e) => events.push(`call_end:${e.reason}`));
    await tick();
    expect(events).toEqual(['call_end:carrier_closed']);
    expect(carrier.listenerCount).toBe(0);
  });

  it('closes the model socket when the carrier socket closes without a stop', async () => {
    const t = await connected();
    carrier.close();
    await until(() => t.status === 'disconnected');
    await until(() => server.closedSockets === 1);
  });

  it('ends the call and says why when the model socket drops mid-call', async () => {
    const t = await connected();
    const errors: Array<{ code?: string }> = [];
    const ends: string[] = [];
    t.on('error', (e) => errors.push(e.error as { code?: string }));
    t.on('call_end', (e) => ends.push(e.reason));
    await server.stop(); // the service goes away
    await until(() => carrier.closed);
    expect(errors.map((e) => e.code)).toContain('model_disconnected');
    expect(ends).toEqual(['model_disconnected']);
    expect(t.status).toBe('disconnected');
  });

  it('close() closes the carrier socket', async () => {
    const t = await connected();
    t.close();
    expect(carrier.closed).toBe(true);
    await until(() => server.closedSockets === 1);
  });

  it('rejects invalid options with a ConfigError', () => {
    expect(() => makeTransport({ earlyMediaMaxMs: -1 })).toThrow(/earlyMediaMaxMs/);
    expect(() => new TelephonyRealtimeTransport({ protocol: new TestProtocol() } as any)).toThrow(/connection/);
    transport = undefined;
  });
});
