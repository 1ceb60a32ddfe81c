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
  /**
   * The call's quality (jitter, loss, underruns, delays, MOS), where its media passed through the
   * bridge; absent for a call that carried no audio either way (`transport.quality()` still answers).
   */
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

export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.encoding === b.encoding && a.sampleRate === b.sampleRate;
}
