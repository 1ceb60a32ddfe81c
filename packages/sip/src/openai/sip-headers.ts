/**
 * Reading the SIP INVITE headers that OpenAI forwards in `realtime.call.incoming`.
 * Pure string handling: no I/O, no Node-only APIs.
 */

/** One header of the SIP INVITE, as OpenAI forwards it (names and order preserved). */
export type OpenAISipHeader = { name: string; value: string };

/** A `From` / `To` header value, split into its parts. */
export type OpenAISipAddress = {
  /** The header value exactly as received, e.g. `"Alice" <sip:+15551230000@example.com>;tag=a1`. */
  raw: string;
  /** The URI without the header's parameters, e.g. `sip:+15551230000@example.com` or `tel:+15551230000`. */
  uri?: string;
  /** The user part of a `sip:`/`sips:` URI, or the number of a `tel:` URI (percent-decoded). */
  user?: string;
  /** The host (and port) of a `sip:`/`sips:` URI. */
  host?: string;
  /** The display name, unquoted. */
  displayName?: string;
  /** The `tag` parameter of the header. */
  tag?: string;
};

/** RFC 3261 compact forms of the headers read here. */
const COMPACT_FORMS: Record<string, string> = { f: 'from', t: 'to', i: 'call-id' };

function canonicalName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT_FORMS[lower] ?? lower;
}

/**
 * The value of the first header with this name (case-insensitive; the compact forms `f`, `t`
 * and `i` count as `From`, `To` and `Call-ID`).
 */
export function findSipHeader(headers: readonly OpenAISipHeader[], name: string): string | undefined {
  const wanted = canonicalName(name);
  for (const header of headers) {
    if (canonicalName(header.name) === wanted) return header.value;
  }
  return undefined;
}

/**
 * The `X-` headers as a map, names as received. When a name repeats (in any letter case), the
 * first value is kept; every value stays available in the full header list.
 */
export function customSipHeaders(headers: readonly OpenAISipHeader[]): Record<string, string> {
  const result: Record<string, string> = {};
  const seen = new Set<string>();
  for (const header of headers) {
    const lower = header.name.toLowerCase();
    if (!lower.startsWith('x-') || seen.has(lower)) continue;
    seen.add(lower);
    result[header.name] = header.value;
  }
  return result;
}

/**
 * The `X-` headers as the `customParameters` of a `call_start`: the prefix dropped, the values of
 * a repeated name joined with `, `. Both SIP paths (OpenAI SIP and the self-hosted endpoint)
 * report a call's headers this way.
 */
export function sipCustomParameters(headers: Iterable<readonly [name: string, value: string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (!/^x-/i.test(name) || name.length <= 2) continue;
    const key = name.slice(2);
    out[key] = Object.hasOwn(out, key) ? `${out[key]}, ${value}` : value;
  }
  return out;
}

function unquote(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return trimmed.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return trimmed;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The `tag` among `;name=value` header parameters. */
function tagParameter(params: string): string | undefined {
  for (const part of params.split(';')) {
    const [name, value] = part.split('=', 2);
    if (name?.trim().toLowerCase() === 'tag' && value !== undefined && value.trim().length > 0) return value.trim();
  }
  return undefined;
}

/** Parses a `From` / `To` header value (name-addr or addr-spec form). Never throws. */
export function parseSipAddress(raw: string): OpenAISipAddress {
  const address: OpenAISipAddress = { raw };
  const text = raw.trim();
  let uri: string;
  let params: string;
  const open = text.indexOf('<');
  const close = open === -1 ? -1 : text.indexOf('>', open + 1);
  if (open !== -1 && close !== -1) {
    const displayName = unquote(text.slice(0, open));
    if (displayName.length > 0) address.displayName = displayName;
    uri = text.slice(open + 1, close).trim();
    params = text.slice(close + 1);
  } else {
    // addr-spec: a URI without brackets cannot carry URI parameters, so ';' starts the header's.
    const semi = text.indexOf(';');
    uri = (semi === -1 ? text : text.slice(0, semi)).trim();
    params = semi === -1 ? '' : text.slice(semi);
  }
  if (uri.length === 0) return address;
  address.uri = uri;
  const tag = tagParameter(params);
  if (tag !== undefined) address.tag = tag;

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(uri);
  if (!scheme) return address;
  const kind = scheme[1]!.toLowerCase();
  const rest = scheme[2]!;
  if (kind === 'tel') {
    const number = rest.split(';', 1)[0]!.trim();
    if (number.length > 0) address.user = decode(number);
  } else if (kind === 'sip' || kind === 'sips') {
    const hostPart = rest.split(/[;?]/, 1)[0]!;
    const at = hostPart.lastIndexOf('@');
    if (at !== -1) {
      const userInfo = hostPart.slice(0, at);
      const user = userInfo.split(':', 1)[0]!; // drop a password, if any
      if (user.length > 0) address.user = decode(user);
    }
    const host = hostPart.slice(at + 1);
    if (host.length > 0) address.host = host;
  }
  return address;
}
