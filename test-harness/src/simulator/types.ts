/**
 * What a simulated session records and runs with: the public record types of the simulator.
 */
import type { SimulatorAudioFormat } from './session-schema.js';
import type { SimulatorTurn } from './script.js';
import type { ResolvedVadOptions } from './vad.js';

/** Settings a session runs with (resolved from RealtimeSimulatorOptions). */
export interface SimulatedSessionSettings {
  script: readonly SimulatorTurn[];
  speed: number;
  generationSpeed: number;
  /** Audio per delta, ms; a list gives uneven sizes, used in turn and cycled. */
  deltaMs: number | readonly number[];
  responseLatencyMs: number;
  vad: ResolvedVadOptions;
  /** What input audio transcription reports for a committed user turn. */
  inputTranscript: (turn: SimulatorInputTurn) => string;
}

/** A committed user audio turn, as given to the `inputTranscript` option. */
export interface SimulatorInputTurn {
  /** The user message item. */
  itemId: string;
  /** 0 for the first committed turn of the session, then 1, 2, ... */
  index: number;
  /** Length of the committed audio, ms. */
  audioMs: number;
}

/** Facts about the WebSocket upgrade that opened the session. */
export interface SimulatedConnectionInfo {
  /** Request path and query, e.g. `/v1/realtime?model=gpt-realtime`. */
  url: string;
  /** `model` query parameter, if any. */
  model?: string;
  /** `call_id` query parameter (SIP attach), if any. */
  callId?: string;
  /** How the client authenticated. */
  auth: 'bearer' | 'subprotocol' | 'none';
  /** The negotiated WebSocket subprotocol, or '' when none. */
  protocol: string;
}

export interface RecordedEvent {
  /** Milliseconds since the connection opened. */
  at: number;
  event: Record<string, unknown>;
}

export interface SimulatorViolation {
  at: number;
  /** The offending client event (audio payloads replaced by their byte count). */
  event: unknown;
  /** The error code sent back to the client. */
  code: string;
  issues: string;
}

export interface SimulatorErrorSent {
  at: number;
  code: string;
  message: string;
  /** The `event_id` of the client event the error answers, if it had one. */
  clientEventId: string | null;
  /** The field the error is about (`session.audio.output.speed`), when it names one. */
  param: string | null;
}

export type SimulatedResponseStatus = 'in_progress' | 'completed' | 'cancelled';

export interface SimulatedResponse {
  id: string;
  /** The output item: the assistant message, or the function_call item. */
  itemId: string;
  kind: SimulatorTurn['kind'];
  /** Who asked for it: a client `response.create`, or the server VAD at the end of a turn. */
  trigger: 'client' | 'turn_detection';
  status: SimulatedResponseStatus;
  /** Why it was cancelled, when it was. */
  cancelReason?: 'client_cancelled' | 'turn_detected';
  /** Format of the audio sent for this response. */
  format: SimulatorAudioFormat;
  audioBytesSent: number;
  audioMsSent: number;
  /** Full audio length of the scripted turn in this format, in ms. */
  audioMsTotal: number;
  /** The scripted transcript of the turn (function calls: ''). */
  transcript: string;
  /** Function call turns: the call id. */
  callId?: string;
  /** An audio turn that also calls a function (`SimulatorTurn.call`): that call's item, once added. */
  call?: { itemId: string; callId: string; name: string };
  createdAt: number;
  firstAudioAt?: number;
  doneAt?: number;
}

export interface SimulatorTruncation {
  itemId: string;
  contentIndex: number;
  audioEndMs: number;
  at: number;
  /** False when the simulator rejected it (see `violations`). */
  accepted: boolean;
  /** Audio actually sent for the item when the truncate arrived, in ms. */
  audioMsSent: number | null;
}

export interface SimulatorCancel {
  at: number;
  responseId?: string;
  /** Whether a response was in flight when the cancel arrived. */
  active: boolean;
}

export interface SimulatorSpeechEvent {
  type: 'speech_started' | 'speech_stopped';
  /** Stream position reported to the client (audio_start_ms / audio_end_ms). */
  audioMs: number;
  /** Milliseconds since the connection opened, when the event was sent. */
  at: number;
  itemId: string;
}

export interface SimulatorFunctionCallOutput {
  at: number;
  callId: string;
  output: string;
  itemId: string;
}

export interface SimulatorOutputChunk {
  at: number;
  responseId: string;
  itemId: string;
  bytes: Uint8Array;
}

export type Json = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
