import type { CallEvent } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorsOf, ManualClock, until, useTransportRig } from '@switchboard/conformance/testing';
import { PlivoRealtimeTransport, type PlivoRealtimeTransportOptions } from '../src/index.js';
import { PlivoPeerSimulator } from '../src/testing.js';

const STREAM = '5d1c0a2e-7b44-4f0e-9a63-0c2f8e1b9d47';

const rig = useTransportRig(
  { beforeEach, afterEach },
  (carrier, url, options: Partial<PlivoRealtimeTransportOptions> = {}) =>
    new PlivoRealtimeTransport({ plivoWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null, ...options }),
);

const start: CallEvent = {
  type: 'call_start',
  streamId: STREAM,
  callId: 'b3e0f6a4-2c91-4d7e-8f15-6a9c3d2e1f08',
  customParameters: {},
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  raw: null,
};

describe('PlivoPeerSimulator checkpointEvent', () => {
  it('a peer acknowledging checkpoints with `played` drives the transport: the barge-in truncates at what it acknowledged', async () => {
    const ack: CallEvent = { type: 'playback_ack', name: 'cp' };
    expect(JSON.parse(String(new PlivoPeerSimulator({ streamId: STREAM }).encodeInbound(ack)[0])).event).toBe(
      'playedStream',
    );

    // The playout clock stands still: only the peer's acknowledgement can say the audio played.
    const clock = new ManualClock();
    const t = rig.make({ now: clock.now, clock });
    const errors = errorsOf(t);
    const peer = new PlivoPeerSimulator({ checkpointEvent: 'played' });
    rig.send(peer, start);
    await t.connect({ apiKey: 'sk-test' });
    // Two deltas of 500 ms of μ-law, each followed by its checkpoint.
    rig.model.respond('resp_1', 'item_1', [new Uint8Array(4000).fill(1), new Uint8Array(4000).fill(2)], {
      done: false,
    });
    const marks = () => rig.carrier.sent.flatMap((f) => peer.decodeOutbound(f)).filter((c) => c.type === 'mark');
    await until(() => marks().length === 2);

    const frames = peer.encodeInbound({ type: 'playback_ack', name: marks()[0]!.name });
    expect(frames.map((f) => JSON.parse(String(f)) as { event: string; streamId: string })).toEqual([
      expect.objectContaining({ event: 'played', streamId: STREAM }),
    ]);
    for (const frame of frames) rig.carrier.deliver(frame);
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    const truncate = (await rig.model.waitFor((e) => e.type === 'conversation.item.truncate')) as unknown as {
      item_id: string;
      audio_end_ms: number;
    };
    expect(truncate.item_id).toBe('item_1');
    expect(truncate.audio_end_ms).toBe(500);
    expect(errors).toEqual([]);
  });
});
