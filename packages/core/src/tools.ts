import { backgroundResult, tool, type FunctionTool } from '@openai/agents-realtime';
import { CallControlError, ConfigError, SwitchboardError } from './errors.js';
import { logger } from './log.js';
import { toolControls, type CallToolTransport } from './transport/controls.js';
import { AGENT_HANGUP_REASON, nextTurn, playbackTimeout, type EndAfterPlaybackResult } from './transport/hangup.js';
import type { CallStartEvent } from './transport/events.js';
import type { InjectedAudio, PlayAudioOptions } from './transport/inject.js';
import type { TelephonyRealtimeTransport } from './transport.js';

const log = logger('core');

/** The `call_end` reason of a call handed to someone else ({@link transferCallTool}). */
export const TRANSFERRED_REASON = 'transferred';

/**
 * The context a `RealtimeSession` is given so that the call tools find the call:
 * `new RealtimeSession(agent, { transport, context: { transport } })`. `T` is the transport's
 * type: the core transport by default, or another one the tools act on (an OpenAI SIP transport).
 */
export type TelephonyToolContext<T extends CallToolTransport = TelephonyRealtimeTransport> = { transport: T };

/**
 * The call a tool acts on: a transport (the core transport, or one registered with
 * `registerCallTools`, such as the OpenAI SIP transport), or a function finding it from the
 * tool's run context.
 */
export type ToolTransport = CallToolTransport | ((runContext: unknown) => CallToolTransport | undefined);

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

/**
 * What a carrier's transfer is asked to do. `T` is the type of the call's transport: the core
 * transport by default; a handler that works on any call (`openAISipTransfer`) takes
 * `TransferRequest<CallToolTransport>`.
 */
export type TransferRequest<T extends CallToolTransport = TelephonyRealtimeTransport> = {
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
  /** The transport of the call the tool acts on. */
  transport: T;
  /**
   * For a handler that keeps the caller on this stream while the transfer goes on (a warm
   * transfer's hold): until the returned function is called, the stream closing is the caller
   * hanging up, not the transfer. Call it right before the request that takes the call away.
   * A handler that never calls `handOverLater` hands the call over when it starts.
   */
  handOverLater?(): () => void;
};

/**
 * The carrier's part of a transfer (`twilioTransfer(...)`, `telnyxTransfer(...)`, ...). `T`: the
 * transport type the handler needs (see {@link TransferRequest}).
 */
export type TransferHandler<T extends CallToolTransport = TelephonyRealtimeTransport> = (
  request: TransferRequest<T>,
) => Promise<unknown>;

