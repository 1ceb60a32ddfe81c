/**
 * ITU-T G.711 companding (μ-law and A-law) for 16-bit signed linear samples.
 *
 * Single-sample functions follow the arithmetic of the Recommendation; the array functions
 * use lookup tables built once at module load: 256 entries to decode, and for encoding a
 * table indexed by the top bits of the sample (14 bits for μ-law, 12 bits for A-law), which
 * are the only bits the codes depend on.
 */

/** The μ-law code of a zero sample. */
export const MULAW_SILENCE = 0xff;
/** The A-law code of the smallest positive sample (A-law has no exact zero). */
export const ALAW_SILENCE = 0xd5;

/** Linear value (16-bit) of a μ-law code. */
export function muLawToLinear(byte: number): number {
  const code = ~byte & 0xff;
  const exponent = (code >> 4) & 0x07;
  const magnitude = ((((code & 0x0f) << 3) + 0x84) << exponent) - 0x84;
  return code & 0x80 ? 0 - magnitude : magnitude; // 0 - 0 is +0, not -0
}

/**
 * μ-law code of a 16-bit sample. Out-of-range input is clamped to int16 first. Negative
 * samples use the one's complement of the magnitude, as the G.711 reference does, so the
 * code depends only on `sample >> 2`.
 */
export function linearToMuLaw(sample: number): number {
  let s = toInt16(sample) >> 2; // 14-bit
  let sign = 0;
  if (s < 0) {
    s = ~s;
    sign = 0x80;
  }
  s += 33;
  if (s > 0x1fff) s = 0x1fff;
  let exponent = 0;
  for (let t = s >> 6; t !== 0; t >>= 1) exponent++;
  const mantissa = (s >> (exponent + 1)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Linear value (16-bit) of an A-law code. */
export function aLawToLinear(byte: number): number {
  const code = (byte ^ 0x55) & 0xff;
  const exponent = (code >> 4) & 0x07;
  const mantissa = code & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return code & 0x80 ? magnitude : -magnitude;
}

/**
 * A-law code of a 16-bit sample. Out-of-range input is clamped to int16 first. The code
 * depends only on `sample >> 4`.
 */
export function linearToALaw(sample: number): number {
  let s = toInt16(sample) >> 4; // 12-bit
  let sign = 0x80;
  if (s < 0) {
    s = ~s;
    sign = 0;
  }
  // Magnitudes below 32 share the finest step (segments 0 and 1): the code is the value.
  let code = s;
  if (s > 31) {
    let exponent = 1;
    while (s > 31) {
      s >>= 1;
      exponent++;
    }
    code = (exponent << 4) | (s & 0x0f);
  }
  return (sign | code) ^ 0x55;
}

function toInt16(sample: number): number {
  const s = Math.round(sample);
  return s > 32767 ? 32767 : s < -32768 ? -32768 : s | 0;
}

const MULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  MULAW_DECODE[i] = muLawToLinear(i);
  ALAW_DECODE[i] = aLawToLinear(i);
}

/** μ-law code for every value of `sample >> 2`, indexed by `(sample >> 2) & 0x3fff`. */
const MULAW_ENCODE = new Uint8Array(1 << 14);
for (let i = 0; i < 1 << 14; i++) MULAW_ENCODE[i] = linearToMuLaw(((i << 18) >> 18) << 2);
/** A-law code for every value of `sample >> 4`, indexed by `(sample >> 4) & 0xfff`. */
const ALAW_ENCODE = new Uint8Array(1 << 12);
for (let i = 0; i < 1 << 12; i++) ALAW_ENCODE[i] = linearToALaw(((i << 20) >> 20) << 4);

function outInt16(out: Int16Array | undefined, length: number): Int16Array {
  if (out === undefined) return new Int16Array(length);
  if (out.length < length) throw new RangeError(`output holds ${out.length} samples, ${length} needed`);
  return out.length === length ? out : out.subarray(0, length);
}

function outBytes(out: Uint8Array | undefined, length: number): Uint8Array {
  if (out === undefined) return new Uint8Array(length);
  if (out.length < length) throw new RangeError(`output holds ${out.length} bytes, ${length} needed`);
  return out.length === length ? out : out.subarray(0, length);
}

/** Decode μ-law bytes into 16-bit samples (into `out` when given; returns the filled part). */
export function decodeMuLaw(bytes: Uint8Array, out?: Int16Array): Int16Array {
  const n = bytes.length;
  const dst = outInt16(out, n);
  for (let i = 0; i < n; i++) dst[i] = MULAW_DECODE[bytes[i]!]!;
  return dst;
}

/** Decode A-law bytes into 16-bit samples (into `out` when given; returns the filled part). */
export function decodeALaw(bytes: Uint8Array, out?: Int16Array): Int16Array {
  const n = bytes.length;
  const dst = outInt16(out, n);
  for (let i = 0; i < n; i++) dst[i] = ALAW_DECODE[bytes[i]!]!;
  return dst;
}

/** Encode 16-bit samples as μ-law bytes (into `out` when given; returns the filled part). */
export function encodeMuLaw(samples: Int16Array, out?: Uint8Array): Uint8Array {
  const n = samples.length;
  const dst = outBytes(out, n);
  for (let i = 0; i < n; i++) dst[i] = MULAW_ENCODE[(samples[i]! >> 2) & 0x3fff]!;
  return dst;
}

/** Encode 16-bit samples as A-law bytes (into `out` when given; returns the filled part). */
export function encodeALaw(samples: Int16Array, out?: Uint8Array): Uint8Array {
  const n = samples.length;
  const dst = outBytes(out, n);
  for (let i = 0; i < n; i++) dst[i] = ALAW_ENCODE[(samples[i]! >> 4) & 0x0fff]!;
  return dst;
}
