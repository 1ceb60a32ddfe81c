// What a release must satisfy, as functions that return a list of problems (empty: fine), so that
// `scripts/release.mjs`, the repository's tests and the pack-and-install test share one definition:
// the published packages' metadata, the pending changesets, and the tarballs npm would receive.
// Plain Node, no dependencies: it runs before anything is built.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * The repository every package.json points at (`repository`, `homepage`, `bugs`). One constant:
 * if the project moves, change it here and run `node scripts/release.mjs --fix-metadata`.
 */
export const REPOSITORY_URL = 'git+https://github.com/switchboard-voice/switchboard.git';
/** The same repository as a web page. */
export const REPOSITORY_WEB = 'https://github.com/switchboard-voice/switchboard';
/** The licence every package is published under, and the line its LICENSE file carries. */
export const LICENSE = 'MIT';
export const COPYRIGHT_LINE = 'Copyright (c) 2026 The Switchboard authors';
/** Node versions every package supports. */
export const NODE_ENGINES = '>=20';
/** Longest body, in characters, of a changeset that names more than one package. */
export const SHARED_CHANGESET_MAX_CHARS = 300;

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/**
 * Every workspace package under `root`, from the globs in pnpm-workspace.yaml (`dir/*` or `dir`),
 * in a stable order: `{ dir, name, version, private, manifest }`, `dir` relative with `/`.
 */
export function workspacePackages(root) {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const globs = [];
  let inPackages = false;
  for (const line of yaml.split('\n')) {
    if (/^packages:\s*$/.test(line)) inPackages = true;
    else if (/^\S/.test(line)) inPackages = false;
    else if (inPackages) {
      const match = /^\s+-\s+['"]?([^'"#]+?)['"]?\s*$/.exec(line);
      if (match?.[1]) globs.push(match[1]);
    }
  }
  const dirs = [];
  for (const glob of globs) {
    if (glob.endsWith('/*')) {
      const parent = glob.slice(0, -2);
      if (!existsSync(join(root, parent))) continue;
      for (const entry of readdirSync(join(root, parent), { withFileTypes: true }))
        if (entry.isDirectory()) dirs.push(`${parent}/${entry.name}`);
    } else dirs.push(glob);
  }
  return dirs
    .filter((dir) => existsSync(join(root, dir, 'package.json')))
    .sort()
    .map((dir) => {
      const manifest = readJson(join(root, dir, 'package.json'));
      return { dir, name: manifest.name, version: manifest.version, private: manifest.private === true, manifest };
    });
}

/** The workspace packages that npm receives. */
export function publishedPackages(root) {
  return workspacePackages(root).filter((pkg) => !pkg.private);
}

/** Every relative file a manifest points at: main, module, types, bin and each `exports` target. */
export function manifestTargets(manifest) {
  const targets = new Set();
  const add = (value) => {
    if (typeof value === 'string') {
      if (value.startsWith('./') || !value.startsWith('.')) targets.add(value.replace(/^\.\//, ''));
    } else if (value && typeof value === 'object') for (const inner of Object.values(value)) add(inner);
  };
  for (const key of ['main', 'module', 'types']) add(manifest[key]);
  if (typeof manifest.bin === 'string') add(manifest.bin);
  else add(manifest.bin);
  add(manifest.exports);
  return [...targets].filter((target) => !target.includes('*'));
}

const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The metadata fields a published package must carry, as they must read for the package in `dir`. */
export function expectedMetadata(dir) {
  return {
    license: LICENSE,
    repository: { type: 'git', url: REPOSITORY_URL, directory: dir },
    homepage: `${REPOSITORY_WEB}/tree/main/${dir}#readme`,
    bugs: { url: `${REPOSITORY_WEB}/issues` },
    engines: { node: NODE_ENGINES },
  };
}

/**
 * Problems with one published package's manifest and files: licence and LICENSE file, repository,
 * homepage, bugs, keywords, engines, a build before packing, and a `files` list that ships what
 * the manifest points at and names nothing that does not exist.
 */
export function checkManifest(root, dir) {
  const problems = [];
  const at = join(root, dir);
  const manifest = readJson(join(at, 'package.json'));
  const name = manifest.name ?? dir;
  const problem = (text) => problems.push(`${name} (${dir}/package.json): ${text}`);
  if (manifest.private === true) return problems;

  for (const [key, value] of Object.entries(expectedMetadata(dir)))
    if (!sameJson(manifest[key], value)) problem(`"${key}" must be ${JSON.stringify(value)}`);

  const license = existsSync(join(at, 'LICENSE')) ? readFileSync(join(at, 'LICENSE'), 'utf8') : undefined;
  if (license === undefined) problem('no LICENSE file beside it');
  else if (!license.startsWith(`${LICENSE} License`) || !license.includes(COPYRIGHT_LINE))
    problem(`LICENSE is not the ${LICENSE} licence with "${COPYRIGHT_LINE}"`);

  const keywords = manifest.keywords;
  if (!Array.isArray(keywords) || keywords.length < 3) problem('"keywords" must list at least three words');
  else if (keywords.some((word) => typeof word !== 'string' || word !== word.toLowerCase() || word.trim() === ''))
    problem('"keywords" must be lower-case words');
  else if (new Set(keywords).size !== keywords.length) problem('"keywords" repeats a word');

  if (typeof manifest.description !== 'string' || manifest.description.length < 20) problem('no "description"');
  if (manifest.publishConfig?.access !== 'public') problem('"publishConfig.access" must be "public" (a scoped name)');
  if (!/\bbuild\b/.test(manifest.scripts?.prepack ?? ''))
    problem('"scripts.prepack" must build, so that a tarball has dist');
  if (typeof manifest.scripts?.build !== 'string') problem('no "scripts.build"');

  const files = manifest.files;
  if (!Array.isArray(files)) problem('no "files" list');
  else {
    for (const required of ['dist', 'README.md', 'LICENSE'])
      if (!files.includes(required)) problem(`"files" must include "${required}"`);
    for (const entry of files) {
      // CHANGELOG.md is written by `changeset version`, before the first release's pack.
      // LICENSE has its own problem above.
      if (['CHANGELOG.md', 'LICENSE', 'dist'].includes(entry) || entry.startsWith('dist/')) continue;
      if (!existsSync(join(at, entry))) problem(`"files" names "${entry}", which does not exist`);
    }
    if (!files.includes('CHANGELOG.md')) problem('"files" must include "CHANGELOG.md"');
    for (const target of manifestTargets(manifest)) {
      const shipped =
        target === 'package.json' || files.some((entry) => target === entry || target.startsWith(`${entry}/`));
      if (!shipped) problem(`"${target}" (main, types, bin or exports) is outside "files"`);
    }
  }

  const workspace = new Map(workspacePackages(root).map((pkg) => [pkg.name, pkg]));
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      const target = workspace.get(dep);
      if (target?.private) problem(`"${field}" names the private workspace package ${dep}`);
      if (typeof range === 'string' && range.startsWith('workspace:') && !target)
        problem(`"${field}.${dep}" is a workspace range, but no workspace package has that name`);
      if (field === 'peerDependencies' && typeof range === 'string' && range.startsWith('workspace:'))
        problem(`"peerDependencies.${dep}" must be a registry range, not ${range}`);
    }
  }
  return problems;
}

