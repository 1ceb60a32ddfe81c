import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, TelephonyRealtimeTransport, type CallEvent } from '../src/index.js';
import { TestProtocol, tick, until, wire } from '@switchboard/conformance/testing';
import { useCoreTransport } from './helpers/transport.js';

const mulaw = (n: number, fill: number) => new Uint8Array(n).fill(fill);

const rig = useCoreTransport({ beforeEach, afterEach }, {});
const connected = rig.connected;

const audioMs = () =>
  rig.carrier
    .commands()
    .filter((c) => c.type === 'audio')
    .reduce((ms, c) => ms + (c as { payload: Uint8Array }).payload.byteLength / 8, 0);

/** Sends `seconds` of model audio in 100 ms deltas and waits until the transport has taken all of it. */
async function modelSpeaks(t: TelephonyRealtimeTransport, seconds: number): Promise<void> {
  const deltas = Array.from({ length: seconds * 10 }, (_, i) => mulaw(800, i + 1));
  rig.server.respond('resp_1', 'item_1', deltas, { done: false });
  await until(() => audioMs() + t.outputQueuedBytes / 8 >= seconds * 1000);
}

describe('output pacing (capabilities.pacing)', () => {
  it('keeps at most the lead queued at the carrier and sends the rest as the playout clock drains it', async () => {
    const t = await connected({ playbackAck: 'none', pacing: { leadMs: 200 } });
    await modelSpeaks(t, 3);
    expect(audioMs()).toBe(200);
    expect(t.outputQueuedBytes).toBe(2800 * 8);
    // Every advance of the clock lets out what the carrier played meanwhile, never more than the lead.
    for (let i = 0; i < 60; i++) {
      rig.clock.advance(50);
      const played = Math.min(3000, (i + 1) * 50);
      expect(audioMs() - played).toBeLessThanOrEqual(200);
    }
    expect(audioMs()).toBe(3000);
    expect(t.outputQueuedBytes).toBe(0);
    expect(rig.clock.pending).toBe(0);
    // In order: the payloads are the deltas' fills, 1, 1, ..., 2, 2, ...
    const fills = rig.carrier.commands().flatMap((c) => (c.type === 'audio' ? [c.payload[0]!] : []));
    expect(fills).toEqual([...fills].sort((a, b) => a - b));
  });

  it('still sends a mark after each delta’s last frame where the carrier acknowledges', async () => {
    const t = await connected({ playbackAck: 'mark', pacing: { leadMs: 100 } });
    await modelSpeaks(t, 1);
    rig.clock.advance(2000);
    const commands = rig.carrier.commands();
    expect(commands.filter((c) => c.type === 'mark')).toHaveLength(10);
    // A mark never splits a delta's frames: it follows 100 ms of audio each time.
    let sinceMark = 0;
    for (const c of commands) {
      if (c.type === 'audio') sinceMark += c.payload.byteLength / 8;
      if (c.type === 'mark') {
        expect(sinceMark).toBe(100);
        sinceMark = 0;
      }
    }
    expect(t.outputQueuedBytes).toBe(0);
  });

  it('on barge-in drops the queued audio, counts it, and truncates at what the playout clock says was heard', async () => {
    const t = await connected({ playbackAck: 'none', pacing: { leadMs: 200 } });
    await modelSpeaks(t, 2);
    rig.clock.advance(500);
    rig.server.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    const truncate = (await rig.server.waitFor((e) => e.type === 'conversation.item.truncate')) as unknown as {
      audio_end_ms: number;
    };
    expect(truncate.audio_end_ms).toBe(500);
    expect(t.outputQueuedBytes).toBe(0);
    // 2 s sent by the model: 700 ms went to the carrier (500 played + the 200 ms lead), the rest was dropped.
    expect(t.metrics.interruptedBytesDiscarded).toBe(1300 * 8);
    expect(rig.carrier.commands().at(-1)).toEqual({ type: 'clear' });
    rig.clock.advance(5000);
    expect(audioMs()).toBe(700);
  });

  it('counts audio still queued when the call ends as unsent, and leaves no timer behind', async () => {
    const t = await connected({ playbackAck: 'none', pacing: { leadMs: 200 } });
    await modelSpeaks(t, 1);
    rig.carrier.deliver(wire.stop());
    expect(t.metrics.outputUnsentBytes).toBe(800 * 8);
    expect(rig.clock.pending).toBe(0);
  });

  it('holds to the lead where the carrier takes large frames, joining what fits into one', async () => {
    const t = await connected({ playbackAck: 'none', pacing: { leadMs: 100 }, frame: { ms: 20, maxBytes: 65500 } });
    rig.server.respond('resp_1', 'item_1', [mulaw(4000, 1)], { done: false });
    await until(() => audioMs() + t.outputQueuedBytes / 8 >= 500);
    const sizes = () => rig.carrier.commands().flatMap((c) => (c.type === 'audio' ? [c.payload.byteLength] : []));
    // 500 ms in one delta: 100 ms leave at once, as one frame; the rest as the clock drains it.
    expect(sizes()).toEqual([800]);
    rig.clock.advance(50);
    expect(audioMs()).toBeLessThanOrEqual(150);
    rig.clock.advance(1000);
    expect(audioMs()).toBe(500);
    expect(Math.max(...sizes())).toBeLessThanOrEqual(800);
  });

  it('with a lead shorter than two frames, wakes once per frame instead of polling every millisecond', async () => {
    const t = await connected({ playbackAck: 'none', pacing: { leadMs: 20 } });
    let wakeUps = 0;
    const setTimeout = rig.clock.setTimeout;
    rig.clock.setTimeout = (callback, delayMs) => setTimeout(() => (wakeUps++, callback()), delayMs);
    rig.server.respond('resp_1', 'item_1', [mulaw(1600, 1)], { done: false });
    await until(() => audioMs() + t.outputQueuedBytes / 8 >= 200);
    expect(audioMs()).toBe(20);
    rig.clock.advance(200);
    expect(audioMs()).toBe(200);
    // Nine frames waited for the one before them to play: one wake-up each.
    expect(wakeUps).toBe(9);
    expect(rig.clock.pending).toBe(0);
  });

  it('on a second start drops the audio still waiting, counts it, and sends none of it to the new stream', async () => {
    const t = await connected({ playbackAck: 'none', pacing: { leadMs: 200 } });
    await modelSpeaks(t, 1);
    expect(audioMs()).toBe(200);
    rig.carrier.deliver(wire.start('S2'));
    expect(t.outputQueuedBytes).toBe(0);
    expect(t.metrics.interruptedBytesDiscarded).toBe(800 * 8);
    expect(rig.clock.pending).toBe(0);
    rig.clock.advance(5000);
    expect(audioMs()).toBe(200);
  });

  it('counts model audio short of a whole frame as unsent when the call ends', async () => {
    const t = await connected({ playbackAck: 'none', pacing: { leadMs: 200 } });
    rig.server.respond('resp_1', 'item_1', [mulaw(200, 1)], { done: false });
    await until(() => audioMs() === 20);
    rig.carrier.deliver(wire.stop());
    // 200 bytes: one 160-byte frame sent, 40 held by the framer for the next delta that never came.
    expect(t.metrics.outputUnsentBytes).toBe(40);
  });

  it('keeps L16 frames to whole samples where a frame duration is not a whole number of samples', async () => {
    const transport = rig.make({ playbackAck: 'none', pacing: { leadMs: 100 } });
    rig.carrier.deliver(wire.start('S1', 'l16', 11025)); // 20 ms = 220.5 samples
    await transport.connect({ apiKey: 'sk-test' });
    rig.server.respond('resp_1', 'item_1', [new Uint8Array(4800), new Uint8Array(4800)]);
    await until(() => rig.carrier.commands().some((c) => c.type === 'audio'));
    rig.clock.advance(1000);
    const sizes = rig.carrier.commands().flatMap((c) => (c.type === 'audio' ? [c.payload.byteLength] : []));
    expect(sizes.length).toBeGreaterThan(1);
    expect(sizes.every((n) => n % 2 === 0)).toBe(true);
  });

  it('rejects a pacing lead that is not a positive number', () => {
    expect(
      () =>
        new TelephonyRealtimeTransport({
          connection: rig.carrier,
          protocol: new TestProtocol({ pacing: { leadMs: 0 } }),
          url: rig.url,
        }),
    ).toThrow(ConfigError);
  });
});

