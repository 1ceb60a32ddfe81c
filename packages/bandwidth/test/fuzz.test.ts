/**
 * Fuzzing Bandwidth's decoder: random and mutated frames, frames of several megabytes, valid frames
 * out of order. Every frame decodes into well-formed events or is refused with a ProtocolError.
 * Below, the frames fuzzing found, as plain examples.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSeedFrames, type FuzzTarget } from '@switchboard/conformance/testing';
import { ProtocolError } from '@switchboard/core';
import { MAX_TEXT_FRAME_CHARS } from '@switchboard/core/protocol';
import { describeDecodeFuzz, expectJunkFrameRefused, thrown } from '@switchboard/test-kit/fuzz';
import { BandwidthMediaStreamProtocol } from '../src/index.js';
import { BandwidthPeerSimulator } from '../src/testing.js';

const target: FuzzTarget = {
  name: 'bandwidth',
  seeds: fuzzSeedFrames(new BandwidthPeerSimulator({ tracks: 'both' })),
  create: () => new BandwidthMediaStreamProtocol(),
};

describeDecodeFuzz('fuzzing $name decode', [target]);

describe('frames fuzzing found', () => {
  const start = String(target.seeds.find((frame) => String(frame).includes('"eventType":"start"')));

  it('refuses a 10 MB text frame that is not JSON with a short excerpt', () => {
    expectJunkFrameRefused(new BandwidthMediaStreamProtocol());
  });

  it('refuses, unparsed, a start frame longer than the text frame limit', () => {
    const long = start.replace('"metadata":{', `"metadata":{"padding":"${'x'.repeat(MAX_TEXT_FRAME_CHARS)}",`);
    const error = thrown(() => new BandwidthMediaStreamProtocol().decode(long));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toMatch(/longer than the 1048576-character limit/);
  });

  it('passes on a stream param nested deeper than JSON.stringify can write', () => {
    const depth = 50_000;
    const deep = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const message = JSON.parse(start) as Record<string, unknown>;
    const frame = JSON.stringify({ ...message, streamParams: '__DEEP__' }).replace(
      '"__DEEP__"',
      `{"deep":${deep},"who":"fuzz"}`,
    );
    const [event] = new BandwidthMediaStreamProtocol().decode(frame);
    expect(event?.type).toBe('call_start');
    const parameters = (event as { customParameters: Record<string, string> }).customParameters;
    expect(parameters['deep']).toBe(deep);
    expect(parameters['who']).toBe('fuzz');
  });

  it('refuses a tracks list holding something other than objects', () => {
    const frame = start.replace(/"tracks":\[[^\]]*\]/, '"tracks":[null]');
    expect(thrown(() => new BandwidthMediaStreamProtocol().decode(frame))).toBeInstanceOf(ProtocolError);
  });
});
