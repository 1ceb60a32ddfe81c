/**
 * The fuzz kit of `@switchboard/conformance/testing`: seeded generation, the CallEvent check, the
 * runner's failures and their replay; and, with it, every carrier's detection candidate fed any
 * frame (a candidate must answer true or false, and the protocol of the one that claims a frame
 * must decode it).
 */
import { detectProtocol, type CallEvent, type MediaFrame, type ProtocolCandidate } from '@switchboard/core';
import { exotelCandidate } from '@switchboard/exotel';
import { ExotelPeerSimulator } from '@switchboard/exotel/testing';
import { plivoCandidate } from '@switchboard/plivo';
import { PlivoPeerSimulator } from '@switchboard/plivo/testing';
import { telnyxCandidate } from '@switchboard/telnyx';
import { TelnyxPeerSimulator } from '@switchboard/telnyx/testing';
import { TwilioMediaStreamProtocol, signalwireCandidate, twilioCandidate } from '@switchboard/twilio';
import { SignalWirePeerSimulator, TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { rawWebSocketCandidates } from '@switchboard/websocket';
import { RawWebSocketPeerSimulator } from '@switchboard/websocket/testing';
import { describe, expect, it } from 'vitest';
import { checkDecodeContract } from '@switchboard/test-kit/fuzz';
import {
  callEventProblem,
  callEventsProblem,
  fuzzCorpus,
  fuzzFrame,
  fuzzRandom,
  fuzzSeedFrames,
  fuzzSequenceFrames,
  nextFuzzSeed,
  runFuzz,
  type FuzzTarget,
} from '../src/testing/index.js';

const twilioSeeds = fuzzSeedFrames(new TwilioPeerSimulator());

describe('fuzz generation', () => {
  it('is the same for the same seed, and differs between seeds', () => {
    const corpus = fuzzCorpus(twilioSeeds);
    const a = fuzzSequenceFrames(corpus, 1234);
    expect(fuzzSequenceFrames(corpus, 1234)).toEqual(a);
    const frames = (seed: number) => Array.from({ length: 50 }, (_, i) => fuzzFrame(fuzzRandom(seed + i), corpus));
    expect(frames(7)).toEqual(frames(7));
    expect(frames(7)).not.toEqual(frames(8));
    expect(nextFuzzSeed(1)).not.toBe(1);
    expect(nextFuzzSeed(nextFuzzSeed(1))).not.toBe(nextFuzzSeed(1));
  });

  it('writes a short call through a peer, start first and stop last', () => {
    expect(twilioSeeds.length).toBeGreaterThan(8);
    expect(String(twilioSeeds[1])).toContain('"event":"start"');
    expect(String(twilioSeeds.at(-1))).toContain('"event":"stop"');
  });

  it('makes frames of every kind: mutated JSON, text, bytes, and huge ones', () => {
    const corpus = fuzzCorpus(twilioSeeds, { hugeRate: 0.01, maxBytes: 256 * 1024 });
    const frames = Array.from({ length: 3000 }, (_, i) => fuzzFrame(fuzzRandom(i), corpus));
    expect(frames.some((f) => f instanceof Uint8Array)).toBe(true);
    expect(frames.some((f) => typeof f === 'string' && f.includes('__proto__'))).toBe(true);
    expect(frames.some((f) => typeof f === 'string' && f.length > 64 * 1024)).toBe(true);
    expect(frames.every((f) => (typeof f === 'string' ? f.length : f.byteLength) <= 256 * 1024 + 64)).toBe(true);
  });
});

describe('callEventProblem', () => {
  const start: CallEvent = {
    type: 'call_start',
    streamId: 's',
    format: { encoding: 'pcmu', sampleRate: 8000, channels: 1 },
    customParameters: { a: 'b' },
    raw: null,
  };

  it('takes well-formed events', () => {
    const events: CallEvent[] = [
      start,
      { type: 'audio', payload: new Uint8Array([1, 2, 3]), sequence: 0, timestampMs: 0, payloadBase64: 'AQID' },
      { type: 'dtmf', digit: '5', durationMs: 80 },
      { type: 'playback_ack', name: '' },
      { type: 'playback_cleared' },
      { type: 'flow_control', paused: true },
      { type: 'call_end' },
    ];
    expect(callEventsProblem(events)).toBeUndefined();
  });

  it('names what is wrong', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ type: 'audio', payload: [1, 2] }, /not a Uint8Array/],
      [{ type: 'audio', payload: new Uint8Array(1), timestampMs: -20 }, /timestampMs -20/],
      [{ type: 'audio', payload: new Uint8Array(1), timestampMs: Infinity }, /timestampMs Infinity/],
      [{ type: 'audio', payload: new Uint8Array(1), sequence: 1.5 }, /sequence 1.5/],
      [{ type: 'audio', payload: new Uint8Array([1, 2, 3]), payloadBase64: 'AQIE' }, /payloadBase64/],
      [{ type: 'dtmf', digit: '5', durationMs: -1 }, /durationMs -1/],
      [{ ...start, customParameters: { a: 1 } }, /custom parameter "a"/],
      [{ ...start, streamId: '' }, /streamId/],
      [{ ...start, format: { encoding: 'opus', sampleRate: 8000, channels: 1 } }, /encoding opus/],
      [{ type: 'hello' }, /unknown type "hello"/],
    ];
    for (const [event, message] of bad) expect(callEventProblem(event)).toMatch(message);
    expect(callEventsProblem('events')).toMatch(/not an array/);
  });
});

