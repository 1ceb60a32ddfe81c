/** Minimal RIFF/WAVE support: 16-bit PCM, for fixtures, recordings and debugging. */

const HEADER_BYTES = 44;

function fourCC(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}

function writeFourCC(view: DataView, at: number, id: string): void {
  for (let i = 0; i < 4; i++) view.setUint8(at + i, id.charCodeAt(i));
}

/** A mono 16-bit PCM WAVE file (44-byte header) holding `samples` at `sampleRate` Hz. */
export function encodeWav(samples: Int16Array, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
    throw new RangeError(`encodeWav: sample rate must be a positive integer, got ${String(sampleRate)}`);
  }
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(HEADER_BYTES + dataBytes);
  const view = new DataView(out.buffer);
  writeFourCC(view, 0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  writeFourCC(view, 8, 'WAVE');
  writeFourCC(view, 12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // channels
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  writeFourCC(view, 36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0, at = HEADER_BYTES; i < samples.length; i++, at += 2) view.setInt16(at, samples[i]!, true);
  return out;
}

/**
 * Samples and rate of a 16-bit PCM WAVE file (the first channel when there are several).
 * Throws a TypeError for anything else: not RIFF/WAVE, another sample format, no data.
 * A data chunk that claims more bytes than present (a recording cut short) is read to the end.
 */
export function decodeWav(bytes: Uint8Array): { sampleRate: number; samples: Int16Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || fourCC(view, 0) !== 'RIFF' || fourCC(view, 8) !== 'WAVE') {
    throw new TypeError('decodeWav: not a RIFF/WAVE file');
  }
  let format: { channels: number; sampleRate: number; blockAlign: number } | undefined;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = fourCC(view, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw new TypeError('decodeWav: truncated fmt chunk');
      let tag = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      const blockAlign = view.getUint16(body + 12, true);
      const bits = view.getUint16(body + 14, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format tag opens the sub-format GUID.
      if (tag === 0xfffe && size >= 40 && body + 26 <= bytes.length) tag = view.getUint16(body + 24, true);
      if (tag !== 1 || bits !== 16) {
        throw new TypeError(`decodeWav: only 16-bit PCM is supported (format ${tag}, ${bits} bits)`);
      }
      if (channels < 1 || sampleRate < 1 || blockAlign !== channels * 2) {
        throw new TypeError('decodeWav: inconsistent fmt chunk');
      }
      format = { channels, sampleRate, blockAlign };
    } else if (id === 'data') {
      if (format === undefined) throw new TypeError('decodeWav: data chunk before fmt chunk');
      const available = Math.min(size, bytes.length - body);
      const count = Math.floor(available / format.blockAlign);
      const samples = new Int16Array(count);
      for (let i = 0, p = body; i < count; i++, p += format.blockAlign) samples[i] = view.getInt16(p, true);
      return { sampleRate: format.sampleRate, samples };
    }
    at = body + size + (size & 1); // chunks are padded to even sizes
  }
  throw new TypeError(format === undefined ? 'decodeWav: no fmt chunk' : 'decodeWav: no data chunk');
}
