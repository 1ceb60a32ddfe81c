/** The options, results and sinks of the call audio recorder (see audio-recorder.ts). */
import { ConfigError, type SwitchboardError } from '../errors.js';
import type { RecordingSink } from './sink.js';

/** Where the WAV goes: anything with `write(bytes)`, such as Node's `fs.createWriteStream(path)`. */
export interface WavSink {
  /**
   * Takes the next bytes of the file (the header first). May return `false` (backpressure:
   * counted, the bytes are still handed over) or a promise (never awaited; a rejection is
   * counted as a write error).
   */
  write(bytes: Uint8Array): unknown;
  /** Called once when the recording is over, unless `endSinks` is false. */
  end?(): unknown;
}

/** Options of a `CallAudioRecorder`. */
export type CallAudioRecorderOptions = {
  /** Where the WAV goes (see {@link WavSink}). */
  sink: WavSink;
  /**
   * Where the call's events go, one JSON object per line with its position in the recording
   * (`at`, ms): `recording_start`, `call_start`, `dtmf`, `clear` (a barge-in), `injected_audio`,
   * `machine_detection`, `call_end`, `recording_end`. Node's `fs.createWriteStream(path)` will do.
   */
  events?: RecordingSink;
  /** Sample rate of the WAV, Hz. Default: the carrier's rate, as the first audio of the call has it. */
  sampleRate?: number;
  /**
   * The transport's clock, when it was given one (its `now` or `clock.now`): events are then
   * placed to the millisecond and the recording starts when the recorder is made. Without it the
   * recording starts with the call's first audio, and an event sits where the latest audio was.
   */
  now?: () => number;
  /**
   * Most audio held per channel, ms, before it is written: agent audio scheduled further ahead
   * (a reply sent much faster than it plays) is dropped and counted in `droppedMs`. Default 60 000
   * (at 8 kHz, under 2 MB).
   */
  maxHeldMs?: number;
  /** Whether the sinks' `end()` is called when the recording is over. Default true. */
  endSinks?: boolean;
  /** Told of the first failure of each sink (a write that threw or rejected); all are counted. */
  onError?: (error: SwitchboardError) => void;
};

/** What a recording wrote, held and lost. */
export type CallAudioRecorderStats = {
  /** Bytes of the WAV handed to the sink, header included. */
  bytesWritten: number;
  /** Audio written, ms per channel. */
  recordedMs: number;
  /** Event lines handed to the events sink. */
  eventsWritten: number;
  /** Clears the transport sent the carrier (barge-ins). */
  clears: number;
  /** Agent audio sent but never heard, ms: scheduled after a clear or after the end of the call. */
  cutMs: number;
  /** Audio not recorded, ms: beyond `maxHeldMs`, or in a format the recorder could not convert. */
  droppedMs: number;
  /** Longest window held in memory at once, ms. */
  maxHeldMs: number;
  /** Writes (and `end()` calls) of either sink that threw or rejected. The call is not affected. */
  writeErrors: number;
  /** Writes a sink answered with `false` (backpressure). The bytes were still handed over. */
  backpressuredWrites: number;
};

/** The finished recording, as `CallAudioRecorder.done` resolves with it. */
export type CallAudioRecording = {
  /** The WAV's 44-byte header with the real sizes, to write over the streamed one (offset 0). */
  header: Uint8Array;
  sampleRate: number;
  /** Length of the recording, ms. */
  durationMs: number;
  /** Why the recording ended: the call's end reason, or `'stopped'`. */
  reason: string;
  stats: CallAudioRecorderStats;
};

/** A sample rate the recording can have: whole hertz, 8 to 192 kHz. */
export function usableRate(rate: number): boolean {
  return Number.isInteger(rate) && rate >= 8000 && rate <= 192_000;
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Checks the options a user gave; throws `ConfigError`. */
export function checkOptions(options: CallAudioRecorderOptions): void {
  if (!options || typeof options !== 'object' || !options.sink || typeof options.sink.write !== 'function') {
    throw new ConfigError('CallAudioRecorder needs a `sink` with a `write(bytes)` method.');
  }
  if (options.events !== undefined && typeof options.events?.write !== 'function') {
    throw new ConfigError('CallAudioRecorder: `events` needs a `write(line)` method.');
  }
  const rate = options.sampleRate;
  if (rate !== undefined && !usableRate(rate)) {
    throw new ConfigError(`CallAudioRecorder: \`sampleRate\` must be an integer from 8000 to 192000, got ${rate}.`);
  }
  const held = options.maxHeldMs;
  if (held !== undefined && !(typeof held === 'number' && held >= 1000 && Number.isFinite(held))) {
    throw new ConfigError(`CallAudioRecorder: \`maxHeldMs\` must be at least 1000, got ${String(held)}.`);
  }
}
