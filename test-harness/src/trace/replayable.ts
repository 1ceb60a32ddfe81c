/**
 * The frames a replay sends for a Twilio trace: the recorded frames, made fit for a bridge that
 * is not the one they were recorded with.
 *
 * - A capture that begins mid-call (media or DTMF before any `start`) gets a `start` of the
 *   replayer's own just before its first frame, with the stream id its media name (when they
 *   name one), no custom parameters and Twilio's μ-law 8 kHz.
 * - Ids a recorder redacted (`""`) are replaced by stand-ins, the same for every frame of a
 *   stream, so that the bridge has ids to answer with. The checks do not compare redacted ids.
 * - A recorded `mark` is the carrier's echo of a mark the original bridge sent. It goes to this
 *   bridge as a mark it never sent, under the name `recorded:<name>`: it can never acknowledge
 *   one of this bridge's own marks, whatever names the two bridges use.
 * - Frames a carrier never sends a bridge are left out: `media` of the `outbound` track (a
 *   both-tracks capture), and events other than connected/start/media/dtmf/mark/stop (a
 *   `clear` written on the wrong side, say). The bridge's own frames (`sent` lines), binary and
 *   non-JSON text lines are not replayed either.
 */
import { TWILIO_INBOUND_EVENTS, twilioStreamSid } from '../twilio-frames.js';
import type { Trace, TraceFrame } from './format.js';

/** The prefix a recorded mark's name gets in a replay. */
export const RECORDED_MARK_PREFIX = 'recorded:';

type Obj = Record<string, unknown>;

function object(value: unknown): Obj | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : undefined;
}

/** A stand-in for a redacted id: Twilio's prefix and 32 hex digits from the trace name and a counter. */
function standIn(prefix: string, seed: string, n: number): string {
  let h = 0x811c9dc5;
  const text = `${seed}\u0000${prefix}\u0000${n}`;
  let hex = '';
  for (let round = 0; hex.length < 32; round++) {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ round, 0x01000193) >>> 0;
    hex += h.toString(16).padStart(8, '0');
  }
  return prefix + hex.slice(0, 32);
}

/** The trace's frames as a replay sends them to a bridge that speaks Twilio Media Streams (see the module comment). */
export function replayableFrames(trace: Trace): TraceFrame[] {
  const seed = trace.header.name;
  const callSid = standIn('CA', seed, 0);
  const accountSid = standIn('AC', seed, 0);
  let streams = 0;
  let streamSid: string | undefined;
  let started = false;
  const out: TraceFrame[] = [];
  for (const { t, frame } of trace.frames) {
    const event = typeof frame.event === 'string' ? frame.event : '';
    if (!TWILIO_INBOUND_EVENTS.includes(event)) continue;
    if (event === 'media' && object(frame.media)?.track === 'outbound') continue;
    if (event === 'start') {
      started = true;
      const sid = twilioStreamSid(frame);
      streamSid = sid ? sid : standIn('MZ', seed, ++streams);
      const start = { ...(object(frame.start) ?? {}) };
      if (start.streamSid === '' || start.streamSid === undefined) start.streamSid = streamSid;
      if (start.callSid === '' || start.callSid === undefined) start.callSid = callSid;
      if (start.accountSid === '') start.accountSid = accountSid;
      out.push({ t, frame: { ...frame, start, streamSid } });
      continue;
    }
    if (!started && event !== 'connected') {
      // A capture that begins mid-call: the stream it belongs to starts here.
      started = true;
      const sid = twilioStreamSid(frame);
      streamSid = sid ? sid : standIn('MZ', seed, ++streams);
      out.push({
        t,
        frame: {
          event: 'start',
          start: {
            accountSid,
            streamSid,
            callSid,
            tracks: ['inbound'],
            customParameters: {},
            mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
          },
          streamSid,
        },
      });
    }
    let copy: Obj = frame;
    if (event !== 'connected' && frame.streamSid === '' && streamSid) copy = { ...copy, streamSid };
    if (event === 'stop') {
      const stop = object(frame.stop);
      if (stop && (stop.callSid === '' || stop.accountSid === '')) {
        copy = {
          ...copy,
          stop: {
            ...stop,
            ...(stop.callSid === '' ? { callSid } : {}),
            ...(stop.accountSid === '' ? { accountSid } : {}),
          },
        };
      }
    }
    if (event === 'mark') {
      const mark = object(frame.mark);
      if (mark && typeof mark.name === 'string')
        copy = { ...copy, mark: { ...mark, name: RECORDED_MARK_PREFIX + mark.name } };
    }
    out.push(copy === frame ? { t, frame } : { t, frame: copy });
  }
  return out;
}
