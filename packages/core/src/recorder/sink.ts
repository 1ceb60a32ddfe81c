/**
 * Where a recording goes: anything with `write(line)`, such as Node's `fs.createWriteStream(path)`
 * or a `WritableStreamDefaultWriter`-like wrapper. The writer in this module bounds what reaches
 * it and keeps the sink's failures away from the call: a write that throws, rejects or reports
 * backpressure is counted, never awaited and never rethrown.
 */

/** A destination for recording lines. Each `write` gets one JSON line ending in `\n`. */
export interface RecordingSink {
  /**
   * Takes one line. May return `false` (a Node stream past its high-water mark: counted in
   * `backpressuredWrites`, the line is still handed over) or a promise (never awaited; a
   * rejection is counted as a write error).
   */
  write(line: string): unknown;
  /** Called once when the recording is over (the call ended), unless `endSink` is false. */
  end?(): unknown;
}

/** What a recording wrote and what it could not. */
export type RecordingStats = {
  /** Lines handed to the sink, the header and a truncation line included. */
  linesWritten: number;
  /** UTF-8 bytes of those lines. */
  bytesWritten: number;
  /** Frames (either way) not written because the recording reached `maxBytes`. */
  framesDropped: number;
  /** UTF-8 bytes of the lines those frames would have taken. */
  bytesDropped: number;
  /** True once the recording reached `maxBytes` and stopped writing frames. */
  truncated: boolean;
  /** Writes (and the final `end`) that threw or rejected. The call is not affected. */
  writeErrors: number;
  /** Writes the sink answered with `false` (backpressure). The line was still handed over. */
  backpressuredWrites: number;
  /**
   * JSON frames the carrier's protocol read caller audio from, but in which no field held that
   * audio byte for byte (a protocol that transforms it further): their longest base64 field was
   * masked instead.
   */
  audioNotFound: number;
};

export function emptyStats(): RecordingStats {
  return {
    linesWritten: 0,
    bytesWritten: 0,
    framesDropped: 0,
    bytesDropped: 0,
    truncated: false,
    writeErrors: 0,
    backpressuredWrites: 0,
    audioNotFound: 0,
  };
}

/** UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff) {
      // A surrogate pair: 2 UTF-16 units, 4 UTF-8 bytes.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Writes lines to a sink within a byte budget; see {@link RecordingSink}. */
export class BoundedLineWriter {
  readonly stats: RecordingStats = emptyStats();
  readonly #sink: RecordingSink;
  readonly #maxBytes: number;
  readonly #onError: (error: unknown) => void;
  #ended = false;
  /**
   * The last frame line, handed over when the next one is (or at the end): a recording that was
   * truncated says so on its last line, as an extra `truncated` key, so that it stays a trace
   * every reader parses.
   */
  #held: { line: string; bytes: number } | undefined;

  constructor(sink: RecordingSink, maxBytes: number, onError: (error: unknown) => void) {
    this.#sink = sink;
    this.#maxBytes = maxBytes;
    this.#onError = onError;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Writes `line` (a JSON object on one line, without its newline) when it fits in the budget
   * with `reserve` bytes left over; otherwise counts it as dropped and returns false.
   */
  write(line: string, reserve = 0): boolean {
    if (this.#ended) return false;
    const bytes = utf8Length(line) + 1;
    const held = this.#held?.bytes ?? 0;
    if (this.stats.truncated || this.stats.bytesWritten + held + bytes + reserve > this.#maxBytes) {
      // Once one frame did not fit, none after it is written either: a recording has no holes.
      this.stats.truncated = true;
      this.stats.framesDropped++;
      this.stats.bytesDropped += bytes;
      return false;
    }
    this.#flushHeld();
    this.#held = { line, bytes };
    return true;
  }

  #flushHeld(note?: string): void {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    if (note === undefined) this.force(`${held.line}\n`, held.bytes);
    else this.force(`${held.line.slice(0, -1)},${note}}\n`);
  }

  /** Writes a line whatever the budget (the header, the truncation line). */
  force(text: string, bytes = utf8Length(text)): void {
    if (this.#ended) return;
    this.stats.linesWritten++;
    this.stats.bytesWritten += bytes;
    try {
      const result = this.#sink.write(text);
      if (result === false) this.stats.backpressuredWrites++;
      else if (isThenable(result)) result.then(undefined, (error: unknown) => this.#failed(error));
    } catch (error) {
      this.#failed(error);
    }
  }

  /**
   * Writes the last line — with `"truncated":{"framesDropped":…,"bytesDropped":…}` when frames
   * were dropped — then ends the sink (when `endSink`), once.
   */
  end(endSink: boolean): void {
    if (this.#ended) return;
    const { truncated, framesDropped, bytesDropped } = this.stats;
    this.#flushHeld(truncated ? `"truncated":${JSON.stringify({ framesDropped, bytesDropped })}` : undefined);
    this.#ended = true;
    if (!endSink || typeof this.#sink.end !== 'function') return;
    try {
      const result = this.#sink.end();
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.#failed(error));
    } catch (error) {
      this.#failed(error);
    }
  }

  #failed(error: unknown): void {
    this.stats.writeErrors++;
    try {
      this.#onError(error);
    } catch {
      // The recording's error report must not reach the call either.
    }
  }
}
