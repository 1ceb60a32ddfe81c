/**
 * Finding and loading an adapter module the way its user names it: a path (relative to the
 * working directory), a package directory, a package name (as the project in the working
 * directory sees it, not as this package does), or a package's subpath.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '@switchboard/core';
import type { ConformanceAdapter } from '@switchboard/core/protocol';

type AdapterExport = ConformanceAdapter | readonly ConformanceAdapter[];
type Manifest = { name?: string; exports?: unknown; module?: string; main?: string };

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);

export function isAdapter(value: unknown): value is ConformanceAdapter {
  const candidate = value as ConformanceAdapter | undefined;
  return (
    !!candidate &&
    (typeof candidate.createTransport === 'function' || typeof candidate.startRemoteCall === 'function') &&
    typeof candidate.createPeerSimulator === 'function'
  );
}

/** The adapters a module exports: `conformance`, the default export's `conformance`, or the default export. */
function adaptersOf(mod: Record<string, unknown>): ConformanceAdapter[] | undefined {
  const fallback = mod.default as { conformance?: AdapterExport } | AdapterExport | undefined;
  const candidate: unknown =
    mod.conformance ?? (fallback as { conformance?: AdapterExport } | undefined)?.conformance ?? fallback;
  const list = Array.isArray(candidate) ? (candidate as unknown[]) : [candidate];
  return list.length > 0 && list.every(isAdapter) ? list : undefined;
}

const NOT_AN_ADAPTER =
  'does not export a conformance adapter (an object with createPeerSimulator and createTransport or startRemoteCall, or an array of them, as `conformance` or default)';

/** A specifier that names a file or directory rather than a package. */
function isPathLike(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier) || specifier.includes('\\') || /^[A-Za-z]:/.test(specifier);
}

/**
 * Loads the adapters of a module: its `conformance` export, or its default export (or the default
 * export's `conformance`). A package with several wire dialects (presets) exports an array.
 *
 * `specifier` is a path (relative to `from`, default the working directory), a `file:` URL, a
 * package directory, a package name or a package's subpath, resolved as the project in `from`
 * sees it. A package whose root export has no adapter is tried at its `testing` subpath, then at
 * its `conformance` subpath (`@acme/carrier` finds `@acme/carrier/testing`). Anything that cannot
 * be loaded throws a `ConfigError` saying why (not found, TypeScript source, a directory that is
 * not a package, no adapter exported).
 */
export async function loadAdapters(specifier: string, from: string = process.cwd()): Promise<ConformanceAdapter[]> {
  if (specifier.startsWith('file:')) return loadFile(fileURLToPath(specifier), specifier);
  if (/^(node|data):/.test(specifier)) return fromModule(await importOrExplain(specifier, specifier), specifier);
  if (isPathLike(specifier)) return loadPath(resolve(from, specifier), specifier);
  // A bare name that happens to be a file or directory here (`adapter.mjs`) is taken as the path.
  const local = resolve(from, specifier);
  if (existsSync(local)) return loadPath(local, specifier);
  return loadPackage(specifier, from);
}

/** Loads a module's adapter; the first one when the module exports several. */
export async function loadAdapter(specifier: string, from: string = process.cwd()): Promise<ConformanceAdapter> {
  return (await loadAdapters(specifier, from))[0]!;
}

async function loadPath(path: string, given: string): Promise<ConformanceAdapter[]> {
  if (!existsSync(path)) throw new ConfigError(`adapter module not found: ${given} (looked for ${path})`);
  if (statSync(path).isDirectory()) {
    const manifestPath = join(path, 'package.json');
    if (!existsSync(manifestPath)) {
      throw new ConfigError(
        `${given} is a directory without a package.json: name the adapter's module file, or a package directory`,
      );
    }
    return loadPackageDir(path, readManifest(manifestPath), given, undefined);
  }
  return loadFile(path, given);
}

async function loadFile(path: string, given: string): Promise<ConformanceAdapter[]> {
  if (!existsSync(path)) throw new ConfigError(`adapter module not found: ${given} (looked for ${path})`);
  return fromModule(await importOrExplain(pathToFileURL(path).href, given), given);
}

async function importOrExplain(url: string, given: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const path = url.startsWith('file:') ? fileURLToPath(url) : url;
    const code = (error as { code?: unknown } | undefined)?.code;
    // Node without a TypeScript loader refuses the file (a loader that failed on it says why itself).
    if (
      TYPESCRIPT.has(extname(path)) &&
      typeof code === 'string' &&
      /^ERR_(UNKNOWN_FILE_EXTENSION|UNSUPPORTED_.*TYPE_STRIPPING|UNSUPPORTED_TYPESCRIPT_SYNTAX|INVALID_TYPESCRIPT_SYNTAX)$/.test(
        code,
      )
    ) {
      throw new ConfigError(
        `${given} is TypeScript source, which Node cannot import as it is: build it to JavaScript and name the built module, or run the CLI under a TypeScript loader (node --import tsx ./node_modules/.bin/switchboard-conformance run ...)`,
        { cause: error },
      );
    }
    throw new ConfigError(`cannot import the adapter module ${given}: ${firstLine(error)}`, { cause: error });
  }
}

