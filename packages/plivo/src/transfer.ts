/**
 * Cold transfer of a Plivo call to a number or a SIP URI, as a `TransferHandler` for core's
 * `transferCallTool`.
 *
 * Plivo's Transfer API moves the call to a URL that answers with Plivo XML
 * (`POST /v1/Account/{auth_id}/Call/{call_uuid}/` with `aleg_url`,
 * https://www.plivo.com/docs/voice/api/call/transfer-a-call); it takes no XML inline. So the
 * handler points `aleg_url` at an endpoint of yours and names the target in that URL's query
 * (`transfer_to`, `transfer_name`, `transfer_headers`); the endpoint answers
 * `plivoTransferXml(readPlivoTransfer(url))`: a `<Dial>` with a `<Number>` or a `<User>`
 * (https://www.plivo.com/docs/voice/xml/dial/user/). Plivo signs its request to that endpoint, URL
 * and query included: verify the signature there (`assertPlivoSignatureV3`), or anyone could make
 * your account dial where they like.
 *
 * What travels to the target: to a SIP URI, SIP headers (`sipHeaders` on `<User>`, sent as
 * `X-PH-<Name>`): by default `Reason`, `Summary` (the tool's arguments) and `Calluuid` (the
 * transferred call). Plivo allows letters and digits in names (at most 24) and letters, digits and
 * `%` in values (at most 120), so values are percent-encoded and cut to fit. To a phone number
 * nothing travels but the caller id: keep the context in your app, keyed by the call's UUID.
 */
import { ConfigError, type TransferHandler, type TransferRequest } from '@switchboard/core';
import { absoluteHttpUrl } from '@switchboard/core/protocol';
import { plivoSipHeaders, type PlivoCallControl } from './call-control.js';

export type PlivoTransferOptions = {
  /** Call control of the account the call belongs to. */
  callControl: PlivoCallControl;
  /** Your endpoint that answers Plivo with `plivoTransferXml(readPlivoTransfer(request URL))`. */
  url: string;
  /** How Plivo requests `url`; default POST. */
  method?: 'GET' | 'POST';
  /**
   * The SIP headers sent to a SIP target (names without `X-PH-`; values of letters, digits and
   * `%`, see {@link plivoHeaderValue}). Default: `Reason`, `Summary` and `Calluuid`.
   */
  headers?: (request: TransferRequest) => Record<string, string>;
};

/** A transfer target as read back from the endpoint's URL. */
export type PlivoTransferDestination = {
  /** A number (country code, no `+`) or a SIP URI. */
  destination: string;
  /** The entry of the transfer tool's table that was picked. */
  name?: string;
  /** SIP headers for a SIP target, `Name=value,…` as Plivo's `sipHeaders` takes them. */
  sipHeaders?: string;
};

export type PlivoTransferXmlOptions = PlivoTransferDestination & {
  /** Caller id shown to the target (a number of your account); default Plivo's (the caller's). */
  callerId?: string;
  /** Seconds the target may ring. */
  timeout?: number;
};

const MAX_VALUE = 120;
const SIP_URI = /^sips?:[^\s<>"']{1,250}$/i;
const NUMBER = /^[0-9]{3,20}$/;
const HEADERS = /^[A-Za-z0-9]{1,24}=[A-Za-z0-9%]{0,120}(,[A-Za-z0-9]{1,24}=[A-Za-z0-9%]{0,120})*$/;
const encoder = new TextEncoder();

/**
 * Text as a Plivo SIP header value: every character that is not an ASCII letter or digit as the
 * `%XX` escapes of its UTF-8, cut to at most 120 characters without splitting a character.
 */
export function plivoHeaderValue(text: string): string {
  let out = '';
  // Character by character, so that a cut never splits one character's UTF-8 bytes.
  for (const char of text) {
    let piece = '';
    if (/^[A-Za-z0-9]$/.test(char)) piece = char;
    else for (const byte of encoder.encode(char)) piece += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (out.length + piece.length > MAX_VALUE) break;
    out += piece;
  }
  return out;
}

function checkDestination(value: unknown, owner: string): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (SIP_URI.test(text)) return text;
  const number = text.replace(/^\+/, '');
  if (NUMBER.test(number)) return number;
  throw new ConfigError(`${owner}: the destination must be a number with its country code or a sip: URI`);
}

