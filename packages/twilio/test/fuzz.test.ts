/**
 * Fuzzing Twilio's and SignalWire's Media Streams decoder: random and mutated frames, frames of
 * several megabytes, valid frames out of order. Every frame decodes into well-formed events or is
 * refused with a ProtocolError. Below, the frames fuzzing found, as plain examples.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSeedFrames, type FuzzTarget } from '@switchboard/conformance/testing';
import { ProtocolError } from '@switchboard/core';
import { MAX_TEXT_FRAME_CHARS } from '@switchboard/core/protocol';
import { describeDecodeFuzz, expectJunkFrameRefused, thrown } from '@switchboard/test-kit/fuzz';
import { TwilioMediaStreamProtocol } from '../src/index.js';
import { SignalWirePeerSimulator, TwilioPeerSimulator } from '../src/testing.js';

const L16_16K = { encoding: 'l16', sampleRate: 16000, channels: 1 } as const;

const twilio: FuzzTarget = {
  name: 'twilio',
  seeds: fuzzSeedFrames(new TwilioPeerSimulator()),
  create: () => new TwilioMediaStreamProtocol(),
};

const signalwireSeeds = fuzzSeedFrames(new SignalWirePeerSimulator({ format: L16_16K }), { format: L16_16K });
const signalwire: FuzzTarget = {
  name: 'signalwire',
  // SignalWire's documented `rawEvent` envelope around the same messages, too.
  seeds: [...signalwireSeeds, ...signalwireSeeds.slice(0, 4).map((frame) => `{"rawEvent":${String(frame)}}`)],
  create: () => new TwilioMediaStreamProtocol({ dialect: 'signalwire' }),
};

describeDecodeFuzz('fuzzing $name decode', [twilio, signalwire]);

describe('frames fuzzing found', () => {
  const start = String(twilio.seeds.find((frame) => String(frame).includes('"event":"start"')));

  it('refuses a 10 MB text frame that is not JSON with a short excerpt', () => {
    expectJunkFrameRefused(new TwilioMediaStreamProtocol());
  });

  it('refuses, unparsed, a valid frame longer than the text frame limit', () => {
    const media = `{"event":"media","streamSid":"MZ1","media":{"payload":"${'A'.repeat(MAX_TEXT_FRAME_CHARS)}"}}`;
    const error = thrown(() => new TwilioMediaStreamProtocol().decode(media));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toMatch(/longer than the 1048576-character limit/);
  });

  it('passes on a custom parameter nested deeper than JSON.stringify can write', () => {
    const message = JSON.parse(start) as { start: { customParameters: Record<string, unknown> } };
    const depth = 50_000;
    const frame = JSON.stringify(message).replace(
      '"customParameters":{',
      `"customParameters":{"deep":${'['.repeat(depth)}1${']'.repeat(depth)},`,
    );
    const [event] = new TwilioMediaStreamProtocol().decode(frame);
    expect(event?.type).toBe('call_start');
    const parameters = (event as { customParameters: Record<string, string> }).customParameters;
    expect(parameters['deep']).toBe(`${'['.repeat(depth)}1${']'.repeat(depth)}`);
    expect(parameters['who']).toBe('fuzz');
  });
});
