import { backgroundResult, tool, type FunctionTool } from '@openai/agents-realtime';
import type { CallStartEvent } from './transport/events.js';
import type { PlayAudioOptions } from './transport/inject.js';
import type { TelephonyRealtimeTransport } from './transport.js';

/** The `call_end` reason of a call handed to someone else ({@link transferCallTool}). */
export const TRANSFERRED_REASON = 'transferred';

/**
 * The context a `RealtimeSession` is given so that the call tools find the call:
 * `new RealtimeSession(agent, { transport, context: { transport } })`.
 */
export type TelephonyToolContext = { transport: TelephonyRealtimeTransport };

/** The call a tool acts on: a transport, or a function finding it from the tool's run context. */
export type ToolTransport =
  TelephonyRealtimeTransport | ((runContext: unknown) => TelephonyRealtimeTransport | undefined);

export type EndCallToolOptions = {
  /** Default `end_call`. */
  name?: string;
  description?: string;
  /** The `call_end` reason. Default `agent_hangup`. */
  reason?: string;
  /** Longest wait for playback, ms. Default 15 000. */
  timeoutMs?: number;
  /** The call. Default: `runContext.context.transport` ({@link TelephonyToolContext}). */
  transport?: ToolTransport;
};

/** What a carrier's transfer is asked to do. */
export type TransferRequest = {
  /** The destination the model picked (a key of `destinations`). */
  name: string;
  /** Its number or SIP URI. */
  destination: string;
  /** Why, in the model's words. */
  reason?: string;
  /** What the target should know, in the model's words. */
  summary?: string;
  /** From the call's `call_start`. */
  callId?: string;
  streamId?: string;
  callStart?: CallStartEvent;
  transport: TelephonyRealtimeTransport;
};

/** The carrier's part of a transfer (`twilioTransfer(...)`, `telnyxTransfer(...)`, ...). */
export type TransferHandler = (request: TransferRequest) => Promise<unknown>;

export type TransferCallToolOptions = {
  /** Where the model may transfer to: the name it picks → a number or SIP URI. */
  destinations: Record<string, string>;
  /** Moves the call (the carrier's part). */
  transfer: TransferHandler;
  /** Default `transfer_call`. */
  name?: string;
  description?: string;
  /** Let the caller hear what the agent said ("transferring you now") first. Default true. */
  afterPlayback?: boolean;
  /** Longest wait for playback, ms. Default 15 000. */
  timeoutMs?: number;
  /** The call. Default: `runContext.context.transport` ({@link TelephonyToolContext}). */
  transport?: ToolTransport;
};

export type PlayWhileOptions = PlayAudioOptions & {
  /** How long `work` may take before the audio starts, ms: no filler for a fast tool. Default 500. */
  delayMs?: number;
};

/** A tool for a `RealtimeAgent` that hangs up once the caller heard the agent's goodbye. */
export function endCallTool(options: EndCallToolOptions = {}): FunctionTool<unknown, any, unknown> {
  void backgroundResult;
  return tool({
    name: options.name ?? 'end_call',
    description: options.description ?? 'Ends the phone call.',
    parameters: { type: 'object', properties: {}, required: [], additionalProperties: false },
    strict: true,
    execute: async () => 'not implemented',
  }) as FunctionTool<unknown, any, unknown>;
}

/** A tool for a `RealtimeAgent` that transfers the call to one of `destinations`. */
export function transferCallTool(options: TransferCallToolOptions): FunctionTool<unknown, any, unknown> {
  return tool({
    name: options.name ?? 'transfer_call',
    description: options.description ?? 'Transfers the phone call.',
    parameters: { type: 'object', properties: {}, required: [], additionalProperties: false },
    strict: true,
    execute: async () => 'not implemented',
  }) as FunctionTool<unknown, any, unknown>;
}

/**
 * Runs `work`; if it is not done after `delayMs`, plays `audio` into the call (looped by
 * default) until it is. Resolves or rejects as `work` does.
 */
export async function playWhile<T>(
  _transport: TelephonyRealtimeTransport,
  _audio: Uint8Array | Int16Array,
  work: Promise<T> | (() => Promise<T>),
  _options: PlayWhileOptions = {},
): Promise<T> {
  return typeof work === 'function' ? work() : work;
}