function defaultHeaders(request: TransferRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  if (request.reason) headers['Reason'] = plivoHeaderValue(request.reason);
  if (request.summary) headers['Summary'] = plivoHeaderValue(request.summary);
  const callId = request.callId ?? request.callStart?.callId;
  if (callId) headers['Calluuid'] = plivoHeaderValue(callId);
  return headers;
}

/**
 * A `TransferHandler` that moves a Plivo call to `destination` through your XML endpoint (see the
 * module note). Resolves with `{ alreadyEnded }`; the call's audio stream ends with the transfer.
 */
export function plivoTransfer(options: PlivoTransferOptions): TransferHandler {
  if (!options || typeof options !== 'object' || !options.callControl)
    throw new ConfigError('plivoTransfer needs { callControl, url }');
  const base = absoluteHttpUrl(options.url, 'plivoTransfer: url');
  const method = options.method ?? 'POST';
  if (method !== 'GET' && method !== 'POST') throw new ConfigError('plivoTransfer: method must be GET or POST');
  const { callControl } = options;
  const headersOf = options.headers ?? defaultHeaders;
  return async (request) => {
    const callId = request.callId ?? request.callStart?.callId;
    if (!callId) throw new ConfigError("plivoTransfer: the call's UUID is unknown (no callId in its call_start)");
    const destination = checkDestination(request.destination, 'plivoTransfer');
    const url = new URL(base);
    url.searchParams.set('transfer_to', destination);
    if (request.name) url.searchParams.set('transfer_name', request.name);
    if (!NUMBER.test(destination)) {
      const sipHeaders = plivoSipHeaders(headersOf(request), 'plivoTransfer');
      if (sipHeaders.length > 0) url.searchParams.set('transfer_headers', sipHeaders);
    }
    return callControl.transfer(callId, { url: url.toString(), method });
  };
}

/**
 * The target a {@link plivoTransfer} put in the URL of Plivo's request (a `URL`, the URL text,
 * or its query), or `undefined` when it names none or a malformed one.
 */
export function readPlivoTransfer(from: URL | string | URLSearchParams): PlivoTransferDestination | undefined {
  let query: URLSearchParams;
  try {
    query = from instanceof URLSearchParams ? from : new URL(from, 'http://localhost').searchParams;
  } catch {
    return undefined;
  }
  let destination: string;
  try {
    destination = checkDestination(query.get('transfer_to'), 'readPlivoTransfer');
  } catch {
    return undefined;
  }
  const target: PlivoTransferDestination = { destination };
  const name = query.get('transfer_name');
  if (name) target.name = name;
  const sipHeaders = query.get('transfer_headers');
  if (sipHeaders) {
    if (!HEADERS.test(sipHeaders)) return undefined;
    target.sipHeaders = sipHeaders;
  }
  return target;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/**
 * The Plivo XML that connects the call to the target: `<Dial>` with a `<Number>`, or with a
 * `<User sipHeaders="…">` for a SIP URI.
 */
export function plivoTransferXml(target: PlivoTransferXmlOptions): string {
  if (!target || typeof target !== 'object') throw new ConfigError('plivoTransferXml needs a target');
  const destination = checkDestination(target.destination, 'plivoTransferXml');
  let dial = '<Dial';
  if (target.callerId !== undefined) {
    const callerId = String(target.callerId).replace(/^\+/, '');
    if (!NUMBER.test(callerId)) throw new ConfigError('plivoTransferXml: callerId must be a number');
    dial += ` callerId="${callerId}"`;
  }
  if (target.timeout !== undefined) {
    if (!Number.isInteger(target.timeout) || target.timeout <= 0)
      throw new ConfigError('plivoTransferXml: timeout must be a whole number of seconds');
    dial += ` timeout="${target.timeout}"`;
  }
  dial += '>';
  if (NUMBER.test(destination)) return `<Response>${dial}<Number>${destination}</Number></Dial></Response>`;
  let user = '<User';
  if (target.sipHeaders) {
    if (!HEADERS.test(target.sipHeaders))
      throw new ConfigError('plivoTransferXml: sipHeaders must be Name=value pairs of letters, digits and %');
    user += ` sipHeaders="${target.sipHeaders}"`;
  }
  return `<Response>${dial}${user}>${escapeXml(destination)}</User></Dial></Response>`;
}
