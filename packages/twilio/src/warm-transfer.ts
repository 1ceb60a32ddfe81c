/**
 * Warm transfer of a Twilio call through a conference
 * (https://www.twilio.com/docs/voice/twiml/conference):
 *
 * 1. The caller's call is updated to `<Dial><Conference startConferenceOnEnter="false">`: the
 *    media stream (and so the agent) ends, and the caller hears the hold audio (`waitUrl`).
 * 2. The human is called (`POST …/Calls.json`) with TwiML that first speaks the summary
 *    (`<Say>`, heard by the human alone) and then joins the same conference with
 *    `startConferenceOnEnter="true"`: the hold audio stops and caller and human talk.
 *    `endConferenceOnExit` on both legs ends the conference, and so both calls, when either leaves.
 * 3. If the human does not take the call, the caller is brought back: their call is updated with
 *    the `unavailable` TwiML (a message, or `<Connect><Stream>` back to an agent). Twilio reports
 *    the human leg's end to `statusCallback` (`CallStatus` `busy`, `no-answer`, `failed`,
 *    `canceled`); a human who answers but hangs up before joining shows in the conference's
 *    events, which go to the same URL. Pass each such request to {@link TwilioWarmTransfer.handleStatus}.
 *
 * Which transfer each callback belongs to travels in the callback URL's query
 * (`switchboard_caller`, `switchboard_conference`), so any server instance can act on it. Two
 * cases need what this instance saw of the transfer (bounded, in memory): a human who answered
 * but never joined (an instance that saw none of it leaves the caller on hold), and a caller who
 * hung up on hold (the instance that called the human cancels that call: `Status=canceled` for a
 * ringing call, then `Status=completed` for an answered one).
 */
import { CallControlError, ConfigError, type TransferHandler, type TransferRequest } from '@switchboard/core';
import type { TwilioCallControl } from './call-control.js';
import { escapeXml } from './twiml.js';

export type TwilioWarmTransferOptions = {
  /** The REST client that moves the caller and calls the human. */
  callControl: TwilioCallControl;
  /** The number the human's call comes from (one of yours). */
  from: string;
  /**
   * Your endpoint for the human leg's status and the conference's events (http(s) URL). Verify
   * each request (`assertTwilioSignature`) and pass it to {@link TwilioWarmTransfer.handleStatus}.
   */
  statusCallback: string;
  /**
   * `waitUrl` of the caller's conference: hold audio (an MP3/WAV URL, or TwiML with `<Play>`/`<Say>`).
   * Default: Twilio's hold music.
   */
  holdAudioUrl?: string;
  /** Seconds to ring the human (`Timeout`, 5–600). Default 30. */
  ringSeconds?: number;
  /** What the human hears before joining. Default: the summary, else the reason, else "You have a transferred call." */
  whisper?: (request: TwilioWarmTransferRequest) => string;
  /** `<Say voice>` and `<Say language>` of the whisper. */
  voice?: string;
  language?: string;
  /**
   * TwiML for the caller when the human does not take the call. Default: an apology and a hang-up.
   * Give `<Connect><Stream>` ({@link connectStreamTwiml}) to put the caller back with an agent.
   */
  unavailable?: string | ((outcome: TwilioWarmTransferUpdate) => string);
  /** The conference's name for a caller's call. Default `transfer-<CallSid>`. */
  conferenceName?: (callerSid: string) => string;
  /** Conferences remembered for the "answered but never joined" case. Default 1000. */
  maxTracked?: number;
};

/** One warm transfer to start. */
export type TwilioWarmTransferRequest = {
  /** The caller's call (its `CallSid`, the transport's `callStart.callId`). */
  callSid: string;
  /** The human: a phone number or SIP URI. */
  to: string;
  summary?: string;
  reason?: string;
};

export type TwilioWarmTransferStarted = { conference: string; callerSid: string; humanCallSid: string };

