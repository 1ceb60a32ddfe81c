/**
 * Trace files: `*.jsonl`, or gzip-compressed `*.jsonl.gz`, read transparently; the corpus shipped
 * with the package. Node only.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { traceExpect } from './facts.js';
import { parseTraceLines, traceCarrier, TraceParseError, type ParseTraceOptions, type Trace } from './format.js';

/** Whether a file name is a trace's: `.jsonl` or `.jsonl.gz`. */
export function isTraceFile(name: string): boolean {
  return name.endsWith('.jsonl') || name.endsWith('.jsonl.gz');
}

/** A trace file's name without `.jsonl` / `.jsonl.gz`. */
export function traceFileStem(path: string): string {
  return basename(path).replace(/\.jsonl(\.gz)?$/, '');
}

/**
 * Parses a trace and checks a declared `expect` block against its frames (for a Twilio trace; a
 * trace of another carrier is checked when an adapter's protocol reads it). Throws
 * `TraceParseError` naming the line, or the field and both values for a contradiction.
 */
export function parseTrace(text: string, path?: string, options: ParseTraceOptions = {}): Trace {
  const trace = parseTraceLines(text, path, options);
  if (trace.header.expect && traceCarrier(trace) === 'twilio') traceExpect(trace);
  return trace;
}

/** The text of a trace file, gunzipped when it is compressed (by its name or its magic bytes). */
export async function readTraceText(path: string): Promise<string> {
  const bytes = await readFile(path);
  if (path.endsWith('.gz') || (bytes[0] === 0x1f && bytes[1] === 0x8b)) {
    try {
      return gunzipSync(bytes).toString('utf8');
    } catch (error) {
      throw new TraceParseError(`not a readable gzip file (${(error as Error).message})`, 1, path);
    }
  }
  return bytes.toString('utf8');
}

/** Reads and parses one trace file (`.jsonl` or `.jsonl.gz`). */
export async function loadTrace(path: string, options: ParseTraceOptions = {}): Promise<Trace> {
  const abs = resolve(path);
  return parseTrace(await readTraceText(abs), abs, { defaultName: traceFileStem(abs), ...options });
}

/** Loads one trace file, or every `*.jsonl` and `*.jsonl.gz` in a directory, sorted by trace name. */
export async function loadTraces(pathOrDir: string, options: ParseTraceOptions = {}): Promise<Trace[]> {
  const abs = resolve(pathOrDir);
  const info = await stat(abs);
  if (!info.isDirectory()) return [await loadTrace(abs, options)];
  const names = (await readdir(abs)).filter(isTraceFile).sort((a, b) => {
    const [x, y] = [traceFileStem(a), traceFileStem(b)];
    return x < y ? -1 : x > y ? 1 : a < b ? -1 : 1;
  });
  const traces: Trace[] = [];
  for (const name of names) traces.push(await loadTrace(join(abs, name), options));
  return traces;
}

function moduleDir(): string {
  // ESM (and CJS built with import.meta shims) has import.meta.url; plain CJS has __dirname.
  const url: string | undefined = import.meta.url;
  if (typeof url === 'string' && url.length > 0) return dirname(fileURLToPath(url));
  if (typeof __dirname === 'string') return __dirname;
  return process.cwd();
}

let bundledDir: string | undefined;

/** The file the corpus is recognised by. */
const MARKER = 'two-turn.jsonl';

/**
 * Absolute path of the corpus shipped with this package (its `traces/` folder). Found by walking up
 * from this module, which lives in `src/trace/` when run from source and in `dist/` when built.
 */
export function bundledTracesDir(): string {
  if (bundledDir) return bundledDir;
  const start = moduleDir();
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'traces');
    if (existsSync(join(candidate, MARKER)) || existsSync(join(candidate, `${MARKER}.gz`))) {
      bundledDir = candidate;
      return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`bundled traces not found above ${start} (looked for traces/${MARKER}[.gz])`);
    dir = parent;
  }
}
