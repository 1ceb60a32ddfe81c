/**
 * BXML that starts a bidirectional stream, and BXML that transfers a call. Every attribute and
 * text is escaped; a value that XML 1.0 cannot carry (control characters) is refused with a
 * `ConfigError` rather than sent as BXML Bandwidth would reject, failing the call.
 *
 * `<StartStream>` does not block: BXML goes on with the next verb at once, and a call with no verb
 * left ends, closing the stream a moment after it opened
 * (https://dev.bandwidth.com/docs/voice/bxml/startStream, "Execution Behavior"). So the document
 * {@link bandwidthStreamBxml} writes holds the call on `<StopStream name="…" wait="true"/>` until the
 * stream ends (Bandwidth's own OpenAI sample does the same).
 */
import { ConfigError } from '@switchboard/core';

/** `<StreamParam>` elements a `<StartStream>` may hold. */
export const BANDWIDTH_MAX_STREAM_PARAMS = 12;
const MAX_PARAM_NAME = 256;
const MAX_PARAM_VALUE = 2048;
/** Default `name` of the stream: `<StopStream>` needs one to wait on. */
export const BANDWIDTH_DEFAULT_STREAM_NAME = 'agent';

export type BandwidthStreamBxmlOptions = {
  /** The `wss://` URL Bandwidth opens the stream to (`destination`). */
  url: string;
  /** The stream's name (unique per call). Default `agent`. */
  name?: string;
  /** `inbound` (the caller, default), `outbound` or `both`. */
  tracks?: 'inbound' | 'outbound' | 'both';
  /** Up to 12 name/value pairs, sent in the `start` message as `streamParams` (custom parameters). */
  params?: Record<string, string>;
  /** Basic credentials Bandwidth sends on the WebSocket upgrade (`destinationUsername`/`destinationPassword`). */
  username?: string;
  password?: string;
  /** Where Bandwidth posts `mediaStreamStarted`/`Stopped`/`Rejected` (`streamEventUrl`). */
  eventUrl?: string;
  /** `POST` (default) or `GET` for `eventUrl`. */
  eventMethod?: 'POST' | 'GET';
  /**
   * Hold the call on `<StopStream wait="true">` until the stream ends (default true). With false
   * the document ends after `<StartStream>` (add verbs that keep the call up with {@link bxmlResponse}).
   */
  hold?: boolean;
};

export type BandwidthTransferBxmlOptions = {
  /** An E.164 number (`<PhoneNumber>`) or a `sip:`/`sips:` URI (`<SipUri>`). */
  to: string;
  /** The caller id the transferred party sees (`transferCallerId`). */
  callerId?: string;
  /** Seconds to ring before giving up (`callTimeout`). */
  timeoutSeconds?: number;
};

/**
 * True when `value` holds a character XML 1.0 cannot carry: a control character other than tab,
 * line feed and carriage return, U+FFFE, U+FFFF, or half of a surrogate pair.
 */
function hasNonXmlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20) {
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
    } else if (c === 0xfffe || c === 0xffff) {
      return true;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i += 1;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

function escapeXml(value: string, what: string): string {
  if (typeof value !== 'string') throw new ConfigError(`${what} must be a string`);
  if (hasNonXmlCharacter(value)) throw new ConfigError(`${what} holds a character XML cannot carry`);
  // Tab, line feed and carriage return as references: a parser turns them into spaces in an attribute.
  return value.replace(/[&<>"'\t\n\r]/g, (c) => ESCAPES[c]!);
}

function attributes(pairs: Array<[string, string | undefined]>, what: string): string {
  return pairs
    .filter((pair): pair is [string, string] => pair[1] !== undefined)
    .map(([key, value]) => ` ${key}="${escapeXml(value, `${what} ${key}`)}"`)
    .join('');
}

function readUrl(value: unknown, protocols: string[], what: string): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || !protocols.includes(url.protocol))
    throw new ConfigError(
      `${what} must be an absolute ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL`,
    );
  return url.href;
}

/**
 * A `<Response>` document of the given verbs (each an XML element, as the builders here write them):
 * what a BXML webhook answers with.
 */
export function bxmlResponse(...verbs: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${verbs.join('')}</Response>`;
}

/** The `<StartStream mode="bidirectional">` element alone, with its `<StreamParam>`s. */
export function bxmlStartStream(options: BandwidthStreamBxmlOptions): string {
  if (!options || typeof options !== 'object') throw new ConfigError('bxmlStartStream needs { url, … }');
  const what = 'BXML StartStream';
  const destination = readUrl(options.url, ['wss:', 'ws:'], `${what}: url`);
  const name = options.name ?? BANDWIDTH_DEFAULT_STREAM_NAME;
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${what}: name must be a non-empty string`);
  const tracks = options.tracks ?? 'inbound';
  if (!['inbound', 'outbound', 'both'].includes(tracks))
    throw new ConfigError(`${what}: tracks must be inbound, outbound or both`);
  if ((options.username === undefined) !== (options.password === undefined))
    throw new ConfigError(`${what}: username and password go together`);
  if (options.eventMethod !== undefined && options.eventMethod !== 'POST' && options.eventMethod !== 'GET')
    throw new ConfigError(`${what}: eventMethod must be POST or GET`);
  const eventUrl =
    options.eventUrl === undefined ? undefined : readUrl(options.eventUrl, ['https:', 'http:'], `${what}: eventUrl`);
  const params = Object.entries(options.params ?? {});
  if (params.length > BANDWIDTH_MAX_STREAM_PARAMS)
    throw new ConfigError(`${what}: at most ${BANDWIDTH_MAX_STREAM_PARAMS} params (Bandwidth's limit)`);
  const nested = params
    .map(([key, value]) => {
      if (key.length === 0 || key.length > MAX_PARAM_NAME)
        throw new ConfigError(`${what}: a param name must have 1 to ${MAX_PARAM_NAME} characters`);
      if (typeof value !== 'string' || value.length > MAX_PARAM_VALUE)
        throw new ConfigError(
          `${what}: param ${JSON.stringify(key.slice(0, 40))} must be a string of at most ${MAX_PARAM_VALUE} characters`,
        );
      return `<StreamParam${attributes(
        [
          ['name', key],
          ['value', value],
        ],
        what,
      )}/>`;
    })
    .join('');
  const attrs = attributes(
    [
      ['name', name],
      ['mode', 'bidirectional'],
      ['tracks', tracks],
      ['destination', destination],
      ['destinationUsername', options.username],
      ['destinationPassword', options.password],
      ['streamEventUrl', eventUrl],
      ['streamEventMethod', options.eventMethod],
    ],
    what,
  );
  return nested.length > 0 ? `<StartStream${attrs}>${nested}</StartStream>` : `<StartStream${attrs}/>`;
}

/**
 * The answer to Bandwidth's `initiate` (inbound) or `answer` (outbound) webhook that streams the
 * call to `url`, both ways, and holds the call until the stream ends.
 */
export function bandwidthStreamBxml(options: BandwidthStreamBxmlOptions): string {
  const start = bxmlStartStream(options);
  if (options.hold === false) return bxmlResponse(start);
  const name = options.name ?? BANDWIDTH_DEFAULT_STREAM_NAME;
  return bxmlResponse(
    start,
    `<StopStream${attributes(
      [
        ['name', name],
        ['wait', 'true'],
      ],
      'BXML StopStream',
    )}/>`,
  );
}

/** A `<Response>` transferring the call to a number or SIP URI: answer a redirect with it. */
export function bandwidthTransferBxml(options: BandwidthTransferBxmlOptions): string {
  if (!options || typeof options !== 'object') throw new ConfigError('bandwidthTransferBxml needs { to }');
  const what = 'BXML Transfer';
  const to = typeof options.to === 'string' ? options.to.trim() : '';
  if (to.length === 0) throw new ConfigError(`${what}: to must be a phone number or SIP URI`);
  const timeout = options.timeoutSeconds;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0 && timeout <= 300))
    throw new ConfigError(`${what}: timeoutSeconds must be a whole number from 1 to 300`);
  const target = /^sips?:/i.test(to)
    ? `<SipUri>${escapeXml(to, `${what} to`)}</SipUri>`
    : `<PhoneNumber>${escapeXml(to, `${what} to`)}</PhoneNumber>`;
  const attrs = attributes(
    [
      ['transferCallerId', options.callerId],
      ['callTimeout', timeout === undefined ? undefined : String(timeout)],
    ],
    what,
  );
  return bxmlResponse(`<Transfer${attrs}>${target}</Transfer>`);
}
