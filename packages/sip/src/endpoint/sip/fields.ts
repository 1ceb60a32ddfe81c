/**
 * SIP header field values (RFC 3261 §25): lists, parameters, Via, CSeq, name-addr, SIP URIs and
 * tags, and the tokens and branches the endpoint makes. Pure text handling, no I/O.
 */

/** An RFC 3261 token. */
export const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** Splits a header value at commas outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      current += ch;
      if (ch === '\\' && i + 1 < value.length) current += value[++i];
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === '<') depth++;
    else if (ch === '>') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0) {
      if (current.trim()) out.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/** `;name=value;flag` parameters (names lower-cased, quotes removed). */
export type Params = Record<string, string | null>;

/** Parses `;a=b;c` into `{ a: 'b', c: null }`. Returns undefined on a malformed parameter. */
export function parseParams(text: string): Params | undefined {
  const params: Params = Object.create(null) as Params;
  const trimmed = text.trim();
  if (trimmed === '') return params;
  if (!trimmed.startsWith(';')) return undefined;
  for (const part of splitParams(trimmed.slice(1))) {
    const eq = part.indexOf('=');
    const name = (eq >= 0 ? part.slice(0, eq) : part).trim();
    if (!TOKEN.test(name)) return undefined;
    let value: string | null = eq >= 0 ? part.slice(eq + 1).trim() : null;
    if (value !== null && value.startsWith('"')) {
      if (!value.endsWith('"') || value.length < 2) return undefined;
      value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    } else if (value !== null && !/^[^\s"<>]*$/.test(value)) {
      return undefined;
    }
    params[name.toLowerCase()] = value;
  }
  return params;
}

function splitParams(text: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      current += ch;
      if (ch === '\\' && i + 1 < text.length) current += text[++i];
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    if (ch === ';') {
      out.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  out.push(current);
  return out;
}

export type Via = {
  /** `UDP`, `TCP`, `TLS`, `WS`, ... (upper case). */
  transport: string;
  host: string;
  port: number | undefined;
  params: Params;
  branch: string | undefined;
};

/** Parses one Via value: `SIP/2.0/UDP host[:port];params`. */
export function parseVia(value: string): Via | undefined {
  const match = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+([^;\s]+)\s*(;.*)?$/i.exec(value.trim());
  if (!match) return undefined;
  const hostPort = parseHostPort(match[2]!);
  if (!hostPort) return undefined;
  const params = parseParams(match[3] ?? '');
  if (!params) return undefined;
  return {
    transport: match[1]!.toUpperCase(),
    host: hostPort.host,
    port: hostPort.port,
    params,
    branch: params['branch'] ?? undefined,
  };
}

/** `host[:port]`, with IPv6 references in brackets. */
export function parseHostPort(text: string): { host: string; port: number | undefined } | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port === 0 || port > 65535)) return undefined;
  return { host: match[1]!, port };
}

export type CSeq = { seq: number; method: string };

export function parseCSeq(value: string | undefined): CSeq | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$/.exec(value.trim());
  if (!match) return undefined;
  const seq = Number(match[1]);
  if (seq > 0x7fffffff) return undefined;
  return { seq, method: match[2]! };
}

export type NameAddr = {
  displayName: string | undefined;
  /** The URI, without the angle brackets. */
  uri: string;
  /** Header parameters (after the URI): `tag`, `expires`, ... */
  params: Params;
};

/** Parses a name-addr (`"Name" <sip:a@b>;tag=x`) or addr-spec (`sip:a@b;tag=x`). */
export function parseNameAddr(value: string): NameAddr | undefined {
  const text = value.trim();
  const lt = indexOutsideQuotes(text, '<');
  if (lt >= 0) {
    const gt = text.indexOf('>', lt);
    if (gt < 0) return undefined;
    let display = text.slice(0, lt).trim();
    if (display.startsWith('"')) {
      if (!display.endsWith('"') || display.length < 2) return undefined;
      display = display.slice(1, -1).replace(/\\(.)/g, '$1');
    } else if (display !== '' && !/^[A-Za-z0-9\-.!%*_+`'~ ]+$/.test(display)) {
      return undefined;
    }
    const uri = text.slice(lt + 1, gt).trim();
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>]+$/.test(uri)) return undefined;
    const params = parseParams(text.slice(gt + 1));
    if (!params) return undefined;
    return { displayName: display || undefined, uri, params };
  }
  // addr-spec: parameters after the URI belong to the header, never to the URI.
  const semi = text.indexOf(';');
  const uri = (semi >= 0 ? text.slice(0, semi) : text).trim();
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>,]+$/.test(uri)) return undefined;
  const params = parseParams(semi >= 0 ? text.slice(semi) : '');
  if (!params) return undefined;
  return { displayName: undefined, uri, params };
}

function indexOutsideQuotes(text: string, ch: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ch) return i;
  }
  return -1;
}

export type SipUri = {
  scheme: 'sip' | 'sips';
  user: string | undefined;
  host: string;
  port: number | undefined;
  params: Params;
};

/** Parses a `sip:` or `sips:` URI (user, host, port, parameters; headers are ignored). */
export function parseSipUri(uri: string): SipUri | undefined {
  const match = /^(sips?):(?:([^@;?]+)@)?([^;?]+)(;[^?]*)?(\?.*)?$/i.exec(uri.trim());
  if (!match) return undefined;
  const hostPort = parseHostPort(match[3]!);
  if (!hostPort) return undefined;
  const params = parseParams(match[4] ?? '');
  if (!params) return undefined;
  const userinfo = match[2];
  const user = userinfo === undefined ? undefined : userinfo.split(':')[0];
  return {
    scheme: match[1]!.toLowerCase() as 'sip' | 'sips',
    user: user === undefined ? undefined : safeDecode(user),
    host: hostPort.host,
    port: hostPort.port,
    params,
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The `tag` parameter of a From or To value. */
export function tagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return parseNameAddr(value)?.params['tag'] ?? undefined;
}

/** A random token for tags, branches and Call-IDs. */
export function randomToken(bytes = 8): string {
  const buf = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  let out = '';
  for (const b of buf) out += b.toString(16).padStart(2, '0');
  return out;
}

/** The RFC 3261 magic cookie every branch starts with. */
export const BRANCH_COOKIE = 'z9hG4bK';

export function newBranch(): string {
  return `${BRANCH_COOKIE}${randomToken(10)}`;
}

/** Reason phrases of the responses the endpoint sends. */
