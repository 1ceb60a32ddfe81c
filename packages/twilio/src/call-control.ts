import { CallControlError, ConfigError } from '@switchboard/core';
import {
  basicAuthorization,
  carrierRequest,
  isJsonObject,
  restClientConfig,
  type RestClientConfig,
  type RestFailure,
} from '@switchboard/core/protocol';
import { connectStreamTwiml, escapeXml, type ConnectStreamTwimlOptions } from './twiml.js';

export type TwilioCallControlOptions = {
  /** The account that owns the calls (`AC` + 32 hex digits); on SignalWire, the Project ID. */
  accountSid: string;
  /** The account's auth token (on SignalWire, an API token). Either this or an API key pair is required. */
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
  /**
   * SignalWire's Compatibility API instead of Twilio's: your Space's host
   * (`example.signalwire.com`). Requests go to `https://<space>/api/laml/2010-04-01/…` (`baseUrl`
   * still replaces the origin); `accountSid` is the Project ID and call ids are UUIDs.
   */
  signalwireSpaceUrl?: string;
};

/** Where to send the call: a phone number or SIP URI to dial, or TwiML of your own. */
export type TwilioTransferTarget = { to: string; callerId?: string } | { twiml: string };

export type TwilioCallUpdateResult = { alreadyEnded: boolean; body?: unknown };

/**
 * Answering machine detection for {@link TwilioCallControl.createCall}
 * (https://www.twilio.com/docs/voice/answering-machine-detection).
 */
export type TwilioMachineDetectionOptions = {
  /**
   * `Enable`: the result as soon as Twilio knows who answered (`human`, `machine_start`, `fax`,
   * `unknown`). `DetectMessageEnd`: for a machine, wait for the end of its greeting
   * (`machine_end_beep`, `machine_end_silence`, `machine_end_other`): the moment to leave a message.
   */
  mode: 'Enable' | 'DetectMessageEnd';
  /**
   * Asynchronous detection (`AsyncAmd=true`, the default): the call's TwiML (your
   * `<Connect><Stream>`) runs at once, and the result is POSTed to `callbackUrl` while the agent
   * is already listening. `false`: Twilio holds the TwiML until detection ends and sends
   * `AnsweredBy` with the request for `url`.
   */
  async?: boolean;
  /** `AsyncAmdStatusCallback`: receives the result; required when `async` is not `false`. */
  callbackUrl?: string;
  /** `AsyncAmdStatusCallbackMethod`; Twilio's default is POST. */
  callbackMethod?: 'GET' | 'POST';
  /** `MachineDetectionTimeout`: seconds to wait for a result (Twilio: 3–59, default 30). */
  timeoutSeconds?: number;
  /** `MachineDetectionSpeechThreshold`, ms (1000–6000). */
  speechThresholdMs?: number;
  /** `MachineDetectionSpeechEndThreshold`, ms (500–5000). */
  speechEndThresholdMs?: number;
  /** `MachineDetectionSilenceTimeout`, ms (2000–10000). */
  silenceTimeoutMs?: number;
};

/** The call progress events Twilio can report to `statusCallback`. */
export type TwilioCallStatusEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

/**
 * An outbound call (`POST /2010-04-01/Accounts/{AccountSid}/Calls.json`). Give exactly one of
 * `stream` (the call's media comes to your media route: `<Connect><Stream>` TwiML is built with
 * {@link connectStreamTwiml}), `twiml`, `url` (Twilio fetches the TwiML) or `applicationSid`.
 */
export type TwilioCreateCallOptions = {
  /** The number, SIP URI (`sip:…`) or client (`client:…`) to call. */
  to: string;
  /** Your Twilio number (or verified caller id) the call comes from. */
  from: string;
  /** Connects the answered call to your media WebSocket; sent as the call's `Twiml`. */
  stream?: ConnectStreamTwimlOptions;
  twiml?: string;
  url?: string;
  /** How Twilio requests `url`; its default is POST. */
  method?: 'GET' | 'POST';
  applicationSid?: string;
  machineDetection?: TwilioMachineDetectionOptions;
  /** Receives call progress (`CallStatus`): `completed` by default, or the `statusCallbackEvents` named. */
  statusCallback?: string;
  statusCallbackEvents?: TwilioCallStatusEvent[];
  statusCallbackMethod?: 'GET' | 'POST';
  /** `Timeout`: seconds to let the phone ring (Twilio: 5–600, default 60). */
  timeoutSeconds?: number;
  /** `TimeLimit`: longest duration of the call, in seconds. */
  timeLimitSeconds?: number;
  /** `CallerId` of a call to a SIP URI or client. */
  callerId?: string;
  /** Further form fields, sent as given (`Record`, `Trim`, `SendDigits`, …). They may not repeat a field set above. */
  params?: Record<string, string>;
};

