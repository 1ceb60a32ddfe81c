import { expect, it } from 'vitest';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { until } from '../src/testing/fakes.js';
import { callerTrace, useCallerRig } from './caller-rig.js';
import { twilioStart } from './twilio-start.js';

// A bridge in another process reports when it sent each frame only after the call: the caller's
// playout is placed again on those moments, as it is when they are known during the call.

const SID = 'MZ00000000000000000000000000000002';
const start = twilioStart(SID, 'CA2', { sequenceNumber: '1' });
const onlyStart = callerTrace('start-only', [{ t: 0, frame: start }], { callSid: 'CA2', streamSids: [SID] });

/** 100 ms of μ-law from the bridge. */
const AUDIO = JSON.stringify({
  event: 'media',
  streamSid: SID,
  media: { payload: Buffer.alloc(800, 0xff).toString('base64') },
});

const CLEAR = JSON.stringify({ event: 'clear', streamSid: SID });

const rig = useCallerRig();

/**
 * A caller on a clock of the test's that played the start. `send(t, frame, arrived)`: the bridge
 * sends `frame`, read by the caller at `t`; resolves once `arrived` holds.
 */
async function startedCaller(frameSentAt?: (index: number) => number | undefined) {
  const clock = { t: 0 };
  const { caller, bridge } = await rig.dial({
    peer: new TwilioPeerSimulator(),
    ackOnClear: 'echo-pending',
    twilioFrames: true,
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    now: () => clock.t,
    currentItem: () => 'i1',
    ...(frameSentAt ? { frameSentAt } : {}),
  });
  await caller.play(onlyStart);
  const send = async (t: number, frame: string, arrived: () => boolean) => {
    clock.t = t;
    bridge.send(frame);
    await until(arrived, 20_000);
  };
  return { caller, log: caller.log, send };
}

it('places the chunks and judges the clear on the send times a bridge reports after the call', async () => {
  const { caller, log, send } = await startedCaller();
  // The test process read each frame 300 ms or more after the bridge sent it (at 700, 750 and 830 ms).
  await send(1000, AUDIO, () => log.chunks.length === 1);
  await send(1050, AUDIO, () => log.chunks.length === 2);
  await send(1150, CLEAR, () => log.clears.length === 1);
  // As read: the second chunk queued behind the first (1100 to 1200), cut by the clear at 1150.
  expect(log.chunks.map((c) => [c.startAt, c.playedMs])).toEqual([
    [1000, undefined],
    [1100, 50],
  ]);
  expect(log.clears[0]).toMatchObject({ at: 1150, sentAt: 1150, playedByItem: { i1: 150 } });

  const sentAt = [700, 750, 830];
  caller.rejudgeClears((index) => sentAt[index]);
  // As sent: 700 to 800, then 800 to 900, cut where it stood when the bridge sent the clear (830).
  expect(log.chunks.map((c) => [c.startAt, c.playedMs])).toEqual([
    [700, undefined],
    [800, 30],
  ]);
  expect(log.maxQueuedMs).toBe(150);
  expect(log.clears[0]).toMatchObject({ at: 1150, sentAt: 830, playedByItem: { i1: 130 } });
});

it('measures the queue the bridge paces against from when it sent a clear, not when the clear arrived', async () => {
  // When the bridge sent each frame: 100 ms of audio at 0, a clear at 50, 100 ms more at 60.
  const sentAt = [0, 50, 60];
  const { caller, log, send } = await startedCaller((index) => sentAt[index]);
  await send(0, AUDIO, () => log.chunks.length === 1);
  // The clear and the audio after it reached the caller 250 ms late (a stalled loopback).
  await send(300, CLEAR, () => log.clears.length === 1);
  await send(310, AUDIO, () => log.chunks.length === 2);
  // The clear the bridge sent at 50 ended the old audio then (its 250 ms on the way are no audio the
  // caller is judged to have heard), so the new audio plays from when the bridge sent it; and the
  // bridge never had more than 100 ms queued.
  expect(log.chunks[0]!.playedMs).toBe(50);
  expect(log.chunks[1]!.startAt).toBe(60);
  expect(log.maxQueuedMs).toBe(100);
  caller.rejudgeClears((index) => sentAt[index]);
  expect(log.maxQueuedMs).toBe(100);
});