function fromModule(mod: Record<string, unknown>, given: string): ConformanceAdapter[] {
  const adapters = adaptersOf(mod);
  if (!adapters) throw new ConfigError(`${given} ${NOT_AN_ADAPTER}`);
  return adapters;
}

/** `@scope/name/sub/path` → [`@scope/name`, `./sub/path`]; `name` → [`name`, `.`]. */
function splitPackage(specifier: string): [string, string] {
  const parts = specifier.split('/');
  const size = specifier.startsWith('@') ? 2 : 1;
  const rest = parts.slice(size).join('/');
  return [parts.slice(0, size).join('/'), rest === '' ? '.' : `./${rest}`];
}

/** The directory of package `name` as seen from `from`: the nearest `node_modules/<name>` up the tree. */
function findPackageDir(name: string, from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    // The package being developed here names itself (as Node's self-reference does).
    if (existsSync(join(dir, 'package.json')) && readNameOf(join(dir, 'package.json')) === name) return dir;
    if (dirname(dir) === dir) break;
  }
  try {
    return dirname(createRequire(join(from, 'package.json')).resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

async function loadPackage(specifier: string, from: string): Promise<ConformanceAdapter[]> {
  const [name, subpath] = splitPackage(specifier);
  const dir = findPackageDir(name, from);
  if (!dir) {
    throw new ConfigError(
      `adapter package not found: ${name} (from ${from}); install it in this project, or give a path to the adapter's module`,
    );
  }
  return loadPackageDir(dir, readManifest(join(dir, 'package.json')), specifier, subpath === '.' ? undefined : subpath);
}

/** The subpaths where a package whose root export has no adapter keeps it, in the order tried. */
const ADAPTER_SUBPATHS = ['./testing', './conformance'] as const;

/**
 * Loads a package's adapter: the given subpath, or its root export and, when that exports no
 * adapter, its `./testing` subpath (where every Switchboard carrier keeps it), then its
 * `./conformance` subpath.
 */
async function loadPackageDir(
  dir: string,
  manifest: Manifest,
  given: string,
  subpath: string | undefined,
): Promise<ConformanceAdapter[]> {
  if (subpath !== undefined) {
    const entry = exportEntry(manifest, subpath) ?? (manifest.exports === undefined ? subpath : undefined);
    if (!entry) throw new ConfigError(`${given}: the package ${manifest.name ?? dir} exports no ${subpath}`);
    return loadFile(join(dir, entry), given);
  }
  const root =
    exportEntry(manifest, '.') ??
    (manifest.exports === undefined ? (manifest.module ?? manifest.main ?? 'index.js') : undefined);
  const subpaths = ADAPTER_SUBPATHS.flatMap((name) => {
    const entry = exportEntry(manifest, name);
    return entry === undefined ? [] : [{ name, entry }];
  });
  let rootError: unknown;
  if (root) {
    try {
      const adapters = adaptersOf(await importOrExplain(pathToFileURL(join(dir, root)).href, given));
      if (adapters) return adapters;
    } catch (error) {
      // A root export that cannot load (an optional peer missing) may still have an adapter subpath.
      if (subpaths.length === 0) throw error;
      rootError = error;
    }
  }
  for (const { name, entry } of subpaths) {
    const adapters = adaptersOf(
      await importOrExplain(pathToFileURL(join(dir, entry)).href, `${given}${name.slice(1)}`),
    );
    if (adapters) return adapters;
  }
  if (subpaths.length > 0) {
    if (rootError) throw rootError;
    const names = subpaths.map(({ name }) => name).join(' nor its ');
    throw new ConfigError(
      `${given}: neither the package's root export nor its ${names} subpath exports a conformance adapter`,
    );
  }
  throw new ConfigError(`${given} ${NOT_AN_ADAPTER}; the package has no ./testing or ./conformance subpath either`);
}

function readNameOf(path: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as Manifest).name;
  } catch {
    return undefined;
  }
}

function readManifest(path: string): Manifest {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${firstLine(error)}`, { cause: error });
  }
}

/** The ESM file a package's `exports` map gives for `subpath` (`.` or `./x`), if any. */
function exportEntry(manifest: Manifest, subpath: string): string | undefined {
  const exportsField = manifest.exports;
  if (exportsField === undefined || exportsField === null) return undefined;
  const isSubpathMap =
    typeof exportsField === 'object' &&
    !Array.isArray(exportsField) &&
    Object.keys(exportsField).some((k) => k.startsWith('.'));
  if (!isSubpathMap) return subpath === '.' ? esmEntry(exportsField) : undefined;
  return esmEntry((exportsField as Record<string, unknown>)[subpath]);
}

function esmEntry(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const item of target) {
      const found = esmEntry(item);
      if (found) return found;
    }
    return undefined;
  }
  if (!target || typeof target !== 'object') return undefined;
  const conditions = target as Record<string, unknown>;
  for (const key of ['import', 'node', 'default']) {
    const found = esmEntry(conditions[key]);
    if (found) return found;
  }
  return undefined;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
