/**
 * SIP messages (RFC 3261 §7, §20, §25): a tolerant but strict-where-it-matters parser, a
 * serializer, and readers for the header fields the endpoint relies on (Via, From/To, CSeq,
 * name-addr, SIP URIs). Pure: no Node APIs, so the media protocol can use it anywhere.
 */
import { TOKEN, parseCSeq, parseNameAddr, parseVia, splitList, tagOf } from './fields.js';

export * from './fields.js';

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
    for (let i = this.#list.length - 1; i >= 0; i--)
      if (canonicalName(this.#list[i]![0]) === key) this.#list.splice(i, 1);
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
    if (!parseNameAddr(value!))
      fail(`malformed ${name === 'from' ? 'From' : 'To'} ${JSON.stringify(excerptOf(value!))}`);
  }
  const callId = headers.get('call-id');
  if (callId === undefined || !/^[^\s]+$/.test(callId)) fail('missing or malformed Call-ID');
  const cseq = parseCSeq(headers.get('cseq'));
  if (!cseq) fail('missing or malformed CSeq');
  if (cseq!.method !== method) fail(`CSeq method ${cseq!.method} does not match the request method ${method}`);
  const maxForwards = headers.get('max-forwards');
  if (maxForwards !== undefined && !(/^\d{1,3}$/.test(maxForwards) && Number(maxForwards) <= 255))
    fail('malformed Max-Forwards');

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
  if (headers.list('via').length === 0 || !parseCSeq(headers.get('cseq')) || !headers.has('call-id'))
    fail('response without Via, CSeq or Call-ID');
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
  const startLine =
    message.type === 'request'
      ? `${message.method} ${message.uri} SIP/2.0`
      : `SIP/2.0 ${message.status} ${message.reason}`;
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

/**
 * The message in a few words, for logs: the method and the Request-URI without its user part (a
 * phone number as often as not), or the status and reason. No header and no body.
 */
export function describeSipMessage(message: SipMessage): string {
  return message.type === 'request'
    ? `${message.method} ${withoutUserPart(message.uri)}`
    : `${message.status} ${message.reason}`;
}

/** A URI with its user part replaced by `…`: `sip:…@host;transport=tcp`; a `tel:` URI is all user part. */
export function withoutUserPart(uri: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  if (!scheme) return '…';
  if (scheme[1]!.toLowerCase() === 'tel') return 'tel:…';
  const at = uri.indexOf('@');
  return at < 0 ? uri : `${scheme[0]}…${uri.slice(at)}`;
}

/**
 * A parse error's message for logs: the peer's text it quotes (a malformed From, To or
 * Request-URI can hold a phone number) replaced by `"…"`.
 */
export function describeSipParseError(error: Error): string {
  return error.message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"');
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
  return {
    type: 'response',
    status,
    reason: options.reason ?? REASONS[status] ?? 'Unknown',
    headers,
    body: options.body ?? new Uint8Array(0),
  };
}
