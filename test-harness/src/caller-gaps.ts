/**
 * The silence a carrier that streams continuously (no timestamps: Vonage, Asterisk) sends where
 * a trace's media timestamps jump: the caller sends it in real time instead of nothing.
 */
import { base64Decode, base64Encode, durationMs, silence, type AudioFormat } from '@switchboard/core';
import type { Trace } from './trace.js';
import { readTwilioFrame, TWILIO_FORMAT } from './twilio-frames.js';

/**
 * The trace with a silent media frame every 20 ms wherever its media timestamps jump: what a
 * carrier that streams continuously would have sent. A jump is a gap only between frames whose
 * chunks follow each other, taken in chunk order: a frame that comes late (out of order) leaves
 * no gap behind it, and a gap next to a late frame is still one. The silence goes out before the
 * first frame delivered after the gap. The carrier numbers the silence it sends, so the chunks
 * after a gap move up by the frames inserted. Injected malformed frames keep their index among
 * the recorded frames only approximately, which is all they need.
 */
export function withSilenceInGaps(frames: Trace['frames']): Trace['frames'] {
  const out: Trace['frames'] = [];
  let format: AudioFormat = TWILIO_FORMAT;
  let stream: Trace['frames'] = [];
  for (const entry of frames) {
    if (entry.frame.event !== 'start') {
      stream.push(entry);
      continue;
    }
    out.push(...fillGaps(stream, format));
    stream = [];
    for (const event of readTwilioFrame(entry.frame)) if (event.type === 'call_start') format = event.format;
    out.push(entry);
  }
  out.push(...fillGaps(stream, format));
  return out;
}

/** {@link withSilenceInGaps} for the frames of one stream (between two `start`s). */
function fillGaps(frames: Trace['frames'], format: AudioFormat): Trace['frames'] {
  type Media = { payload: string; timestamp?: string; chunk?: string };
  type Timed = { entry: Trace['frames'][number]; chunk: number; ts: number; ms: number };
  // Each media frame's chunk; a frame without one follows the highest numbered so far.
  const chunkOf = new Map<Trace['frames'][number], number>();
  const timed: Timed[] = [];
  let highest = 0;
  for (const entry of frames) {
    if (entry.frame.event !== 'media') continue;
    const media = entry.frame.media as Media;
    const chunk = media.chunk === undefined ? highest + 1 : Number(media.chunk);
    highest = Math.max(highest, chunk);
    chunkOf.set(entry, chunk);
    if (media.timestamp !== undefined) {
      timed.push({
        entry,
        chunk,
        ts: Number(media.timestamp),
        ms: durationMs(format, base64Decode(media.payload).byteLength),
      });
    }
  }
  // The gaps, in chunk order: silent frames missing before `chunk`, after the frame `after`;
  // the first of them takes the chunk after `first`, and `shift` frames are inserted up to `chunk`.
  timed.sort((a, b) => a.chunk - b.chunk);
  const gaps: Array<{ chunk: number; after: Timed; count: number; first: number; shift: number }> = [];
  let shift = 0;
  for (let k = 1; k < timed.length; k++) {
    const [a, b] = [timed[k - 1]!, timed[k]!];
    if (b.chunk !== a.chunk + 1) continue;
    let count = 0;
    for (let at = a.ts + a.ms; at + 20 <= b.ts; at += 20) count++;
    if (count === 0) continue;
    gaps.push({ chunk: b.chunk, after: a, count, first: a.chunk + shift, shift: shift + count });
    shift += count;
  }
  /** Frames inserted before `chunk`: the shift of the last gap at or below it (gaps ascend by chunk). */
  const shiftOf = (chunk: number) => {
    let lo = 0;
    let hi = gaps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (gaps[mid]!.chunk <= chunk) lo = mid + 1;
      else hi = mid;
    }
    return gaps[lo - 1]?.shift ?? 0;
  };

  const out: Trace['frames'] = [];
  const silent = base64Encode(silence(format, 20));
  let next = 0;
  for (const entry of frames) {
    const chunk = chunkOf.get(entry);
    if (chunk === undefined) {
      out.push(entry);
      continue;
    }
    const frame = entry.frame;
    const media = frame.media as Media;
    for (; next < gaps.length && gaps[next]!.chunk <= chunk; next++) {
      const { after, count, first } = gaps[next]!;
      for (let i = 1; i <= count; i++) {
        out.push({
          t: Math.min(entry.t, after.entry.t + i * 20),
          frame: {
            ...frame,
            media: {
              ...media,
              payload: silent,
              timestamp: String(after.ts + after.ms + (i - 1) * 20),
              chunk: String(first + i),
            },
          },
        });
      }
    }
    const moved = shiftOf(chunk);
    out.push(
      moved > 0 ? { t: entry.t, frame: { ...frame, media: { ...media, chunk: String(chunk + moved) } } } : entry,
    );
  }
  return out;
}
