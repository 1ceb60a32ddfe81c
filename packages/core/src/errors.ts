/** Base class of every error Switchboard raises or emits. `code` is stable and machine-readable. */
export class SwitchboardError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A carrier frame that cannot be decoded. The call goes on; the frame is skipped. */
export class ProtocolError extends SwitchboardError {
  /** The provider whose frame failed (`twilio`, ...). */
  readonly provider: string;
  /** A short, redacted excerpt of the frame (no audio payload). */
  readonly frameExcerpt?: string;
  constructor(provider: string, message: string, options?: { cause?: unknown; frame?: unknown; code?: string }) {
    super(options?.code ?? 'protocol_error', `[${provider}] ${message}`, options);
    this.provider = provider;
    if (options?.frame !== undefined) this.frameExcerpt = excerpt(options.frame);
  }
}

/** Invalid options passed by the developer. Thrown synchronously from constructors. */
export class ConfigError extends SwitchboardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('config_error', message, options);
  }
}

/** A carrier REST call (hang-up, transfer) that failed. */
export class CallControlError extends SwitchboardError {
  readonly status?: number;
  readonly providerCode?: number | string;
  constructor(message: string, options?: { cause?: unknown; status?: number; providerCode?: number | string }) {
    super('call_control_error', message, options);
    if (options?.status !== undefined) this.status = options.status;
    if (options?.providerCode !== undefined) this.providerCode = options.providerCode;
  }
}

/** A webhook or WebSocket upgrade whose signature does not verify. */
export class WebhookSignatureError extends SwitchboardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('webhook_signature_invalid', message, options);
  }
}

/** Longest excerpt, in characters (before the closing `…` and the frame's length). */
const MAX_EXCERPT = 160;
/**
 * How much of a frame an excerpt looks at: only this prefix is scanned for audio and cut, so a
 * frame of many megabytes costs no more than a small one.
 */
export const EXCERPT_SCAN_CHARS = 4096;
/** Runs of base64 characters at least this long are audio (or a key) and are elided. */
const BASE64_RUN = 40;
/** How deep an excerpt of a non-string frame (a parsed message) looks into nested values. */
const MAX_DEPTH = 6;

/**
 * A short excerpt of a frame with long base64 runs (audio) elided, safe for logs and errors.
 * Bounded whatever the frame: text is read from its first {@link EXCERPT_SCAN_CHARS} characters
 * only, and any other value is written out only as far as the excerpt reaches. Never throws, for
 * any value (cyclic or deep objects, BigInts, symbols, getters and `toString`s that throw, proxies).
 */
export function excerpt(frame: unknown): string {
  try {
    if (typeof frame === 'string') return textExcerpt(frame);
    const binary = binaryLength(frame);
    if (binary !== undefined) return `<binary ${binary} bytes>`;
    const out = { text: '' };
    writeValue(frame, out, 0, new Set());
    return textExcerpt(out.text);
  } catch {
    return '<unprintable frame>';
  }
}

/**
 * Text that describes `value` (an error, a reason, anything thrown), at most `maxChars` long, for
 * error messages. Never throws: `${value}` does for a symbol, an object whose `toString` throws, or
 * an error whose `message` getter throws. Long base64 runs are elided as in {@link excerpt}.
 */
export function describeError(value: unknown, maxChars = MAX_EXCERPT): string {
  try {
    let text: string;
    if (typeof value === 'string') text = value;
    else if (value instanceof Error) {
      const message: unknown = value.message;
      text = typeof message === 'string' ? message : excerpt(message);
    } else text = eventText(value) ?? excerpt(value);
    return cut(
      elideBase64(
        text.length > EXCERPT_SCAN_CHARS ? text.slice(0, EXCERPT_SCAN_CHARS) : text,
        text.length > EXCERPT_SCAN_CHARS,
      ),
      maxChars,
      text.length,
    );
  } catch {
    return '<unprintable value>';
  }
}

/**
 * What an error event says (a WebSocket's `ErrorEvent`: its fields are getters, which JSON leaves
 * out, so it would print as `{}`): the message of the error it carries, else its own message, else
 * its type. `undefined` for anything else.
 */
function eventText(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { error, message, type } = value as { error?: unknown; message?: unknown; type?: unknown };
  if (error instanceof Error && error.message) return error.message;
  if (typeof message === 'string' && message) return message;
  if (typeof type === 'string' && type && excerpt(value) === '{}') return `${type} event`;
  return undefined;
}

