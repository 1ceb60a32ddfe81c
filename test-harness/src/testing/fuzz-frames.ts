/**
 * The frames of a fuzz run: a seeded random source, a carrier's valid frames prepared for
 * mutation (a corpus), and the mutators: structure-aware JSON edits (dropped, duplicated and
 * retyped fields, edge-case numbers and numeric strings, bad base64, prototype keys, deep nesting,
 * fields of other frames), text and byte edits (tokens, lines, invalid UTF-8, RTP-style header
 * fields), frames from scratch, frames of several megabytes, and sequences in and out of order.
 */
import type { MediaFrame } from '@switchboard/core';

// ---------------------------------------------------------------------------------------------
// Random numbers

/** A seeded source of random numbers: the same seed gives the same sequence. */
export interface FuzzRandom {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One of `items` (which must not be empty). */
  pick<T>(items: readonly T[]): T;
}

class Mulberry implements FuzzRandom {
  #state: number;
  constructor(seed: number) {
    this.#state = seed | 0;
  }
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** A seeded random source (a 32-bit seed). */
export function fuzzRandom(seed: number): FuzzRandom {
  return new Mulberry(seed);
}

/**
 * The seed after `seed` in a fuzz run: a run's sequences use `seed`, `nextFuzzSeed(seed)`, and so
 * on, so a failing sequence's seed, given as the run's seed, replays that sequence first.
 */
export function nextFuzzSeed(seed: number): number {
  let h = (seed + 0x9e3779b9) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A random 32-bit seed, for a run that names none. */
export function randomFuzzSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}

// ---------------------------------------------------------------------------------------------
// Corpus

/** JSON as the mutators see it: objects keep duplicate keys and key order, leaves are raw JSON text. */
type Node = { k: 'o'; e: Array<[string, Node]> } | { k: 'a'; v: Node[] } | { k: 'r'; s: string };

export type FuzzCorpusOptions = {
  /** Largest frame generated, in bytes (binary) or characters (text). Default 8 MiB. */
  maxBytes?: number;
  /** Share of frames that are huge (64 KiB up to `maxBytes`). Default 1 in 5000. */
  hugeRate?: number;
};

/** A carrier's valid frames, prepared for mutation (parsed once). */
export interface FuzzCorpus {
  readonly seeds: readonly MediaFrame[];
  readonly maxBytes: number;
  readonly hugeRate: number;
  /** @internal */ readonly texts: readonly string[];
  /** @internal */ readonly binaries: readonly Uint8Array[];
  /** @internal */ readonly trees: readonly Node[];
  /** @internal */ readonly strings: readonly string[];
  /** @internal */ readonly keys: readonly string[];
  /** @internal */ readonly tokens: readonly string[];
}

/** Frames of other carriers and junk, always part of a corpus: a socket may carry anything. */
const FOREIGN_FRAMES: readonly string[] = [
  '{"event":"connected","protocol":"Call","version":"1.0.0"}',
  '{"event":"websocket:connected","content-type":"audio/l16;rate=16000"}',
  'MEDIA_START connection_id:abc channel:PJSIP/1 format:ulaw optimal_frame_size:160',
  '{"type":"start","streamId":"s","format":{"encoding":"l16","sampleRate":16000}}',
  '{"callSid":"c","sampleRate":8000,"mixType":"mono"}',
  '{"event":"start","stream_id":"s","start":{"media_format":{"encoding":"PCMU","sample_rate":8000,"channels":1}}}',
  'OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:b@x>;tag=1\r\nTo: <sip:a@x>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
];

function toNode(value: unknown): Node {
  if (Array.isArray(value)) return { k: 'a', v: value.map(toNode) };
  if (typeof value === 'object' && value !== null)
    return { k: 'o', e: Object.entries(value).map(([key, v]): [string, Node] => [key, toNode(v)]) };
  return { k: 'r', s: JSON.stringify(value) ?? 'null' };
}

function cloneNode(node: Node): Node {
  if (node.k === 'r') return node;
  if (node.k === 'a') return { k: 'a', v: node.v.map(cloneNode) };
  return { k: 'o', e: node.e.map(([key, v]): [string, Node] => [key, cloneNode(v)]) };
}

function writeNode(node: Node): string {
  if (node.k === 'r') return node.s;
  if (node.k === 'a') return `[${node.v.map(writeNode).join(',')}]`;
  return `{${node.e.map(([key, v]) => `${JSON.stringify(key)}:${writeNode(v)}`).join(',')}}`;
}

function collect(node: Node, strings: Set<string>, keys: Set<string>): void {
  if (node.k === 'r') {
    if (node.s.startsWith('"') && node.s.length < 200) strings.add(JSON.parse(node.s) as string);
    return;
  }
  if (node.k === 'a') for (const v of node.v) collect(v, strings, keys);
  else
    for (const [key, v] of node.e) {
      keys.add(key);
      collect(v, strings, keys);
    }
}

/** Prepares a carrier's valid frames for {@link fuzzFrame}. */
export function fuzzCorpus(seeds: readonly MediaFrame[], options: FuzzCorpusOptions = {}): FuzzCorpus {
  const texts: string[] = [];
  const binaries: Uint8Array[] = [];
  const trees: Node[] = [];
  const strings = new Set<string>(['', 'start', 'media', 'stop', 'mark', 'dtmf', 'clear', 'connected']);
  const keys = new Set<string>(['event', 'type', 'start', 'media', 'payload']);
  const tokens = new Set<string>();
  for (const seed of [...seeds, ...FOREIGN_FRAMES]) {
    if (typeof seed !== 'string') {
      binaries.push(seed);
      continue;
    }
    texts.push(seed);
    let parsed: unknown;
    try {
      parsed = JSON.parse(seed);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed === 'object' && parsed !== null) {
      const tree = toNode(parsed);
      trees.push(tree);
      collect(tree, strings, keys);
    }
    for (const token of seed.split(/[\s:;=,<>"@/{}[\]]+/)) if (token.length > 0 && token.length < 60) tokens.add(token);
  }
  if (binaries.length === 0) binaries.push(Uint8Array.of(0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 1, 2, 3, 4, 0xff, 0xfe));
  return {
    seeds: [...seeds],
    maxBytes: options.maxBytes ?? 8 * 1024 * 1024,
    hugeRate: options.hugeRate ?? 1 / 5000,
    texts,
    binaries,
    trees,
    strings: [...strings],
    keys: [...keys],
    tokens: [...tokens],
  };
}

// ---------------------------------------------------------------------------------------------
// Values

const INTERESTING_NUMBERS = [
  '0',
  '-0',
  '1',
  '-1',
  '2',
  '7',
  '8000',
  '16000',
  '24000',
  '48000',
  '44100',
  '65535',
  '65536',
  '-65536',
  '2147483647',
  '2147483648',
  '-2147483649',
  '4294967295',
  '4294967296',
  '9007199254740991',
  '9007199254740993',
  '-9007199254740993',
  '1.5',
  '0.1',
  '-0.5',
  '1e3',
  '1e21',
  '1e308',
  '-1e308',
  '1e999',
  '-1e999',
  '5e-324',
  '1e-400',
  '123456789012345678901234567890',
];
const NUMBER_STRINGS = [
  'NaN',
  'nan',
  'Infinity',
  '-Infinity',
  '+Infinity',
  '-1',
  '-0',
  '+1',
  '1e3',
  '1E400',
  '0x1F',
  '0b11',
  '0o7',
  ' 8000',
  '8000 ',
  '8000.0',
  '8000.5',
  '',
  ' ',
  '08000',
  '8_000',
  '８０００',
  '٨٠٠٠',
  '99999999999999999999',
  '9007199254740993',
  '-9007199254740993',
  '1,000',
  '8kHz',
  '16 khz',
  '16',
  '128kbps',
  'null',
  'undefined',
  'true',
];
const BAD_BASE64 = [
  '',
  '=',
  '==',
  '====',
  'A',
  'AA',
  'AAA',
  'A===',
  'AAAA====',
  'AA=A',
  '=AAA',
  'AAAA AAAA',
  'AAAA\nAAAA',
  ' AAAA',
  'AAAA ',
  '-_-_',
  'AA-_',
  '!!!!',
  '****',
  'AAAAAAA=',
  'AAAAAA==',
  'AB==',
  'ABC=',
  '\u00c0AAA',
  'AA\u0000A',
  'QUJD',
  'QUI=',
  'QQ==',
  '////',
  '++++',
];
const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'then',
  'toJSON',
];
const ODD_STRINGS = [
  '\ud800',
  '\udfff',
  '\ufffd',
  '\u0000',
  '\u202e',
  '\ufeff',
  '😀',
  'é',
  '\r\n',
  '\t',
  ' ',
  '"',
  '\\',
  '<',
  '>',
  ';',
  ':',
  '=',
  ',',
  '%00',
  '%',
  '\u2028',
];

function jsonString(text: string): Node {
  return { k: 'r', s: JSON.stringify(text) };
}

function randomChar(random: FuzzRandom): string {
  const roll = random.int(10);
  if (roll < 6) return String.fromCharCode(32 + random.int(95));
  if (roll < 8) return random.pick(ODD_STRINGS);
  return String.fromCharCode(random.int(0x10000));
}

function randomString(random: FuzzRandom, corpus: FuzzCorpus): string {
  switch (random.int(8)) {
    case 0:
      return '';
    case 1:
      return random.pick(corpus.strings);
    case 2:
      return random.pick(NUMBER_STRINGS);
    case 3:
      return random.pick(BAD_BASE64);
    case 4: {
      const length = random.chance(0.98) ? random.int(40) : random.int(70_000);
      let out = '';
      if (length > 64) return randomChar(random).repeat(length);
      for (let i = 0; i < length; i++) out += randomChar(random);
      return out;
    }
    case 5:
      return random.pick(ODD_STRINGS).repeat(1 + random.int(4));
    case 6:
      return editString(random, random.pick(corpus.strings));
    default:
      return random.pick(corpus.tokens.length > 0 ? corpus.tokens : corpus.strings);
  }
}

function randomValue(random: FuzzRandom, corpus: FuzzCorpus, depth = 0): Node {
  switch (random.int(depth > 2 ? 6 : 9)) {
    case 0:
      return { k: 'r', s: 'null' };
    case 1:
      return { k: 'r', s: random.chance(0.5) ? 'true' : 'false' };
    case 2:
      return { k: 'r', s: random.pick(INTERESTING_NUMBERS) };
    case 3:
      return { k: 'r', s: String(random.int(100_000) - 1000) };
    case 4:
    case 5:
      return jsonString(randomString(random, corpus));
    case 6:
      return { k: 'a', v: Array.from({ length: random.int(4) }, () => randomValue(random, corpus, depth + 1)) };
    case 7:
      return cloneNode(random.pick(corpus.trees.length > 0 ? corpus.trees : [{ k: 'o', e: [] } as Node]));
    default:
      return {
        k: 'o',
        e: Array.from({ length: random.int(4) }, (): [string, Node] => [
          random.chance(0.8) ? random.pick(corpus.keys) : randomString(random, corpus),
          randomValue(random, corpus, depth + 1),
        ]),
      };
  }
}

/** Nested arrays or objects `depth` deep around a small value, as JSON text. */
function nestedText(random: FuzzRandom, depth: number): string {
  if (random.chance(0.5)) return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

function editString(random: FuzzRandom, text: string): string {
  const at = random.int(text.length + 1);
  switch (random.int(9)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(at);
    case 2:
      return text.slice(0, at) + randomChar(random) + text.slice(at);
    case 3:
      return text.slice(0, at) + random.pick(ODD_STRINGS) + text.slice(at + 1);
    case 4:
      return text.toUpperCase();
    case 5:
      return ` ${text} `;
    case 6:
      return text.repeat(2 + random.int(3));
    case 7:
      return text.slice(0, at) + random.pick(NUMBER_STRINGS) + text.slice(at);
    default:
      return text.length > 0
        ? text.slice(0, at) +
            String.fromCharCode(text.charCodeAt(Math.min(at, text.length - 1)) ^ (1 << random.int(7))) +
            text.slice(at + 1)
        : randomChar(random);
  }
}

// ---------------------------------------------------------------------------------------------
// Structure-aware JSON mutations

type Slot = { get(): Node; set(node: Node): void; key: string | undefined };

function slotsOf(root: { node: Node }): { slots: Slot[]; objects: Array<Extract<Node, { k: 'o' }>> } {
  const slots: Slot[] = [{ get: () => root.node, set: (n) => (root.node = n), key: undefined }];
  const objects: Array<Extract<Node, { k: 'o' }>> = [];
  const visit = (node: Node): void => {
    if (node.k === 'o') {
      objects.push(node);
      for (const entry of node.e) {
        slots.push({ get: () => entry[1], set: (n) => (entry[1] = n), key: entry[0] });
        visit(entry[1]);
      }
    } else if (node.k === 'a') {
      node.v.forEach((item, i) => {
        slots.push({ get: () => node.v[i]!, set: (n) => (node.v[i] = n), key: undefined });
        visit(item);
      });
    }
  };
  visit(root.node);
  return { slots, objects };
}

function mutateTree(random: FuzzRandom, corpus: FuzzCorpus, root: { node: Node }): void {
  const { slots, objects } = slotsOf(root);
  const slot = random.pick(slots);
  const object = objects.length > 0 ? random.pick(objects) : undefined;
  switch (random.int(15)) {
    case 0: // drop a field
      if (object && object.e.length > 0) object.e.splice(random.int(object.e.length), 1);
      return;
    case 1: {
      // the same key twice (JSON.parse keeps the last)
      if (!object || object.e.length === 0) return;
      const [key, value] = random.pick(object.e);
      object.e.splice(random.int(object.e.length + 1), 0, [
        key,
        random.chance(0.5) ? randomValue(random, corpus) : cloneNode(value),
      ]);
      return;
    }
    case 2: // another type
    case 3:
      slot.set(randomValue(random, corpus));
      return;
    case 4:
      slot.set({ k: 'r', s: random.pick(INTERESTING_NUMBERS) });
      return;
    case 5:
      slot.set(jsonString(random.pick(NUMBER_STRINGS)));
      return;
    case 6: {
      // bad base64, preferably where the audio is
      const payload = slots.filter((s) => s.key === 'payload');
      (payload.length > 0 && random.chance(0.8) ? random.pick(payload) : slot).set(
        jsonString(random.pick(BAD_BASE64) + (random.chance(0.3) ? 'AAAA'.repeat(random.int(50)) : '')),
      );
      return;
    }
    case 7: {
      // prototype keys
      const target = object ?? { k: 'o' as const, e: [] };
      const value = random.chance(0.5)
        ? cloneNode(random.pick(corpus.trees.length > 0 ? corpus.trees : [target as Node]))
        : randomValue(random, corpus);
      target.e.splice(random.int(target.e.length + 1), 0, [random.pick(PROTO_KEYS), value]);
      if (!object) slot.set(target);
      return;
    }
    case 8:
      // Mostly shallow; now and then deep enough to overflow a recursive reader.
      slot.set({
        k: 'r',
        s: nestedText(random, random.chance(0.05) ? random.pick([5000, 20_000]) : random.pick([2, 10, 100, 1000])),
      });
      return;
    case 9:
      slot.set(jsonString(random.pick(corpus.strings)));
      return;
    case 10: {
      // a known key on another field, or a field moved under another known key
      if (!object || object.e.length === 0) return;
      const entry = random.pick(object.e);
      entry[0] = random.chance(0.8) ? random.pick(corpus.keys) : randomString(random, corpus);
      return;
    }
    case 11: {
      // a subtree of another frame
      if (corpus.trees.length === 0) return;
      const other = slotsOf({ node: cloneNode(random.pick(corpus.trees)) }).slots;
      slot.set(random.pick(other).get());
      return;
    }
    case 12: {
      const current = slot.get();
      if (current.k === 'r' && current.s.startsWith('"'))
        slot.set(jsonString(editString(random, JSON.parse(current.s) as string)));
      else slot.set(jsonString(randomString(random, corpus)));
      return;
    }
    case 13:
      if (object)
        object.e.splice(random.int(object.e.length + 1), 0, [random.pick(corpus.keys), randomValue(random, corpus)]);
      return;
    default: {
      const current = slot.get();
      const roll = random.int(4);
      if (roll === 0) slot.set({ k: 'a', v: [current] });
      else if (roll === 1) slot.set({ k: 'o', e: [[random.pick(corpus.keys), current]] });
      else slot.set(roll === 2 ? { k: 'o', e: [] } : { k: 'a', v: [] });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Text and binary mutations

function mutateText(random: FuzzRandom, corpus: FuzzCorpus, text: string): string {
  const at = random.int(text.length + 1);
  const to = Math.min(text.length, at + random.int(32));
  switch (random.int(14)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + text.slice(to);
    case 2:
      return text.slice(0, at) + randomString(random, corpus) + text.slice(at);
    case 3:
      return text.slice(0, at) + text.slice(at, to).repeat(2 + random.int(8)) + text.slice(to);
    case 4:
      return text.slice(0, at) + randomChar(random) + text.slice(at + 1);
    case 5: {
      // one token for another
      let start = at;
      while (start > 0 && /\w/.test(text[start - 1]!)) start--;
      let end = at;
      while (end < text.length && /\w/.test(text[end]!)) end++;
      const replacement =
        random.chance(0.6) && corpus.tokens.length > 0
          ? random.pick(corpus.tokens)
          : random.chance(0.5)
            ? random.pick(INTERESTING_NUMBERS)
            : random.pick(NUMBER_STRINGS);
      return text.slice(0, start) + replacement + text.slice(end);
    }
    case 6: {
      const lines = text.split('\n');
      const i = random.int(lines.length);
      const roll = random.int(5);
      if (roll === 0) lines.splice(i, 1);
      else if (roll === 1)
        lines.splice(
          i,
          0,
          ...Array.from(
            { length: 1 + random.int(text.length < 4096 && random.chance(0.02) ? 2000 : 5) },
            () => lines[i]!,
          ),
        );
      else if (roll === 2) lines.splice(i, 0, randomString(random, corpus));
      else if (roll === 3) lines[i] = ` ${lines[i]}`;
      else lines.splice(random.int(lines.length), 0, ...lines.splice(i, 1));
      return lines.join('\n');
    }
    case 7:
      return text.replace(/\r\n/g, random.pick(['\n', '\r', '\n\r', '\r\n\r\n']));
    case 8:
      return random.pick(['\ufeff', ' ', '\r\n', '\n\n', '\t', '\u0000']) + text;
    case 9:
      return text + random.pick(['}', ']', ',', '\u0000', '\r\n\r\n', 'garbage', '"', '{']);
    case 10:
      return text.slice(0, at) + text.slice(at, to).toUpperCase() + text.slice(to);
    case 11:
      return text.slice(0, at) + random.pick(ODD_STRINGS) + text.slice(at);
    case 12: {
      const other = random.pick(corpus.texts);
      return text.slice(0, at) + other.slice(random.int(other.length + 1));
    }
    default:
      return text.slice(at) + text.slice(0, at);
  }
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x20, 0x0a, 0x0d, 0x40, 0xbf, 0xc0];
const INTERESTING_WORDS = [0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe];
const BAD_UTF8 = [
  [0xc0, 0x80],
  [0xff],
  [0xfe],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0x80],
  [0xc3],
];

function mutateBytes(random: FuzzRandom, corpus: FuzzCorpus, input: Uint8Array): Uint8Array {
  let bytes = input.slice();
  const rounds = 1 + random.int(3);
  for (let r = 0; r < rounds; r++) {
    const n = bytes.length;
    const at = random.int(n + 1);
    switch (random.int(9)) {
      case 0:
        if (n > 0) bytes[Math.min(at, n - 1)]! ^= 1 << random.int(8);
        break;
      case 1:
        if (n > 0) bytes[Math.min(at, n - 1)] = random.pick(INTERESTING_BYTES);
        break;
      case 2: {
        // a 16- or 32-bit field (big-endian, as RTP's) set to an edge value
        const word = random.pick(INTERESTING_WORDS);
        const wide = random.chance(0.5);
        const offset = Math.min(at, Math.max(0, n - (wide ? 4 : 2)));
        if (n >= (wide ? 4 : 2)) {
          const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          if (wide) view.setUint32(offset, word >>> 0);
          else view.setUint16(offset, word & 0xffff);
        }
        break;
      }
      case 3:
        bytes = bytes.slice(0, at);
        break;
      case 4: {
        const extra = Uint8Array.from({ length: random.int(random.chance(0.9) ? 64 : 4000) }, () => random.int(256));
        const out = new Uint8Array(n + extra.length);
        out.set(bytes.subarray(0, at));
        out.set(extra, at);
        out.set(bytes.subarray(at), at + extra.length);
        bytes = out;
        break;
      }
      case 5: {
        const other = random.pick(corpus.binaries);
        const cut = random.int(other.length + 1);
        const out = new Uint8Array(at + other.length - cut);
        out.set(bytes.subarray(0, at));
        out.set(other.subarray(cut), at);
        bytes = out;
        break;
      }
      case 6: {
        const bad = random.pick(BAD_UTF8);
        const out = new Uint8Array(n + bad.length);
        out.set(bytes.subarray(0, at));
        out.set(bad, at);
        out.set(bytes.subarray(at), at + bad.length);
        bytes = out;
        break;
      }
      case 7:
        // the first byte's flag bits (RTP: version, padding, extension, CSRC count)
        if (n > 0) bytes[0] = (bytes[0]! & 0xc0) | random.int(64);
        break;
      default:
        if (n > 0) bytes[n - 1] = random.pick(INTERESTING_BYTES);
    }
  }
  return bytes;
}

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Frames

/** Log-uniform size between 64 KiB and `max`. */
function hugeSize(random: FuzzRandom, max: number): number {
  const min = Math.min(64 * 1024, max);
  return Math.floor(min * Math.pow(max / min, random.next()));
}

function hugeFrame(random: FuzzRandom, corpus: FuzzCorpus): MediaFrame {
  const size = hugeSize(random, corpus.maxBytes);
  switch (random.int(9)) {
    case 0: {
      // a valid frame whose audio (or any string) is huge
      if (corpus.trees.length === 0) return 'A'.repeat(size);
      const root = { node: cloneNode(random.pick(corpus.trees)) };
      const { slots } = slotsOf(root);
      const strings = slots.filter((s) => {
        const node = s.get();
        return s.key === 'payload' || (node.k === 'r' && node.s.startsWith('"'));
      });
      const text = random.chance(0.7)
        ? 'A'.repeat(size - (random.chance(0.5) ? 1 : 0))
        : random.pick(['x', ' ', '\u00e9', '/']).repeat(size);
      (strings.length > 0 ? random.pick(strings) : random.pick(slots)).set(jsonString(text));
      return writeNode(root.node);
    }
    case 1:
      return random.pick(['x', 'A', ' ', '{', '[', '1', '\u00e9', '"']).repeat(size);
    case 2:
      return `{"event":"media","media":{"payload":"${'A'.repeat(size)}`;
    case 3:
      return ' '.repeat(size) + random.pick(corpus.texts);
    case 4:
      return nestedText(random, Math.floor(size / 6));
    case 5: {
      const bytes = new Uint8Array(size);
      const seed = random.pick(corpus.binaries);
      bytes.set(seed.subarray(0, Math.min(seed.length, size)));
      return bytes;
    }
    case 6: {
      const parts: string[] = [];
      for (let i = 0, length = 2; length < size; i++) {
        const part = `"k${i}":${i}`;
        parts.push(part);
        length += part.length + 1;
      }
      return `{"event":"start",${parts.join(',')}}`;
    }
    case 7: {
      const text = random.pick(corpus.texts);
      const lines = text.split('\n');
      const line = lines[random.int(lines.length)] ?? text;
      return lines
        .slice(0, 1)
        .concat(Array.from({ length: Math.max(1, Math.floor(size / (line.length + 1))) }, () => line))
        .join('\n');
    }
    default: {
      // a number with a huge number of digits, where a counter stands
      if (corpus.trees.length === 0) return '9'.repeat(size);
      const root = { node: cloneNode(random.pick(corpus.trees)) };
      random.pick(slotsOf(root).slots).set({ k: 'r', s: (random.chance(0.5) ? '-' : '') + '9'.repeat(size) });
      return writeNode(root.node);
    }
  }
}

/**
 * One fuzzed frame: a valid frame of the corpus mutated (JSON structure-aware where it parses,
 * text or bytes otherwise), a frame from scratch, or, rarely, a frame of many megabytes.
 */
export function fuzzFrame(random: FuzzRandom, corpus: FuzzCorpus): MediaFrame {
  if (random.chance(corpus.hugeRate)) return hugeFrame(random, corpus);
  const roll = random.int(100);
  if (roll < 45 && corpus.trees.length > 0) {
    const root = { node: cloneNode(random.pick(corpus.trees)) };
    const rounds = 1 + random.int(random.chance(0.2) ? 6 : 2);
    for (let i = 0; i < rounds; i++) mutateTree(random, corpus, root);
    const text = writeNode(root.node);
    return random.chance(0.1) ? mutateText(random, corpus, text) : text;
  }
  if (roll < 65) {
    let text = random.pick(corpus.texts);
    const rounds = 1 + random.int(3);
    for (let i = 0; i < rounds && text.length <= corpus.maxBytes; i++) text = mutateText(random, corpus, text);
    return text.length > corpus.maxBytes ? text.slice(0, corpus.maxBytes) : text;
  }
  if (roll < 80) return mutateBytes(random, corpus, random.pick(corpus.binaries));
  if (roll < 85) return mutateBytes(random, corpus, encoder.encode(random.pick(corpus.texts)));
  if (roll < 90) return Uint8Array.from({ length: random.int(random.chance(0.8) ? 200 : 3000) }, () => random.int(256));
  if (roll < 95) return randomString(random, corpus);
  return writeNode(randomValue(random, corpus));
}

/**
 * A sequence of frames for one fresh decoder: valid frames in call order with some mutated,
 * dropped, repeated or swapped; or valid and fuzzed frames mixed in any order (media before
 * start, two starts, stop then media, ...).
 */
export function fuzzSequence(random: FuzzRandom, corpus: FuzzCorpus, maxLength = 24): MediaFrame[] {
  const seeds = corpus.seeds.length > 0 ? corpus.seeds : corpus.texts;
  const frames: MediaFrame[] = [];
  if (random.chance(0.35)) {
    for (const seed of seeds) {
      if (frames.length >= maxLength) break;
      const roll = random.next();
      if (roll < 0.1) continue;
      if (roll < 0.3) frames.push(fuzzFrame(random, corpus));
      else frames.push(seed);
      if (roll > 0.95) frames.push(seed);
      if (roll > 0.9 && roll <= 0.95 && frames.length > 1) frames.push(frames.splice(frames.length - 2, 1)[0]!);
    }
    return frames;
  }
  const length = 1 + random.int(maxLength);
  for (let i = 0; i < length; i++) frames.push(random.chance(0.4) ? random.pick(seeds) : fuzzFrame(random, corpus));
  return frames;
}
