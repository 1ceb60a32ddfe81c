/**
 * The header of a two-channel 16-bit PCM WAVE file as the call audio recorder streams it.
 *
 * A stream cannot know its length when it starts, so the first header claims the largest sizes
 * the format holds (0xFFFFFFFF for the RIFF and data chunks, the convention of streamed WAV that
 * ffmpeg, sox, Python's `wave` and the core's `decodeWav` read up to the end of the file). When
 * the recording ends, the recorder gives the same 44 bytes with the real sizes, for a sink that
 * can write them over the first ones.
 */

/** Bytes of the canonical WAVE header (RIFF, `fmt ` for PCM, `data`). */
export const WAV_HEADER_BYTES = 44;

/** Channels of the recording: left the caller, right the agent. */
export const RECORDING_CHANNELS = 2;

/** Size field of a chunk whose length is not known yet. */
const UNKNOWN_SIZE = 0xffffffff;

function writeFourCC(view: DataView, at: number, id: string): void {
  for (let i = 0; i < 4; i++) view.setUint8(at + i, id.charCodeAt(i));
}

/**
 * The 44-byte header of a 16-bit PCM WAVE file with `channels` channels at `sampleRate` Hz,
 * holding `dataBytes` bytes of samples; `undefined` for a stream whose length is not known.
 */
export function wavHeader(sampleRate: number, channels: number, dataBytes?: number): Uint8Array {
  const out = new Uint8Array(WAV_HEADER_BYTES);
  const view = new DataView(out.buffer);
  const blockAlign = channels * 2;
  // Past 4 GiB the sizes cannot be said; a reader then reads to the end of the file as for a stream.
  const known = dataBytes !== undefined && dataBytes + 36 <= UNKNOWN_SIZE - 1;
  writeFourCC(view, 0, 'RIFF');
  view.setUint32(4, known ? 36 + dataBytes : UNKNOWN_SIZE, true);
  writeFourCC(view, 8, 'WAVE');
  writeFourCC(view, 12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * blockAlign, true); // byte rate
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, 16, true); // bits per sample
  writeFourCC(view, 36, 'data');
  view.setUint32(40, known ? dataBytes : UNKNOWN_SIZE, true);
  return out;
}