/** A call Twilio accepted to place: its sid, its status (`queued`), and the call resource as answered. */
export type TwilioCreatedCall = { callSid: string; status?: string; body: unknown };

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
/** SignalWire's Project IDs and call ids. */
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SPACE_HOST = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const APPLICATION_SID = /^AP[0-9a-fA-F]{32}$/;
const STATUS_EVENTS: ReadonlySet<string> = new Set(['initiated', 'ringing', 'answered', 'completed']);
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

function readTwilioError(failure: RestFailure): { code: number | string | undefined; text: string } {
  const message = isJsonObject(failure.body) ? failure.body['message'] : undefined;
  return { code: errorCode(failure), text: typeof message === 'string' ? message : '' };
}

function checkUrl(value: unknown, what: string): string {
  if (!nonEmpty(value)) throw new ConfigError(`TwilioCallControl.createCall: ${what} must be a non-empty URL`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`TwilioCallControl.createCall: ${what} is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`TwilioCallControl.createCall: ${what} must be an http:// or https:// URL`);
  }
  return value;
}

function checkMethod(value: unknown, what: string): string {
  if (value !== 'GET' && value !== 'POST')
    throw new ConfigError(`TwilioCallControl.createCall: ${what} must be GET or POST`);
  return value;
}

function checkInteger(value: unknown, what: string, min: number, max: number): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`TwilioCallControl.createCall: ${what} must be a whole number from ${min} to ${max}`);
  }
  return String(value);
}

/** The form fields that ask for answering machine detection. */
function machineDetectionFields(amd: TwilioMachineDetectionOptions): Array<[string, string]> {
  if (!amd || typeof amd !== 'object')
    throw new ConfigError('TwilioCallControl.createCall: machineDetection must be an object');
  if (amd.mode !== 'Enable' && amd.mode !== 'DetectMessageEnd') {
    throw new ConfigError('TwilioCallControl.createCall: machineDetection.mode must be Enable or DetectMessageEnd');
  }
  const fields: Array<[string, string]> = [['MachineDetection', amd.mode]];
  if (amd.timeoutSeconds !== undefined) {
    fields.push([
      'MachineDetectionTimeout',
      checkInteger(amd.timeoutSeconds, 'machineDetection.timeoutSeconds', 3, 59),
    ]);
  }
  if (amd.speechThresholdMs !== undefined) {
    fields.push([
      'MachineDetectionSpeechThreshold',
      checkInteger(amd.speechThresholdMs, 'machineDetection.speechThresholdMs', 1000, 6000),
    ]);
  }
  if (amd.speechEndThresholdMs !== undefined) {
    fields.push([
      'MachineDetectionSpeechEndThreshold',
      checkInteger(amd.speechEndThresholdMs, 'machineDetection.speechEndThresholdMs', 500, 5000),
    ]);
  }
  if (amd.silenceTimeoutMs !== undefined) {
    fields.push([
      'MachineDetectionSilenceTimeout',
      checkInteger(amd.silenceTimeoutMs, 'machineDetection.silenceTimeoutMs', 2000, 10000),
    ]);
  }
  const asynchronous = amd.async ?? true;
  if (typeof asynchronous !== 'boolean')
    throw new ConfigError('TwilioCallControl.createCall: machineDetection.async must be a boolean');
  if (asynchronous) {
    fields.push(['AsyncAmd', 'true']);
    if (amd.callbackUrl === undefined) {
      throw new ConfigError(
        'TwilioCallControl.createCall: machineDetection.callbackUrl is required with asynchronous detection (Twilio has nowhere else to send the result)',
      );
    }
    fields.push(['AsyncAmdStatusCallback', checkUrl(amd.callbackUrl, 'machineDetection.callbackUrl')]);
    if (amd.callbackMethod !== undefined) {
      fields.push(['AsyncAmdStatusCallbackMethod', checkMethod(amd.callbackMethod, 'machineDetection.callbackMethod')]);
    }
  } else if (amd.callbackUrl !== undefined || amd.callbackMethod !== undefined) {
    throw new ConfigError(
      'TwilioCallControl.createCall: machineDetection.callbackUrl is for asynchronous detection; synchronous results come with the request for `url`',
    );
  }
  return fields;
}

