/**
 * Call control through the Vonage Voice API
 * (https://developer.vonage.com/en/api/voice, servers `https://api.nexmo.com/v1/calls`):
 *
 * - `PUT /v1/calls/{uuid}` `{"action":"hangup"}` ends the call (204 No Content; 404 when the call
 *   is unknown or gone);
 * - `PUT /v1/calls/{uuid}` `{"action":"transfer","destination":{"type":"ncco","ncco":[…]}}` (or
 *   `"url":["https://…"]`, a URL returning an NCCO) moves it to a new NCCO;
 * - `PUT /v1/calls/{uuid}/dtmf` `{"digits":"…"}` plays DTMF into it;
 * - `POST /v1/calls` places a call: `to`, `from`, an `ncco` or an `answer_url`, `event_url`, and
 *   machine detection (`machine_detection`: `continue` / `hangup`, or `advanced_machine_detection`:
 *   `{ behavior, mode, beep_timeout }`); 201 with `{ uuid, status, direction, conversation_uuid }`
 *   (https://developer.vonage.com/en/api/voice#createCall,
 *   https://developer.vonage.com/en/voice/voice-api/concepts/advanced-machine-detection).
 *
 * Every request carries an application JWT (`Authorization: Bearer …`, see `jwt.ts`).
 */
import { ConfigError } from '@switchboard/core';
import {
  absoluteHttpUrl,
  carrierRequest,
  isJsonObject,
  logger,
  restClientConfig,
  type RestClientConfig,
  type RestFailure,
} from '@switchboard/core/protocol';
import { checkTtl, createVonageJwt, resolvePrivateKey, type VonagePrivateKey } from './jwt.js';
import type { NccoAction } from './ncco.js';

const log = logger('vonage');

export type VonageCallControlOptions = {
  /** The Vonage application's id. */
  applicationId: string;
  /**
   * The application's private key: PEM text (PKCS#8 as Vonage generates it, or PKCS#1), the key
   * file's bytes (`readFileSync('private.key')`), or a CryptoKey.
   */
  privateKey: VonagePrivateKey | CryptoKey;
  /** Voice API origin; default `https://api.nexmo.com` (regional ones: `https://api-us.vonage.com`, …). */
  baseUrl?: string;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /** Abort each request after this many ms; default 10 000. */
  timeoutMs?: number;
  /** Lifetime of each request's JWT, in seconds; default 300. */
  tokenTtlSeconds?: number;
  /** Clock in ms for the JWT's `iat`; default `Date.now`. */
  now?: () => number;
};

/**
 * Where to move the call: an NCCO of your own, a URL that returns one, or a number or SIP URI to
 * connect (`from`: the caller id shown, a number of your Vonage account). The NCCO may come from
 * this package's helpers or from `@vonage/voice`'s `NCCOBuilder` (whose action type admits any
 * object); every action must be an object with a string `action`.
 */
export type VonageTransferTarget =
  { ncco: ReadonlyArray<NccoAction | Record<string, unknown>> } | { url: string } | { to: string; from?: string };

export type VonageCallUpdateResult = { alreadyEnded: boolean; body?: unknown };

/** Vonage's advanced machine detection: `beep_timeout` (45-120 s) bounds the wait for the beep. */
export type VonageAdvancedMachineDetection = {
  /** `hangup` ends the call when a machine answers; `continue` reports it. */
  behavior: 'continue' | 'hangup';
  /**
   * `detect`: human or machine; `detect_beep`: also the voicemail's beep (`sub_state: beep_start`);
   * `default`: asynchronous detection with the beep. Left out, Vonage picks its default.
   */
  mode?: 'detect' | 'detect_beep' | 'default';
  beep_timeout?: number;
};

/**
 * A call to place with {@link VonageCallControl.createCall}: exactly one of `ncco` and `answerUrl`.
 * Numbers are E.164, with or without the `+`.
 */
export type VonageCreateCallOptions = {
  /** A number, a `sip:` URI, or an endpoint object of Vonage's (`{ type: 'websocket', … }`). */
  to: string | Record<string, unknown>;
  /** The caller id: a number of your Vonage account. */
  from: string;
  /**
   * The NCCO to run once answered, e.g. `connectWebSocketNcco({ uri, headers })`. It is written
   * before Vonage assigns the call's uuid, so the socket cannot name it: to have the uuid in the
   * transport's `callStart.callId`, use `answerUrl` and answer with
   * `connectWebSocketNcco({ uri, answer })`.
   */
  ncco?: ReadonlyArray<NccoAction | Record<string, unknown>>;
  /** Requested once answered (with the call's `uuid`); answers with an NCCO. */
  answerUrl?: string;
  answerMethod?: 'GET' | 'POST';
  /** Where the call's events go, machine detection included (`readVonageMachineDetection`). */
  eventUrl?: string;
  eventMethod?: 'GET' | 'POST';
  /** Standard machine detection (`status: machine` / `human` on the event webhook). */
  machineDetection?: 'continue' | 'hangup';
  /** Advanced machine detection (takes precedence over `machineDetection` at Vonage). */
  advancedMachineDetection?: VonageAdvancedMachineDetection;
  /** Seconds the call may ring (1-120, Vonage's default 60). */
  ringingTimer?: number;
  /** Longest call after the answer, in seconds (1-86400; Vonage's default 7200). */
  lengthTimer?: number;
};

