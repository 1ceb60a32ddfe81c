import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { PlivoPeerSimulator } from '@switchboard/plivo/testing';
import { CallerSimulator } from '../src/caller.js';
import type { Trace } from '../src/trace.js';
import { twilioStart } from './twilio-start.js';

const OLD = 'MZ00000000000000000000000000000001';
const NEW = 'MZ00000000000000000000000000000002';

const start = (sid: string) => twilioStart(sid, 'CA1');

const trace: Trace = {
  header: {
    name: 'two-starts',
    description: 'a second start',
    source: 'test',
    hazards: ['second-start'],
    expect: {
      dtmf: [],
      customParameters: {},
      callSid: 'CA1',
      streamSids: [OLD, NEW],
      inboundMediaBytes: 0,
      utterances: [],
      durationMs: 0,
    },
  },
  frames: [
    { t: 0, frame: start(OLD) },
    { t: 0, frame: start(NEW) },
  ],
};

/** Plivo's audio names no stream; its checkpoint names the one it is for. */
const AUDIO = JSON.stringify({
  event: 'playAudio',
  media: { contentType: 'audio/x-mulaw', sampleRate: 8000, payload: Buffer.alloc(160, 0xff).toString('base64') },
});
const checkpoint = (sid: string, name: string) => JSON.stringify({ event: 'checkpoint', streamId: sid, name });

let server: WebSocketServer | undefined;
let caller: CallerSimulator | undefined;
afterEach(async () => {
  caller?.dispose();
  caller = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/**
 * The bridge's frames after the caller's second start: `frames`, sent once both starts arrived,
 * each reported sent at `sentAt[i]` (stream ms) when given; the bridge took the second start at
 * `takenAt` when given. Returns what the carrier side rejected, once every frame arrived.
 */
async function afterSecondStart(
  frames: string[],
  times?: { sentAt: number[]; takenAt: number },
): Promise<Array<{ error: string }>> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
  server.once('connection', (socket: WebSocket) => {
    let starts = 0;
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { event?: string }).event !== 'start' || ++starts < 2) return;
      for (const frame of frames) socket.send(frame);
    });
  });
  caller = new CallerSimulator({
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
  await caller.connect(`ws://127.0.0.1:${(server.address() as { port: number }).port}/media`);
  await caller.play(trace);
  const deadline = Date.now() + 30_000;
  while (caller.log.wire.filter((w) => w.dir === 'received').length < frames.length && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 5));
  expect(caller.log.wire.filter((w) => w.dir === 'received').length).toBe(frames.length);
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
