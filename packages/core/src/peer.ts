/**
 * Counters a carrier's {@link PeerSimulator} writes on the media frames it sends: the chunk
 * number and the stream position of each frame.
 */

/**
 * Numbers media frames as a carrier does. A frame whose audio event carries its own `sequence`
 * and `timestampMs` (replayed from a trace) keeps them, so frames a trace delivers out of order or
 * misses keep their place in the stream; others get the next number and the position after the
 * audio sent so far.
 */
export class PeerMediaCounter {
  #chunk = 0;
  #positionMs = 0;

  /** A new stream starts: numbering restarts at 1, the position at 0. */
  reset(): void {
    this.#chunk = 0;
    this.#positionMs = 0;
  }

  /** The chunk number and position (ms) of a frame holding `durationMs` of audio. */
  next(event: { sequence?: number; timestampMs?: number }, durationMs: number): { chunk: number; timestampMs: number } {
    const chunk = event.sequence ?? this.#chunk + 1;
    const timestampMs = event.timestampMs ?? this.#positionMs;
    this.#chunk = Math.max(this.#chunk, chunk);
    this.#positionMs = Math.max(this.#positionMs, timestampMs + durationMs);
    return { chunk, timestampMs };
  }
}
