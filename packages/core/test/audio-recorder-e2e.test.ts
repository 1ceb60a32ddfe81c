/**
 * Twilio calls through the real transport, recorded by the call audio recorder into files with
 * Node's streams, and the WAV read back by outside code: Python's `wave` module. The caller's
 * channel must hold the caller's audio as the carrier sent it, and the agent's channel what the
 * carrier received, up to the barge-in's clear and nothing after it: exactly, on a clock the test
 * moves (the rig's fake model), and as far as real time went with the realtime simulator.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectSession, until, useTransportRig, type ConnectedSession } from '@switchboard/conformance/testing';
import { longReplyScript, RealtimeSimulator } from '@switchboard/conformance';
import { TwilioRealtimeTransport } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { CallAudioRecorder, concatBytes, decodeMuLaw, encodeMuLaw, type AudioFormat } from '../src/index.js';

const PCMU: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const dir = mkdtempSync(join(tmpdir(), 'switchboard-audio-recorder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let clock = 1_000_000;
let connected: ConnectedSession | undefined;
/** Set: the transport's model is the realtime simulator, on real time; unset: the rig's fake model, on `clock`. */
let simulator: RealtimeSimulator | undefined;
const rig = useTransportRig({ beforeEach, afterEach }, (connection, url) =>
  simulator
    ? new TwilioRealtimeTransport({ twilioWebSocket: connection, url: simulator.url })
    : new TwilioRealtimeTransport({ twilioWebSocket: connection, url, now: () => clock }),
);
afterEach(async () => {
  connected?.session.close();
  connected = undefined;
  await simulator?.stop();
  simulator = undefined;
});

/** `count` samples of a tone of `period` samples, from sample `from` (so chunks join up), as μ-law. */
function tone(period: number, count: number, from: number, amplitude: number): Uint8Array {
  return encodeMuLaw(
    Int16Array.from({ length: count }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * (from + i)) / period))),
  );
}

type WaveRead = { channels: number; rate: number; width: number; frames: number; left: number[]; right: number[] };