/**
 * Hang-up and transfer of a live call through Twilio's REST API
 * (`POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`). Calls that already ended (HTTP 404,
 * Twilio code 20404) resolve with `alreadyEnded: true`, so hanging up twice is harmless.
 */
export class TwilioCallControl {
  readonly #authorization: string;
  readonly #rest: RestClientConfig;
  /** Path of the account resource: `/2010-04-01/Accounts/{sid}` (SignalWire: under `/api/laml`). */
  readonly #account: string;
  readonly #signalwire: boolean;

  constructor(options: TwilioCallControlOptions) {
    const space = options?.signalwireSpaceUrl;
    this.#signalwire = space !== undefined;
    if (space !== undefined && (typeof space !== 'string' || !SPACE_HOST.test(space))) {
      throw new ConfigError(
        "TwilioCallControl: signalwireSpaceUrl must be your Space's host name, like example.signalwire.com",
      );
    }
    if (this.#signalwire) {
      if (!nonEmpty(options.accountSid) || !UUID.test(options.accountSid)) {
        throw new ConfigError('TwilioCallControl: with signalwireSpaceUrl, accountSid must be the Project ID (a UUID)');
      }
    } else if (!nonEmpty(options?.accountSid) || !ACCOUNT_SID.test(options.accountSid)) {
      throw new ConfigError('TwilioCallControl: accountSid must be "AC" followed by 32 hex digits');
    }
    this.#account = `${this.#signalwire ? '/api/laml' : ''}/2010-04-01/Accounts/${options.accountSid}`;

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

    this.#rest = restClientConfig(
      'TwilioCallControl',
      options,
      space === undefined ? DEFAULT_BASE_URL : `https://${space}`,
    );
  }

  /**
   * Places an outbound call, with answering machine detection when `machineDetection` is given.
   * Resolves with the new call's sid once Twilio accepted the request (the call is `queued`); the
   * call's progress arrives at `statusCallback`, the detection result at
   * `machineDetection.callbackUrl` (read it with {@link readTwilioMachineDetection}).
   */
  async createCall(options: TwilioCreateCallOptions): Promise<TwilioCreatedCall> {
    const body = createCallForm(options);
    const { body: answer } = await carrierRequest(this.#rest, {
      path: `${this.#account}/Calls.json`,
      method: 'POST',
      authorization: this.#authorization,
      form: body,
      what: 'Twilio call creation',
      rejected: 'Twilio rejected the new call',
      readError: readTwilioError,
    });
    const sid = isJsonObject(answer) ? answer['sid'] : undefined;
    if (!nonEmpty(sid)) throw new CallControlError('Twilio accepted the new call but its answer names no call sid');
    const status = isJsonObject(answer) ? answer['status'] : undefined;
    const created: TwilioCreatedCall = { callSid: sid, body: answer };
    if (typeof status === 'string') created.status = status;
    return created;
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
    if (!nonEmpty(callSid) || !(this.#signalwire ? UUID : CALL_SID).test(callSid)) {
      throw new ConfigError(
        this.#signalwire
          ? 'TwilioCallControl: callSid must be a SignalWire call id (a UUID)'
          : 'TwilioCallControl: callSid must be "CA" followed by 32 hex digits',
      );
    }
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (typeof value !== 'string') throw new ConfigError(`TwilioCallControl: parameter ${name} must be a string`);
      body.append(name, value);
    }
    return carrierRequest(this.#rest, {
      path: `${this.#account}/Calls/${callSid}.json`,
      method: 'POST',
      authorization: this.#authorization,
      form: body,
      what: `Twilio call update for ${callSid}`,
      rejected: `Twilio rejected the call update for ${callSid}`,
      isAlreadyEnded: (failure) => failure.status === 404 && Number(errorCode(failure)) === NOT_FOUND_CODE,
      readError: readTwilioError,
    });
  }
}