describe('flow control (flow_control events)', () => {
  it('holds audio while the carrier has paused the flow and sends all of it, in order, on resume', async () => {
    const t = await connected({ playbackAck: 'mark' });
    rig.carrier.deliver(wire.xoff());
    rig.server.respond('resp_1', 'item_1', [mulaw(800, 1), mulaw(800, 2)], { done: false });
    await until(() => t.outputQueuedBytes === 1600);
    expect(audioMs()).toBe(0);
    expect(t.metrics.flowPauses).toBe(1);
    rig.carrier.deliver(wire.xon());
    expect(audioMs()).toBe(200);
    expect(t.outputQueuedBytes).toBe(0);
    const kinds = rig.carrier.commands().map((c) => c.type);
    expect(kinds.filter((k) => k === 'mark')).toHaveLength(2);
    // Audio sent after the resume no longer queues.
    rig.server.delta('resp_1', 'item_1', mulaw(800, 3));
    await until(() => audioMs() === 300);
    expect(t.outputQueuedBytes).toBe(0);
  });

  it('a new stream starts unpaused: a pause the old stream asked for does not hold the new one’s audio', async () => {
    const t = await connected({ playbackAck: 'mark' });
    rig.carrier.deliver(wire.xoff());
    rig.server.respond('resp_1', 'item_1', [mulaw(800, 1)], { done: false });
    await until(() => t.outputQueuedBytes === 800);
    rig.carrier.deliver(wire.start('S2'));
    expect(t.outputQueuedBytes).toBe(0);
    expect(t.metrics.interruptedBytesDiscarded).toBe(800);
    rig.server.respond('resp_2', 'item_2', [mulaw(800, 2)], { done: false });
    await until(() => audioMs() === 100);
    expect(t.outputQueuedBytes).toBe(0);
  });

  it('a barge-in while paused drops what waits and the resume sends nothing stale', async () => {
    const t = await connected({ playbackAck: 'mark' });
    rig.carrier.deliver(wire.xoff());
    rig.server.respond('resp_1', 'item_1', [mulaw(800, 1)], { done: false });
    await until(() => t.outputQueuedBytes === 800);
    t.interrupt();
    expect(t.outputQueuedBytes).toBe(0);
    expect(t.metrics.interruptedBytesDiscarded).toBe(800);
    rig.carrier.deliver(wire.xon());
    expect(audioMs()).toBe(0);
  });
});

