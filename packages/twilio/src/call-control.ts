import { ConfigError } from '@switchboard/core';
import {
  basicAuthorization,
  carrierRequest,
  isJsonObject,
  restClientConfig,
  type RestClientConfig,
  type RestFailure,
} from '@switchboard/core/protocol';
import { escapeXml } from './twiml.js';

export type TwilioCallControlOptions = {
  /** The account that owns the calls (`AC` + 32 hex digits). */
  accountSid: string;
  /** The account's auth token. Either this or an API key pair is required. */
  authToken?: string;
  /** An API key sid (`SK…`), used with `apiKeySecret` instead of the auth token when both are set. */
  apiKeySid?: string;
  apiKeySecret?: string;
  /** REST API origin; default `https://api.twilio.com`. */
  baseUrl?: string;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /** Abort each request after this many ms; default 10 000. */
  timeoutMs?: number;
};

/** Where to send the call: a phone number or SIP URI to dial, or TwiML of your own. */
export type TwilioTransferTarget = { to: string; callerId?: string } | { twiml: string };

export type TwilioCallUpdateResult = { alreadyEnded: boolean; body?: unknown };

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
/** Twilio's error code for "the requested resource was not found": the call is gone. */
const NOT_FOUND_CODE = 20404;
const DEFAULT_BASE_URL = 'https://api.twilio.com';

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** The `code` of a Twilio error body (`{"code":20404,"message":"…","status":404}`). */
function errorCode(failure: RestFailure): number | string | undefined {
  const code = isJsonObject(failure.body) ? failure.body['code'] : undefined;
  return typeof code === 'number' || typeof code === 'string' ? code : undefined;
}

/**
 * Hang-up and transfer of a live call through Twilio's REST API
 * (`POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`). Calls that already ended (HTTP 404,
 * Twilio code 20404) resolve with `alreadyEnded: true`, so hanging up twice is harmless.
 */
export class TwilioCallControl {
  readonly #accountSid: string;
  readonly #authorization: string;
  readonly #rest: RestClientConfig;

  constructor(options: TwilioCallControlOptions) {
    if (!nonEmpty(options?.accountSid) || !ACCOUNT_SID.test(options.accountSid)) {
      throw new ConfigError('TwilioCallControl: accountSid must be "AC" followed by 32 hex digits');
    }
    this.#accountSid = options.accountSid;

    let user: string;
    let password: string;
    if (options.apiKeySid !== undefined || options.apiKeySecret !== undefined) {
      if (!nonEmpty(options.apiKeySid) || !nonEmpty(options.apiKeySecret)) {
        throw new ConfigError('TwilioCallControl: apiKeySid and apiKeySecret must be given together');
      }
      user = options.apiKeySid;
      password = options.apiKeySecret;
    } else if (nonEmpty(options.authToken)) {
      user = options.accountSid;
      password = options.authToken;
    } else {
      throw new ConfigError('TwilioCallControl: credentials missing; pass authToken, or apiKeySid and apiKeySecret');
    }
    this.#authorization = basicAuthorization(user, password);

    this.#rest = restClientConfig('TwilioCallControl', options, DEFAULT_BASE_URL);
  }

  /** Ends the call (`Status=completed`). */
  async hangup(callSid: string): Promise<{ alreadyEnded: boolean }> {
    const { alreadyEnded } = await this.update(callSid, { Status: 'completed' });
    return { alreadyEnded };
  }

  /**
   * Replaces the call's TwiML: dials a number (`<Dial>`) or SIP URI (`<Dial><Sip>`), or runs
   * the TwiML given. The media stream of the current `<Connect><Stream>` ends.
   */
  async transfer(callSid: string, target: TwilioTransferTarget): Promise<{ alreadyEnded: boolean }> {
    let twiml: string;
    if (target && 'twiml' in target) {
      if (!nonEmpty(target.twiml))
        throw new ConfigError('TwilioCallControl.transfer: twiml must be a non-empty string');
      twiml = target.twiml;
    } else if (target && 'to' in target) {
      const to = typeof target.to === 'string' ? target.to.trim() : '';
      if (to.length === 0) throw new ConfigError('TwilioCallControl.transfer: `to` must be a phone number or SIP URI');
      if (target.callerId !== undefined && !nonEmpty(target.callerId)) {
        throw new ConfigError('TwilioCallControl.transfer: callerId must be a non-empty string');
      }
      const callerId = target.callerId === undefined ? '' : ` callerId="${escapeXml(target.callerId)}"`;
      const noun = /^sips?:/i.test(to) ? `<Sip>${escapeXml(to)}</Sip>` : escapeXml(to);
      twiml = `<Response><Dial${callerId}>${noun}</Dial></Response>`;
    } else {
      throw new ConfigError('TwilioCallControl.transfer: target must be { to } or { twiml }');
    }
    const { alreadyEnded } = await this.update(callSid, { Twiml: twiml });
    return { alreadyEnded };
  }

  /** Any update of the call resource, with the given form parameters (`Status`, `Twiml`, `Url`, …). */
  async update(callSid: string, params: Record<string, string>): Promise<TwilioCallUpdateResult> {
    if (!nonEmpty(callSid) || !CALL_SID.test(callSid)) {
      throw new ConfigError('TwilioCallControl: callSid must be "CA" followed by 32 hex digits');
    }
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (typeof value !== 'string') throw new ConfigError(`TwilioCallControl: parameter ${name} must be a string`);
      body.append(name, value);
    }
    return carrierRequest(this.#rest, {
      path: `/2010-04-01/Accounts/${this.#accountSid}/Calls/${callSid}.json`,
      method: 'POST',
      authorization: this.#authorization,
      form: body,
      what: `Twilio call update for ${callSid}`,
      rejected: `Twilio rejected the call update for ${callSid}`,
      isAlreadyEnded: (failure) => failure.status === 404 && Number(errorCode(failure)) === NOT_FOUND_CODE,
      readError: (failure) => {
        const message = isJsonObject(failure.body) ? failure.body['message'] : undefined;
        return { code: errorCode(failure), text: typeof message === 'string' ? message : '' };
      },
    });
  }
}