/**
 * Problems across the published packages: each package's manifest, and one version for every
 * package not released yet (one without a CHANGELOG.md), so that they debut together.
 */
export function checkPackages(root) {
  const packages = publishedPackages(root);
  const problems = packages.flatMap((pkg) => checkManifest(root, pkg.dir));
  const unreleased = packages.filter((pkg) => !existsSync(join(root, pkg.dir, 'CHANGELOG.md')));
  const versions = new Set(unreleased.map((pkg) => pkg.version));
  if (versions.size > 1)
    problems.push(
      `packages not released yet must share one version, so that they debut together: ${unreleased
        .map((pkg) => `${pkg.name}@${pkg.version}`)
        .join(', ')}`,
    );
  return problems;
}

/**
 * Problems that stop `pnpm publish` halfway: pnpm replaces a `workspace:` range with the version
 * of the dependency it finds linked in the package's node_modules, and a clone that was never
 * installed has none. `pnpm publish -r` then publishes the packages without workspace
 * dependencies (core first) and stops at the first package with one.
 */
export function checkInstalled(root) {
  const problems = [];
  for (const pkg of publishedPackages(root)) {
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
      for (const [dep, range] of Object.entries(pkg.manifest[field] ?? {})) {
        if (typeof range !== 'string' || !range.startsWith('workspace:')) continue;
        const linked = join(root, pkg.dir, 'node_modules', ...dep.split('/'), 'package.json');
        if (!existsSync(linked) || readJson(linked).name !== dep)
          problems.push(`${pkg.name}: ${dep} (${range}) is not linked in ${pkg.dir}/node_modules`);
      }
    }
  }
  if (problems.length > 0) problems.push('run `pnpm install --frozen-lockfile` first');
  return problems;
}

/**
 * Reads one changeset: `{ releases: [{ name, type }], summary }`, or throws a plain Error saying
 * what is wrong with its front matter.
 */
