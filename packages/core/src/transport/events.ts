import type { OpenAIRealtimeEventTypes } from '@openai/agents-realtime';
import type { MachineDetectionEvent } from '../machine-detection.js';
import type { CallQualityReport } from '../quality/call-quality.js';
import type { AudioFormat, CallEvent } from '../types.js';
import type { InjectedAudioEvent } from './inject.js';

/** `call_start` as emitted on the transport (and on `*`). */
export type CallStartEvent = Extract<CallEvent, { type: 'call_start' }>;
export type DtmfEvent = Extract<CallEvent, { type: 'dtmf' }>;
export type CallEndEvent = {
  type: 'call_end';
  reason: string;
  /** The call's quality (jitter, loss, underruns, delays, MOS), where its media passed through the bridge. */
  quality?: CallQualityReport;
};

/** The SDK transport's events, plus the call's own. */
export type TelephonyTransportEventTypes = OpenAIRealtimeEventTypes & {
  call_start: [event: CallStartEvent];
  dtmf: [event: DtmfEvent];
  call_end: [event: CallEndEvent];
  machine_detection: [event: MachineDetectionEvent];
  injected_audio: [event: InjectedAudioEvent];
};

/** True for a `session.created` message (checked cheaply first). */
export function isSessionCreated(data: unknown): boolean {
  const text = typeof data === 'string' ? data : String(data);
  if (!text.includes('"session.created"')) return false;
  try {
    return (JSON.parse(text) as { type?: unknown }).type === 'session.created';
  } catch {
    return false;
  }
}

export type AudioDeltaEvent = {
  type: 'response.output_audio.delta';
  event_id: string;
  response_id: string;
  item_id: string;
  output_index: number;
  content_index: number;
  delta: string;
};

/** The message as an audio delta with every field the SDK's schema requires, or undefined. */
export function audioDelta(data: unknown): AudioDeltaEvent | undefined {
  const text = typeof data === 'string' ? data : String(data);
  // Cheap test first: most model messages are not audio deltas.
  if (!text.includes('"response.output_audio.delta"')) return undefined;
  let value: Partial<AudioDeltaEvent>;
  try {
    value = JSON.parse(text) as Partial<AudioDeltaEvent>;
  } catch {
    return undefined;
  }
  return value.type === 'response.output_audio.delta' &&
    typeof value.event_id === 'string' &&
    typeof value.response_id === 'string' &&
    typeof value.item_id === 'string' &&
    typeof value.output_index === 'number' &&
    typeof value.content_index === 'number' &&
    typeof value.delta === 'string'
    ? (value as AudioDeltaEvent)
    : undefined;
}

export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.encoding === b.encoding && a.sampleRate === b.sampleRate;
}