describe('flow control and pacing together', () => {
  it('a barge-in while paused and paced drops what waits, and the resume sends only the next response', async () => {
    const t = await connected({ playbackAck: 'none', pacing: { leadMs: 200 } });
    await modelSpeaks(t, 1);
    rig.carrier.deliver(wire.xoff());
    rig.clock.advance(100);
    expect(audioMs()).toBe(200);
    t.interrupt();
    expect(t.outputQueuedBytes).toBe(0);
    expect(rig.carrier.commands().at(-1)).toEqual({ type: 'clear' });
    expect(rig.clock.pending).toBe(0);
    rig.carrier.deliver(wire.xon());
    expect(audioMs()).toBe(200);
    rig.server.respond('resp_2', 'item_2', [mulaw(800, 9)], { done: false });
    await until(() => audioMs() === 300);
    expect(t.outputQueuedBytes).toBe(0);
  });

  it('when the call ends while paused, counts the held audio as unsent and leaves no timer', async () => {
    const t = await connected({ playbackAck: 'mark', pacing: { leadMs: 200 } });
    rig.carrier.deliver(wire.xoff());
    rig.server.respond('resp_1', 'item_1', [mulaw(800, 1), mulaw(800, 2)], { done: false });
    await until(() => t.outputQueuedBytes === 1600);
    rig.carrier.deliver(wire.stop());
    expect(t.metrics.outputUnsentBytes).toBe(1600);
    expect(t.outputQueuedBytes).toBe(0);
    expect(rig.clock.pending).toBe(0);
    rig.carrier.deliver(wire.xon());
    expect(audioMs()).toBe(0);
  });
});

describe('calls that start on connect (protocol.open)', () => {
  class OpensOnConnect extends TestProtocol {
    opened = 0;
    open(): CallEvent[] {
      this.opened++;
      return [
        {
          type: 'call_start',
          streamId: 'on-connect',
          format: { encoding: 'l16', sampleRate: 16000, channels: 1 },
          customParameters: {},
          raw: null,
        },
      ];
    }
  }

  it('emits call_start once, after the creator attached its listeners, with the format open() gave', async () => {
    const protocol = new OpensOnConnect();
    const t = rig.adopt(
      new TelephonyRealtimeTransport({
        connection: rig.carrier,
        protocol,
        url: rig.url,
        inputAudioInactivityTimeoutMs: null,
      }),
    );
    const starts: string[] = [];
    t.on('call_start', (event) => starts.push(event.streamId));
    await tick();
    expect(starts).toEqual(['on-connect']);
    expect(protocol.opened).toBe(1);
    expect(t.carrierFormat).toEqual({ encoding: 'l16', sampleRate: 16000, channels: 1 });
    expect(t.modelAudioFormat).toEqual({ type: 'audio/pcm', rate: 24000 });
  });

  it('turns an open() that throws into an error event', async () => {
    class Broken extends TestProtocol {
      open(): CallEvent[] {
        throw new Error('no format configured');
      }
    }
    const t = rig.adopt(
      new TelephonyRealtimeTransport({
        connection: rig.carrier,
        protocol: new Broken(),
        url: rig.url,
        inputAudioInactivityTimeoutMs: null,
      }),
    );
    const errors: unknown[] = [];
    t.on('error', (e) => errors.push(e.error));
    await tick();
    expect((errors[0] as Error).message).toBe('no format configured');
  });
});