/** The WAV as Python's `wave` module reads it: parameters, and each channel's samples. */
function readWithPython(path: string): WaveRead {
  const script = [
    'import array, json, sys, wave',
    'with wave.open(sys.argv[1], "rb") as w:',
    '    channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()',
    '    frames = w.getnframes()',
    '    data = w.readframes(1 << 30)',
    'samples = array.array("h")',
    'samples.frombytes(data)',
    'if sys.byteorder == "big": samples.byteswap()',
    'print(json.dumps({"channels": channels, "rate": rate, "width": width, "frames": frames,',
    '                  "left": list(samples[0::2]), "right": list(samples[1::2])}))',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script, path], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr || run.error?.message}`);
  return JSON.parse(run.stdout) as WaveRead;
}

describe('CallAudioRecorder on a Twilio call', () => {
  it('writes a WAV that Python reads: the caller as sent, the agent as received up to the clear', async () => {
    clock = 1_000_000;
    const peer = new TwilioPeerSimulator();
    const transport = rig.make();
    const wavPath = join(dir, 'call.wav');
    const eventsPath = join(dir, 'call.jsonl');
    const wav = createWriteStream(wavPath);
    const eventLog = createWriteStream(eventsPath);
    const recorder = new CallAudioRecorder(transport, { sink: wav, events: eventLog, now: () => clock });
    connected = await connectSession(transport);
    rig.send(peer, {
      type: 'call_start',
      streamId: 'MZ00000000000000000000000000000001',
      callId: 'CA00000000000000000000000000000001',
      format: PCMU,
      customParameters: { caller: 'test' },
      raw: undefined,
    });

    const callerSent: Uint8Array[] = [];
    const speak = (frames: number) => {
      for (let i = 0; i < frames; i++) {
        clock += 20;
        const frame = tone(40, 160, callerSent.length * 160, 6000);
        callerSent.push(frame);
        rig.send(peer, { type: 'audio', payload: frame });
      }
    };
    const received = () =>
      rig.carrier.sent.flatMap((frame) => peer.decodeOutbound(frame as string)).filter((c) => c.type !== 'mark');
    const receivedAudio = () => concatBytes(received().flatMap((c) => (c.type === 'audio' ? [c.payload] : [])));

    speak(10);
    // A one-second reply, in ten deltas, reaches the carrier 200 ms in (the clock stands still meanwhile).
    rig.model.respond(
      'resp_1',
      'item_1',
      Array.from({ length: 10 }, (_, i) => tone(16, 800, i * 800, 9000)),
      { done: false },
    );
    await until(() => receivedAudio().byteLength === 8000, 20_000);
    speak(15);
    // 300 ms into the reply the caller speaks over it: the transport clears the carrier's queue.
    rig.model.send({ type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 });
    await until(() => received().some((c) => c.type === 'clear'), 20_000);
    speak(25);
    rig.send(peer, { type: 'call_end' });
    const done = await recorder.done;
    await Promise.all([finished(wav), finished(eventLog)]);

    // The file as streamed: a header that says "length unknown", which Python reads to the end.
    const streamed = readWithPython(wavPath);
    expect(streamed).toMatchObject({ channels: 2, rate: 8000, width: 2 });
    expect(streamed.left).toHaveLength(8000);
    // The real sizes written over the streamed header, as a Node application does.
    const file = await open(wavPath, 'r+');
    await file.write(done.header, 0, done.header.byteLength, 0);
    await file.close();
    const read = readWithPython(wavPath);
    expect(read).toMatchObject({ channels: 2, rate: 8000, width: 2, frames: 8000 });
    expect(read.left).toEqual(streamed.left);
    expect(read.right).toEqual(streamed.right);

    // Left: every sample the caller sent, from the start.
    expect(read.left).toEqual(Array.from(decodeMuLaw(concatBytes(callerSent))));
    // Right: silence until the reply left (200 ms), what the carrier received until the clear
    // (300 ms of it), silence after; the 700 ms the carrier got but dropped are not there.
    const heard = Array.from(decodeMuLaw(receivedAudio().subarray(0, 2400)));
    expect(read.right.slice(0, 1600).every((s) => s === 0)).toBe(true);
    expect(read.right.slice(1600, 4000)).toEqual(heard);
    expect(read.right.slice(4000).every((s) => s === 0)).toBe(true);
    expect(done.stats).toMatchObject({ clears: 1, cutMs: 700, droppedMs: 0, writeErrors: 0, recordedMs: 1000 });

    const events = readFileSync(eventsPath, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { at: number; type: string; [key: string]: unknown });
    expect(events.map((e) => [e.type, e.at])).toEqual([
      ['recording_start', 0],
      ['call_start', 0],
      ['clear', 500],
      ['call_end', 1000],
      ['recording_end', 1000],
    ]);
    expect(events[1]).toMatchObject({
      streamId: 'MZ00000000000000000000000000000001',
      customParameters: { caller: 'test' },
    });
    expect(events[2]).toMatchObject({ cutMs: 700 });
  });

  it('records a call with the realtime simulator: its reply as far as the caller heard it before speaking over it', async () => {
    // An 18-second reply generated 20 times faster than it plays: whenever the caller speaks over
    // it, most of what the carrier received is still to be played, and the clear drops it.
    simulator = new RealtimeSimulator({ script: longReplyScript(), generationSpeed: 20 });
    await simulator.start();
    const peer = new TwilioPeerSimulator();
    const transport = rig.make();
    const wavPath = join(dir, 'simulated.wav');
    const wav = createWriteStream(wavPath);
    const lines: string[] = [];
    const recorder = new CallAudioRecorder(transport, { sink: wav, events: { write: (l: string) => lines.push(l) } });
    let firstSentAt: number | undefined;
    transport.observeMedia({ agentAudio: () => void (firstSentAt ??= Date.now()) });
    connected = await connectSession(transport);
    rig.send(peer, {
      type: 'call_start',
      streamId: 'MZ00000000000000000000000000000002',
      callId: 'CA00000000000000000000000000000002',
      format: PCMU,
      customParameters: {},
      raw: undefined,
    });
    const callerSent: Uint8Array[] = [];
    /** The caller sends `frames` 20 ms frames, of a tone (speech to the simulator's VAD) or silence. */
    const send = async (frames: number, speech: boolean) => {
      for (let i = 0; i < frames; i++) {
        const frame = speech ? tone(40, 160, i * 160, 6000) : new Uint8Array(160).fill(0xff);
        callerSent.push(frame);
        rig.send(peer, { type: 'audio', payload: frame });
        if (i % 10 === 9) await new Promise((r) => setTimeout(r, 1));
      }
    };
    const received = () => rig.carrier.sent.flatMap((frame) => peer.decodeOutbound(frame as string));
    const receivedAudio = () => concatBytes(received().flatMap((c) => (c.type === 'audio' ? [c.payload] : [])));

    // The caller speaks for a second and stops; the simulator answers.
    await send(50, true);
    await send(40, false);
    await until(() => receivedAudio().byteLength > 0, 30_000);
    // Playout takes time: the caller hears a second of the reply (however slow the machine, more is
    // only more heard of the 18 seconds), then speaks over it; the simulator's VAD hears it and the
    // transport clears.
    await until(() => firstSentAt !== undefined && Date.now() - firstSentAt >= 1000, 30_000);
    await send(50, true);
    await until(() => received().some((c) => c.type === 'clear'), 30_000);
    await send(10, false);
    rig.send(peer, { type: 'call_end' });
    const done = await recorder.done;
    await finished(wav);
    const file = await open(wavPath, 'r+');
    await file.write(done.header, 0, done.header.byteLength, 0);
    await file.close();

    const read = readWithPython(wavPath);
    expect(read).toMatchObject({ channels: 2, rate: 8000, width: 2 });
    const sound = (samples: ArrayLike<number>) => Array.from(samples).filter((s) => s !== 0);
    // Left: the caller's audio, all of it, in order.
    expect(sound(read.left)).toEqual(sound(decodeMuLaw(concatBytes(callerSent))));
    // Right: the start of the reply as the carrier received it, and nothing past what the clear dropped.
    const reply = sound(decodeMuLaw(receivedAudio()));
    const heard = sound(read.right);
    expect(heard.length).toBeGreaterThan(0);
    expect(heard.length).toBeLessThan(reply.length);
    expect(heard).toEqual(reply.slice(0, heard.length));
    expect(done.stats.clears).toBeGreaterThanOrEqual(1);
    expect(done.stats.cutMs).toBeGreaterThan(0);
    const events = lines.map((l) => JSON.parse(l) as { type: string; cutMs?: number });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['call_start', 'clear', 'call_end']));
    expect(events.find((e) => e.type === 'clear')!.cutMs).toBeGreaterThan(0);
  });
});
