/**
 * fast-check properties over a carrier decoder, shared by the packages' fuzz tests. The frames
 * come from fast-check's own arbitraries (bytes, strings, JSON) and from the conformance kit's
 * corpus mutators (`@switchboard/conformance/testing`), driven by a fast-check seed so a failure
 * shrinks to a short sequence and reports the seed that replays it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeProblem,
  fuzzCorpus,
  fuzzFrame,
  fuzzRandom,
  fuzzSequence,
  type FuzzCorpus,
  type FuzzTarget,
} from '@switchboard/conformance/testing';
import { ProtocolError, type MediaFrame } from '@switchboard/core';
import { excerpt } from '@switchboard/core/protocol';

/** Runs per property: each run is a sequence of up to a few dozen frames, so a file stays at a few seconds. */
export const FUZZ_RUNS = 300;

/** One frame of any kind: valid, mutated from the corpus, or fast-check's own bytes, text and JSON. */
export function frameArbitrary(corpus: FuzzCorpus): fc.Arbitrary<MediaFrame> {
  const seeds = corpus.seeds.length > 0 ? corpus.seeds : corpus.texts;
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer().map((seed) => fuzzFrame(fuzzRandom(seed), corpus)) },
    { weight: 3, arbitrary: fc.constantFrom(...seeds) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null') },
    {
      weight: 2,
      arbitrary: fc
        .dictionary(fc.constantFrom(...corpus.keys, '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 3 }), {
          maxKeys: 6,
        })
        .map((value) => JSON.stringify(value)),
    },
  );
}

/** What a failing frame looked like, for the property's message. */
function describeFailure(problem: string, frame: MediaFrame, index: number): string {
  return `frame ${index}: ${problem} (frame: ${JSON.stringify(excerpt(frame))})`;
}

/** Decodes `frames` with one fresh decoder; throws at the first frame the target's contract refuses. */
export function decodeAll(target: FuzzTarget, frames: readonly MediaFrame[]): void {
  const decoder = target.create();
  frames.forEach((frame, index) => {
    const problem = decodeProblem(target, decoder, frame);
    if (problem !== undefined) throw new Error(describeFailure(problem, frame, index));
  });
}

/**
 * The decoder's contract on random sequences: every frame decodes into well-formed events or is
 * refused with the accepted error. Two properties: sequences shrinkable frame by frame, and the
 * kit's sequences (valid frames in and out of order, with mutations) from a seed.
 */
export function checkDecodeContract(target: FuzzTarget, options: { numRuns?: number; maxLength?: number } = {}): void {
  const corpus = fuzzCorpus(target.seeds, { hugeRate: 0 });
  const numRuns = options.numRuns ?? FUZZ_RUNS;
  const maxLength = options.maxLength ?? 24;
  fc.assert(
    fc.property(fc.array(frameArbitrary(corpus), { minLength: 1, maxLength }), (frames) => decodeAll(target, frames)),
    { numRuns },
  );
  fc.assert(
    fc.property(fc.integer(), (seed) => decodeAll(target, fuzzSequence(fuzzRandom(seed), corpus, maxLength))),
    { numRuns },
  );
}

/**
 * The same contract on a few frames of several megabytes (a valid frame with a huge field, huge junk, deep nesting).
 */
export function checkHugeFrames(target: FuzzTarget, options: { numRuns?: number; maxBytes?: number } = {}): void {
  const corpus = fuzzCorpus(target.seeds, { hugeRate: 1, maxBytes: options.maxBytes ?? 4 * 1024 * 1024 });
  fc.assert(
    fc.property(fc.integer(), (seed) => decodeAll(target, [fuzzFrame(fuzzRandom(seed), corpus)])),
    { numRuns: options.numRuns ?? 12 },
  );
}

/** What `run` threw (a test fails when it throws nothing). */
export function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

/** The decoder contract on random, mutated and reordered frames and on frames of several MB, as a suite per target. */
export function describeDecodeFuzz(
  title: string,
  targets: readonly FuzzTarget[],
  options: { hugeRuns?: number } = {},
): void {
  describe.each(targets)(title, (target) => {
    it('decodes random, mutated and reordered frames into well-formed events, or refuses them with a ProtocolError', () => {
      checkDecodeContract(target);
    });

    it('does the same for frames of several megabytes', () => {
      checkHugeFrames(target, options.hugeRuns === undefined ? {} : { numRuns: options.hugeRuns });
    });
  });
}

/** A 10 MB text frame that is not JSON is refused with a ProtocolError whose excerpt stays short. */
export function expectJunkFrameRefused(decoder: { decode(frame: MediaFrame): unknown }): void {
  const error = thrown(() => decoder.decode('x'.repeat(10 * 1024 * 1024)));
  expect(error).toBeInstanceOf(ProtocolError);
  expect((error as ProtocolError).frameExcerpt!.length).toBeLessThan(300);
}
