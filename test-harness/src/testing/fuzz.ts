/**
 * Fuzzing a carrier protocol's `decode`: seeded random frames built from the carrier's own valid
 * frames (structure-aware mutations of its JSON, text and binary frames, frames from scratch,
 * frames of several megabytes, valid frames in the wrong order), a check of what `decode` gave
 * back, and a runner that reports failures with the seed that reproduces them.
 *
 * Free of any test framework and of any property-testing library: a seed (a 32-bit integer)
 * stands for a whole sequence of frames, so a failure found once is replayed exactly. Property
 * libraries can drive it by generating the seeds (`fc.integer().map(...)`).
 */
import { ProtocolError, type AudioFormat, type CallEvent, type MediaFrame } from '@switchboard/core';
import { excerpt, type PeerSimulator } from '@switchboard/core/protocol';
import {
  fuzzCorpus,
  fuzzRandom,
  fuzzSequence,
  nextFuzzSeed,
  randomFuzzSeed,
  type FuzzCorpus,
  type FuzzCorpusOptions,
} from './fuzz-frames.js';

// ---------------------------------------------------------------------------------------------
// Seed frames

/** The call {@link fuzzSeedFrames} plays through a peer: what a carrier sends in one short call. */
export type FuzzSeedCallOptions = {
  /** The call's format. Default μ-law 8 kHz. */
  format?: AudioFormat;
  /** Audio frames sent. Default 4. */
  audioFrames?: number;
};

/**
 * The frames a carrier sends for one short call, written by its peer simulator: `call_start`, a few
 * 20 ms audio frames (with sequence numbers and timestamps), two DTMF digits, a playback ack, a
 * clear confirmation, flow control, more audio and `call_end`. Events the peer cannot write are
 * skipped. These are the valid frames a fuzz run mutates.
 */
export function fuzzSeedFrames(peer: PeerSimulator, options: FuzzSeedCallOptions = {}): MediaFrame[] {
  const format = options.format ?? { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
  const bytesPer20Ms = (format.sampleRate / 50) * (format.encoding === 'l16' ? 2 : 1);
  const audio = (n: number): CallEvent => ({
    type: 'audio',
    payload: Uint8Array.from({ length: bytesPer20Ms }, (_, i) => (i * 37 + n * 11) & 0xff),
    sequence: n,
    timestampMs: (n - 1) * 20,
  });
  const count = options.audioFrames ?? 4;
  const events: CallEvent[] = [
    {
      type: 'call_start',
      streamId: 'stream-fuzz-1',
      callId: 'call-fuzz-1',
      from: '+15550001111',
      to: '+15550002222',
      format,
      customParameters: { who: 'fuzz', n: '1' },
      raw: null,
    },
  ];
  for (let n = 1; n <= count; n++) events.push(audio(n));
  events.push(
    { type: 'dtmf', digit: '5', durationMs: 100 },
    { type: 'dtmf', digit: '#' },
    { type: 'playback_ack', name: 'mark-1' },
    { type: 'playback_cleared' },
    { type: 'flow_control', paused: true },
    { type: 'flow_control', paused: false },
    audio(count + 1),
    { type: 'call_end', reason: 'stop' },
  );
  const frames: MediaFrame[] = [];
  for (const event of events) {
    try {
      frames.push(...peer.encodeInbound(event));
    } catch {
      // A peer that cannot write this event (no DTMF, no acks): the call goes on without it.
    }
  }
  return frames;
}

// ---------------------------------------------------------------------------------------------
// Checks

const ENCODINGS = new Set(['pcmu', 'pcma', 'l16']);
const isNonNegativeFinite = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= 0;

function base64Matches(text: string, bytes: Uint8Array): boolean {
  // Decoded leniently here (any trailing bits), then compared byte for byte.
  const clean = text.replace(/=+$/, '');
  let bits = 0;
  let value = 0;
  let o = 0;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < clean.length; i++) {
    const v = alphabet.indexOf(clean[i]!);
    if (v < 0) return false;
    value = ((value << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o >= bytes.length || bytes[o++] !== ((value >> bits) & 0xff)) return false;
    }
  }
  return o === bytes.length;
}

