/**
 * SIP messages (RFC 3261 §7, §20, §25): a tolerant but strict-where-it-matters parser, a
 * serializer, and readers for the header fields the endpoint relies on (Via, From/To, CSeq,
 * name-addr, SIP URIs). Pure: no Node APIs, so the media protocol can use it anywhere.
 */

export type SipHeader = [name: string, value: string];

/** Header fields of a message, in order, looked up case-insensitively and by compact form. */
export class SipHeaders {
  readonly #list: SipHeader[];

  constructor(list: Iterable<SipHeader> = []) {
    this.#list = [...list].map(([name, value]): SipHeader => [name, value]);
  }

  /** Every header field as received: `[name, value]`. */
  entries(): SipHeader[] {
    return this.#list.map(([name, value]): SipHeader => [name, value]);
  }

  /** The first value of a header field. */
  get(name: string): string | undefined {
    const key = canonicalName(name);
    for (const [n, v] of this.#list) if (canonicalName(n) === key) return v;
    return undefined;
  }

  /** Every value of a header field, one per header line (not split at commas). */
  getAll(name: string): string[] {
    const key = canonicalName(name);
    const out: string[] = [];
    for (const [n, v] of this.#list) if (canonicalName(n) === key) out.push(v);
    return out;
  }

  /** The elements of a list-valued header field (Via, Contact, Route, Allow, ...), split at commas. */
  list(name: string): string[] {
    return this.getAll(name).flatMap((value) => splitList(value));
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Replaces every value of a header field with one (appended at the end when absent). */
  set(name: string, value: string): this {
    const key = canonicalName(name);
    const index = this.#list.findIndex(([n]) => canonicalName(n) === key);
    this.delete(name);
    if (index >= 0 && index <= this.#list.length) this.#list.splice(index, 0, [name, value]);
    else this.#list.push([name, value]);
    return this;
  }

  append(name: string, value: string): this {
    this.#list.push([name, value]);
    return this;
  }

  /** Adds a value in front of the others of its kind (a new top Via). */
  prepend(name: string, value: string): this {
    const key = canonicalName(name);
    const index = this.#list.findIndex(([n]) => canonicalName(n) === key);
    if (index >= 0) this.#list.splice(index, 0, [name, value]);
    else this.#list.push([name, value]);
    return this;
  }

  delete(name: string): this {
    const key = canonicalName(name);
    for (let i = this.#list.length - 1; i >= 0; i--) if (canonicalName(this.#list[i]![0]) === key) this.#list.splice(i, 1);
    return this;
  }

  clone(): SipHeaders {
    return new SipHeaders(this.#list);
  }
}

export type SipRequest = {
  type: 'request';
  method: string;
  uri: string;
  headers: SipHeaders;
  body: Uint8Array;
};

export type SipResponse = {
  type: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Uint8Array;
};

export type SipMessage = SipRequest | SipResponse;

/** Compact forms (RFC 3261 §7.3.3 and later RFCs) to their long names, lower case. */
const COMPACT: Record<string, string> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  r: 'refer-to',
  b: 'referred-by',
  u: 'allow-events',
  x: 'session-expires',
  a: 'accept-contact',
  j: 'reject-contact',
  d: 'request-disposition',
  y: 'identity',
  n: 'identity-info',
};

/** The lower-case long name of a header field. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? lower;
}

/** Header fields that may appear at most once (RFC 3261 §20). */
const SINGLETONS = ['call-id', 'cseq', 'from', 'to', 'max-forwards', 'content-length', 'content-type'];

/** Why a message could not be parsed. `partial` is set when enough was read to answer a request. */
export class SipParseError extends Error {
  /** The response status a request deserves (400, 505). */
  readonly status: number;
  /** The request as far as it could be read: its Via, From, To, Call-ID and CSeq are usable. */
  readonly partial: SipRequest | undefined;
  constructor(message: string, status = 400, partial?: SipRequest) {
    super(message);
    this.name = 'SipParseError';
    this.status = status;
    this.partial = partial;
  }
}

/** Limits that keep a hostile peer from making the parser do unbounded work. */
export const SIP_LIMITS = {
  /** Largest header section, bytes. */
  maxHeaderBytes: 32 * 1024,
  /** Most header lines. */
  maxHeaders: 256,
  /** Largest body, bytes. */
  maxBodyBytes: 256 * 1024,
};

/** The longest message text that can fit the header and body limits (CRLF CRLF between them). */
const MAX_MESSAGE_CHARS = SIP_LIMITS.maxHeaderBytes + SIP_LIMITS.maxBodyBytes + 4;

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const VERSION = /^SIP\/(\d+)\.(\d+)$/i;
// Visible characters, tabs and spaces, plus any non-ASCII (UTF-8 text is allowed in values).
const VALUE_CHARS = /^[\t\x20-\x7e\u0080-\uffff]*$/;

const utf8 = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: false });
const utf8Strict = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });
const encoder = /* @__PURE__ */ new TextEncoder();

/** Where the header section ends: index of the empty line and the length of the separator. */
function headerEnd(bytes: Uint8Array, from = 0): { at: number; sep: number } | undefined {
  for (let i = from; i < bytes.length - 1; i++) {
    if (bytes[i] !== 0x0a) continue;
    // LF LF, or LF CR LF.
    if (bytes[i + 1] === 0x0a) return { at: i + 1, sep: 1 };
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return { at: i + 1, sep: 2 };
  }
  return undefined;
}

/** Skips the CRLFs that may precede a message (RFC 3261 §7.5, keep-alives of RFC 5626). */
function skipLeadingBlankLines(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x0d || bytes[i] === 0x0a)) i++;
  return i;
}

