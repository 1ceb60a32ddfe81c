/**
 * Fuzzing Wavix's decoder: random and mutated frames, frames of several megabytes, valid frames
 * out of order. Every frame decodes into well-formed events or is refused with a ProtocolError.
 * Below, the frames fuzzing found, as plain examples.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSeedFrames, type FuzzTarget } from '@switchboard/conformance/testing';
import { ProtocolError } from '@switchboard/core';
import { MAX_TEXT_FRAME_CHARS } from '@switchboard/core/protocol';
import { describeDecodeFuzz, expectJunkFrameRefused, thrown } from '@switchboard/test-kit/fuzz';
import { WavixMediaStreamProtocol } from '../src/index.js';
import { WavixPeerSimulator } from '../src/testing.js';

const target: FuzzTarget = {
  name: 'wavix',
  seeds: fuzzSeedFrames(new WavixPeerSimulator(), { format: { encoding: 'l16', sampleRate: 24000, channels: 1 } }),
  create: () => new WavixMediaStreamProtocol({ customParameters: ({ streamId }) => ({ stream: streamId }) }),
};

describeDecodeFuzz('fuzzing $name decode', [target]);

describe('frames fuzzing found', () => {
  const start = String(target.seeds.find((frame) => String(frame).includes('"event":"start"')));

  it('refuses a 10 MB text frame that is not JSON with a short excerpt', () => {
    expectJunkFrameRefused(new WavixMediaStreamProtocol());
  });

  it('refuses, unparsed, a start frame longer than the text frame limit', () => {
    const long = start.replace('"event":"start",', `"event":"start","padding":"${'x'.repeat(MAX_TEXT_FRAME_CHARS)}",`);
    const error = thrown(() => new WavixMediaStreamProtocol().decode(long));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toMatch(/longer than the 1048576-character limit/);
  });

  it('reads a start whose stream id is a 100 000-character string, and a call id of JSON escapes', () => {
    const message = JSON.parse(start) as Record<string, unknown>;
    const streamId = 's'.repeat(100_000);
    const frame = JSON.stringify({ ...message, stream_id: streamId, call_id: '\u0000\u2028"\\' });
    const [event] = new WavixMediaStreamProtocol().decode(frame);
    expect(event).toMatchObject({ type: 'call_start', streamId, callId: '\u0000\u2028"\\' });
  });

  it('passes over a media frame of the outbound track even when its payload is junk', () => {
    const protocol = new WavixMediaStreamProtocol();
    protocol.decode(start);
    expect(protocol.decode('{"event":"media","media":{"track":"outbound","payload":"@@"}}')).toEqual([]);
  });
});