/** What is wrong with one `CallEvent`, or `undefined` when it is well-formed. */
export function callEventProblem(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return `an event that is not an object (${typeof event})`;
  const e = event as Record<string, unknown>;
  const optionalString = (key: string) => e[key] === undefined || typeof e[key] === 'string';
  switch (e['type']) {
    case 'call_start': {
      if (typeof e['streamId'] !== 'string' || e['streamId'].length === 0)
        return 'call_start without a non-empty string streamId';
      if (!optionalString('callId') || !optionalString('from') || !optionalString('to'))
        return 'call_start with a callId, from or to that is not a string';
      const format = e['format'] as Record<string, unknown> | undefined;
      if (typeof format !== 'object' || format === null) return 'call_start without a format';
      if (!ENCODINGS.has(format['encoding'] as string)) return `call_start with encoding ${String(format['encoding'])}`;
      if (
        !Number.isSafeInteger(format['sampleRate']) ||
        (format['sampleRate'] as number) < 8000 ||
        (format['sampleRate'] as number) > 48000
      ) {
        return `call_start with sample rate ${String(format['sampleRate'])}`;
      }
      if (format['channels'] !== 1) return 'call_start with channels other than 1';
      const params = e['customParameters'];
      if (typeof params !== 'object' || params === null || Array.isArray(params))
        return 'call_start without a customParameters object';
      for (const [key, value] of Object.entries(params))
        if (typeof value !== 'string')
          return `call_start custom parameter ${JSON.stringify(key.slice(0, 40))} is not a string`;
      if (!('raw' in e)) return 'call_start without raw';
      return undefined;
    }
    case 'audio': {
      const payload = e['payload'];
      if (!(payload instanceof Uint8Array)) return 'audio whose payload is not a Uint8Array';
      if (e['sequence'] !== undefined && !(Number.isSafeInteger(e['sequence']) && (e['sequence'] as number) >= 0))
        return `audio with sequence ${String(e['sequence'])}`;
      if (e['timestampMs'] !== undefined && !isNonNegativeFinite(e['timestampMs']))
        return `audio with timestampMs ${String(e['timestampMs'])}`;
      const base64 = e['payloadBase64'];
      if (base64 !== undefined && (typeof base64 !== 'string' || !base64Matches(base64, payload)))
        return 'audio whose payloadBase64 is not its payload';
      return undefined;
    }
    case 'dtmf':
      if (typeof e['digit'] !== 'string' || e['digit'].length === 0) return 'dtmf without a digit';
      if (e['durationMs'] !== undefined && !isNonNegativeFinite(e['durationMs']))
        return `dtmf with durationMs ${String(e['durationMs'])}`;
      return undefined;
    case 'playback_ack':
      return typeof e['name'] === 'string' ? undefined : 'playback_ack without a string name';
    case 'playback_cleared':
      return undefined;
    case 'flow_control':
      return typeof e['paused'] === 'boolean' ? undefined : 'flow_control without a boolean paused';
    case 'call_end':
      return optionalString('reason') ? undefined : 'call_end with a reason that is not a string';
    default:
      return `an event of unknown type ${JSON.stringify(String(e['type']).slice(0, 40))}`;
  }
}

