/**
 * A trace in a binary carrier's own frames (Vonage: a JSON start, then raw L16 16 kHz audio as
 * binary frames, no timestamps): its facts and the caller's audio come from the frames read by the
 * carrier's protocol, and strict parsing knows the recorder's note of a truncated recording.
 */
import { base64Encode, encodeMuLaw, pcm16ToBytes } from '@switchboard/core';
import { conformance as sip } from '@switchboard/sip/testing';
import { conformance as websocketAdapters } from '@switchboard/websocket/testing';
import { describe, expect, it } from 'vitest';
import { traceInputAudio } from '../src/checks.js';
import { replayAndCheck } from '../src/run.js';
import type { ReplayResult } from '../src/replay.js';
import { parseTrace, traceExpect, traceHazards, TraceParseError } from '../src/trace.js';

const vonage = websocketAdapters.find((a) => a.name === 'websocket/vonage')!;
const RATE = 16000;
const FRAME_MS = 20;
const SAMPLES = (RATE * FRAME_MS) / 1000;

/** 20 ms of L16: silence, or a 300 Hz tone whose loudness rises and falls four times a second (syllables). */
function frame(k: number): Uint8Array {
  const samples = new Int16Array(SAMPLES);
  const speaking = k >= 50 && k < 125; // 1000 ms to 2500 ms
  for (let i = 0; i < SAMPLES; i++) {
    const n = k * SAMPLES + i;
    const syllable = 0.55 + 0.45 * Math.sin((2 * Math.PI * 4 * n) / RATE);
    samples[i] = speaking ? Math.round(12000 * syllable * Math.sin((2 * Math.PI * 300 * n) / RATE)) : 0;
  }
  return pcm16ToBytes(samples);
}

/**
 * A call of 175 frames (3.5 s). The gateway sends its audio in bursts of five frames, each burst
 * once its last frame was spoken: arrival times say little about where audio sits in the call.
 */
function vonageTrace(extraLastLine = '', stall?: { from: number; to: number }): string {
  const lines = [JSON.stringify({ trace: { name: 'vonage-bursts', carrier: 'vonage' } })];
  lines.push(
    JSON.stringify({
      t: 0,
      frame: { event: 'websocket:connected', 'content-type': 'audio/l16;rate=16000', uuid: 'call-1' },
    }),
  );
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 175; k++) {
    frames.push(frame(k));
    // A stall: the frames of [from, to) held up, arriving at once with the burst of frame `to`.
    const late =
      stall && k >= stall.from
        ? k < stall.to
          ? Math.ceil((stall.to + 1) / 5) * 100 - Math.ceil((k + 1) / 5) * 100
          : 0
        : 0;
    lines.push(JSON.stringify({ t: Math.ceil((k + 1) / 5) * 100 + late, binary: base64Encode(frames[k]!) }));
    if (k === 140)
      lines.push(
        JSON.stringify({
          t: Math.ceil((k + 1) / 5) * 100,
          frame: { event: 'websocket:dtmf', digit: '7', duration: 250 },
        }),
      );
  }
  const last = lines.pop()!;
  lines.push(extraLastLine ? `${last.slice(0, -1)},${extraLastLine}}` : last);
  return lines.join('\n') + '\n';
}

