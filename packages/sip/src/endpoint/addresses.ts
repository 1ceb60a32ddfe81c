import { isIP } from 'node:net';

/** One allowed source: an address, or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`). */
type Range = { family: 4 | 6; bits: bigint; prefix: number };

function toBigInt(address: string): { family: 4 | 6; value: bigint } | undefined {
  // IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1]!;
  const family = isIP(address);
  if (family === 4) {
    const parts = address.split('.').map(Number);
    return { family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (family === 6) {
    const zone = address.indexOf('%');
    if (zone >= 0) address = address.slice(0, zone);
    const [head, tail] = address.split('::') as [string, string | undefined];
    const headParts = head ? head.split(':') : [];
    let tailParts = tail !== undefined && tail !== '' ? tail.split(':') : [];
    // An embedded IPv4 tail (`::1.2.3.4`).
    const last = (tailParts.length > 0 ? tailParts : headParts).at(-1);
    if (last && last.includes('.')) {
      const v4 = toBigInt(last);
      if (!v4) return undefined;
      const words = [(v4.value >> 16n).toString(16), (v4.value & 0xffffn).toString(16)];
      if (tailParts.length > 0) tailParts = [...tailParts.slice(0, -1), ...words];
      else headParts.splice(headParts.length - 1, 1, ...words);
    }
    const missing = 8 - headParts.length - tailParts.length;
    const words =
      tail === undefined ? headParts : [...headParts, ...Array<string>(Math.max(0, missing)).fill('0'), ...tailParts];
    if (words.length !== 8) return undefined;
    return { family: 6, value: words.reduce((acc, w) => (acc << 16n) | BigInt(parseInt(w || '0', 16)), 0n) };
  }
  return undefined;
}

function parseRange(text: string): Range {
  const [address, prefixText] = text.trim().split('/') as [string, string | undefined];
  const parsed = toBigInt(address);
  if (!parsed) throw new TypeError(`not an IP address or CIDR range: ${JSON.stringify(text)}`);
  const width = parsed.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > width ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  ) {
    throw new TypeError(`invalid prefix length in ${JSON.stringify(text)}`);
  }
  const shift = BigInt(width - prefix);
  return { family: parsed.family, bits: (parsed.value >> shift) << shift, prefix };
}

/** Source addresses a listener accepts: addresses and CIDR ranges, IPv4 and IPv6. */
export class AddressFilter {
  readonly #ranges: Range[];

  /** Throws `TypeError` for an entry that is not an address or range. */
  constructor(entries: readonly string[]) {
    this.#ranges = entries.map(parseRange);
  }

  allows(address: string): boolean {
    const parsed = toBigInt(address);
    if (!parsed) return false;
    const width = parsed.family === 4 ? 32 : 128;
    return this.#ranges.some((range) => {
      if (range.family !== parsed.family) return false;
      const shift = BigInt(width - range.prefix);
      return (parsed.value >> shift) << shift === range.bits;
    });
  }
}