/** What is wrong with what a `decode` returned, or `undefined` when it is an array of well-formed `CallEvent`s. */
export function callEventsProblem(result: unknown): string | undefined {
  if (!Array.isArray(result)) return `decode returned ${typeof result}, not an array`;
  for (const event of result) {
    const problem = callEventProblem(event);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** What a fuzz run decodes with: a protocol, or a parser wrapped as one. */
export interface FuzzDecoder {
  decode(frame: MediaFrame): unknown;
  /** Called after each decode that returned, as the transport does; must not throw. */
  rawMessage?(frame: MediaFrame): unknown;
}

/** A decoder under fuzz: its valid frames, how to make a fresh one, and what it may answer. */
export interface FuzzTarget {
  readonly name: string;
  /** Valid frames, in call order (typically {@link fuzzSeedFrames} of the carrier's peer). */
  readonly seeds: readonly MediaFrame[];
  /** A fresh decoder for one sequence of frames (one call). */
  create(): FuzzDecoder;
  /** The errors a bad frame may raise. Default: a `ProtocolError`. */
  accepts?(error: unknown): boolean;
  /** What is wrong with a decode's result, if anything. Default {@link callEventsProblem}. */
  check?(result: unknown): string | undefined;
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${excerpt(error.message)}`;
  return `a thrown ${typeof error}: ${excerpt(error)}`;
}

/** What one decode did: refused the frame (an accepted error), or a problem, or neither (events). */
function decodeOutcome(
  target: Pick<FuzzTarget, 'accepts' | 'check'>,
  decoder: FuzzDecoder,
  frame: MediaFrame,
): { refused: boolean; problem?: string } {
  let result: unknown;
  try {
    result = decoder.decode(frame);
  } catch (error) {
    const accepted = target.accepts ? target.accepts(error) : error instanceof ProtocolError;
    return accepted ? { refused: true } : { refused: false, problem: `decode threw ${describeThrown(error)}` };
  }
  const problem = (target.check ?? callEventsProblem)(result);
  if (problem !== undefined) return { refused: false, problem };
  if (decoder.rawMessage) {
    try {
      decoder.rawMessage(frame);
    } catch (error) {
      return { refused: false, problem: `rawMessage threw ${describeThrown(error)}` };
    }
  }
  return { refused: false };
}

/**
 * Decodes one frame and says what is wrong, if anything: the decoder threw something its target
 * does not accept, returned something its check refuses, or its `rawMessage` threw.
 */
export function decodeProblem(
  target: Pick<FuzzTarget, 'accepts' | 'check'>,
  decoder: FuzzDecoder,
  frame: MediaFrame,
): string | undefined {
  return decodeOutcome(target, decoder, frame).problem;
}

// ---------------------------------------------------------------------------------------------
// Runner

export type FuzzRunOptions = FuzzCorpusOptions & {
  /** Frames to decode in all. Default 10 000. */
  frames?: number;
  /** The first sequence's seed. Default: random. */
  seed?: number;
  /** Longest sequence of frames given to one decoder. Default 24. */
  maxSequenceLength?: number;
  /**
   * A frame that takes longer than this (ms) to decode is a failure; a frame over 1 MiB gets this
   * much per MiB. Default: no limit.
   */
  maxFrameMs?: number;
  /** Stop after this many failures. Default 10. */
  maxFailures?: number;
};

export type FuzzFailure = {
  /** The sequence's seed: a run with this seed replays the sequence first. */
  seed: number;
  /** The frame's position in its sequence. */
  index: number;
  problem: string;
  /** A short, redacted excerpt of the frame. */
  excerpt: string;
  /** The frame's length in characters (text) or bytes. */
  size: number;
};

export type FuzzReport = {
  name: string;
  /** The run's first seed. */
  seed: number;
  frames: number;
  sequences: number;
  /** Frames decoded into events / refused with an accepted error. */
  decoded: number;
  refused: number;
  failures: FuzzFailure[];
  elapsedMs: number;
  framesPerSecond: number;
  /** The slowest frame: its decode time (ms), its size and its sequence's seed. */
  slowest: { ms: number; size: number; seed: number };
  /** The seed of the sequence a longer run would have decoded next: a run with it carries on. */
  nextSeed: number;
};

const MIB = 1024 * 1024;
const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** The frames of the sequence a run with `seed` decodes first. */
export function fuzzSequenceFrames(corpus: FuzzCorpus, seed: number, maxSequenceLength = 24): MediaFrame[] {
  return fuzzSequence(fuzzRandom(seed), corpus, maxSequenceLength);
}

/**
 * Fuzzes a decoder: sequences of fuzzed frames (see {@link fuzzSequence}), each given to a fresh
 * decoder from `target.create()`; every frame must decode into well-formed events or be refused
 * with an accepted error (a `ProtocolError`), and `rawMessage` must not throw. Synchronous; a
 * decoder that hangs hangs the run.
 *
 * ```ts
 * const target = { name: 'acme', seeds: fuzzSeedFrames(new AcmePeerSimulator()), create: () => new AcmeProtocol() };
 * const report = runFuzz(target, { frames: 20_000 });
 * assert.deepEqual(report.failures, []);
 * ```
 */
export function runFuzz(target: FuzzTarget, options: FuzzRunOptions = {}): FuzzReport {
  const corpus = fuzzCorpus(target.seeds, options);
  const total = options.frames ?? 10_000;
  const first = (options.seed ?? randomFuzzSeed()) >>> 0;
  const maxLength = options.maxSequenceLength ?? 24;
  const maxFailures = options.maxFailures ?? 10;
  const failures: FuzzFailure[] = [];
  let frames = 0;
  let sequences = 0;
  let decoded = 0;
  let refused = 0;
  const slowest = { ms: 0, size: 0, seed: first };
  let seed = first;
  const started = now();
  while (frames < total && failures.length < maxFailures) {
    const sequence = fuzzSequence(fuzzRandom(seed), corpus, maxLength);
    sequences++;
    let decoder: FuzzDecoder;
    try {
      decoder = target.create();
    } catch (error) {
      failures.push({ seed, index: -1, problem: `create threw ${describeThrown(error)}`, excerpt: '', size: 0 });
      break;
    }
    for (let index = 0; index < sequence.length && frames < total; index++) {
      const frame = sequence[index]!;
      const t0 = now();
      const outcome = decodeOutcome(target, decoder, frame);
      const ms = now() - t0;
      frames++;
      const size = typeof frame === 'string' ? frame.length : frame.byteLength;
      if (ms > slowest.ms) Object.assign(slowest, { ms, size, seed });
      let failure = outcome.problem;
      if (failure === undefined && options.maxFrameMs !== undefined) {
        const limit = options.maxFrameMs * Math.max(1, size / MIB);
        if (ms > limit)
          failure = `decode took ${ms.toFixed(0)} ms (limit ${limit.toFixed(0)} ms for ${size} chars/bytes)`;
      }
      if (failure !== undefined) {
        failures.push({ seed, index, problem: failure, excerpt: excerpt(frame), size });
        break;
      }
      if (outcome.refused) refused++;
      else decoded++;
    }
    seed = nextFuzzSeed(seed);
  }
  const elapsedMs = now() - started;
  return {
    name: target.name,
    seed: first,
    frames,
    sequences,
    decoded,
    refused,
    failures,
    elapsedMs,
    framesPerSecond: elapsedMs > 0 ? (frames / elapsedMs) * 1000 : frames,
    slowest,
    nextSeed: seed,
  };
}
