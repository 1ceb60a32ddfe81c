import { ConfigError } from '@switchboard/core';

/** Characters XML 1.0 cannot carry at all, even escaped (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF). */
const NOT_XML_CHAR =
  // eslint-disable-next-line no-control-regex -- the characters XML cannot carry are control characters
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // In attribute values a parser would fold these into spaces; character references keep them.
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/**
 * Escapes text for an XML attribute value or element content. Throws a `ConfigError` for
 * characters XML 1.0 cannot represent.
 */
export function escapeXml(text: string): string {
  if (NOT_XML_CHAR.test(text))
    throw new ConfigError('text contains a character that XML cannot carry (control character or lone surrogate)');
  return text.replace(/[&<>"'\t\n\r]/g, (ch) => ESCAPES[ch]!);
}

export type ConnectStreamTwimlOptions = {
  /** The media WebSocket: `wss://…` (`ws://` only on localhost/127.0.0.1), without a query string. */
  url: string;
  /** Custom parameters, delivered in `start.customParameters`. Name plus value under 500 characters each. */
  parameters?: Record<string, string>;
  /** The stream's name (unique per call). */
  name?: string;
  /** URL that receives `stream-started` / `stream-stopped` / `stream-error` callbacks. */
  statusCallback?: string;
  statusCallbackMethod?: 'GET' | 'POST';
  /** Text spoken before the stream connects. */
  say?: string;
};

/** Twilio's rule for `<Parameter>`: name and value together must stay under this many characters. */
const MAX_PARAMETER_CHARS = 500;

function checkStreamUrl(raw: string, fn: string): void {
  if (typeof raw !== 'string' || raw.length === 0) throw new ConfigError(`${fn}: url is required`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${fn}: url is not an absolute URL`);
  }
  if (url.protocol === 'ws:') {
    const host = url.hostname;
    if (host !== 'localhost' && host !== '127.0.0.1') {
      throw new ConfigError(`${fn}: url must use wss:// (ws:// is only allowed for localhost and 127.0.0.1)`);
    }
  } else if (url.protocol !== 'wss:') {
    throw new ConfigError(`${fn}: url must use wss://`);
  }
  if (raw.includes('?')) {
    throw new ConfigError(
      `${fn}: the <Stream> url takes no query string; pass the values as \`parameters\` (they arrive in start.customParameters)`,
    );
  }
  if (raw.includes('#')) throw new ConfigError(`${fn}: url must not contain a fragment (#)`);
}

function checkHttpUrl(raw: string, what: string, fn: string): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${fn}: ${what} is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${fn}: ${what} must be an http:// or https:// URL`);
  }
}

/**
 * TwiML that connects the call to a bidirectional Media Stream:
 * `<Response>[<Say>]<Connect><Stream url>[<Parameter/>…]</Stream></Connect></Response>`.
 * Every attribute and text is XML-escaped; options Twilio would reject throw a `ConfigError`.
 */
export function connectStreamTwiml(options: ConnectStreamTwimlOptions): string {
  return connectStreamDocument(options, '', 'connectStreamTwiml');
}

/**
 * The document `<Response>[<Say>]<Connect><Stream …>…</Stream></Connect></Response>` shared by
 * TwiML and SignalWire's cXML; `extraAttributes` (already escaped) follow the common ones.
 * @internal
 */
export function connectStreamDocument(options: ConnectStreamTwimlOptions, extraAttributes: string, fn: string): string {
  if (!options || typeof options !== 'object') throw new ConfigError(`${fn}: options are required`);
  checkStreamUrl(options.url, fn);

  let attributes = ` url="${escapeXml(options.url)}"`;
  if (options.name !== undefined) {
    if (typeof options.name !== 'string' || options.name.length === 0) {
      throw new ConfigError(`${fn}: name must be a non-empty string`);
    }
    attributes += ` name="${escapeXml(options.name)}"`;
  }
  if (options.statusCallback !== undefined) {
    checkHttpUrl(options.statusCallback, 'statusCallback', fn);
    attributes += ` statusCallback="${escapeXml(options.statusCallback)}"`;
  }
  if (options.statusCallbackMethod !== undefined) {
    if (options.statusCallbackMethod !== 'GET' && options.statusCallbackMethod !== 'POST') {
      throw new ConfigError(`${fn}: statusCallbackMethod must be GET or POST`);
    }
    attributes += ` statusCallbackMethod="${options.statusCallbackMethod}"`;
  }
  attributes += extraAttributes;

  let parameters = '';
  for (const [name, value] of Object.entries(options.parameters ?? {})) {
    if (name.length === 0) throw new ConfigError(`${fn}: parameter names must not be empty`);
    if (typeof value !== 'string') {
      throw new ConfigError(`${fn}: parameter ${JSON.stringify(name.slice(0, 40))} must have a string value`);
    }
    if (name.length + value.length >= MAX_PARAMETER_CHARS) {
      throw new ConfigError(
        `${fn}: parameter ${JSON.stringify(name.slice(0, 40))} is too long; name and value together must be under ${MAX_PARAMETER_CHARS} characters`,
      );
    }
    parameters += `<Parameter name="${escapeXml(name)}" value="${escapeXml(value)}"/>`;
  }

  let say = '';
  if (options.say !== undefined) {
    if (typeof options.say !== 'string') throw new ConfigError(`${fn}: say must be a string`);
    if (options.say.length > 0) say = `<Say>${escapeXml(options.say)}</Say>`;
  }

  const stream = parameters ? `<Stream${attributes}>${parameters}</Stream>` : `<Stream${attributes}/>`;
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${say}<Connect>${stream}</Connect></Response>`;
}
