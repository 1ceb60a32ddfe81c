import { describe, expect, it } from 'vitest';
import { PlivoPeerSimulator } from '@switchboard/plivo/testing';
import type { CallerSimulator } from '../src/caller.js';
import { until } from '../src/testing/fakes.js';
import { callerTrace, useCallerRig } from './caller-rig.js';
import { twilioStart } from './twilio-start.js';

const OLD = 'MZ00000000000000000000000000000001';
const NEW = 'MZ00000000000000000000000000000002';

const start = (sid: string) => twilioStart(sid, 'CA1');

const trace = callerTrace(
  'two-starts',
  [
    { t: 0, frame: start(OLD) },
    { t: 0, frame: start(NEW) },
  ],
  { callSid: 'CA1', streamSids: [OLD, NEW], hazards: ['second-start'] },
);

/** Plivo's audio names no stream; its checkpoint names the one it is for. */
const AUDIO = JSON.stringify({
  event: 'playAudio',
  media: { contentType: 'audio/x-mulaw', sampleRate: 8000, payload: Buffer.alloc(160, 0xff).toString('base64') },
});
const checkpoint = (sid: string, name: string) => JSON.stringify({ event: 'checkpoint', streamId: sid, name });

const rig = useCallerRig();
let caller: CallerSimulator | undefined;

/**
 * The bridge's frames after the caller's second start: `frames`, sent once both starts arrived,
 * each reported sent at `sentAt[i]` (stream ms) when given; the bridge took the second start at
 * `takenAt` when given. Returns what the carrier side rejected, once every frame arrived.
 */
async function afterSecondStart(
  frames: string[],
  times?: { sentAt: number[]; takenAt: number },
): Promise<Array<{ error: string }>> {
  const dialled = await rig.dial({
    peer: new PlivoPeerSimulator(),
    createPeer: () => new PlivoPeerSimulator(),
    ackOnClear: 'none',
    twilioFrames: false,
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    markAcks: false,
    ...(times
      ? {
          frameSentAt: (index: number) => times.sentAt[index],
          startTakenAt: (k: number) => (k === 1 ? times.takenAt : k === 0 ? 0 : undefined),
        }
      : {}),
  });
  caller = dialled.caller;
  const { bridge } = dialled;
  let starts = 0;
  bridge.on('message', (data) => {
    if ((JSON.parse(String(data)) as { event?: string }).event !== 'start' || ++starts < 2) return;
    for (const frame of frames) bridge.send(frame);
  });
  await caller.play(trace);
  const received = () => caller!.log.wire.filter((w) => w.dir === 'received').length;
  await until(() => received() >= frames.length, 30_000);
  expect(received()).toBe(frames.length);
  return caller.log.rejected;
}

describe('CallerSimulator, frames for the stream before a second start', () => {
  it('reads a checkpoint for the old stream behind audio that names no stream, sent before the bridge took the start', async () => {
    const rejected = await afterSecondStart([AUDIO, checkpoint(OLD, 'm1')], { sentAt: [10, 11], takenAt: 50 });
    expect(rejected).toEqual([]);
    expect(caller!.log.marks.map((m) => m.name)).toEqual(['m1']);
    expect(caller!.log.chunks.length).toBe(1);
  });

  it('rejects one for the old stream the bridge sent after it took the start', async () => {
    const rejected = await afterSecondStart([checkpoint(OLD, 'm1')], { sentAt: [60], takenAt: 50 });
    expect(rejected.map((r) => r.error)).toEqual(['[plivo] streamId does not match the active stream']);
  });

  it('without send times, reads the old stream until a frame names the new one', async () => {
    const rejected = await afterSecondStart([
      AUDIO,
      checkpoint(OLD, 'm1'),
      checkpoint(NEW, 'm2'),
      AUDIO,
      checkpoint(OLD, 'm3'),
    ]);
    expect(caller!.log.marks.map((m) => m.name)).toEqual(['m1', 'm2']);
    expect(rejected.map((r) => r.error)).toEqual(['[plivo] streamId does not match the active stream']);
  });
});
