/**
 * What the soak's callers say: the caller utterances of the bundled traces (recorded speech,
 * μ-law 8 kHz), cut into 20 ms frames, and the traces' comfort noise for the quiet between them.
 */
import { base64Decode } from '@switchboard/core';
import { bundledTracesDir, loadTrace, traceExpect } from '@switchboard/conformance';

/** 20 ms of μ-law at 8 kHz. */
export const FRAME_BYTES = 160;
export const FRAME_MS = 20;

export type Speech = {
  /** Each utterance as its 20 ms frames. */
  utterances: Uint8Array[][];
  /** Comfort noise frames, played in a loop whenever the caller is quiet. */
  noise: Uint8Array[];
};

/** Traces whose caller speaks without gaps or reordering: their media timestamps are the stream position. */
const SOURCES = ['demo-call', 'two-turn', 'barge-in', 'dtmf'];

export async function loadSpeech(): Promise<Speech> {
  const utterances: Uint8Array[][] = [];
  let noise: Uint8Array[] = [];
  for (const name of SOURCES) {
    const trace = await loadTrace(`${bundledTracesDir()}/${name}.jsonl`);
    // The stream's frames by position (media timestamp / 20 ms).
    const frames: Uint8Array[] = [];
    for (const { frame } of trace.frames) {
      if (frame.event !== 'media') continue;
      const media = frame.media as { timestamp: string; payload: string };
      const bytes = base64Decode(media.payload);
      if (bytes.byteLength !== FRAME_BYTES) continue;
      frames[Math.round(Number(media.timestamp) / FRAME_MS)] = bytes;
    }
    const spoken = traceExpect(trace).utterances;
    // A little of the lead-in and tail, as a caller's breath around the words.
    for (const { startMs, endMs } of spoken) {
      const slice = frames
        .slice(Math.max(0, Math.floor(startMs / FRAME_MS) - 5), Math.ceil(endMs / FRAME_MS) + 3)
        .filter((f) => f !== undefined);
      if (slice.length > 0) utterances.push(slice);
    }
    // The longest quiet stretch of all the traces is the noise loop.
    let from = 0;
    for (const { startMs, endMs } of [...spoken, { startMs: traceExpect(trace).durationMs, endMs: Infinity }]) {
      const quiet = frames.slice(from + 10, Math.floor(startMs / FRAME_MS) - 10).filter((f) => f !== undefined);
      if (quiet.length > noise.length) noise = quiet;
      from = Math.ceil(endMs / FRAME_MS);
    }
  }
  if (utterances.length === 0 || noise.length === 0)
    throw new Error('soak: the bundled traces gave no speech or no quiet to play');
  return { utterances, noise };
}
