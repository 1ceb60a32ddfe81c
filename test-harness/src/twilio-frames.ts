/**
 * The harness's own reader of Twilio Media Streams frames, as the trace format records them: one
 * carrier message (already parsed JSON) in, the core's `CallEvent`s out. It is deliberately
 * lenient where a real capture differs from the documented shape (numbers where the docs show
 * strings, a `start` without `mediaFormat` or `customParameters`, a stream id only at the top
 * level, redacted ids as empty strings) and never throws: what it cannot read gives no event.
 *
 * It is not an adapter's protocol: it holds no stream state and encodes nothing.
 */
import { base64Decode, type AudioFormat, type CallEvent } from '@switchboard/core';

/** Twilio's one media format: μ-law, 8 kHz, mono. */
export const TWILIO_FORMAT: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };

/** The events Twilio sends a bridge on a Media Streams socket. */
export const TWILIO_INBOUND_EVENTS: readonly string[] = ['connected', 'start', 'media', 'dtmf', 'mark', 'stop'];

type Obj = Record<string, unknown>;

function object(value: unknown): Obj | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : undefined;
}

/** A string field, or a number written as one (some captures carry counters as numbers). */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A decimal counter (`sequenceNumber`, `chunk`, `timestamp`), as a number; undefined when absent or unreadable. */
export function twilioCounter(value: unknown): number | undefined {
  const s = text(value);
  if (s === undefined || !/^\s*\d+\s*$/.test(s)) return undefined;
  return Number(s);
}

/** The `event` of a frame, or undefined. */
export function twilioEvent(frame: Obj): string | undefined {
  return typeof frame.event === 'string' ? frame.event : undefined;
}

/** The stream id a frame names: `start.streamSid`, else the top-level `streamSid` (may be `""` when redacted). */
export function twilioStreamSid(frame: Obj): string | undefined {
  return text(object(frame.start)?.streamSid) ?? text(frame.streamSid);
}

/** The audio format a `start` announces (Twilio's μ-law 8 kHz where it says nothing readable). */
export function twilioStartFormat(frame: Obj): AudioFormat {
  const media = object(object(frame.start)?.mediaFormat);
  const encoding = text(media?.encoding)?.toLowerCase() ?? 'audio/x-mulaw';
  const rate = Number(media?.sampleRate ?? 8000);
  const sampleRate = Number.isFinite(rate) && rate >= 4000 && rate <= 96000 ? rate : 8000;
  if (encoding.includes('alaw') || encoding.includes('pcma')) return { encoding: 'pcma', sampleRate, channels: 1 };
  if (encoding.includes('l16') || encoding.includes('linear')) return { encoding: 'l16', sampleRate, channels: 1 };
  return { encoding: 'pcmu', sampleRate, channels: 1 };
}

/** The custom parameters of a `start`: string values only; undefined when the frame has none. */
export function twilioCustomParameters(frame: Obj): Record<string, string> | undefined {
  const raw = object(object(frame.start)?.customParameters);
  if (!raw) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Whether a media frame carries the caller's audio (not an `outbound` track of a both-tracks stream). */
export function isInboundMedia(frame: Obj): boolean {
  if (frame.event !== 'media') return false;
  const media = object(frame.media);
  return media !== undefined && media.track !== 'outbound' && typeof media.payload === 'string';
}

/** The decoded payload of a media frame, or undefined when it has none or it is not base64. */
export function twilioPayload(frame: Obj): Uint8Array | undefined {
  const payload = object(frame.media)?.payload;
  if (typeof payload !== 'string') return undefined;
  try {
    return base64Decode(payload);
  } catch {
    return undefined;
  }
}

/**
 * The core's events for one Twilio frame. `connected`, outbound-track media and anything
 * unreadable give none. The stream id of a `start` without one is `""`.
 */
export function readTwilioFrame(frame: Obj): CallEvent[] {
  switch (twilioEvent(frame)) {
    case 'start': {
      const start = object(frame.start) ?? {};
      const event: Extract<CallEvent, { type: 'call_start' }> = {
        type: 'call_start',
        streamId: twilioStreamSid(frame) ?? '',
        format: twilioStartFormat(frame),
        customParameters: twilioCustomParameters(frame) ?? {},
        raw: frame,
      };
      const callId = text(start.callSid);
      if (callId !== undefined) event.callId = callId;
      return [event];
    }
    case 'media': {
      if (!isInboundMedia(frame)) return [];
      const payload = twilioPayload(frame);
      if (!payload) return [];
      const media = object(frame.media)!;
      const event: Extract<CallEvent, { type: 'audio' }> = { type: 'audio', payload };
      const chunk = twilioCounter(media.chunk);
      const timestamp = twilioCounter(media.timestamp);
      if (chunk !== undefined) event.sequence = chunk;
      if (timestamp !== undefined) event.timestampMs = timestamp;
      return [event];
    }
    case 'dtmf': {
      const digit = text(object(frame.dtmf)?.digit);
      return digit ? [{ type: 'dtmf', digit }] : [];
    }
    case 'mark': {
      const name = text(object(frame.mark)?.name);
      return name !== undefined ? [{ type: 'playback_ack', name }] : [];
    }
    case 'stop':
      return [{ type: 'call_end', reason: 'stop' }];
    default:
      return [];
  }
}