/** A SIP call as the SIP adapter's WebSocket carries it: the INVITE as text, then 50 RTP packets of μ-law. */
function sipTrace(): string {
  const sdp = [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    'm=audio 40000 RTP/AVP 0 101',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
  const invite = [
    'INVITE sip:bridge@127.0.0.1 SIP/2.0',
    'Via: SIP/2.0/WS peer.invalid;branch=z9hG4bK0123456789',
    'Max-Forwards: 70',
    'From: <sip:caller@peer.invalid>;tag=1',
    'To: <sip:bridge@127.0.0.1>',
    'Call-ID: call-1',
    'CSeq: 1 INVITE',
    'Content-Type: application/sdp',
    `Content-Length: ${sdp.length}`,
  ].join('\r\n');
  const lines = [
    JSON.stringify({ trace: { name: 'sip-rtp', carrier: 'sip' } }),
    JSON.stringify({ t: 0, text: `${invite}\r\n\r\n${sdp}` }),
  ];
  for (let k = 0; k < 50; k++) {
    const packet = new Uint8Array(12 + 160);
    const view = new DataView(packet.buffer);
    packet[0] = 0x80;
    view.setUint16(2, 1000 + k);
    view.setUint32(4, 5000 + k * 160);
    view.setUint32(8, 0x1234abcd);
    const samples = new Int16Array(160).map((_, i) =>
      Math.round(8000 * Math.sin((2 * Math.PI * 440 * (k * 160 + i)) / 8000)),
    );
    packet.set(encodeMuLaw(samples), 12);
    lines.push(JSON.stringify({ t: 20 + k * 20, binary: base64Encode(packet) }));
  }
  return lines.join('\n') + '\n';
}

describe('a trace of a binary carrier', () => {
  it('has the facts its binary frames carry, read by the carrier protocol', () => {
    const trace = parseTrace(vonageTrace());
    const facts = traceExpect(trace, { protocol: vonage.createProtocol!() });
    expect(facts.starts?.map((s) => [s.streamSid, s.format])).toEqual([
      ['call-1', { encoding: 'l16', sampleRate: 16000, channels: 1 }],
    ]);
    expect(facts.dtmf).toEqual(['7']);
    expect(facts.inboundMediaBytes).toBe(175 * SAMPLES * 2);
    expect(facts.gapMs).toBeUndefined();
    // Placed by its own length from where it began, not where its burst arrived: one utterance at 1.0-2.5 s.
    expect(facts.utterances).toHaveLength(1);
    expect(Math.abs(facts.utterances[0]!.startMs - 1000)).toBeLessThanOrEqual(120);
    expect(Math.abs(facts.utterances[0]!.endMs - 2500)).toBeLessThanOrEqual(120);
    expect(traceHazards(trace)).toEqual(expect.arrayContaining(['dtmf', 'no-stop']));
  });

  it('gives the caller audio byte for byte, in the format its start announced', () => {
    const trace = parseTrace(vonageTrace());
    traceExpect(trace, { protocol: vonage.createProtocol!() });
    const audio = traceInputAudio({ trace } as ReplayResult);
    const expected = new Uint8Array(175 * SAMPLES * 2);
    for (let k = 0; k < 175; k++) expected.set(frame(k), k * SAMPLES * 2);
    expect(audio.byteLength).toBe(expected.byteLength);
    expect(Buffer.from(audio).equals(Buffer.from(expected))).toBe(true);
  });

  it('keeps the facts it read with a protocol when the same protocol asks again', () => {
    // RTP over a WebSocket: a protocol with state (its jitter buffer, the source it follows).
    const trace = parseTrace(sipTrace());
    const protocol = sip.createProtocol!();
    const first = JSON.stringify(traceExpect(trace, { protocol }));
    // A protocol has read the frames once: asked again (as a replay asks for the hazards), it must not read them twice.
    traceHazards(trace, { protocol });
    expect(JSON.stringify(traceExpect(trace))).toBe(first);
    expect(traceExpect(trace).inboundMediaBytes).toBeGreaterThan(0);
  });
});

describe('strict parsing of a truncated recording', () => {
  const note = '"truncated":{"framesDropped":12,"bytesDropped":7680}';

  it('accepts the recorder’s truncated note on the last line', () => {
    const trace = parseTrace(vonageTrace(note), undefined, { strict: true });
    expect(trace.lines).toHaveLength(177);
  });

  it('refuses it anywhere but the last line, or with other fields', () => {
    const text = vonageTrace(note).trimEnd().split('\n');
    const moved = [
      ...text.slice(0, -2),
      `${text.at(-2)!.slice(0, -1)},${note}}`,
      text.at(-1)!.replace(`,${note}`, ''),
    ].join('\n');
    expect(() => parseTrace(moved, undefined, { strict: true })).toThrow(/truncated is for the last line only/);
    expect(() => parseTrace(moved)).not.toThrow();
    const odd = vonageTrace('"truncated":{"framesDropped":-1,"bytesDropped":0}');
    expect(() => parseTrace(odd, undefined, { strict: true })).toThrow(TraceParseError);
    expect(() => parseTrace(vonageTrace('"truncated":{"frames":1}'), undefined, { strict: true })).toThrow(
      /bad truncated/,
    );
    expect(() => parseTrace(vonageTrace('"other":1'), undefined, { strict: true })).toThrow(
      /unknown key\(s\) on a frame line: other/,
    );
  });
});

describe('a binary carrier trace replayed frame for frame', () => {
  it('excuses the inactivity padding of a stall in its frames, as for a Twilio trace', async () => {
    // Frames 60-119 (1.2-2.4 s, while the caller speaks) arrive together at 2.5 s: the line is quiet for 1.3 s.
    const trace = parseTrace(vonageTrace('', { from: 60, to: 120 }));
    const checked = await replayAndCheck(vonage, trace, { speed: 1, retryTiming: false });
    const lossless = checked.outcomes.find((o) => o.check.id === 'input.lossless')!.outcome;
    expect(lossless.status, lossless.detail).toBe('pass');
    // The caller logs the pause in its sending; the padding it explains is excused, not ignored.
    expect(checked.result.carrier.pauses.some((p) => p.realMs >= 500)).toBe(true);
    if (Number(checked.result.metrics?.['inactivityPaddedMs'] ?? 0) > 0)
      expect(lossless.detail).toContain('inactivity padding');
  }, 60_000);
});