/** True for a datagram or stream chunk made only of CR and LF (a keep-alive, not a message). */
export function isKeepAlive(bytes: Uint8Array): boolean {
  return bytes.length > 0 && skipLeadingBlankLines(bytes) === bytes.length;
}

export type ParseOptions = {
  /**
   * `datagram` (UDP): the body is the rest of the packet, cut at Content-Length; a packet shorter
   * than Content-Length is an error. `stream` (TCP): Content-Length is required and the caller
   * framed the message with {@link frameStreamMessage}.
   */
  framing?: 'datagram' | 'stream';
};

/**
 * Parses one SIP message. Throws {@link SipParseError}; its `partial` request is set when the
 * message is a request whose Via, From, To, Call-ID and CSeq could be read, so that a 400 (or
 * 505) can be sent. Never throws anything else.
 */
export function parseSipMessage(input: Uint8Array | string, options: ParseOptions = {}): SipMessage {
  // Past both limits nothing can be parsed: a huge text is refused before it is encoded.
  if (typeof input === 'string' && input.length > MAX_MESSAGE_CHARS && input.trimStart().length > MAX_MESSAGE_CHARS) {
    throw new SipParseError('message too large');
  }
  try {
    return parseUnsafe(typeof input === 'string' ? encoder.encode(input) : input, options.framing ?? 'datagram');
  } catch (error) {
    if (error instanceof SipParseError) throw error;
    throw new SipParseError(`unparseable message: ${(error as Error)?.message ?? String(error)}`);
  }
}