export type TransferCallToolOptions<T extends CallToolTransport = TelephonyRealtimeTransport> = {
  /** Where the model may transfer to: the name it picks → a number or SIP URI. */
  destinations: Record<string, string>;
  /** Moves the call (the carrier's part). */
  transfer: TransferHandler<T>;
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

/** A tool as a `RealtimeAgent` takes it (its `tools` array). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's own tool arrays are typed so
export type CallTool = FunctionTool<any, any, unknown>;

const NO_CALL = 'There is no phone call to act on.';

/**
 * A tool for a `RealtimeAgent` that hangs up once the caller heard the agent's goodbye
 * (`endAfterPlayback`). The model says goodbye and calls it, in one response or two; the tool
 * returns once the goodbye was played, without asking the model for another response, and the
 * call ends right after its output went to the model (reason `agent_hangup` by default).
 */
export function endCallTool(options: EndCallToolOptions = {}): CallTool {
  const reason = options.reason ?? AGENT_HANGUP_REASON;
  const timeoutMs = playbackTimeout(options.timeoutMs);
  checkToolTransport(options.transport);
  return tool({
    name: options.name ?? 'end_call',
    description:
      options.description ??
      'Hang up the phone call. Say goodbye first, in the same turn: the call ends once the caller has heard it.',
    parameters: { type: 'object', properties: {}, required: [], additionalProperties: false },
    strict: true,
    execute: async (_input, runContext) => {
      const call = findCall(options.transport, runContext);
      if (!call) return NO_CALL;
      const { transport, controls } = call;
      let ending: Promise<EndAfterPlaybackResult>;
      try {
        ending = transport.endAfterPlayback({ reason, timeoutMs });
      } catch (error) {
        ending = Promise.reject(error);
      }
      // A hang-up that fails (call control refused it) is the transport's error, not the model's.
      const hungUp = ending.then(
        (result) => result,
        (error: unknown) => {
          controls.emitError(error);
          return undefined;
        },
      );
      const waited = controls.hangUpWaited?.();
      const result = await (waited ?? hungUp);
      if (!result) return 'The call could not be hung up.';
      return backgroundResult(
        result.heardAll ? 'The caller heard the goodbye; the call is ending.' : 'The call is ending.',
      );
    },
  }) as CallTool;
}

/**
 * A tool for a `RealtimeAgent` that transfers the call to one of `destinations` (the model picks
 * a name). It lets the caller hear what the agent said first (`afterPlayback`), then asks the
 * carrier (`transfer`) to move the call; once it did, the call ends with reason `transferred`
 * (whether the carrier closed the stream first or not). When the carrier refuses, the model is
 * told in a short sentence (it can tell the caller) and the transport emits an `error`.
 */
export function transferCallTool<T extends CallToolTransport = TelephonyRealtimeTransport>(
  options: TransferCallToolOptions<T>,
): CallTool {
  if (!options || typeof options !== 'object') throw new ConfigError('transferCallTool needs options.');
  const destinations = options.destinations;
  const names =
    destinations && typeof destinations === 'object'
      ? Object.keys(destinations).filter((name) => typeof destinations[name] === 'string' && destinations[name] !== '')
      : [];
  if (names.length === 0) {
    throw new ConfigError('transferCallTool needs `destinations`: at least one name with a number or SIP URI.');
  }
  if (typeof options.transfer !== 'function') {
    throw new ConfigError(
      'transferCallTool needs `transfer`: the carrier’s transfer handler (twilioTransfer(...), ...).',
    );
  }
  const timeoutMs = playbackTimeout(options.timeoutMs);
  checkToolTransport(options.transport);
  const afterPlayback = options.afterPlayback ?? true;
  return tool({
    name: options.name ?? 'transfer_call',
    description:
      options.description ??
      'Transfer the phone call to a person or department. Tell the caller you are transferring them first, in the same turn.',
    parameters: {
      type: 'object',
      properties: {
        destination: { type: 'string', enum: names, description: 'Where to transfer the call.' },
        reason: { type: 'string', description: 'Why the caller is being transferred, in a few words.' },
        summary: {
          type: 'string',
          description: 'What the person taking the call should know, in one or two sentences.',
        },
      },
      required: ['destination', 'reason', 'summary'],
      additionalProperties: false,
    },
    strict: true,
    execute: async (input, runContext) => {
      const call = findCall(options.transport, runContext);
      if (!call) return NO_CALL;
      const { transport, controls } = call;
      const args = (input ?? {}) as { destination?: unknown; reason?: unknown; summary?: unknown };
      const name = typeof args.destination === 'string' ? args.destination : '';
      if (!Object.prototype.hasOwnProperty.call(destinations, name) || !names.includes(name)) {
        return `Unknown destination ${JSON.stringify(name)}; choose one of: ${names.join(', ')}.`;
      }
      if (controls.endReason() !== undefined) return 'The call has already ended.';
      if (afterPlayback) await controls.waitForPlayback(timeoutMs);
      if (controls.endReason() !== undefined) return 'The call ended before the transfer.';
      const start = controls.callStart();
      const callId = controls.callId() ?? start?.callId;
      const streamId = controls.streamId();
      const request: TransferRequest<T> = {
        name,
        destination: destinations[name]!,
        ...(typeof args.reason === 'string' && args.reason !== '' ? { reason: args.reason } : {}),
        ...(typeof args.summary === 'string' && args.summary !== '' ? { summary: args.summary } : {}),
        ...(callId !== undefined ? { callId } : {}),
        ...(streamId !== undefined ? { streamId } : {}),
        ...(start !== undefined ? { callStart: start } : {}),
        // Whether the found transport is of the handler's type is the application's promise.
        transport: transport as T,
        handOverLater: () => {
          controls.endingAs(undefined);
          return () => controls.endingAs(TRANSFERRED_REASON);
        },
      };
      // The carrier may take the call away, and close the stream, before the handler returns.
      controls.endingAs(TRANSFERRED_REASON);
      try {
        await options.transfer(request);
      } catch (error) {
        controls.endingAs(undefined);
        const failure =
          error instanceof SwitchboardError
            ? error
            : new CallControlError(`transfer to ${name} failed: ${(error as Error)?.message ?? String(error)}`, {
                cause: error,
              });
        log('transfer to %s failed: %s', name, failure.message);
        controls.emitError(failure);
        if (controls.endReason() !== undefined) return 'The transfer failed and the call has ended.';
        return `The transfer to ${name} did not go through. Tell the caller, and offer to help another way.`;
      }
      log('transferred to %s', name);
      // The tool's output goes to the model first, then the call ends.
      void nextTurn().then(() => {
        try {
          controls.end(TRANSFERRED_REASON);
        } catch (error) {
          controls.emitError(error);
        }
      });
      return backgroundResult(`The call was transferred to ${name}.`);
    },
  }) as CallTool;
}

/**
 * Runs `work`; if it is not done after `delayMs` (default 500), plays `audio` into the call
 * (looped by default) until it is, then stops it. Resolves or rejects as `work` does. For a slow
 * tool: `execute: (args) => playWhile(transport, holdMusic, () => lookUp(args))`.
 */
export async function playWhile<T>(
  transport: TelephonyRealtimeTransport,
  audio: Uint8Array | Int16Array,
  work: Promise<T> | (() => Promise<T>),
  options: PlayWhileOptions = {},
): Promise<T> {
  const { delayMs = 500, ...play } = options;
  if (!(typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new ConfigError(`\`delayMs\` must be a non-negative number of ms; got ${String(delayMs)}.`);
  }
  const running = typeof work === 'function' ? Promise.resolve().then(work) : Promise.resolve(work);
  let clip: InjectedAudio | undefined;
  let over = false;
  const timer = setTimeout(() => {
    if (over || transport.endReason !== undefined) return;
    try {
      clip = transport.playAudio(audio, { loop: true, name: 'filler', ...play });
    } catch (error) {
      toolControls(transport)?.controls.emitError(error);
    }
  }, delayMs);
  try {
    return await running;
  } finally {
    over = true;
    clearTimeout(timer);
    clip?.stop();
  }
}

function checkToolTransport(transport: unknown): void {
  if (transport === undefined || typeof transport === 'function') return;
  if (!toolControls(transport)) {
    throw new ConfigError(
      '`transport` must be a TelephonyRealtimeTransport, a transport registered with registerCallTools, or a function returning one.',
    );
  }
}

/** The call a tool acts on: the option, else the run context's `transport`; with its controls. */
function findCall(option: ToolTransport | undefined, runContext: unknown): ReturnType<typeof toolControls> {
  let found: unknown;
  try {
    if (typeof option === 'function') found = option(runContext);
    else if (option !== undefined) found = option;
    else found = (runContext as { context?: { transport?: unknown } } | undefined)?.context?.transport;
  } catch (error) {
    log('finding the call for a tool failed: %s', (error as Error)?.message);
    return undefined;
  }
  return toolControls(found);
}
