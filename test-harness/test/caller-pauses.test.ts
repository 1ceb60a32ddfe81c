import { afterEach, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { CallerSimulator } from '../src/caller.js';
import type { Trace } from '../src/trace.js';
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

function trace(frames: Trace['frames']): Trace {
  const expect = {
    dtmf: [],
    customParameters: {},
    callSid: 'CA2',
    streamSids: [SID],
    inboundMediaBytes: 0,
    utterances: [],
    durationMs: frames.at(-1)!.t,
  };
  return {
    header: { name: 'pauses', description: '', source: 'test', hazards: [], expect },
    frames: [{ t: 0, frame: start }, ...frames],
  };
}

let server: WebSocketServer | undefined;
let caller: CallerSimulator | undefined;
afterEach(async () => {
  caller?.dispose();
  caller = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function play(
  played: Trace,
  speed: number,
  onFrameSent?: (frame: Record<string, unknown>) => void,
): Promise<CallerSimulator> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
  caller = new CallerSimulator({
    peer: new TwilioPeerSimulator(),
    ackOnClear: 'echo-pending',
    twilioFrames: false,
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    speed,
  });
  await caller.connect(`ws://127.0.0.1:${(server.address() as { port: number }).port}/media`);
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