function parseUnsafe(raw: Uint8Array, framing: 'datagram' | 'stream'): SipMessage {
  const start = skipLeadingBlankLines(raw);
  if (start >= raw.length) throw new SipParseError('empty message');
  const bytes = raw.subarray(start);
  const end = headerEnd(bytes);
  // A message with no empty line: headers to the end (a datagram may omit the final CRLF CRLF).
  const headBytes = end ? bytes.subarray(0, end.at) : bytes;
  const bodyStart = end ? end.at + end.sep : bytes.length;
  if (headBytes.length > SIP_LIMITS.maxHeaderBytes) throw new SipParseError('header section too large');

  let head: string;
  let badEncoding = false;
  try {
    head = utf8Strict.decode(headBytes);
  } catch {
    head = utf8.decode(headBytes);
    badEncoding = true;
  }

  const lines = head.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const startLine = lines.shift() ?? '';

  // Header lines, with folded continuations joined (RFC 3261 §7.3.1).
  const problems: string[] = [];
  if (badEncoding) problems.push('header section is not valid UTF-8');
  const unfolded: string[] = [];
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && unfolded.length > 0) {
      unfolded[unfolded.length - 1] += ` ${line.trim()}`;
    } else {
      unfolded.push(line);
    }
  }
  if (unfolded.length > SIP_LIMITS.maxHeaders) throw new SipParseError('too many header fields');
  const headerList: SipHeader[] = [];
  for (const [index, line] of unfolded.entries()) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (colon <= 0 || !TOKEN.test(name)) {
      // No excerpt: the line may hold credentials.
      problems.push(`malformed header line ${index + 2} (no colon, or not a header name)`);
      continue;
    }
    const value = line.slice(colon + 1).trim();
    if (!VALUE_CHARS.test(value)) {
      problems.push(`header ${name} holds control characters`);
      continue;
    }
    headerList.push([name, value]);
  }
  const headers = new SipHeaders(headerList);

  // Start line.
  const parts = startLine.split(' ');
  if (VERSION.test(parts[0] ?? '')) {
    return parseResponse(startLine, headers, bytes, bodyStart, framing, problems);
  }
  if (parts.length !== 3 || !parts[0] || !parts[1] || !parts[2]) {
    throw new SipParseError(`malformed start line ${JSON.stringify(excerptOf(startLine))}`);
  }
  const [method, uri, version] = parts as [string, string, string];
  if (!TOKEN.test(method)) throw new SipParseError(`malformed method ${JSON.stringify(excerptOf(method))}`);
  const request: SipRequest = { type: 'request', method, uri, headers, body: new Uint8Array(0) };
  const partial = responseable(request) ? request : undefined;
  const fail = (message: string, status = 400): never => {
    throw new SipParseError(message, status, partial);
  };

  const versionMatch = VERSION.exec(version);
  if (!versionMatch) fail(`malformed SIP version ${JSON.stringify(excerptOf(version))}`);
  if (versionMatch![1] !== '2' || versionMatch![2] !== '0') fail(`SIP version ${version} is not supported`, 505);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/.test(uri)) fail(`malformed Request-URI ${JSON.stringify(excerptOf(uri))}`);
  if (problems.length > 0) fail(problems[0]!);

  checkSingletons(headers, fail);
  const vias = headers.list('via');
  if (vias.length === 0) fail('no Via header field');
  for (const via of vias) if (!parseVia(via)) fail(`malformed Via ${JSON.stringify(excerptOf(via))}`);
  for (const name of ['from', 'to'] as const) {
    const value = headers.get(name);
    if (value === undefined) fail(`no ${name === 'from' ? 'From' : 'To'} header field`);
    if (!parseNameAddr(value!)) fail(`malformed ${name === 'from' ? 'From' : 'To'} ${JSON.stringify(excerptOf(value!))}`);
  }
  const callId = headers.get('call-id');
  if (callId === undefined || !/^[^\s]+$/.test(callId)) fail('missing or malformed Call-ID');
  const cseq = parseCSeq(headers.get('cseq'));
  if (!cseq) fail('missing or malformed CSeq');
  if (cseq!.method !== method) fail(`CSeq method ${cseq!.method} does not match the request method ${method}`);
  const maxForwards = headers.get('max-forwards');
  if (maxForwards !== undefined && !(/^\d{1,3}$/.test(maxForwards) && Number(maxForwards) <= 255)) fail('malformed Max-Forwards');

  request.body = readBody(headers, bytes, bodyStart, framing, fail);
  return request;
}

function parseResponse(
  startLine: string,
  headers: SipHeaders,
  bytes: Uint8Array,
  bodyStart: number,
  framing: 'datagram' | 'stream',
  problems: string[],
): SipResponse {
  const match = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/i.exec(startLine);
  if (!match) throw new SipParseError(`malformed status line ${JSON.stringify(excerptOf(startLine))}`);
  if (problems.length > 0) throw new SipParseError(problems[0]!);
  const fail = (message: string): never => {
    throw new SipParseError(message);
  };
  checkSingletons(headers, fail);
  if (headers.list('via').length === 0 || !parseCSeq(headers.get('cseq')) || !headers.has('call-id')) fail('response without Via, CSeq or Call-ID');
  return {
    type: 'response',
    status: Number(match[1]),
    reason: match[2] ?? '',
    headers,
    body: readBody(headers, bytes, bodyStart, framing, fail),
  };
}

function checkSingletons(headers: SipHeaders, fail: (message: string) => never): void {
  for (const name of SINGLETONS) {
    const values = headers.getAll(name);
    if (values.length > 1 && new Set(values).size > 1) fail(`more than one ${name} header field`);
  }
}

function readBody(
  headers: SipHeaders,
  bytes: Uint8Array,
  bodyStart: number,
  framing: 'datagram' | 'stream',
  fail: (message: string) => never,
): Uint8Array {
  const available = Math.max(0, bytes.length - bodyStart);
  const lengthHeader = headers.get('content-length');
  if (lengthHeader === undefined) {
    if (framing === 'stream') fail('no Content-Length on a stream transport');
    if (available > SIP_LIMITS.maxBodyBytes) fail('body too large');
    return bytes.slice(bodyStart);
  }
  if (!/^\d{1,10}$/.test(lengthHeader)) fail('malformed Content-Length');
  const length = Number(lengthHeader);
  if (length > SIP_LIMITS.maxBodyBytes) fail('body too large');
  // RFC 3261 §18.3: bytes past Content-Length are discarded; fewer is an error.
  if (length > available) fail(`Content-Length ${length} is larger than the ${available}-byte body`);
  return bytes.slice(bodyStart, bodyStart + length);
}

