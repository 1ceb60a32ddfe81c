/**
 * Captures as a recorder or a carrier's debug log would give them, made from the bundled corpus
 * by following only the documented Twilio frame format: no `expect` block, and each with one of
 * the quirks of a real capture. Short (a few seconds), so that replaying each through every
 * adapter stays quick.
 */
import { join } from 'node:path';
import { encodeMuLaw, base64Encode } from '@switchboard/core';
import { bundledTracesDir, loadTrace, parseTrace, type Trace, type TraceFrame } from '../src/trace.js';

type Obj = Record<string, unknown>;

const line = (value: unknown) => JSON.stringify(value);

/** A trace file's text: the header (no `expect`) and the frames. */
export function captureText(header: Obj | undefined, frames: readonly TraceFrame[]): string {
  return (
    [...(header ? [line({ trace: header })] : []), ...frames.map((f) => line({ t: f.t, frame: f.frame }))].join('\n') +
    '\n'
  );
}

/** The frames up to `untilMs`, then a `stop` there (unless `stop` is false). */
function cut(trace: Trace, untilMs: number, stop = true): TraceFrame[] {
  const kept = trace.frames.filter((f) => f.t <= untilMs && f.frame.event !== 'stop');
  const last = trace.frames.find((f) => f.frame.event === 'stop');
  if (stop && last) kept.push({ t: Math.max(kept.at(-1)!.t, untilMs), frame: last.frame });
  return kept;
}

/** Where the call stops in the short captures: the first turn and most of the reply to it, ms. */
const SHORT_MS = 7000;

const blankIds = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(blankIds);
  if (value === null || typeof value !== 'object') return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value as Obj))
    out[k] = /^(streamSid|callSid|accountSid)$/.test(k) ? '' : k === 'customParameters' ? {} : blankIds(v);
  return out;
};

/** A 20 ms μ-law frame of `samples` (160 of them), base64. */
function muLawPayload(samples: Int16Array): string {
  return base64Encode(encodeMuLaw(samples));
}

/** Seeded noise and tones at 8 kHz. */
function nonSpeechSamples(totalMs: number): Int16Array {
  const out = new Int16Array((totalMs * 8000) / 1000);
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  for (let i = 0; i < out.length; i++) {
    const sec = i / 8000;
    let v: number;
    if (sec < 1)
      v = 0.25 * Math.sin(2 * Math.PI * 440 * sec); // a steady tone (hold music, a ring-back)
    else if (sec < 2)
      v = 0.02 * rand(); // line noise
    else if (sec < 3)
      v = 0.15 * (Math.sin(2 * Math.PI * 770 * sec) + Math.sin(2 * Math.PI * 1336 * sec)); // an in-band DTMF tone
    else v = 0.05 * rand(); // louder hiss
    out[i] = Math.round(v * 32767);
  }
  return out;
}

export type Capture = { name: string; trace: Trace; text: string };

function capture(name: string, header: Obj | undefined, frames: TraceFrame[]): Capture {
  const text = captureText(header, frames);
  return { name, trace: parseTrace(text, `${name}.jsonl`, { defaultName: name }), text };
}

/** The five captures, each with one quirk. */
export async function realCaptures(): Promise<Capture[]> {
  const twoTurn = await loadTrace(join(bundledTracesDir(), 'two-turn.jsonl'));
  const secondStart = await loadTrace(join(bundledTracesDir(), 'second-start.jsonl'));

  // 1. It begins mid-call: no `connected`, no `start`, the first media frame is chunk 16 (t 300).
  const fragment = capture(
    'capture-fragment',
    { source: 'a capture that began mid-call' },
    cut(twoTurn, SHORT_MS).filter((f) => f.t >= 300 && f.frame.event !== 'connected' && f.frame.event !== 'start'),
  );

  // 2. The recorder redacted every id and the custom parameters.
  const redacted = capture(
    'capture-redacted',
    { source: 'a redacted recording', redacted: ['call-ids', 'custom-parameters'], recordedAt: '2026-12-01T10:00:00Z' },
    cut(twoTurn, SHORT_MS).map((f) => ({ t: f.t, frame: blankIds(f.frame) as Obj })),
  );

  // 3. A second `start` whose custom parameters differ from the first's.
  const second = secondStart.frames.filter((f) => f.frame.event === 'start')[1]!;
  const params = { caller: '+15559870000', transferred: 'yes' };
  const twoStarts = capture(
    'capture-second-start',
    undefined,
    cut(secondStart, second.t + 2500).map((f) => {
      if (f !== second) return f;
      const start = f.frame.start as Obj;
      return { t: f.t, frame: { ...f.frame, start: { ...start, customParameters: params } } };
    }),
  );

  // 4. No `stop` (the socket just closes), and the older shape of the first two frames: a
  //    `connected` of another version, a `start` without `tracks` or `customParameters`.
  const noStop = capture(
    'capture-no-stop',
    { description: 'no stop, legacy connected/start' },
    cut(twoTurn, SHORT_MS, false).map((f) => {
      if (f.frame.event === 'connected')
        return { t: f.t, frame: { event: 'connected', protocol: 'Call', version: '0.2.0' } };
      if (f.frame.event !== 'start') return f;
      const { tracks: _tracks, customParameters: _params, ...start } = f.frame.start as Obj;
      return { t: f.t, frame: { ...f.frame, start } };
    }),
  );

  // 5. No speech at all: a tone, line noise, an in-band DTMF tone, hiss.
  const samples = nonSpeechSamples(4000);
  const sid = {
    streamSid: 'MZ5f1e0c2a9b8d7e6f5a4b3c2d1e0f9a8b',
    callSid: 'CA0a1b2c3d4e5f60718293a4b5c6d7e8f9',
    accountSid: 'AC00112233445566778899aabbccddeeff',
  };
  const frames: TraceFrame[] = [
    { t: 0, frame: { event: 'connected', protocol: 'Call', version: '1.0.0' } },
    {
      t: 0,
      frame: {
        event: 'start',
        sequenceNumber: '1',
        start: {
          ...sid,
          tracks: ['inbound'],
          customParameters: {},
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
        streamSid: sid.streamSid,
      },
    },
  ];
  for (let k = 0; k * 160 < samples.length; k++) {
    frames.push({
      t: k * 20,
      frame: {
        event: 'media',
        sequenceNumber: String(k + 2),
        media: {
          track: 'inbound',
          chunk: String(k + 1),
          timestamp: String(k * 20),
          payload: muLawPayload(samples.subarray(k * 160, k * 160 + 160)),
        },
        streamSid: sid.streamSid,
      },
    });
  }
  frames.push({
    t: 4000,
    frame: {
      event: 'stop',
      sequenceNumber: String(frames.length),
      stop: { accountSid: sid.accountSid, callSid: sid.callSid },
      streamSid: sid.streamSid,
    },
  });
  const nonSpeech = capture('capture-non-speech', { source: 'tones and noise, no speech' }, frames);

  return [fragment, redacted, twoStarts, noStop, nonSpeech];
}
