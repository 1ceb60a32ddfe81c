/**
 * A whole TwilioRealtimeTransport fed fuzzed carrier frames, with a model on loopback: nothing
 * thrown out of the carrier socket's message handler, every bad frame an `error` event carrying a
 * ProtocolError, counted in the metrics.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolError, type MediaFrame } from '@switchboard/core';
import {
  FakeCarrier,
  FakeRealtimeServer,
  fuzzCorpus,
  fuzzRandom,
  fuzzSeedFrames,
  fuzzSequence,
  until,
} from '@switchboard/conformance/testing';
import { frameArbitrary } from '@switchboard/test-kit/fuzz';
import { TwilioRealtimeTransport } from '../src/index.js';
import { TwilioPeerSimulator } from '../src/testing.js';

let model: FakeRealtimeServer;
let url: string;

beforeAll(async () => {
  model = new FakeRealtimeServer();
  url = await model.start();
});

afterAll(async () => {
  await model.stop();
});

const corpus = fuzzCorpus(fuzzSeedFrames(new TwilioPeerSimulator()), { hugeRate: 0 });

/** Delivers `frames` to a connected transport; what came out of it. */
async function drive(
  frames: readonly MediaFrame[],
  after?: () => Promise<void>,
): Promise<{ thrown: unknown[]; errors: unknown[]; malformed: number }> {
  const carrier = new FakeCarrier();
  const transport = new TwilioRealtimeTransport({ twilioWebSocket: carrier, url, inputAudioInactivityTimeoutMs: null });
  const errors: unknown[] = [];
  transport.on('error', (event) => errors.push((event as { error: unknown }).error));
  const thrown: unknown[] = [];
  try {
    await transport.connect({ apiKey: 'sk-test' });
    for (const frame of frames) {
      try {
        carrier.deliver(frame);
      } catch (error) {
        thrown.push(error);
      }
    }
    await after?.();
    return { thrown, errors, malformed: transport.metrics.malformedFrames };
  } finally {
    transport.close();
  }
}

function expectOnlyProtocolErrors(outcome: Awaited<ReturnType<typeof drive>>): void {
  expect(outcome.thrown).toEqual([]);
  for (const error of outcome.errors) expect(error).toBeInstanceOf(ProtocolError);
  expect(outcome.errors.length).toBe(outcome.malformed);
}

describe('TwilioRealtimeTransport fed fuzzed frames', () => {
  it('lets nothing out of the message handler but error events carrying ProtocolErrors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frameArbitrary(corpus), { minLength: 1, maxLength: 40 }), async (frames) => {
        expectOnlyProtocolErrors(await drive(frames));
      }),
      { numRuns: 25 },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        expectOnlyProtocolErrors(await drive(fuzzSequence(fuzzRandom(seed), corpus, 40)));
      }),
      { numRuns: 25 },
    );
  });

  it('turns a 10 MB text frame that is not JSON into one error event, and goes on with the call', async () => {
    const peer = new TwilioPeerSimulator();
    const start = peer.encodeInbound({
      type: 'call_start',
      streamId: 'MZ1',
      callId: 'CA1',
      format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
      customParameters: {},
      raw: null,
    });
    const audio = peer.encodeInbound({ type: 'audio', payload: new Uint8Array(160).fill(0x55) });
    const appended = model.ofType('input_audio_buffer.append').length;
    const frames = [
      ...start,
      'x'.repeat(10 * 1024 * 1024),
      `{"event":"media","media":{"payload":"${'A'.repeat(10 * 1024 * 1024)}`,
      ...audio,
    ];
    // The audio after the bad frames reaches the model.
    const outcome = await drive(frames, () =>
      until(() => model.ofType('input_audio_buffer.append').length > appended, 20_000),
    );
    expectOnlyProtocolErrors(outcome);
    expect(outcome.errors).toHaveLength(2);
    for (const error of outcome.errors) expect((error as ProtocolError).frameExcerpt!.length).toBeLessThan(300);
  });
});