/**
 * A `ProtocolError` for whatever a protocol's `decode` threw: the error itself when it is one,
 * else a new one of `provider` that names it (bounded, see {@link describeError}) and keeps it as
 * its cause. Never throws, whatever was thrown and whatever the frame.
 */
export function toProtocolError(provider: string, error: unknown, frame?: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  const name = typeof provider === 'string' ? provider : describeError(provider, 40);
  return new ProtocolError(
    name,
    `could not decode frame: ${describeError(error)}`,
    frame === undefined ? { cause: error } : { cause: error, frame },
  );
}

function binaryLength(value: unknown): number | undefined {
  if (value instanceof Uint8Array || ArrayBuffer.isView(value)) return (value as ArrayBufferView).byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  return undefined;
}

function textExcerpt(text: string): string {
  const long = text.length > EXCERPT_SCAN_CHARS;
  return cut(elideBase64(long ? text.slice(0, EXCERPT_SCAN_CHARS) : text, long), MAX_EXCERPT, text.length);
}

/** `text` cut to `max` characters; a cut says so, and gives the whole length when it is known. */
function cut(text: string, max: number, total: number): string {
  if (text.length <= max && total <= EXCERPT_SCAN_CHARS) return text;
  const head = text.length > max ? text.slice(0, max) : text;
  return `${head}… (${total} chars)`;
}

function isBase64Char(code: number): boolean {
  return (
    (code >= 65 && code <= 90) || // A-Z
    (code >= 97 && code <= 122) || // a-z
    (code >= 48 && code <= 57) || // 0-9
    code === 43 || // +
    code === 47 || // /
    code === 61 // =
  );
}

/**
 * Replaces every run of {@link BASE64_RUN} or more base64 characters by `<N chars>`. One pass, no
 * regular expression. `open`: the text is a prefix of something longer, so a run at its end
 * may go on (`<N+ chars>`).
 */
function elideBase64(text: string, open: boolean): string {
  let out = '';
  let from = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (!isBase64Char(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isBase64Char(text.charCodeAt(j))) j++;
    if (j - i >= BASE64_RUN) {
      out += `${text.slice(from, i)}<${j - i}${open && j === n ? '+' : ''} chars>`;
      from = j;
    }
    i = j;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Writes a JSON-like rendering of `value` into `out`, stopping once the scan budget is spent. */
function writeValue(value: unknown, out: { text: string }, depth: number, seen: Set<object>): void {
  if (out.text.length > EXCERPT_SCAN_CHARS) return;
  switch (typeof value) {
    case 'string':
      out.text += JSON.stringify(value.length > EXCERPT_SCAN_CHARS ? value.slice(0, EXCERPT_SCAN_CHARS) : value);
      return;
    case 'number':
    case 'boolean':
      out.text += String(value);
      return;
    case 'bigint':
      out.text += `${value.toString()}n`;
      return;
    case 'undefined':
      out.text += 'undefined';
      return;
    case 'symbol':
      out.text += '<symbol>';
      return;
    case 'function':
      out.text += '<function>';
      return;
  }
  if (value === null) {
    out.text += 'null';
    return;
  }
  const object = value as object;
  const binary = binaryLength(object);
  if (binary !== undefined) {
    out.text += `<binary ${binary} bytes>`;
    return;
  }
  if (seen.has(object)) {
    out.text += '<cycle>';
    return;
  }
  if (depth >= MAX_DEPTH) {
    out.text += Array.isArray(object) ? '[…]' : '{…}';
    return;
  }
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      out.text += '[';
      const length = object.length;
      for (let i = 0; i < length && out.text.length <= EXCERPT_SCAN_CHARS; i++) {
        if (i > 0) out.text += ',';
        writeMember(() => (object as unknown[])[i], out, depth, seen);
      }
      out.text += ']';
      return;
    }
    out.text += '{';
    let first = true;
    for (const key in object) {
      if (out.text.length > EXCERPT_SCAN_CHARS) break;
      if (!Object.prototype.hasOwnProperty.call(object, key)) continue;
      if (!first) out.text += ',';
      first = false;
      out.text += `${JSON.stringify(key.length > 100 ? key.slice(0, 100) : key)}:`;
      writeMember(() => (object as Record<string, unknown>)[key], out, depth, seen);
    }
    out.text += '}';
  } finally {
    seen.delete(object);
  }
}

/** One member of an object or array: a getter or proxy trap that throws is written as `<unreadable>`. */
function writeMember(read: () => unknown, out: { text: string }, depth: number, seen: Set<object>): void {
  let member: unknown;
  try {
    member = read();
  } catch {
    out.text += '<unreadable>';
    return;
  }
  writeValue(member, out, depth + 1, seen);
}
