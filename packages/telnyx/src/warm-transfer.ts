/**
 * Warm transfer of a Telnyx call: the caller hears hold audio while a person is called; once the
 * person answers they hear a short spoken summary; then caller and person are joined and the
 * agent leaves the call.
 *
 * Steps, all Call Control (https://developers.telnyx.com/api/call-control):
 * 1. Hold: the hold audio plays into the caller's own media stream (`transport.playAudio`, looped,
 *    not interruptible). It needs no public audio URL, is paced and accounted like the agent's
 *    audio, shows in a call recording, and stops the moment the agent has to take over again.
 * 2. `POST /v2/calls` dials the person, with a `client_state` naming this transfer, so the
 *    person's webhooks (`call.answered`, `call.speak.ended`, `call.hangup`) are matched to it
 *    even when one arrives before the dial's answer.
 * 3. On `call.answered`: `actions/speak` says the summary to the person; `call.speak.ended` (or a
 *    bound) ends it.
 * 4. The hold audio stops, `actions/bridge` joins the caller's leg to the person's, and
 *    `actions/streaming_stop` on the caller's leg ends the media stream: the agent leaves. Bridging
 *    first means a failed bridge leaves the agent on the call.
 * If the person does not answer in time (their leg is then hung up), hangs up, or the bridge
 * fails, the hold audio stops and the transfer rejects: the tool tells the model, which speaks to
 * the caller again. If the caller hangs up meanwhile, the person's leg is hung up.
 */
import {
  CallControlError,
  ConfigError,
  base64Decode,
  type AudioFormat,
  type InjectedAudio,
  type TransferHandler,
  type TransferRequest,
} from '@switchboard/core';
import { isJsonObject, logger } from '@switchboard/core/protocol';
import type { TelnyxCallControl } from './call-control.js';

const log = logger('telnyx');

export type TelnyxWarmTransferOptions = {
  /** The Call Control client for dial, speak, bridge, streaming_stop and hangup. */
  callControl: TelnyxCallControl;
  /**
   * The Call Control application (`connection_id`) that dials the person; its webhooks go to
   * {@link TelnyxWarmTransfer.handleWebhook}.
   */
  connectionId: string;
  /** Caller id shown to the person (E.164, a number of your account). */
  from: string;
  /** Played to the caller while they wait (looped). Without it the caller hears silence. */
  holdAudio?: Uint8Array | Int16Array;
  /** Format of `holdAudio`; default the call's format (`Int16Array`: L16 at the call's rate). */
  holdAudioFormat?: AudioFormat;
  /** What the person hears before the caller is put through. Default: the model's summary, else its reason. */
  whisper?: (request: TransferRequest) => string;
  /** Voice of `actions/speak`; default `female`. */
  voice?: string;
  /** Language of `actions/speak` (`en-US`, …). */
  language?: string;
  /**
   * How long the person may take to answer, ms (up to 600 000); default 30 000. Telnyx rings for
   * this long too, rounded up to whole seconds, at least 5 (`timeout_secs`).
   */
  answerTimeoutMs?: number;
  /** Longest wait for the spoken summary to end, ms; default 30 000. Then the calls are joined anyway. */
  speakTimeoutMs?: number;
  /** Where Telnyx sends the person's webhooks, if not to the application's URL. */
  webhookUrl?: string;
};

/** What a warm transfer resolves with. */
export type TelnyxWarmTransferResult = { transferred: true; to: string; callControlId: string };

type Attempt = {
  token: string;
  callControlId?: string;
  answered: boolean;
  spoken: boolean;
  hungUp: boolean;
  wake: () => void;
};

const STATE_KEY = 'switchboardWarmTransfer';
const MAX_BODY = 64 * 1024;
const decoder = new TextDecoder();

function positive(value: number | undefined, name: string, min: number, max: number): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= min && value <= max))
    throw new ConfigError(`TelnyxWarmTransfer: ${name} must be a number of ms from ${min} to ${max}`);
}

