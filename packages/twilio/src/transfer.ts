/**
 * Cold transfer of a Twilio call: the call's TwiML is replaced (`POST …/Calls/{CallSid}.json`
 * with `Twiml=<Response><Dial>…</Dial></Response>`), which ends the `<Connect><Stream>` (and so
 * the agent's part) and rings the target; the caller is connected when it answers.
 *
 * What travels with the call:
 * - to a SIP URI (`<Dial><Sip>`): the context as SIP headers of the INVITE, appended to the URI
 *   (`sip:desk@pbx.example.com?X-Transfer-Reason=…&X-Transfer-Summary=…`). Twilio sends headers
 *   named `x-…` (https://www.twilio.com/docs/voice/twiml/sip), wants the headers part of the URI
 *   under 1024 characters (warning 13251), and adds its own `X-Twilio-CallSid`.
 * - to a phone number (`<Dial><Number>`): nothing but the caller id. With `whisperUrl`, Twilio
 *   fetches TwiML from that URL and plays it to the person who answers before connecting them
 *   (`<Number url>`): a `<Say>` of the summary, for example.
 */
import { CallControlError, ConfigError, type TransferHandler, type TransferRequest } from '@switchboard/core';
import type { TwilioCallControl } from './call-control.js';
import { escapeXml } from './twiml.js';

export type TwilioTransferOptions = {
  /** The REST client that updates the call. */
  callControl: TwilioCallControl;
  /** `<Dial callerId>`: the number the target sees. Default: the caller's own number (Twilio's default). */
  callerId?: string;
  /** `<Dial timeout>`: seconds to ring the target (Twilio: 5–600, default 30). */
  timeoutSeconds?: number;
  /** `<Dial action>`: Twilio requests it when the dial ends (`DialCallStatus`); its TwiML continues the call. */
  action?: string;
  /**
   * TwiML verbs run for the caller when the target does not answer and there is no `action`
   * (say, `<Say>Nobody could take your call.</Say>`). Default none: the call ends.
   */
  afterDial?: string;
  /**
   * SIP headers for a SIP target (names starting `X-`). Default {@link twilioTransferSipHeaders}:
   * the model's reason and summary and the call's custom parameters. `false` sends none.
   */
  sipHeaders?: false | ((request: TransferRequest) => Record<string, string>);
  /** For a phone number: the URL of TwiML played to whoever answers, before the caller is connected. */
  whisperUrl?: string | ((request: TransferRequest) => string | undefined);
};

/** Twilio's bound on the headers part (after `?`) of a `<Sip>` URI. */
const MAX_SIP_HEADERS_CHARS = 1024;
const HEADER_NAME = /^[Xx]-[A-Za-z0-9-]{1,64}$/;
const PARAMETER_NAME = /^[A-Za-z0-9-]{1,60}$/;

/**
 * The default SIP headers of a transfer: `X-Transfer-Reason` and `X-Transfer-Summary` (the
 * model's words) and, for each of the call's custom parameters whose name is letters, digits and
 * hyphens, `X-<name>`.
 */
export function twilioTransferSipHeaders(request: TransferRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  if (request.reason) headers['X-Transfer-Reason'] = request.reason;
  if (request.summary) headers['X-Transfer-Summary'] = request.summary;
  for (const [name, value] of Object.entries(request.callStart?.customParameters ?? {})) {
    if (PARAMETER_NAME.test(name) && typeof value === 'string' && value.length > 0) {
      const header = /^x-/i.test(name) ? name : `X-${name}`;
      if (HEADER_NAME.test(header) && !(header in headers)) headers[header] = value;
    }
  }
  return headers;
}

/** The longest prefix of `value` (whole code points) whose URI encoding fits in `room` characters. */
function encodedPrefix(value: string, room: number): string {
  let out = '';
  for (const ch of value) {
    const next = encodeURIComponent(ch);
    if (out.length + next.length > room) break;
    out += next;
  }
  return out;
}

/**
 * `uri` with `headers` appended as SIP URI headers (`?X-A=1&X-B=2`), values percent-encoded.
 * Headers are added in order while they fit in Twilio's 1024 characters; a value that does not
 * fit is cut (the first that does not) and the rest are left off. Header names that Twilio would
 * refuse (not `X-` followed by letters, digits and hyphens) are skipped.
 */
