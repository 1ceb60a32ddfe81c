import { protocolCandidateCases } from '@switchboard/conformance/testing';
import { describe, expect, it } from 'vitest';
import { telnyxCandidate } from '../src/index.js';
import { TelnyxPeerSimulator } from '../src/testing.js';

// Recognises its own start frame; leaves alone a Vonage frame whose NCCO headers carry a
// "stream_id" header, other carriers' first frames, binary frames and junk.
describe('telnyxCandidate', () => {
  it.each(protocolCandidateCases(telnyxCandidate, { peer: new TelnyxPeerSimulator(), streamIdField: 'stream_id' }))(
    '%s',
    (_title, check) => check(),
  );
});

it("leaves alone Wavix's start and media frames, which carry stream_id at the top level too", async () => {
  const { WavixPeerSimulator } = await import('@switchboard/wavix/testing');
  const peer = new WavixPeerSimulator();
  const frames = peer.encodeInbound({
    type: 'call_start',
    callId: 'wavix-call',
    streamId: 'wavix-stream',
    format: { encoding: 'l16', sampleRate: 24000, channels: 1 },
    customParameters: {},
    raw: undefined,
  });
  frames.push(...peer.encodeInbound({ type: 'audio', payload: new Uint8Array(960) }));
  expect(frames.length).toBeGreaterThan(1);
  for (const frame of frames) expect(telnyxCandidate.matches(frame)).toBe(false);
});