/** The transfer token in a webhook's `client_state` (base64 JSON), if it holds one. */
function tokenOf(clientState: unknown): string | undefined {
  if (typeof clientState !== 'string' || clientState.length > 4096) return undefined;
  try {
    const state = JSON.parse(decoder.decode(base64Decode(clientState))) as unknown;
    const token = isJsonObject(state) ? state[STATE_KEY] : undefined;
    return typeof token === 'string' ? token : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Warm transfers of Telnyx calls. Pass {@link TelnyxWarmTransfer.transfer} as the `transfer` of
 * `transferCallTool`, and every verified webhook of the application that dials the person to
 * {@link TelnyxWarmTransfer.handleWebhook}.
 */
export class TelnyxWarmTransfer {
  readonly #options: TelnyxWarmTransferOptions;
  readonly #attempts = new Map<string, Attempt>();
  #next = 0;

  constructor(options: TelnyxWarmTransferOptions) {
    if (!options || typeof options.callControl?.dial !== 'function')
      throw new ConfigError('TelnyxWarmTransfer: `callControl` (a TelnyxCallControl) is required');
    if (typeof options.connectionId !== 'string' || options.connectionId === '')
      throw new ConfigError('TelnyxWarmTransfer: `connectionId` is required');
    if (typeof options.from !== 'string' || options.from === '')
      throw new ConfigError('TelnyxWarmTransfer: `from` (caller id for the person) is required');
    positive(options.answerTimeoutMs, 'answerTimeoutMs', 100, 600_000);
    positive(options.speakTimeoutMs, 'speakTimeoutMs', 0, 600_000);
    this.#options = options;
  }

  /** Transfers in progress. */
  get pending(): number {
    return this.#attempts.size;
  }

  /** The `TransferHandler` for `transferCallTool`. */
  readonly transfer: TransferHandler = (request) => this.#run(request);

  /**
   * Feeds a webhook (verified first: `assertTelnyxWebhook`) of the person's leg: the parsed body,
   * its `data`, or the raw body. True when it belonged to a transfer in progress. Never throws.
   */
  handleWebhook(webhook: unknown): boolean {
    let body = webhook;
    if (typeof webhook === 'string' || webhook instanceof Uint8Array) {
      if (webhook.length > MAX_BODY) return false;
      try {
        body = JSON.parse(typeof webhook === 'string' ? webhook : decoder.decode(webhook)) as unknown;
      } catch {
        return false;
      }
    }
    if (!isJsonObject(body)) return false;
    const data = isJsonObject(body['data']) ? body['data'] : body;
    const payload = data['payload'];
    if (!isJsonObject(payload)) return false;
    const token = tokenOf(payload['client_state']);
    const id = payload['call_control_id'];
    const attempt =
      (token !== undefined ? this.#attempts.get(token) : undefined) ??
      [...this.#attempts.values()].find((a) => a.callControlId !== undefined && a.callControlId === id);
    if (attempt === undefined) return false;
    if (attempt.callControlId === undefined && typeof id === 'string' && id !== '') attempt.callControlId = id;
    switch (data['event_type']) {
      case 'call.answered':
        attempt.answered = true;
        break;
      case 'call.speak.ended':
        attempt.spoken = true;
        break;
      case 'call.hangup':
        attempt.hungUp = true;
        break;
      default:
        return true;
    }
    attempt.wake();
    return true;
  }

  async #run(request: TransferRequest): Promise<TelnyxWarmTransferResult> {
    const options = this.#options;
    const calls = options.callControl;
    const callerId = request.callId;
    if (callerId === undefined || callerId === '')
      throw new ConfigError('TelnyxWarmTransfer: the call has no call_control_id (no call_start yet)');
    const token = `wt${++this.#next}-${Math.random().toString(36).slice(2, 10)}`;
    let wake: () => void = () => {};
    const attempt: Attempt = { token, answered: false, spoken: false, hungUp: false, wake: () => wake() };
    this.#attempts.set(token, attempt);
    // The caller stays on this stream until the bridge: hanging up before it is no transfer.
    const handOver = request.handOverLater?.();
    let callerGone = false;
    const offEnd = onCallEnd(request, () => {
      callerGone = true;
      attempt.wake();
    });
    /** Resolves when `done()` holds or `ms` passed (false then). */
    const until = (done: () => boolean, ms: number) =>
      new Promise<boolean>((resolve) => {
        if (done()) return resolve(true);
        const timer = setTimeout(() => finish(false), ms);
        const finish = (value: boolean) => {
          clearTimeout(timer);
          wake = () => {};
          resolve(value);
        };
        wake = () => {
          if (done()) finish(true);
        };
      });
    let hold: InjectedAudio | undefined;
    let personId: string | undefined;
    let joined = false;
    try {
      if (options.holdAudio !== undefined) {
        hold = request.transport.playAudio(options.holdAudio, {
          loop: true,
          interruptible: false,
          name: 'hold',
          ...(options.holdAudioFormat ? { format: options.holdAudioFormat } : {}),
        });
      }
      const answerMs = options.answerTimeoutMs ?? 30_000;
      const dial = await calls.dial({
        to: request.destination,
        from: options.from,
        connectionId: options.connectionId,
        timeoutSecs: Math.min(600, Math.max(5, Math.ceil(answerMs / 1000))),
        clientState: JSON.stringify({ [STATE_KEY]: token }),
        ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
      });
      personId = attempt.callControlId ?? dial.callControlId;
      attempt.callControlId = personId;
      log('warm transfer: dialled the person');
      const stop = () => attempt.hungUp || callerGone;
      const answered = await until(() => attempt.answered || stop(), answerMs);
      if (callerGone) throw new CallControlError('TelnyxWarmTransfer: the caller hung up during the transfer');
      if (!answered || !attempt.answered || attempt.hungUp)
        throw new CallControlError(`TelnyxWarmTransfer: ${request.name} did not answer`);
      const whisper = (options.whisper ?? defaultWhisper)(request);
      if (whisper.trim() !== '') {
        const speak: { voice?: string; language?: string } = {};
        if (options.voice !== undefined) speak.voice = options.voice;
        if (options.language !== undefined) speak.language = options.language;
        await calls.speak(personId, whisper, speak);
        await until(() => attempt.spoken || stop(), options.speakTimeoutMs ?? 30_000);
      }
      if (callerGone) throw new CallControlError('TelnyxWarmTransfer: the caller hung up during the transfer');
      if (attempt.hungUp) throw new CallControlError(`TelnyxWarmTransfer: ${request.name} hung up before being joined`);
      hold?.stop();
      handOver?.();
      const bridged = await calls.bridge(callerId, personId);
      if (bridged.alreadyEnded)
        throw new CallControlError('TelnyxWarmTransfer: the caller hung up during the transfer');
      joined = true;
      log('warm transfer: caller and person joined');
      // The caller and the person are joined: the transfer happened. Should Telnyx refuse to stop
      // the stream, the transport's end (the tool ends the call `transferred`) closes it instead.
      await calls.stopStreaming(callerId, request.streamId).catch((error: unknown) => {
        log('warm transfer: streaming_stop failed (%s); the stream ends with the transport', (error as Error)?.message);
      });
      return { transferred: true, to: request.destination, callControlId: personId };
    } catch (error) {
      if (!joined && personId !== undefined && !attempt.hungUp) {
        // The person must not be left on a call nobody joins.
        await calls.hangup(personId).catch(() => undefined);
      }
      throw error;
    } finally {
      hold?.stop();
      offEnd();
      this.#attempts.delete(token);
    }
  }
}

function defaultWhisper(request: TransferRequest): string {
  const about = request.summary ?? request.reason;
  return about ? `Incoming transfer. ${about}` : 'Incoming transfer.';
}

/** Calls `listener` when the caller's call ends; returns the unsubscribe. */
function onCallEnd(request: TransferRequest, listener: () => void): () => void {
  request.transport.on('call_end', listener);
  return () => request.transport.off('call_end', listener);
}