describe('runFuzz', () => {
  it('finds nothing wrong with a decoder that keeps the contract', () => {
    const report = runFuzz(
      { name: 'twilio', seeds: twilioSeeds, create: () => new TwilioMediaStreamProtocol() },
      { frames: 3000, seed: 42 },
    );
    expect(report.failures).toEqual([]);
    expect(report.frames).toBe(3000);
    expect(report.decoded + report.refused).toBe(3000);
    expect(report.decoded).toBeGreaterThan(0);
    expect(report.refused).toBeGreaterThan(0);
  });

  it('reports a decoder that throws something else, with the seed that replays it', () => {
    // Parses with JSON.parse and lets its SyntaxError out.
    const careless = () => {
      const protocol = new TwilioMediaStreamProtocol();
      return {
        decode: (frame: MediaFrame) => {
          if (typeof frame === 'string') JSON.parse(frame);
          return protocol.decode(frame);
        },
      };
    };
    const target: FuzzTarget = { name: 'careless', seeds: twilioSeeds, create: careless };
    const report = runFuzz(target, { frames: 5000, seed: 7, maxFailures: 1 });
    expect(report.failures).toHaveLength(1);
    const [failure] = report.failures;
    expect(failure!.problem).toMatch(/^decode threw SyntaxError/);
    const replay = runFuzz(target, { frames: failure!.index + 1, seed: failure!.seed, maxFailures: 1 });
    expect(replay.failures).toEqual([failure]);
  });

  it('reports events that are not well-formed', () => {
    const target: FuzzTarget = {
      name: 'negative',
      seeds: twilioSeeds,
      create: () => ({ decode: (): CallEvent[] => [{ type: 'audio', payload: new Uint8Array(2), timestampMs: -1 }] }),
    };
    expect(runFuzz(target, { frames: 10, seed: 1 }).failures[0]?.problem).toBe('audio with timestampMs -1');
  });
});

describe('fuzzing the detection candidates', () => {
  const candidates: ProtocolCandidate[] = [
    signalwireCandidate,
    twilioCandidate,
    telnyxCandidate,
    plivoCandidate,
    exotelCandidate,
    ...rawWebSocketCandidates,
  ];
  const L16_8K = { encoding: 'l16', sampleRate: 8000, channels: 1 } as const;
  const L16_16K = { encoding: 'l16', sampleRate: 16000, channels: 1 } as const;
  const seeds: MediaFrame[] = [
    ...twilioSeeds,
    ...fuzzSeedFrames(new SignalWirePeerSimulator({ format: L16_16K }), { format: L16_16K }),
    ...fuzzSeedFrames(new TelnyxPeerSimulator()),
    ...fuzzSeedFrames(new PlivoPeerSimulator(), { format: L16_8K }),
    ...fuzzSeedFrames(new ExotelPeerSimulator(), { format: L16_8K }),
    ...fuzzSeedFrames(new RawWebSocketPeerSimulator({ preset: 'vonage', format: L16_16K }), { format: L16_16K }),
    ...fuzzSeedFrames(new RawWebSocketPeerSimulator({ preset: 'asterisk' })),
    ...fuzzSeedFrames(new RawWebSocketPeerSimulator({ preset: 'asterisk', json: true })),
    ...fuzzSeedFrames(new RawWebSocketPeerSimulator({ preset: 'jambonz', format: L16_8K }), { format: L16_8K }),
    ...fuzzSeedFrames(new RawWebSocketPeerSimulator({ preset: 'generic', format: L16_16K }), { format: L16_16K }),
  ];
  const target: FuzzTarget = {
    name: 'detect',
    seeds,
    create: () => ({
      decode(frame) {
        for (const candidate of candidates) {
          const matched = candidate.matches(frame);
          if (typeof matched !== 'boolean') throw new TypeError(`${candidate.name}.matches answered ${typeof matched}`);
        }
        const chosen = detectProtocol(frame, candidates);
        return chosen ? chosen.create().decode(frame) : [];
      },
    }),
  };

  it('answers true or false for any frame, and the chosen protocol decodes what its candidate claimed', () => {
    checkDecodeContract(target);
  });

  it('refuses frames with nothing but a ProtocolError over a longer run', () => {
    const report = runFuzz(target, { frames: 5000 });
    expect(report.failures).toEqual([]);
  });
});
