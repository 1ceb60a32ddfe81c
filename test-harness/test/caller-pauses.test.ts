import { expect, it } from 'vitest';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import type { CallerSimulator } from '../src/caller.js';
import type { Trace } from '../src/trace.js';
import { callerTrace, useCallerRig } from './caller-rig.js';
import { twilioStart } from './twilio-start.js';

// The caller logs when its audio actually went out: a stall of its own (a starved replayer) shows as
// a pause it fell behind in, a silence of the trace as one it did not, each where the caller's audio
// stood (timestamp gaps counted as the silence the bridge pads them with).

const SID = 'MZ00000000000000000000000000000002';
const PAYLOAD = Buffer.alloc(160, 0x55).toString('base64');
const start = twilioStart(SID, 'CA2');
const media = (t: number, n: number) => ({
  t,
  frame: {
    event: 'media',
    streamSid: SID,
    media: { track: 'inbound', chunk: String(n + 1), timestamp: String(t), payload: PAYLOAD },
  },
});

const trace = (frames: Trace['frames']): Trace =>
  callerTrace('pauses', [{ t: 0, frame: start }, ...frames], { callSid: 'CA2', streamSids: [SID] });

const rig = useCallerRig();

async function play(
  played: Trace,
  speed: number,
  onFrameSent?: (frame: Record<string, unknown>) => void,
): Promise<CallerSimulator> {
  const { caller } = await rig.dial({
    peer: new TwilioPeerSimulator(),
    ackOnClear: 'echo-pending',
    twilioFrames: false,
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    speed,
  });
  await caller.play(played, { ...(onFrameSent ? { onFrameSent } : {}) });
  return caller;
}

it('logs a stall of its own sending as a pause it fell behind in, where its audio stood', async () => {
  const frames = Array.from({ length: 40 }, (_, n) => media(n * 20, n));
  let sent = 0;
  const played = await play(trace(frames), 10, (frame) => {
    if (frame.event !== 'media' || ++sent !== 10) return;
    // The event loop is held for 800 ms after the tenth frame: nothing else can go out meanwhile.
    const until = performance.now() + 800;
    while (performance.now() < until);
  });
  const stall = played.log.pauses.find((p) => p.realMs >= 800);
  expect(stall).toBeDefined();
  expect(stall!.audioMs).toBe(200);
  // The frames due during the stall went out late, at once.
  expect(stall!.behindMs).toBeGreaterThan(0);
  expect(played.log.maxBehindMs).toBeGreaterThanOrEqual(stall!.behindMs);
  expect(played.log.lastMedia?.audioMs).toBe(800);
});

it('counts a timestamp gap of the trace in where its audio stood', async () => {
  // 10 frames, 300 ms with nothing (the timestamps jump), 10 more: real time, so the gap is a pause.
  const frames = [
    ...Array.from({ length: 10 }, (_, n) => media(n * 20, n)),
    ...Array.from({ length: 10 }, (_, n) => media(500 + n * 20, 10 + n)),
  ];
  const played = await play(trace(frames), 1);
  expect(played.log.lastMedia?.audioMs).toBe(700);
  // Any pause after the gap stands past it.
  for (const pause of played.log.pauses) expect(pause.audioMs <= 180 || pause.audioMs >= 500).toBe(true);
});
