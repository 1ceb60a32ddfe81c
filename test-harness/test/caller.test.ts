import { describe, expect, it } from 'vitest';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import type { Trace } from '../src/trace.js';
import { callerTrace, useCallerRig } from './caller-rig.js';
import { twilioStart } from './twilio-start.js';

const SID = 'MZ00000000000000000000000000000001';
const PAYLOAD = Buffer.alloc(160, 0xff).toString('base64');

const start = twilioStart(SID, 'CA1', { sequenceNumber: '1' });

/** A media frame of 20 ms of μ-law: `chunk` and `timestamp` as Twilio writes them. */
const media = (t: number, chunk: number, timestamp: number) => ({
  t,
  frame: {
    event: 'media',
    streamSid: SID,
    media: { track: 'inbound', chunk: String(chunk), timestamp: String(timestamp), payload: PAYLOAD },
  },
});

const trace = (frames: Trace['frames']): Trace =>
  callerTrace('gap', [{ t: 0, frame: start }, ...frames], { callSid: 'CA1', streamSids: [SID] });

const rig = useCallerRig();

/** Plays `played` as a carrier without timestamps, and returns the media frames the bridge got: [chunk, timestamp]. */
async function mediaReceived(played: Trace): Promise<Array<[number, number]>> {
  const received: Array<[number, number]> = [];
  const { caller, bridge } = await rig.dial({
    peer: new TwilioPeerSimulator(),
    ackOnClear: 'echo-pending',
    twilioFrames: false,
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    speed: 10,
  });
  bridge.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { event: string; media?: { chunk: string; timestamp: string } };
    if (frame.event === 'media') received.push([Number(frame.media!.chunk), Number(frame.media!.timestamp)]);
  });
  await caller.play(played, { realTimeSilence: true });
  await new Promise((resolve) => setTimeout(resolve, 100));
  return received;
}

/** Chunks 1 to 10, 20 ms apart from 0 ms: chunks 4 to 8 are the silence sent for the gap. */
const CONTINUOUS = Array.from({ length: 10 }, (_, i): [number, number] => [i + 1, i * 20]);

describe('CallerSimulator, a carrier that streams silence through gaps', () => {
  it('fills a gap of five frames with silence and numbers the frames after it on', async () => {
    const received = await mediaReceived(
      trace([media(0, 1, 0), media(20, 2, 20), media(40, 3, 40), media(160, 4, 160), media(180, 5, 180)]),
    );
    expect(received).toEqual(CONTINUOUS);
  });

  it('still fills the gap when the first frame after it arrives late', async () => {
    // Chunk 4 follows the gap, but chunk 5 overtakes it.
    const received = await mediaReceived(
      trace([media(0, 1, 0), media(20, 2, 20), media(40, 3, 40), media(160, 5, 180), media(180, 4, 160)]),
    );
    expect(received.map(([chunk]) => chunk)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 10, 9]);
    expect([...received].sort((a, b) => a[0] - b[0])).toEqual(CONTINUOUS);
  });

  it('still fills the gap when the last frame before it arrives late', async () => {
    // Chunk 3 precedes the gap, but chunk 4 (after the gap) overtakes it.
    const received = await mediaReceived(
      trace([media(0, 1, 0), media(20, 2, 20), media(160, 4, 160), media(180, 3, 40), media(200, 5, 180)]),
    );
    expect([...received].sort((a, b) => a[0] - b[0])).toEqual(CONTINUOUS);
    // The late frame keeps its own number: it comes before the gap.
    expect(received.slice(0, 8).map(([chunk]) => chunk)).toEqual([1, 2, 4, 5, 6, 7, 8, 9]);
    expect(received[8]).toEqual([3, 40]);
  });
});