/** True when a request carries what a response needs to be built and matched. */
function responseable(request: SipRequest): boolean {
  const h = request.headers;
  const via = h.list('via')[0];
  return (
    via !== undefined &&
    parseVia(via) !== undefined &&
    h.get('from') !== undefined &&
    h.get('to') !== undefined &&
    h.get('call-id') !== undefined &&
    parseCSeq(h.get('cseq')) !== undefined
  );
}

/**
 * Splits a byte stream (TCP) into messages: returns the length of the first complete message
 * (leading CRLFs included), 0 when more bytes are needed, or throws {@link SipParseError} for a
 * stream that cannot be framed (then the connection should be closed).
 */
export function frameStreamMessage(buffer: Uint8Array): number {
  const start = skipLeadingBlankLines(buffer);
  if (start === buffer.length) return 0;
  const end = headerEnd(buffer, start);
  if (!end) {
    if (buffer.length - start > SIP_LIMITS.maxHeaderBytes) throw new SipParseError('header section too large');
    return 0;
  }
  const head = utf8.decode(buffer.subarray(start, end.at));
  let length: number | undefined;
  for (const line of head.split(/\r?\n/)) {
    const match = /^(content-length|l)\s*:\s*(.*)$/i.exec(line);
    if (!match) continue;
    const value = match[2]!.trim();
    if (!/^\d{1,10}$/.test(value)) throw new SipParseError('malformed Content-Length');
    length = Number(value);
  }
  if (length === undefined) throw new SipParseError('no Content-Length on a stream transport');
  if (length > SIP_LIMITS.maxBodyBytes) throw new SipParseError('body too large');
  const total = end.at + end.sep + length;
  return buffer.length >= total ? total : 0;
}

/** Writes a message; Content-Length is set from the body. */
export function serializeSipMessage(message: SipMessage): Uint8Array {
  const startLine = message.type === 'request' ? `${message.method} ${message.uri} SIP/2.0` : `SIP/2.0 ${message.status} ${message.reason}`;
  const lines = [startLine];
  for (const [name, value] of message.headers.entries()) {
    if (canonicalName(name) === 'content-length') continue;
    lines.push(`${name}: ${value}`);
  }
  lines.push(`Content-Length: ${message.body.byteLength}`);
  const head = encoder.encode(`${lines.join('\r\n')}\r\n\r\n`);
  if (message.body.byteLength === 0) return head;
  const out = new Uint8Array(head.byteLength + message.body.byteLength);
  out.set(head);
  out.set(message.body, head.byteLength);
  return out;
}

/** The message as text (for logs: bodies are not included). */
export function describeSipMessage(message: SipMessage): string {
  return message.type === 'request' ? `${message.method} ${message.uri}` : `${message.status} ${message.reason}`;
}

export function bodyText(message: SipMessage): string {
  return utf8.decode(message.body);
}

export function textBody(text: string): Uint8Array {
  return encoder.encode(text);
}

function excerptOf(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

// -------------------------------------------------------------------------------------------------
// Header field values

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
  return { transport: match[1]!.toUpperCase(), host: hostPort.host, port: hostPort.port, params, branch: params['branch'] ?? undefined };
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
  return { scheme: match[1]!.toLowerCase() as 'sip' | 'sips', user: user === undefined ? undefined : safeDecode(user), host: hostPort.host, port: hostPort.port, params };
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
export const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'Version Not Supported',
  603: 'Decline',
};

/**
 * A response to `request` (RFC 3261 §8.2.6.2): Via, From, To, Call-ID and CSeq copied, a To tag
 * added when given and not already there.
 */
export function createResponse(
  request: SipRequest,
  status: number,
  options: { reason?: string; toTag?: string; headers?: SipHeader[]; body?: Uint8Array } = {},
): SipResponse {
  const headers = new SipHeaders();
  for (const via of request.headers.getAll('via')) headers.append('Via', via);
  headers.append('From', request.headers.get('from') ?? '');
  let to = request.headers.get('to') ?? '';
  if (options.toTag && status > 100 && tagOf(to) === undefined) to = `${to};tag=${options.toTag}`;
  headers.append('To', to);
  headers.append('Call-ID', request.headers.get('call-id') ?? '');
  headers.append('CSeq', request.headers.get('cseq') ?? '');
  for (const [name, value] of options.headers ?? []) headers.append(name, value);
  return { type: 'response', status, reason: options.reason ?? REASONS[status] ?? 'Unknown', headers, body: options.body ?? new Uint8Array(0) };
}
