/**
 * Compares two V8 heap snapshots by constructor: how many objects of each kind, and how many
 * bytes, the second holds beyond the first. For the soak's `-start` and `-end` snapshots (no call
 * live in either) every row that grows with the number of calls is something a call left behind.
 *
 *   node --import tsx soak/heap-diff.ts /tmp/soak-start.heapsnapshot /tmp/soak-end.heapsnapshot [--top 25]
 *   node --import tsx soak/heap-diff.ts a.heapsnapshot b.heapsnapshot --retainers <name>
 *
 * `--retainers` prints, for up to five objects of that constructor found only in the second
 * snapshot, the chain of objects holding them from a GC root.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

type Snapshot = {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
};

type Parsed = {
  raw: Snapshot;
  nodeFields: number;
  edgeFields: number;
  typeOf: (node: number) => string;
  nameOf: (node: number) => string;
  idOf: (node: number) => number;
  sizeOf: (node: number) => number;
  firstEdge: number[];
};

function parse(path: string): Parsed {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const meta = raw.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [typeI, nameI, idI, sizeI, edgeCountI] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number, number];
  const types = meta.node_types[0];
  const count = raw.nodes.length / nf;
  const firstEdge = new Array<number>(count + 1);
  firstEdge[0] = 0;
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i]! + raw.nodes[i * nf + edgeCountI]! * ef;
  return {
    raw,
    nodeFields: nf,
    edgeFields: ef,
    typeOf: (n) => types[raw.nodes[n * nf + typeI]!]!,
    nameOf: (n) => raw.strings[raw.nodes[n * nf + nameI]!]!,
    idOf: (n) => raw.nodes[n * nf + idI]!,
    sizeOf: (n) => raw.nodes[n * nf + sizeI]!,
    firstEdge,
  };
}

/** Objects grouped by "type name" (hidden and code objects folded by type). */
function census(p: Parsed): Map<string, { count: number; bytes: number }> {
  const out = new Map<string, { count: number; bytes: number }>();
  const count = p.raw.nodes.length / p.nodeFields;
  for (let n = 0; n < count; n++) {
    const type = p.typeOf(n);
    const key = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${p.nameOf(n)}` : type;
    const entry = out.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += p.sizeOf(n);
    out.set(key, entry);
  }
  return out;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, retainers: { type: 'string' } },
});
const [before, after] = positionals;
if (!before || !after) {
  console.error('usage: heap-diff <before.heapsnapshot> <after.heapsnapshot> [--top N] [--retainers <constructor>]');
  process.exit(2);
}
const a = parse(before);
const b = parse(after);
const ca = census(a);
const cb = census(b);
const rows = [...new Set([...ca.keys(), ...cb.keys()])]
  .map((key) => {
    const x = ca.get(key) ?? { count: 0, bytes: 0 };
    const y = cb.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: y.count - x.count, bytes: y.bytes - x.bytes, after: y.count };
  })
  .sort((p, q) => q.bytes - p.bytes);
const total = rows.reduce((n, r) => n + r.bytes, 0);
console.log(`heap growth ${(total / 1e6).toFixed(2)} MB (self sizes), top ${values.top} by bytes:`);
for (const r of rows.slice(0, Number(values.top))) {
  console.log(
    `${(r.bytes / 1024).toFixed(0).padStart(9)} KB  ${String(r.count).padStart(8)} objects  (${r.after} now)  ${r.key.slice(0, 100)}`,
  );
}

if (values.retainers) {
  // Objects of that constructor whose ids the first snapshot does not have.
  const idsBefore = new Set<number>();
  for (let n = 0; n < a.raw.nodes.length / a.nodeFields; n++) idsBefore.add(a.idOf(n));
  const count = b.raw.nodes.length / b.nodeFields;
  const [edgeTypeI, edgeNameI, edgeToI] = ['type', 'name_or_index', 'to_node'].map((f) =>
    b.raw.snapshot.meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const edgeTypes = b.raw.snapshot.meta.edge_types[0];
  // Reverse edges: for each node, who points at it (skipping weak edges).
  const retainers: Array<Array<[number, string]>> = Array.from({ length: count }, () => []);
  for (let n = 0; n < count; n++) {
    for (let e = b.firstEdge[n]!; e < b.firstEdge[n + 1]!; e += b.edgeFields) {
      const type = edgeTypes[b.raw.edges[e + edgeTypeI]!]!;
      if (type === 'weak') continue;
      const nameOrIndex = b.raw.edges[e + edgeNameI]!;
      const label = type === 'element' || type === 'hidden' ? `[${nameOrIndex}]` : String(b.raw.strings[nameOrIndex]);
      retainers[b.raw.edges[e + edgeToI]! / b.nodeFields]!.push([n, label]);
    }
  }
  let shown = 0;
  for (let n = 0; n < count && shown < 5; n++) {
    if (b.nameOf(n) !== values.retainers || idsBefore.has(b.idOf(n)) || b.typeOf(n) !== 'object') continue;
    shown++;
    console.log(`\n${values.retainers} @${b.idOf(n)} held by:`);
    // Breadth-first towards a root, printing the first path found.
    const previous = new Map<number, [number, string]>();
    const queue = [n];
    let root = -1;
    while (queue.length > 0 && root < 0) {
      const node = queue.shift()!;
      for (const [from, label] of retainers[node]!) {
        if (previous.has(from) || from === n) continue;
        previous.set(from, [node, label]);
        if (b.typeOf(from) === 'synthetic' || from === 0) {
          root = from;
          break;
        }
        queue.push(from);
      }
    }
    const path: string[] = [];
    for (let node = root; node >= 0 && node !== n;) {
      const [to, label] = previous.get(node)!;
      path.push(`${b.typeOf(node)} ${b.nameOf(node).slice(0, 60)} --${label}-->`);
      node = to;
    }
    console.log(path.length > 0 ? path.map((line) => `  ${line}`).join('\n') : '  (no path to a root)');
  }
}
