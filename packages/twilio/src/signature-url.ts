/**
 * The URLs a Twilio signature may have been computed over, for one request URL.
 *
 * Twilio signs the URL as it was configured, which is not always the string a server
 * reconstructs: the default port may be written out or left out, and some of Twilio's back ends
 * sign an escaped form of the URL. The official `twilio` helper library (6.x) accepts, besides the
 * URL as received, the URL as the WHATWG URL parser serialises it (`'` in the query becomes `%27`,
 * a space `%20`, the host is lower-cased) and that form again with its query re-encoded by Node's
 * legacy `querystring` rules (`:` `@` `/` become `%3A` `%40` `%2F`). We accept the same forms,
 * computed here without Node APIs.
 *
 * Every candidate names the same resource as the request URL (they differ only in how it is
 * written), so accepting them does not let a signature for one endpoint pass for another.
 */

const DEFAULT_PORTS: Record<string, string> = { 'https:': '443', 'wss:': '443', 'http:': '80', 'ws:': '80' };

/**
 * The URL as given, plus the same URL with the scheme's default port written out (or removed
 * when it is written out): Twilio does not sign consistently either way.
 */
export function twilioSignatureUrlVariants(url: string): string[] {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#]*)(.*)$/s.exec(url);
  if (!match) return [url];
  const [, scheme = '', authority = '', rest = ''] = match;
  const defaultPort = DEFAULT_PORTS[scheme.toLowerCase()];
  if (defaultPort === undefined) return [url];
  const at = authority.lastIndexOf('@');
  const userinfo = authority.slice(0, at + 1);
  const hostPort = authority.slice(at + 1);
  // A port follows the last ':' unless that ':' sits inside an IPv6 literal ("[::1]").
  const portMatch = /^(.*?)(?::(\d*))?$/s.exec(hostPort);
  const host = portMatch?.[1] ?? hostPort;
  const port = portMatch?.[2];
  if (host.startsWith('[') && !host.endsWith(']')) return [url];
  if (port === undefined) return [url, `${scheme}//${userinfo}${host}:${defaultPort}${rest}`];
  if (port === defaultPort) return [url, `${scheme}//${userinfo}${host}${rest}`];
  return [url];
}

/**
 * The URL as received with its scheme and host lower-cased and nothing else changed (SignalWire's
 * helper library reads the URL with url-parse, which does that and keeps the rest as given, where
 * the WHATWG parser also trims and escapes). Scheme and host are case-insensitive, so this names
 * the same resource.
 */
function lowerSchemeAndHost(url: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!match) return url;
  const [, scheme = '', authority = '', rest = ''] = match;
  const at = authority.lastIndexOf('@');
  return `${scheme.toLowerCase()}${authority.slice(0, at + 1)}${authority.slice(at + 1).toLowerCase()}${rest}`;
}

/** The URL as the WHATWG URL parser writes it, or undefined when it does not parse. */
function whatwgForm(url: string): string | undefined {
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}

const HEX = /^[0-9A-Fa-f]{2}$/;
const utf8 = new TextDecoder('utf-8');

/**
 * Decodes one query component the way Node's `querystring.parse` does: `+` is a space, then
 * percent-decoding; where that fails (a malformed `%` sequence, bytes that are not UTF-8) each
 * valid `%XX` is still decoded, everything else kept, and the bytes read as UTF-8 with
 * replacement characters. The input is ASCII (it comes from a WHATWG-serialised URL).
 */
function decodeComponent(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < spaced.length; i++) {
      const hex = spaced.slice(i + 1, i + 3);
      if (spaced[i] === '%' && HEX.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(spaced.charCodeAt(i) & 0xff);
      }
    }
    return utf8.decode(new Uint8Array(bytes));
  }
}

/** Node's `querystring.parse` reads at most this many pairs. */
const MAX_PAIRS = 1000;

/**
 * The URL with its query parsed and written again by Node's legacy `querystring` rules: pairs
 * split on `&` (empty pieces skipped), values of a repeated name grouped under its first
 * appearance, names that are array indices first (the order of a JavaScript object's keys), and
 * everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` percent-encoded. Everything after the `?`,
 * a fragment included, counts as the query, as in the helper library.
 */
export function reencodeQueryLegacy(url: string): string {
  const start = url.indexOf('?');
  if (start === -1 || start === url.length - 1) return url;
  // A null-prototype object, so that names such as `__proto__` are ordinary keys and the key
  // order is the language's (array indices ascending, then insertion order), as in Node.
  const grouped: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  let pairs = 0;
  for (const piece of url.slice(start + 1).split('&')) {
    if (piece.length === 0) continue;
    if (pairs++ >= MAX_PAIRS) break;
    const eq = piece.indexOf('=');
    const name = decodeComponent(eq === -1 ? piece : piece.slice(0, eq));
    const value = eq === -1 ? '' : decodeComponent(piece.slice(eq + 1));
    (grouped[name] ??= []).push(value);
  }
  const parts: string[] = [];
  for (const name of Object.keys(grouped)) {
    for (const value of grouped[name]!) parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  }
  return `${url.slice(0, start)}?${parts.join('&')}`;
}

/**
 * Every URL a signature for a request to `url` may have been computed over, without duplicates:
 * the URL as given and with the default port added or removed; then the URL as the WHATWG parser
 * writes it, and that with the query re-encoded by Node's legacy `querystring` rules, each with
 * and without the default port. The as-given forms come first.
 */
export function twilioSignatureUrlCandidates(url: string): string[] {
  return signatureUrlCandidates(url, false);
}

/**
 * {@link twilioSignatureUrlCandidates}, and with `lowerHost` also the URL as given with its scheme
 * and host lower-cased (with and without the default port), which SignalWire's library accepts
 * and Twilio's does not. @internal
 */
export function signatureUrlCandidates(url: string, lowerHost: boolean): string[] {
  const out = new Set(twilioSignatureUrlVariants(url));
  const lowered = lowerHost ? lowerSchemeAndHost(url) : url;
  if (lowered !== url) for (const variant of twilioSignatureUrlVariants(lowered)) out.add(variant);
  const normalized = whatwgForm(url);
  if (normalized !== undefined) {
    for (const form of [normalized, safeReencode(normalized)]) {
      if (form === undefined) continue;
      for (const variant of twilioSignatureUrlVariants(form)) out.add(variant);
    }
  }
  return [...out];
}

function safeReencode(url: string): string | undefined {
  try {
    return reencodeQueryLegacy(url);
  } catch {
    return undefined;
  }
}
