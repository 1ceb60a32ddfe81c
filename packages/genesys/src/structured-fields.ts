/**
 * The part of HTTP Structured Field Values (RFC 8941) that HTTP Message Signatures (RFC 9421)
 * headers use: a dictionary whose members are items or inner lists, with parameters, and the
 * serialization of an inner list (the `@signature-params` line of a signature base). Strict: any
 * text that is not a well-formed dictionary makes {@link parseDictionary} return undefined.
 */

export type BareItem = string | number | boolean | Uint8Array | { token: string };
export type Parameters = Array<[string, BareItem]>;
export type Item = { value: BareItem; params: Parameters };
export type InnerList = { items: Item[]; params: Parameters };
export type Member = Item | InnerList;

export function isInnerList(member: Member): member is InnerList {
  return 'items' in member;
}

class Parser {
  #i = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.#i >= this.text.length;
  }
  peek(): string {
    return this.text[this.#i] ?? '';
  }
  take(): string {
    return this.text[this.#i++] ?? '';
  }
  skip(chars: string): void {
    while (!this.done && chars.includes(this.peek())) this.#i++;
  }
  match(re: RegExp): string | undefined {
    re.lastIndex = this.#i;
    const m = re.exec(this.text);
    if (!m || m.index !== this.#i) return undefined;
    this.#i += m[0].length;
    return m[0];
  }
}

const KEY = /[a-z*][a-z0-9_\-.*]*/y;
const TOKEN = /[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/y;
const INTEGER = /-?\d{1,15}(?!\.)/y;
const BASE64 = /[A-Za-z0-9+/=]*/y;

function key(p: Parser): string | undefined {
  return p.match(KEY);
}

function bareItem(p: Parser): BareItem | undefined {
  const c = p.peek();
  if (c === '"') {
    p.take();
    let out = '';
    for (;;) {
      if (p.done) return undefined;
      const ch = p.take();
      if (ch === '"') return out;
      if (ch === '\\') {
        const next = p.take();
        if (next !== '"' && next !== '\\') return undefined;
        out += next;
      } else if (ch < ' ' || ch > '~') return undefined;
      else out += ch;
    }
  }
  if (c === ':') {
    p.take();
    const b64 = p.match(BASE64) ?? '';
    if (p.take() !== ':') return undefined;
    try {
      const binary = atob(b64);
      return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    } catch {
      return undefined;
    }
  }
  if (c === '?') {
    p.take();
    const b = p.take();
    return b === '1' ? true : b === '0' ? false : undefined;
  }
  if (c === '-' || (c >= '0' && c <= '9')) {
    const n = p.match(INTEGER);
    return n === undefined ? undefined : Number(n);
  }
  const token = p.match(TOKEN);
  return token === undefined ? undefined : { token };
}

function parameters(p: Parser): Parameters | undefined {
  const params: Parameters = [];
  while (p.peek() === ';') {
    p.take();
    p.skip(' ');
    const k = key(p);
    if (k === undefined) return undefined;
    let value: BareItem = true;
    if (p.peek() === '=') {
      p.take();
      const v = bareItem(p);
      if (v === undefined) return undefined;
      value = v;
    }
    params.push([k, value]);
  }
  return params;
}

function item(p: Parser): Item | undefined {
  const value = bareItem(p);
  if (value === undefined) return undefined;
  const params = parameters(p);
  return params === undefined ? undefined : { value, params };
}

function innerList(p: Parser): InnerList | undefined {
  p.take(); // '('
  const items: Item[] = [];
  for (;;) {
    p.skip(' ');
    if (p.peek() === ')') {
      p.take();
      const params = parameters(p);
      return params === undefined ? undefined : { items, params };
    }
    const it = item(p);
    if (it === undefined) return undefined;
    items.push(it);
    const next = p.peek();
    if (next !== ' ' && next !== ')') return undefined;
  }
}

/** Parses a dictionary field value; undefined when it is not one. Later members of one key win. */
export function parseDictionary(text: string): Map<string, Member> | undefined {
  if (text.length > 16_384) return undefined;
  const p = new Parser(text.trim());
  const out = new Map<string, Member>();
  if (p.done) return out;
  for (;;) {
    const k = key(p);
    if (k === undefined) return undefined;
    let member: Member | undefined;
    if (p.peek() === '=') {
      p.take();
      member = p.peek() === '(' ? innerList(p) : item(p);
    } else {
      const params = parameters(p);
      member = params === undefined ? undefined : { value: true, params };
    }
    if (member === undefined) return undefined;
    out.set(k, member);
    p.skip(' \t');
    if (p.done) return out;
    if (p.take() !== ',') return undefined;
    p.skip(' \t');
    if (p.done) return undefined;
  }
}

function serializeBare(value: BareItem): string {
  if (typeof value === 'string') return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? '?1' : '?0';
  if (value instanceof Uint8Array) return `:${btoa(String.fromCharCode(...value))}:`;
  return value.token;
}

function serializeParams(params: Parameters): string {
  return params.map(([k, v]) => (v === true ? `;${k}` : `;${k}=${serializeBare(v)}`)).join('');
}

/** An item as RFC 8941 writes it. */
export function serializeItem(it: Item): string {
  return serializeBare(it.value) + serializeParams(it.params);
}

/** An inner list as RFC 8941 writes it (the `@signature-params` value). */
export function serializeInnerList(list: InnerList): string {
  return `(${list.items.map(serializeItem).join(' ')})${serializeParams(list.params)}`;
}
