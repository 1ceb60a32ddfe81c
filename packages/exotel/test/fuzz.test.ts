/**
 * Fuzzing Exotel's decoder: random and mutated frames, frames of several megabytes, valid frames
 * out of order. Every frame decodes into well-formed events or is refused with a ProtocolError.
 * Below, the frames fuzzing found, as plain examples.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSeedFrames, type FuzzTarget } from '@switchboard/conformance/testing';
import { ProtocolError } from '@switchboard/core';
import { MAX_TEXT_FRAME_CHARS } from '@switchboard/core/protocol';
import { describeDecodeFuzz, expectJunkFrameRefused, thrown } from '@switchboard/test-kit/fuzz';
import { ExotelMediaStreamProtocol } from '../src/index.js';
import { ExotelPeerSimulator } from '../src/testing.js';

const L16_8K = { encoding: 'l16', sampleRate: 8000, channels: 1 } as const;
const target: FuzzTarget = {
  name: 'exotel',
  seeds: fuzzSeedFrames(new ExotelPeerSimulator(), { format: L16_8K }),
  create: () => new ExotelMediaStreamProtocol(),
};

describeDecodeFuzz('fuzzing $name decode', [target]);

describe('frames fuzzing found', () => {
  const start = String(target.seeds.find((frame) => String(frame).includes('"event":"start"')));

  it('refuses a 10 MB text frame that is not JSON with a short excerpt', () => {
    expectJunkFrameRefused(new ExotelMediaStreamProtocol());
  });

  it('refuses, unparsed, a start frame longer than the text frame limit', () => {
    const long = start.replace('"start":{', `"start":{"padding":"${'x'.repeat(MAX_TEXT_FRAME_CHARS)}",`);
    const error = thrown(() => new ExotelMediaStreamProtocol().decode(long));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toMatch(/longer than the 1048576-character limit/);
  });

  it('passes on a custom parameter nested deeper than JSON.stringify can write', () => {
    const depth = 50_000;
    const deep = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const message = JSON.parse(start) as Record<string, unknown> & { start: Record<string, unknown> };
    const frame = JSON.stringify({ ...message, start: { ...message.start, custom_parameters: '__DEEP__' } }).replace(
      '"__DEEP__"',
      `{"deep":${deep},"who":"fuzz"}`,
    );
    const [event] = new ExotelMediaStreamProtocol().decode(frame);
    expect(event?.type).toBe('call_start');
    const parameters = (event as { customParameters: Record<string, string> }).customParameters;
    expect(parameters['deep']).toBe(deep);
    expect(parameters['who']).toBe('fuzz');
  });
});