export function sipUriWithHeaders(uri: string, headers: Record<string, string>): string {
  const parts: string[] = [];
  let used = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name) || typeof value !== 'string' || value.length === 0) continue;
    const head = `${name}=`;
    const separator = parts.length > 0 ? 1 : 0;
    const room = MAX_SIP_HEADERS_CHARS - used - separator - head.length;
    if (room <= 0) break;
    const encoded = encodedPrefix(value, room);
    if (encoded.length === 0) break;
    parts.push(head + encoded);
    used += separator + head.length + encoded.length;
    if (encoded.length < encodeURIComponent(value).length) break;
  }
  if (parts.length === 0) return uri;
  return `${uri}${uri.includes('?') ? '&' : '?'}${parts.join('&')}`;
}

function checkOptions(options: TwilioTransferOptions): void {
  if (!options || typeof options !== 'object' || !options.callControl) {
    throw new ConfigError('twilioTransfer: callControl (a TwilioCallControl) is required');
  }
  if (options.callerId !== undefined && (typeof options.callerId !== 'string' || options.callerId.length === 0)) {
    throw new ConfigError('twilioTransfer: callerId must be a non-empty string');
  }
  const timeout = options.timeoutSeconds;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 5 || timeout > 600)) {
    throw new ConfigError('twilioTransfer: timeoutSeconds must be a whole number from 5 to 600');
  }
  if (options.action !== undefined && !/^https?:\/\//i.test(String(options.action))) {
    throw new ConfigError('twilioTransfer: action must be an http(s) URL');
  }
  if (options.afterDial !== undefined && typeof options.afterDial !== 'string') {
    throw new ConfigError('twilioTransfer: afterDial must be TwiML text');
  }
}

/** The `<Response>` that dials `request.destination`. */
export function twilioTransferTwiml(options: Omit<TwilioTransferOptions, 'callControl'>, request: TransferRequest) {
  const destination = typeof request.destination === 'string' ? request.destination.trim() : '';
  if (destination.length === 0) throw new ConfigError('twilioTransfer: the destination is empty');
  let attributes = '';
  if (options.action !== undefined) attributes += ` action="${escapeXml(options.action)}"`;
  if (options.timeoutSeconds !== undefined) attributes += ` timeout="${options.timeoutSeconds}"`;
  if (options.callerId !== undefined) attributes += ` callerId="${escapeXml(options.callerId)}"`;

  let noun: string;
  if (/^sips?:/i.test(destination)) {
    const headers = options.sipHeaders === false ? {} : (options.sipHeaders ?? twilioTransferSipHeaders)(request);
    noun = `<Sip>${escapeXml(sipUriWithHeaders(destination, headers ?? {}))}</Sip>`;
  } else {
    const whisper = typeof options.whisperUrl === 'function' ? options.whisperUrl(request) : options.whisperUrl;
    noun =
      whisper === undefined
        ? `<Number>${escapeXml(destination)}</Number>`
        : `<Number url="${escapeXml(whisper)}">${escapeXml(destination)}</Number>`;
  }
  const after = options.action === undefined ? (options.afterDial ?? '') : '';
  return `<Response><Dial${attributes}>${noun}</Dial>${after}</Response>`;
}

/**
 * A `TransferHandler` (for `transferCallTool` from `@switchboard/core`) that moves a Twilio call
 * to the destination the model picked: `<Dial><Number>` for a phone number, `<Dial><Sip>` with
 * the call's context as `X-` headers for a SIP URI. It updates the call named by the call's
 * `call_start` (`CallSid`); the call's media stream ends as Twilio runs the new TwiML.
 */
export function twilioTransfer(options: TwilioTransferOptions): TransferHandler {
  checkOptions(options);
  const { callControl, ...twimlOptions } = options;
  return async (request: TransferRequest) => {
    const callSid = request.callId;
    if (typeof callSid !== 'string' || callSid.length === 0) {
      throw new CallControlError('twilioTransfer: the call has no CallSid yet (no call_start), so it cannot be moved');
    }
    const twiml = twilioTransferTwiml(twimlOptions, request);
    return callControl.transfer(callSid, { twiml });
  };
}
