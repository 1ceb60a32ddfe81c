import { ConfigError } from '../errors.js';
import { allocBytes } from './pool.js';

/** Frame-size constraints, in bytes (see `FrameRules` for the carrier-facing form). */
export interface FramerRules {
  /** Smallest frame to emit (rounded up to a multiple of `multipleOf`). */
  minBytes?: number;
  /** Largest frame to emit (rounded down to a multiple of `multipleOf`). */
  maxBytes?: number;
  /** Every frame is a whole multiple of this many bytes; default 1. */
  multipleOf?: number;
}

function checkSize(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new ConfigError(`Framer: ${name} must be a positive integer, got ${String(value)}`);
  }
}

/**
 * Cuts a byte stream into frames a carrier accepts. Every frame is a multiple of `multipleOf`,
 * at least `minBytes` and at most `maxBytes`. `push` emits everything it can, largest frames
 * first, and keeps a remainder smaller than the smallest allowed frame; `flush` emits that
 * remainder, padded to the smallest allowed frame unless asked not to. Bytes are never lost,
 * reordered or duplicated.
 *
 * Frames may be views of the pushed arrays (only a frame that joins held bytes with new ones
 * is a fresh copy), so callers should not modify a pushed array while its frames are in use.
 */
export class Framer {
  /** Every frame is a multiple of this. */
  readonly unit: number;
  /** Smallest frame size emitted by `push` (and by a padded `flush`). */
  readonly minFrame: number;
  /** Largest frame size emitted (Infinity when unbounded). */
  readonly maxFrame: number;
  readonly padByte: number;

  /** Held bytes; never more than `minFrame - 1`. */
  #pending: Uint8Array;
  #pendingLength = 0;

  constructor(rules: FramerRules = {}, padByte = 0) {
    checkSize('minBytes', rules.minBytes);
    checkSize('maxBytes', rules.maxBytes);
    checkSize('multipleOf', rules.multipleOf);
    const unit = rules.multipleOf ?? 1;
    const minFrame = rules.minBytes === undefined ? unit : Math.ceil(rules.minBytes / unit) * unit;
    const maxFrame = rules.maxBytes === undefined ? Infinity : Math.floor(rules.maxBytes / unit) * unit;
    if (maxFrame < minFrame) {
      throw new ConfigError(
        `Framer: no frame size satisfies minBytes=${String(rules.minBytes)}, maxBytes=${String(rules.maxBytes)}, multipleOf=${unit}`,
      );
    }
    this.unit = unit;
    this.minFrame = minFrame;
    this.maxFrame = maxFrame;
    this.padByte = padByte & 0xff;
    this.#pending = new Uint8Array(minFrame - 1);
  }

  /** Bytes held back, waiting for more input or a flush. */
  get pendingBytes(): number {
    return this.#pendingLength;
  }

  /** Add bytes; returns every frame that can be completed (possibly none). */
  push(bytes: Uint8Array): Uint8Array[] {
    const held = this.#pendingLength;
    const total = held + bytes.length;
    if (total < this.minFrame) {
      this.#pending.set(bytes, held);
      this.#pendingLength = total;
      return [];
    }
    const frames: Uint8Array[] = [];
    let offset = 0; // position in held ++ bytes
    for (;;) {
      const left = total - offset;
      let size: number;
      if (left >= this.maxFrame) size = this.maxFrame;
      else if (left >= this.minFrame) size = left - (left % this.unit);
      else break;
      if (offset < held) {
        // Only the first frame can include held bytes: there are fewer of them than any frame.
        const frame = allocBytes(size);
        frame.set(this.#pending.subarray(0, held));
        frame.set(bytes.subarray(0, size - held), held);
        frames.push(frame);
      } else if (size === bytes.length) {
        frames.push(bytes);
      } else {
        frames.push(bytes.subarray(offset - held, offset - held + size));
      }
      offset += size;
    }
    // The first frame took every held byte, so the remainder lies within `bytes`.
    this.#pending.set(bytes.subarray(offset - held));
    this.#pendingLength = total - offset;
    return frames;
  }

  /**
   * Emit the held bytes: padded with `padByte` to the smallest allowed frame when `pad` is
   * true (default), as they are otherwise. Returns no frame when nothing is held.
   */
  flush(pad = true): Uint8Array[] {
    const held = this.#pendingLength;
    if (held === 0) return [];
    this.#pendingLength = 0;
    if (!pad) return [this.#pending.slice(0, held)];
    const frame = new Uint8Array(this.minFrame);
    frame.set(this.#pending.subarray(0, held));
    frame.fill(this.padByte, held);
    return [frame];
  }

  /** Drop held bytes. */
  reset(): void {
    this.#pendingLength = 0;
  }
}
