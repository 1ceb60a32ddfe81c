/**
 * Fuzzing the ACS decoder: random and mutated frames, frames of several megabytes, valid frames
 * out of order. Every frame decodes into well-formed events or is refused with a ProtocolError.
 * Below, frames of the kinds fuzzing looks for, as plain examples.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSeedFrames, type FuzzTarget } from '@switchboard/conformance/testing';
import { ProtocolError } from '@switchboard/core';
import { MAX_TEXT_FRAME_CHARS } from '@switchboard/core/protocol';
import { describeDecodeFuzz, expectJunkFrameRefused, thrown } from '@switchboard/test-kit/fuzz';
import { AzureMediaStreamProtocol } from '../src/index.js';
import { AzurePeerSimulator } from '../src/testing.js';

const L16_16K = { encoding: 'l16', sampleRate: 16000, channels: 1 } as const;
const target: FuzzTarget = {
  name: 'azure',
  seeds: fuzzSeedFrames(new AzurePeerSimulator(), { format: L16_16K }),
  create: () => new AzureMediaStreamProtocol(),
};

describeDecodeFuzz('fuzzing $name decode', [target]);

describe('frames fuzzing looks for', () => {
  const metadata = String(target.seeds.find((frame) => String(frame).includes('"AudioMetadata"')));

  it('refuses a 10 MB text frame that is not JSON with a short excerpt', () => {
    expectJunkFrameRefused(new AzureMediaStreamProtocol());
  });

  it('refuses, unparsed, a metadata frame longer than the text frame limit', () => {
    const long = metadata.replace(
      '"audioMetadata":{',
      `"audioMetadata":{"padding":"${'x'.repeat(MAX_TEXT_FRAME_CHARS)}",`,
    );
    const error = thrown(() => new AzureMediaStreamProtocol().decode(long));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toMatch(/longer than the 1048576-character limit/);
  });

  it('passes on a metadata frame with a field nested deeper than JSON.stringify can write', () => {
    const depth = 50_000;
    const deep = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const frame = metadata.replace('"audioMetadata":{', `"deep":${deep},"audioMetadata":{`);
    const [event] = new AzureMediaStreamProtocol().decode(frame);
    expect(event?.type).toBe('call_start');
  });

  it('refuses a kind that is an object, and a subscriptionId that is not a string', () => {
    expect(thrown(() => new AzureMediaStreamProtocol().decode('{"kind":{"toString":1}}'))).toBeInstanceOf(
      ProtocolError,
    );
    const numeric = metadata.replace(/"subscriptionId":"[^"]*"/, '"subscriptionId":12');
    expect(thrown(() => new AzureMediaStreamProtocol().decode(numeric))).toBeInstanceOf(ProtocolError);
  });
});
