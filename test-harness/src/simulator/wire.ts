/**
 * Wire helpers of the simulator: raw WebSocket data to text, and the redacted forms of events
 * that carry audio (the records keep byte counts, not the audio).
 */
import type { RawData } from 'ws';
import { isPlainObject, type Json } from './types.js';

/** A retrieved item as recorded: audio content parts keep their byte count, not the audio. */
export function redactRetrieved(event: Json): Json {
  const item = event.item;
  if (!isPlainObject(item) || !Array.isArray(item.content)) return event;
  const content = item.content.map((part: unknown) => {
    if (!isPlainObject(part) || typeof part.audio !== 'string') return part;
    const { audio, ...rest } = part;
    return { ...rest, audio_bytes: base64Length(audio) };
  });
  return { ...event, item: { ...item, content } };
}

function base64Length(text: string): number {
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  return Math.max(0, Math.floor(((text.length - padding) * 3) / 4));
}

export function rawToString(data: RawData): string {
  if (typeof data === 'string') return data;
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

export function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  if (data instanceof ArrayBuffer) return data.byteLength;
  return data.length;
}

/** A client event as recorded: input_audio_buffer.append keeps its byte count, not the audio. */
export function redactAppend(event: Json): Json {
  if (event.type !== 'input_audio_buffer.append') return event;
  const { audio, ...rest } = event;
  let bytes = 0;
  // Size from the text alone: the handler decodes (and validates) the audio once.
  if (typeof audio === 'string') bytes = base64Length(audio);
  return { ...rest, bytes };
}
