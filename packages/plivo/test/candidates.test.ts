import { detectProtocol, type CallEvent } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { plivoCandidate, PlivoPeerSimulator } from '../src/index.js';

const START: CallEvent = {
  type: 'call_start',
  streamId: 'stream-1',
  callId: 'call-1',
  format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
  customParameters: {},
  raw: null,
};

/** First frames of the other carriers, as they document them. */
const OTHERS = [
  '{"event":"connected","protocol":"Call","version":"1.0.0"}',
  '{"event":"start","sequenceNumber":"1","start":{"streamSid":"MZ1","accountSid":"AC1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZ1"}',
  '{"event":"websocket:connected","content-type":"audio/l16;rate=16000"}',
  'MEDIA_START connection_id:abc channel:PJSIP/1 format:ulaw optimal_frame_size:160',
];

describe('plivoCandidate', () => {
  it('recognises the start frame the carrier sends, and creates a working protocol for it', () => {
    const frames = new PlivoPeerSimulator().encodeInbound(START).filter((f): f is string => typeof f === 'string');
    const start = frames.find((f) => f.includes('"start"'))!;
    expect(detectProtocol(start, [plivoCandidate])).toBe(plivoCandidate);
    const events = plivoCandidate.create().decode(start);
    expect(events.find((e) => e.type === 'call_start')).toMatchObject({ streamId: 'stream-1' });
  });

  it('does not claim a Vonage first frame whose NCCO headers carry a "streamId" header', () => {
    // Vonage echoes the NCCO endpoint's headers at the top level of websocket:connected.
    const vonage = JSON.stringify({ event: 'websocket:connected', 'content-type': 'audio/l16;rate=16000', streamId: 'abc', start: { streamId: 'abc' } });
    expect(plivoCandidate.matches(vonage)).toBe(false);
    expect(plivoCandidate.matches(JSON.stringify({ event: 'websocket:dtmf', digit: '5', streamId: 'abc' }))).toBe(false);
  });

  it('leaves other carriers’ first frames, binary frames and junk alone', () => {
    for (const frame of [...OTHERS, new Uint8Array([1, 2, 3]), 'not json', '[]', '{"event":1}']) {
      expect(plivoCandidate.matches(frame), String(frame)).toBe(false);
    }
  });
});