/** Vonage's answer to a new call: `uuid` is the call's (the PSTN leg's) id. */
export type VonageCreateCallResult = {
  uuid: string;
  status?: string;
  direction?: string;
  conversationUuid?: string;
  body: unknown;
};

const DEFAULT_BASE_URL = 'https://api.nexmo.com';
const CALL_UUID = /^[0-9A-Za-z][0-9A-Za-z_-]{0,127}$/;
const DTMF_DIGITS = /^[0-9*#A-Da-d]+$/;
/** A refusal that says the call is already over: resolved as done, not thrown. */
const ENDED =
  /\b(already\s+(completed|ended|terminated|hung\s*up|disconnected)|call\s+(has\s+)?(ended|completed|terminated))\b/i;

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function httpUrl(value: unknown, what: string): string {
  absoluteHttpUrl(value, `VonageCallControl.${what}`);
  return value as string;
}

function checkNcco(ncco: unknown, what: string): void {
  if (!Array.isArray(ncco) || ncco.length === 0)
    throw new ConfigError(`VonageCallControl.${what}: ncco must be a non-empty array of actions`);
  for (const action of ncco as unknown[]) {
    const name =
      typeof action === 'object' && action !== null && !Array.isArray(action)
        ? (action as Record<string, unknown>)['action']
        : undefined;
    if (typeof name !== 'string' || name.length === 0)
      throw new ConfigError(`VonageCallControl.${what}: every NCCO action must be an object with a string "action"`);
  }
}

/** A number or SIP URI as a Vonage endpoint (numbers without their `+`, as Vonage writes them). */
export function vonageEndpoint(to: string): Record<string, unknown> {
  const text = typeof to === 'string' ? to.trim() : '';
  if (/^sips?:\S+$/i.test(text)) return { type: 'sip', uri: text };
  const number = text.replace(/^\+/, '');
  if (!/^[0-9]{3,20}$/.test(number))
    throw new ConfigError('Vonage: a destination must be an E.164 number or a sip: URI');
  return { type: 'phone', number };
}

function seconds(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new ConfigError(`VonageCallControl.createCall: ${what} must be a whole number from ${min} to ${max}`);
  return value;
}

function checkUuid(uuid: unknown, what: string): asserts uuid is string {
  if (!nonEmpty(uuid) || !CALL_UUID.test(uuid))
    throw new ConfigError(`VonageCallControl.${what}: the call uuid must be the call's UUID (letters, digits, "-")`);
}

/** `title` and `detail` of a Vonage error body (`{"type":"https://…#unauthorized","title":"Unauthorized","detail":"…"}`). */
function titleAndDetail(failure: RestFailure): [string, string] {
  const info = isJsonObject(failure.body) ? failure.body : {};
  const title = typeof info['title'] === 'string' ? info['title'] : '';
  const detail = typeof info['detail'] === 'string' ? info['detail'] : '';
  return [title, detail];
}

/** A 404, or a refusal saying the call is already over. */
function isAlreadyEnded(failure: RestFailure): boolean {
  if (failure.status === 404) return true;
  if (failure.status !== 400 && failure.status !== 409 && failure.status !== 410) return false;
  return ENDED.test(titleAndDetail(failure).join(' '));
}

/**
 * Hang-up, transfer and DTMF of a live call through the Vonage Voice API. A call that already
 * ended (HTTP 404, or a refusal saying it is completed) resolves with `alreadyEnded: true`, so
 * hanging up twice is harmless. Failures are `CallControlError`s; neither the key nor the token
 * ever appears in a message.
 */
export class VonageCallControl {
  readonly #applicationId: string;
  readonly #key: Promise<CryptoKey>;
  readonly #rest: RestClientConfig;
  readonly #ttl: number;
  readonly #now: () => number;

  constructor(options: VonageCallControlOptions) {
    if (!options || typeof options !== 'object' || !nonEmpty(options.applicationId)) {
      throw new ConfigError('VonageCallControl: applicationId is required');
    }
    this.#applicationId = options.applicationId;
    const privateKey: unknown = options.privateKey;
    if ((typeof privateKey === 'string' || privateKey instanceof Uint8Array) && privateKey.length === 0) {
      throw new ConfigError('VonageCallControl: privateKey is required');
    }
    if (!privateKey || (typeof privateKey !== 'string' && typeof privateKey !== 'object')) {
      throw new ConfigError(
        "VonageCallControl: privateKey is required (PEM text, the key file's bytes, or a CryptoKey)",
      );
    }
    if (typeof privateKey === 'object' && !(privateKey instanceof Uint8Array) && !('algorithm' in privateKey)) {
      throw new ConfigError("VonageCallControl: privateKey must be PEM text, the key file's bytes, or a CryptoKey");
    }
    this.#key = resolvePrivateKey(privateKey, 'VonageCallControl');
    // Reported on first use; keep an unused failure from being unhandled meanwhile.
    this.#key.catch(() => undefined);

    this.#rest = restClientConfig('VonageCallControl', options, DEFAULT_BASE_URL);
    this.#ttl = checkTtl(options.tokenTtlSeconds, 'VonageCallControl');
    this.#now = options.now ?? Date.now;
  }

  /**
   * Places a call. Once it is answered Vonage runs `ncco`, or the NCCO `answerUrl` returns; with
   * `machineDetection` / `advancedMachineDetection` the event webhook says who answered.
   */
  async createCall(options: VonageCreateCallOptions): Promise<VonageCreateCallResult> {
    if (!options || typeof options !== 'object') throw new ConfigError('VonageCallControl.createCall needs options');
    const to =
      typeof options.to === 'string'
        ? vonageEndpoint(options.to)
        : options.to && typeof options.to === 'object' && typeof options.to['type'] === 'string'
          ? options.to
          : undefined;
    if (to === undefined)
      throw new ConfigError('VonageCallControl.createCall: `to` must be a number, a sip: URI or an endpoint object');
    const from = vonageEndpoint(options.from);
    if (from['type'] !== 'phone') throw new ConfigError('VonageCallControl.createCall: `from` must be a number');
    const body: Record<string, unknown> = { to: [to], from };
    if ((options.ncco === undefined) === (options.answerUrl === undefined))
      throw new ConfigError('VonageCallControl.createCall: give exactly one of ncco and answerUrl');
    if (options.ncco !== undefined) {
      checkNcco(options.ncco, 'createCall');
      body['ncco'] = options.ncco;
    } else {
      body['answer_url'] = [httpUrl(options.answerUrl, 'createCall: answerUrl')];
    }
    const method = (key: string, value: unknown) => {
      if (value === undefined) return;
      if (value !== 'GET' && value !== 'POST')
        throw new ConfigError(`VonageCallControl.createCall: ${key} must be GET or POST`);
      body[key] = value;
    };
    method('answer_method', options.answerMethod);
    if (options.eventUrl !== undefined) body['event_url'] = [httpUrl(options.eventUrl, 'createCall: eventUrl')];
    method('event_method', options.eventMethod);
    if (options.machineDetection !== undefined) {
      if (options.machineDetection !== 'continue' && options.machineDetection !== 'hangup')
        throw new ConfigError("VonageCallControl.createCall: machineDetection must be 'continue' or 'hangup'");
      body['machine_detection'] = options.machineDetection;
    }
    const amd = options.advancedMachineDetection;
    if (amd !== undefined) {
      if (!amd || typeof amd !== 'object' || (amd.behavior !== 'continue' && amd.behavior !== 'hangup'))
        throw new ConfigError(
          "VonageCallControl.createCall: advancedMachineDetection.behavior must be 'continue' or 'hangup'",
        );
      const wire: Record<string, unknown> = { behavior: amd.behavior };
      if (amd.mode !== undefined) {
        if (amd.mode !== 'detect' && amd.mode !== 'detect_beep' && amd.mode !== 'default')
          throw new ConfigError(
            "VonageCallControl.createCall: advancedMachineDetection.mode must be 'detect', 'detect_beep' or 'default'",
          );
        wire['mode'] = amd.mode;
      }
      if (amd.beep_timeout !== undefined) wire['beep_timeout'] = seconds(amd.beep_timeout, 45, 120, 'beep_timeout');
      body['advanced_machine_detection'] = wire;
    }
    if (options.ringingTimer !== undefined)
      body['ringing_timer'] = seconds(options.ringingTimer, 1, 120, 'ringingTimer');
    if (options.lengthTimer !== undefined) body['length_timer'] = seconds(options.lengthTimer, 1, 86400, 'lengthTimer');

    const { body: answer } = await this.#send('POST', '/v1/calls', body, 'new call', false);
    const fields = isJsonObject(answer) ? answer : {};
    const result: VonageCreateCallResult = {
      uuid: typeof fields['uuid'] === 'string' ? fields['uuid'] : '',
      body: answer,
    };
    if (typeof fields['status'] === 'string') result.status = fields['status'];
    if (typeof fields['direction'] === 'string') result.direction = fields['direction'];
    if (typeof fields['conversation_uuid'] === 'string') result.conversationUuid = fields['conversation_uuid'];
    return result;
  }

  /** Ends the call. */
  async hangup(uuid: string): Promise<{ alreadyEnded: boolean }> {
    checkUuid(uuid, 'hangup');
    const { alreadyEnded } = await this.#put(`/v1/calls/${encodeURIComponent(uuid)}`, { action: 'hangup' }, uuid);
    return { alreadyEnded };
  }

  /**
   * Moves the call to a new NCCO: yours (`{ ncco }`), one fetched from a URL (`{ url }`), or a
   * `connect` to a number or SIP URI (`{ to, from? }`). The WebSocket leg of the current NCCO ends.
   */
  async transfer(uuid: string, target: VonageTransferTarget): Promise<{ alreadyEnded: boolean }> {
    checkUuid(uuid, 'transfer');
    let destination: Record<string, unknown>;
    if (target && 'ncco' in target) {
      checkNcco(target.ncco, 'transfer');
      destination = { type: 'ncco', ncco: target.ncco };
    } else if (target && 'url' in target) {
      absoluteHttpUrl(target.url, 'VonageCallControl.transfer: url');
      destination = { type: 'ncco', url: [target.url] };
    } else if (target && 'to' in target) {
      const to = typeof target.to === 'string' ? target.to.trim() : '';
      if (to.length === 0) throw new ConfigError('VonageCallControl.transfer: `to` must be a phone number or SIP URI');
      if (target.from !== undefined && !nonEmpty(target.from))
        throw new ConfigError('VonageCallControl.transfer: from must be a non-empty string');
      // Vonage writes numbers in E.164 without the leading "+".
      const endpoint = /^sips?:/i.test(to)
        ? { type: 'sip', uri: to }
        : { type: 'phone', number: to.replace(/^\+/, '') };
      const connect: Record<string, unknown> = { action: 'connect', endpoint: [endpoint] };
      if (target.from !== undefined) connect['from'] = target.from.replace(/^\+/, '');
      destination = { type: 'ncco', ncco: [connect] };
    } else {
      throw new ConfigError('VonageCallControl.transfer: target must be { ncco }, { url } or { to }');
    }
    const { alreadyEnded } = await this.#put(
      `/v1/calls/${encodeURIComponent(uuid)}`,
      { action: 'transfer', destination },
      uuid,
    );
    return { alreadyEnded };
  }

  /** Plays DTMF digits (`0-9`, `*`, `#`, `A-D`) into the call. */
  async sendDtmf(uuid: string, digits: string): Promise<{ alreadyEnded: boolean }> {
    checkUuid(uuid, 'sendDtmf');
    if (typeof digits !== 'string' || !DTMF_DIGITS.test(digits))
      throw new ConfigError('VonageCallControl.sendDtmf: digits must be 0-9, *, #, A-D');
    const { alreadyEnded } = await this.#put(`/v1/calls/${encodeURIComponent(uuid)}/dtmf`, { digits }, uuid);
    return { alreadyEnded };
  }

  /** Any `PUT /v1/calls/{uuid}` with the given JSON body (`mute`, `earmuff`, …). */
  async update(uuid: string, body: Record<string, unknown>): Promise<VonageCallUpdateResult> {
    checkUuid(uuid, 'update');
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new ConfigError('VonageCallControl.update: body must be an object');
    return this.#put(`/v1/calls/${encodeURIComponent(uuid)}`, body, uuid);
  }

  #put(path: string, body: unknown, uuid: string): Promise<VonageCallUpdateResult> {
    return this.#send('PUT', path, body, `call update for ${uuid}`, true);
  }

  async #send(
    method: 'PUT' | 'POST',
    path: string,
    body: unknown,
    what: string,
    endedCounts: boolean,
  ): Promise<VonageCallUpdateResult> {
    const token = await createVonageJwt({
      applicationId: this.#applicationId,
      privateKey: await this.#key,
      ttlSeconds: this.#ttl,
      now: this.#now,
    });
    const result = await carrierRequest(this.#rest, {
      path,
      method,
      authorization: `Bearer ${token}`,
      json: body,
      what: `Vonage ${what}`,
      rejected: `Vonage rejected the ${what}`,
      // A new call cannot have ended: there a 404 is a refusal like any other.
      isAlreadyEnded: endedCounts ? isAlreadyEnded : () => false,
      readError: (failure) => {
        const type = isJsonObject(failure.body) ? failure.body['type'] : undefined;
        const code = typeof type === 'string' || typeof type === 'number' ? type : undefined;
        // The type is a documentation URL: kept as the provider code, left out of the message.
        return { code, quoteCode: false, text: titleAndDetail(failure).filter(Boolean).join(': ') };
      },
    });
    if (result.alreadyEnded) log('%s: the call had already ended', what);
    return result;
  }
}