/** The form of a call creation, checked. */
function createCallForm(options: TwilioCreateCallOptions): URLSearchParams {
  if (!options || typeof options !== 'object')
    throw new ConfigError('TwilioCallControl.createCall: options are required');
  const to = typeof options.to === 'string' ? options.to.trim() : '';
  if (to.length === 0)
    throw new ConfigError('TwilioCallControl.createCall: `to` must be a phone number, SIP URI or client');
  const from = typeof options.from === 'string' ? options.from.trim() : '';
  if (from.length === 0) throw new ConfigError('TwilioCallControl.createCall: `from` must be a phone number');
  const sources = [options.stream, options.twiml, options.url, options.applicationSid].filter((v) => v !== undefined);
  if (sources.length !== 1) {
    throw new ConfigError('TwilioCallControl.createCall: give exactly one of stream, twiml, url and applicationSid');
  }

  const fields: Array<[string, string]> = [
    ['To', to],
    ['From', from],
  ];
  if (options.method !== undefined) {
    if (options.url === undefined) throw new ConfigError('TwilioCallControl.createCall: method goes with url');
    fields.push(['Method', checkMethod(options.method, 'method')]);
  }
  if (options.statusCallback !== undefined)
    fields.push(['StatusCallback', checkUrl(options.statusCallback, 'statusCallback')]);
  if (options.statusCallbackEvents !== undefined) {
    if (options.statusCallback === undefined) {
      throw new ConfigError('TwilioCallControl.createCall: statusCallbackEvents need a statusCallback');
    }
    if (!Array.isArray(options.statusCallbackEvents) || options.statusCallbackEvents.length === 0) {
      throw new ConfigError('TwilioCallControl.createCall: statusCallbackEvents must be a non-empty array');
    }
    for (const event of options.statusCallbackEvents) {
      if (!STATUS_EVENTS.has(event)) {
        throw new ConfigError(
          'TwilioCallControl.createCall: statusCallbackEvents may hold initiated, ringing, answered and completed',
        );
      }
      fields.push(['StatusCallbackEvent', event]);
    }
  }
  if (options.statusCallbackMethod !== undefined) {
    fields.push(['StatusCallbackMethod', checkMethod(options.statusCallbackMethod, 'statusCallbackMethod')]);
  }
  if (options.timeoutSeconds !== undefined)
    fields.push(['Timeout', checkInteger(options.timeoutSeconds, 'timeoutSeconds', 5, 600)]);
  if (options.machineDetection !== undefined) fields.push(...machineDetectionFields(options.machineDetection));
  if (options.callerId !== undefined) {
    if (!nonEmpty(options.callerId))
      throw new ConfigError('TwilioCallControl.createCall: callerId must be a non-empty string');
    fields.push(['CallerId', options.callerId]);
  }
  if (options.timeLimitSeconds !== undefined) {
    fields.push(['TimeLimit', checkInteger(options.timeLimitSeconds, 'timeLimitSeconds', 1, 86400)]);
  }
  if (options.url !== undefined) fields.push(['Url', checkUrl(options.url, 'url')]);
  if (options.twiml !== undefined) {
    if (!nonEmpty(options.twiml))
      throw new ConfigError('TwilioCallControl.createCall: twiml must be a non-empty string');
    fields.push(['Twiml', options.twiml]);
  }
  if (options.stream !== undefined) fields.push(['Twiml', connectStreamTwiml(options.stream)]);
  if (options.applicationSid !== undefined) {
    if (!nonEmpty(options.applicationSid) || !APPLICATION_SID.test(options.applicationSid)) {
      throw new ConfigError('TwilioCallControl.createCall: applicationSid must be "AP" followed by 32 hex digits');
    }
    fields.push(['ApplicationSid', options.applicationSid]);
  }

  const body = new URLSearchParams();
  for (const [name, value] of fields) body.append(name, value);
  for (const [name, value] of Object.entries(options.params ?? {})) {
    if (typeof value !== 'string')
      throw new ConfigError(`TwilioCallControl.createCall: parameter ${name} must be a string`);
    if (body.has(name))
      throw new ConfigError(`TwilioCallControl.createCall: parameter ${name} is already set by an option`);
    body.append(name, value);
  }
  return body;
}
