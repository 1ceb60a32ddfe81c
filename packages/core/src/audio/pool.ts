/**
 * Small byte arrays carved out of a shared `ArrayBuffer` (plain typed arrays: any runtime, workerd too).
 *
 * An engine keeps a typed array of more than a few dozen bytes outside its heap: making one costs
 * a native allocation and later the collector's bookkeeping of it, microseconds where decoding a
 * 20 ms frame takes a fraction of one. The per-frame paths (a carrier payload, a frame the framer joins) take
 * theirs from here instead: a view into a 16 KiB buffer, a new buffer when it is used up. Each
 * array is its own region (no two overlap, none is reused), zero-filled, and 8-byte aligned, so
 * 16-bit views of it work; its `buffer` is the shared one, so code that needs an `ArrayBuffer` of
 * exactly the bytes uses {@link exactBuffer}. A live array keeps its whole pool alive.
 */

const POOL_BYTES = 16 * 1024;
/** Larger arrays get their own buffer. */
const POOLED_MAX = 1024;

let pool = new ArrayBuffer(POOL_BYTES);
let offset = 0;

/** A zero-filled array of `length` bytes: pooled up to 1 KiB, its own buffer above. */
export function allocBytes(length: number): Uint8Array {
  if (length > POOLED_MAX || length <= 0) return new Uint8Array(length);
  if (offset + length > POOL_BYTES) {
    pool = new ArrayBuffer(POOL_BYTES);
    offset = 0;
  }
  const bytes = new Uint8Array(pool, offset, length);
  offset += (length + 7) & ~7;
  return bytes;
}

/** An `ArrayBuffer` holding exactly `bytes`: its own buffer when the array spans all of it, else a copy. */
export function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  const buffer = bytes.buffer;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) return buffer;
  return bytes.slice().buffer;
}
