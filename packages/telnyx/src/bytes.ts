/** Byte-order helpers for Telnyx's L16 audio. */

/** Swaps the two bytes of every 16-bit sample (big-endian ↔ little-endian), into a new array. */
export function swapBytes16(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  const n = bytes.byteLength - (bytes.byteLength % 2);
  for (let i = 0; i < n; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  if (n < bytes.byteLength) out[n] = bytes[n]!;
  return out;
}