/**
 * What a status callback meant:
 * - `joined`: the human joined the conference; caller and human are talking.
 * - `returned`: the human did not take the call (`status` says why); the caller got the
 *   `unavailable` TwiML (`alreadyEnded`: the caller had hung up).
 * - `waiting`: a step on the way (the caller joined, the human rang or answered).
 * - `ended`: the transfer is over (the conference ended, or the human left after talking).
 * - `ignored`: not a callback of a transfer started here, or not one that matters.
 */
export type TwilioWarmTransferUpdate =
  | { outcome: 'joined' | 'waiting' | 'ended'; conference: string; callerSid: string }
  | { outcome: 'returned'; conference: string; callerSid: string; status: string; alreadyEnded: boolean }
  | { outcome: 'ignored' };

/** A Twilio call sid, or a SignalWire call id (a UUID). */
const CALL_SID = /^(CA[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const NOT_TAKEN = new Set(['busy', 'no-answer', 'failed', 'canceled']);
const DEFAULT_UNAVAILABLE =
  '<Response><Say>Sorry, nobody could take your call right now. Please call again later. Goodbye.</Say><Hangup/></Response>';

type Tracked = { callerJoined: boolean; humanJoined: boolean; humanCallSid?: string };

function readParam(params: URLSearchParams | Record<string, unknown>, name: string): string | undefined {
  if (params instanceof URLSearchParams) return params.get(name) ?? undefined;
  const value = Object.prototype.hasOwnProperty.call(params, name) ? params[name] : undefined;
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

function checkHttpUrl(value: unknown, what: string): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new ConfigError(`TwilioWarmTransfer: ${what} is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`TwilioWarmTransfer: ${what} must be an http(s) URL`);
  }
  return String(value);
}

/**
 * Warm transfer on Twilio: caller on hold in a conference, the human called and told the summary,
 * then both joined and the agent gone; the caller brought back when the human does not take it.
 * `handler()` makes it a `TransferHandler` for `transferCallTool`.
 */
export class TwilioWarmTransfer {
  readonly #options: TwilioWarmTransferOptions;
  readonly #tracked = new Map<string, Tracked>();
  readonly #maxTracked: number;

  constructor(options: TwilioWarmTransferOptions) {
    if (!options || typeof options !== 'object' || !options.callControl) {
      throw new ConfigError('TwilioWarmTransfer: callControl (a TwilioCallControl) is required');
    }
    if (typeof options.from !== 'string' || options.from.trim().length === 0) {
      throw new ConfigError('TwilioWarmTransfer: from (the number the human sees) is required');
    }
    checkHttpUrl(options.statusCallback, 'statusCallback');
    if (options.holdAudioUrl !== undefined) checkHttpUrl(options.holdAudioUrl, 'holdAudioUrl');
    const ring = options.ringSeconds;
    if (ring !== undefined && (!Number.isInteger(ring) || ring < 5 || ring > 600)) {
      throw new ConfigError('TwilioWarmTransfer: ringSeconds must be a whole number from 5 to 600');
    }
    const max = options.maxTracked ?? 1000;
    if (!Number.isInteger(max) || max < 1)
      throw new ConfigError('TwilioWarmTransfer: maxTracked must be a positive integer');
    this.#maxTracked = max;
    this.#options = options;
  }

  /** The conference a caller's call is moved to. */
  conferenceName(callerSid: string): string {
    const name = this.#options.conferenceName?.(callerSid) ?? `transfer-${callerSid}`;
    if (typeof name !== 'string' || name.length === 0 || name.length > 128) {
      throw new ConfigError('TwilioWarmTransfer: conferenceName must return a name of 1 to 128 characters');
    }
    return name;
  }

  /** The status callback URL of one transfer: `statusCallback` with the caller and conference in its query. */
  callbackUrl(callerSid: string, conference: string): string {
    const url = new URL(this.#options.statusCallback);
    url.searchParams.set('switchboard_caller', callerSid);
    url.searchParams.set('switchboard_conference', conference);
    return url.toString();
  }

  /** The TwiML that puts the caller on hold in the conference. */
  holdTwiml(callerSid: string): string {
    const conference = this.conferenceName(callerSid);
    const wait = this.#options.holdAudioUrl === undefined ? '' : ` waitUrl="${escapeXml(this.#options.holdAudioUrl)}"`;
    const events = ` statusCallback="${escapeXml(this.callbackUrl(callerSid, conference))}" statusCallbackEvent="join leave end"`;
    return (
      `<Response><Dial><Conference startConferenceOnEnter="false" endConferenceOnExit="true" beep="false"${wait}${events}>` +
      `${escapeXml(conference)}</Conference></Dial></Response>`
    );
  }

  /** The TwiML of the human's call: the whisper, then the conference. */
  humanTwiml(request: TwilioWarmTransferRequest): string {
    const conference = this.conferenceName(request.callSid);
    const text =
      this.#options.whisper?.(request) ?? request.summary ?? request.reason ?? 'You have a transferred call.';
    let sayAttributes = '';
    if (this.#options.voice !== undefined) sayAttributes += ` voice="${escapeXml(this.#options.voice)}"`;
    if (this.#options.language !== undefined) sayAttributes += ` language="${escapeXml(this.#options.language)}"`;
    const say = text.length > 0 ? `<Say${sayAttributes}>${escapeXml(text)}</Say>` : '';
    return (
      `<Response>${say}<Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="true" beep="false">` +
      `${escapeXml(conference)}</Conference></Dial></Response>`
    );
  }

  /**
   * Starts a warm transfer: moves the caller to the conference (the agent's stream ends), then
   * calls the human. When the human's call cannot even be placed, the caller is brought back at
   * once and the error is thrown.
   */
  async start(request: TwilioWarmTransferRequest): Promise<TwilioWarmTransferStarted> {
    if (!request || typeof request.callSid !== 'string' || !CALL_SID.test(request.callSid)) {
      throw new ConfigError('TwilioWarmTransfer.start: callSid must be the caller’s CallSid');
    }
    const to = typeof request.to === 'string' ? request.to.trim() : '';
    if (to.length === 0) throw new ConfigError('TwilioWarmTransfer.start: `to` must be a phone number or SIP URI');
    const callerSid = request.callSid;
    const conference = this.conferenceName(callerSid);
    const humanTwiml = this.humanTwiml(request);
    const { callControl } = this.#options;

    const moved = await callControl.update(callerSid, { Twiml: this.holdTwiml(callerSid) });
    if (moved.alreadyEnded) throw new CallControlError('TwilioWarmTransfer: the caller’s call has already ended');
    this.#track(conference);

    try {
      const human = await callControl.createCall({
        to,
        from: this.#options.from,
        twiml: humanTwiml,
        timeoutSeconds: this.#options.ringSeconds ?? 30,
        statusCallback: this.callbackUrl(callerSid, conference),
        statusCallbackEvents: ['answered', 'completed'],
      });
      const tracked = this.#tracked.get(conference);
      if (tracked) tracked.humanCallSid = human.callSid;
      return { conference, callerSid, humanCallSid: human.callSid };
    } catch (error) {
      await this.#bringBack({
        outcome: 'returned',
        conference,
        callerSid,
        status: 'failed',
        alreadyEnded: false,
      }).catch(() => undefined);
      this.#tracked.delete(conference);
      throw error;
    }
  }

  /**
   * A `TransferHandler` for `transferCallTool`: a warm transfer of the tool's call to the
   * destination the model picked, whispering the model's summary.
   */
  handler(): TransferHandler {
    return async (request: TransferRequest) => {
      if (typeof request.callId !== 'string' || request.callId.length === 0) {
        throw new CallControlError('TwilioWarmTransfer: the call has no CallSid yet (no call_start)');
      }
      const warm: TwilioWarmTransferRequest = { callSid: request.callId, to: request.destination };
      if (request.summary !== undefined) warm.summary = request.summary;
      if (request.reason !== undefined) warm.reason = request.reason;
      return this.start(warm);
    };
  }

  /**
   * Acts on one request Twilio made to `statusCallback` (verify it first): `url` as Twilio
   * requested it (with its query), `params` its form body. Brings the caller back when the human
   * did not take the call.
   */
  async handleStatus(
    url: string | URL,
    params: URLSearchParams | Record<string, unknown>,
  ): Promise<TwilioWarmTransferUpdate> {
    let query: URLSearchParams;
    try {
      query = new URL(String(url)).searchParams;
    } catch {
      return { outcome: 'ignored' };
    }
    const callerSid = query.get('switchboard_caller') ?? '';
    const conference = query.get('switchboard_conference') ?? '';
    if (!CALL_SID.test(callerSid) || conference.length === 0 || !params || typeof params !== 'object') {
      return { outcome: 'ignored' };
    }
    const base = { conference, callerSid };
    const callSid = readParam(params, 'CallSid');
    const event = readParam(params, 'StatusCallbackEvent');
    const tracked = this.#tracked.get(conference);

    if (event !== undefined) {
      // The conference's own events.
      if (event === 'participant-join') {
        if (callSid === callerSid) {
          if (tracked) tracked.callerJoined = true;
          return { outcome: 'waiting', ...base };
        }
        if (tracked) tracked.humanJoined = true;
        return { outcome: 'joined', ...base };
      }
      if (event === 'conference-end') {
        this.#tracked.delete(conference);
        return { outcome: 'ended', ...base };
      }
      if (event === 'participant-leave' && callSid === callerSid && tracked && !tracked.humanJoined) {
        // The caller hung up on hold: stop ringing the human (or end their call, once answered).
        this.#tracked.delete(conference);
        const human = tracked.humanCallSid;
        if (human !== undefined) {
          const { callControl } = this.#options;
          await callControl.update(human, { Status: 'canceled' }).catch(() => undefined);
          await callControl.hangup(human).catch(() => undefined);
        }
        return { outcome: 'ended', ...base };
      }
      return { outcome: 'ignored' };
    }

    const status = readParam(params, 'CallStatus');
    if (status === undefined || callSid === callerSid) return { outcome: 'ignored' };
    if (NOT_TAKEN.has(status)) {
      this.#tracked.delete(conference);
      return this.#bringBack({ outcome: 'returned', ...base, status, alreadyEnded: false });
    }
    if (status === 'completed') {
      // The human answered and has now hung up. Had they joined, the conference ended with them.
      if (tracked && tracked.callerJoined && !tracked.humanJoined) {
        this.#tracked.delete(conference);
        return this.#bringBack({ outcome: 'returned', ...base, status: 'left-before-joining', alreadyEnded: false });
      }
      return { outcome: 'ended', ...base };
    }
    return { outcome: 'waiting', ...base };
  }

  async #bringBack(
    update: Extract<TwilioWarmTransferUpdate, { outcome: 'returned' }>,
  ): Promise<TwilioWarmTransferUpdate> {
    const unavailable = this.#options.unavailable;
    const twiml = typeof unavailable === 'function' ? unavailable(update) : (unavailable ?? DEFAULT_UNAVAILABLE);
    const { alreadyEnded } = await this.#options.callControl.update(update.callerSid, { Twiml: twiml });
    return { ...update, alreadyEnded };
  }

  #track(conference: string): void {
    this.#tracked.delete(conference);
    this.#tracked.set(conference, { callerJoined: false, humanJoined: false });
    while (this.#tracked.size > this.#maxTracked) {
      const oldest = this.#tracked.keys().next().value;
      if (oldest === undefined) break;
      this.#tracked.delete(oldest);
    }
  }
}