export function parseChangeset(text) {
  const match = /^---\r?\n([\s\S]*?)\r?\n?---\r?\n?([\s\S]*)$/.exec(text);
  if (!match) throw new Error('no front matter (a "---" block naming packages and their bumps)');
  const releases = [];
  for (const line of (match[1] ?? '').split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const entry = /^\s*['"]?([^'":]+)['"]?\s*:\s*['"]?(\w+)['"]?\s*$/.exec(line);
    if (!entry) throw new Error(`cannot read the front matter line ${JSON.stringify(line)}`);
    releases.push({ name: entry[1], type: entry[2] });
  }
  return { releases, summary: (match[2] ?? '').trim() };
}

/**
 * Problems with the pending changesets under `root/.changeset`: front matter, package names (a
 * published workspace package each), bump types, an empty summary, and a summary over
 * {@link SHARED_CHANGESET_MAX_CHARS} characters in a changeset naming several packages (its text
 * is copied into each of their changelogs: a long note belongs in one package's changeset).
 * Also the config: every private workspace package is left out of versioning.
 */
export function checkChangesets(root) {
  const problems = [];
  const dir = join(root, '.changeset');
  const packages = new Map(workspacePackages(root).map((pkg) => [pkg.name, pkg]));
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) return ['.changeset/config.json is missing'];
  const config = readJson(configPath);
  const ignored = new Set(config.ignore ?? []);
  const privateVersioned = config.privatePackages?.version !== false;
  for (const pkg of packages.values())
    if (pkg.private && privateVersioned && !ignored.has(pkg.name))
      problems.push(`.changeset/config.json: the private package ${pkg.name} is neither ignored nor left unversioned`);
  for (const name of ignored)
    if (!packages.has(name))
      problems.push(`.changeset/config.json: "ignore" names ${name}, which is not in the workspace`);

  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.md') || file === 'README.md') continue;
    const where = `.changeset/${file}`;
    let changeset;
    try {
      changeset = parseChangeset(readFileSync(join(dir, file), 'utf8'));
    } catch (error) {
      problems.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const { releases, summary } = changeset;
    if (releases.length === 0) problems.push(`${where}: names no package`);
    for (const { name, type } of releases) {
      const pkg = packages.get(name);
      if (!pkg) problems.push(`${where}: ${name} is not a workspace package`);
      else if (pkg.private || ignored.has(name)) problems.push(`${where}: ${name} is not published`);
      if (!['patch', 'minor', 'major'].includes(type))
        problems.push(`${where}: "${type}" is not patch, minor or major`);
    }
    if (new Set(releases.map((r) => r.name)).size !== releases.length) problems.push(`${where}: names a package twice`);
    if (summary === '') problems.push(`${where}: says nothing`);
    if (releases.length > 1 && summary.length > SHARED_CHANGESET_MAX_CHARS)
      problems.push(
        `${where}: names ${releases.length} packages with ${summary.length} characters of text, which every one ` +
          `of their changelogs would repeat; keep a shared note to ${SHARED_CHANGESET_MAX_CHARS} characters ` +
          'and write the details in one changeset per package',
      );
  }
  return problems;
}

/**
 * The files of a gzipped tarball (as npm and pnpm write them): a Map from path to contents.
 * Reads ustar names with their prefix, and the path of a pax extended header.
 */
export function readTarball(path) {
  const data = gunzipSync(readFileSync(path));
  const files = new Map();
  const text = (start, length) =>
    data
      .subarray(start, start + length)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  let offset = 0;
  let paxPath;
  while (offset + 512 <= data.length) {
    if (data.subarray(offset, offset + 512).every((byte) => byte === 0)) break;
    const name = text(offset, 100);
    const size = parseInt(text(offset + 124, 12).trim() || '0', 8);
    const type = text(offset + 156, 1) || '0';
    const prefix = text(offset + 345, 155);
    const body = data.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const record = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      paxPath = record?.[1];
      continue;
    }
    if (type !== '0' && type !== '') {
      paxPath = undefined;
      continue;
    }
    files.set(paxPath ?? (prefix ? `${prefix}/${name}` : name), Buffer.from(body));
    paxPath = undefined;
  }
  return files;
}

/**
 * Problems with one package tarball: it has `dist`, `LICENSE`, `README.md` and a package.json
 * with no `workspace:` range left, every file its manifest points at, and no source maps.
 */
export function checkTarball(path) {
  let files;
  try {
    files = readTarball(path);
  } catch (error) {
    return [`${path}: not a readable tarball (${error instanceof Error ? error.message : String(error)})`];
  }
  const problems = [];
  const rawManifest = files.get('package/package.json');
  if (!rawManifest) return [`${path}: no package/package.json`];
  let manifest;
  try {
    manifest = JSON.parse(rawManifest.toString('utf8'));
  } catch {
    return [`${path}: package/package.json is not JSON`];
  }
  const problem = (text) => problems.push(`${manifest.name ?? path}: ${text}`);
  if (rawManifest.toString('utf8').includes('workspace:'))
    problem('package.json still has a workspace: range (pack with pnpm, which replaces them)');
  if (![...files.keys()].some((file) => file.startsWith('package/dist/'))) problem('no dist (was it built?)');
  for (const required of ['LICENSE', 'README.md']) if (!files.has(`package/${required}`)) problem(`no ${required}`);
  for (const target of manifestTargets(manifest))
    if (!files.has(`package/${target}`)) problem(`${target} is named in package.json but not in the tarball`);
  const maps = [...files.keys()].filter((file) => file.endsWith('.map'));
  if (maps.length > 0) problem(`ships source maps (${maps.slice(0, 3).join(', ')}); RELEASING.md says why not`);
  return problems;
}

/** Bytes of a file, for size reports. */
export function fileSize(path) {
  return statSync(path).size;
}
