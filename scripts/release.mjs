#!/usr/bin/env node
// The release, on changesets (RELEASING.md walks through it):
//
//   pnpm release --dry-run          build, then show what would be versioned and published, without
//                                   changing anything: `changeset version` and the packing run in a
//                                   temporary copy, every tarball is checked, and
//                                   `pnpm publish -r --dry-run` runs over them.
//   pnpm release                    with pending changesets: `changeset version` (versions and
//                                   CHANGELOG.md files, to review and commit); without: build,
//                                   check the tarballs, `changeset publish` (which tags).
//   pnpm release --only <name>      publish one package at its current version, and tag it.
//   pnpm release --dry-run --no-build   the same, packing dist as an earlier `pnpm build` left it.
//   pnpm release --dry-run --changelogs also prints the changelog section each package would get.
//   pnpm release --check            the metadata and changeset checks alone (seconds).
//   pnpm release --check-changesets the changeset check alone.
//
// Exits non-zero, with the problems listed, on anything that would make a bad release.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkChangesets,
  checkInstalled,
  checkPackages,
  checkTarball,
  fileSize,
  publishedPackages,
  workspacePackages,
} from './release-checks.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2).filter((arg) => arg !== '--');
const flag = (name) => args.includes(name);

/**
 * pnpm as it runs this script (`pnpm release`), else the one on PATH, else the version the
 * repository names in `packageManager`, through npx.
 */
function findPnpm() {
  const execpath = process.env.npm_execpath;
  if (execpath && /pnpm/.test(execpath)) return [process.execPath, execpath];
  if (!spawnSync('pnpm', ['--version'], { stdio: 'ignore' }).error) return ['pnpm'];
  const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return ['npx', '-y', typeof packageManager === 'string' ? packageManager.replace(/\+.*$/, '') : 'pnpm@10'];
}
const pnpm = findPnpm();
const changesetBin = join(root, 'node_modules', '.bin', 'changeset');

class ReleaseError extends Error {}

/** Runs a command; its output is kept and shown only when it fails (or with `show`). */
function run(command, commandArgs, { cwd = root, env = {}, show = false, what } = {}) {
  const result = spawnSync(command, commandArgs, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: show ? 'inherit' : 'pipe',
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error || result.status !== 0) {
    const tail = output.split('\n').slice(-40).join('\n');
    throw new ReleaseError(
      `${what ?? [command, ...commandArgs].join(' ')} failed (exit ${result.status ?? result.error?.message})\n${tail}`,
    );
  }
  return output;
}

const runPnpm = (pnpmArgs, options) => run(pnpm[0], [...pnpm.slice(1), ...pnpmArgs], options);

function fail(heading, problems) {
  if (problems.length === 0) return;
  throw new ReleaseError(`${heading}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

function staticChecks({ changesetsOnly = false } = {}) {
  fail('changesets', checkChangesets(root));
  console.log('ok   changesets');
  if (changesetsOnly) return;
  fail('package metadata', checkPackages(root));
  console.log(`ok   metadata of ${publishedPackages(root).length} published packages`);
  fail('workspace links', checkInstalled(root));
  console.log('ok   every workspace dependency is linked');
}

function build() {
  if (flag('--no-build')) {
    console.log('note --no-build: packing dist as it is');
    return;
  }
  const started = performance.now();
  runPnpm(['run', 'build'], { what: 'pnpm build' });
  console.log(`ok   build (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;

/**
 * Packs every published package of `workspace` (already built: lifecycle scripts are skipped) into
 * `destination`, and checks each tarball. Returns `[{ name, version, tarball, size }]`.
 */
function packAndCheck(workspace, destination) {
  mkdirSync(destination, { recursive: true });
  const packed = [];
  const problems = [];
  for (const pkg of publishedPackages(workspace)) {
    const before = new Set(readdirSync(destination));
    runPnpm(['pack', '--pack-destination', destination], {
      cwd: join(workspace, pkg.dir),
      env: { npm_config_ignore_scripts: 'true' },
      what: `pnpm pack (${pkg.name})`,
    });
    const made = readdirSync(destination).filter((file) => !before.has(file) && file.endsWith('.tgz'));
    if (made.length !== 1) {
      problems.push(`${pkg.name}: pnpm pack wrote ${made.length} tarballs`);
      continue;
    }
    const tarball = join(destination, made[0]);
    problems.push(...checkTarball(tarball));
    packed.push({ name: pkg.name, version: pkg.version, tarball, size: fileSize(tarball) });
  }
  fail('tarballs', problems);
  for (const { name, version, size } of packed)
    console.log(`     ${`${name}@${version}`.padEnd(36)} ${kB(size).padStart(10)}`);
  console.log(`ok   ${packed.length} tarballs: dist, LICENSE, README.md, every exported file, no workspace: range`);
  return packed;
}

/**
 * A copy of the workspace that `changeset version` and `pnpm pack` may change: manifests, the
 * files each published package ships, `.changeset/`, and the same dependency links (each
 * package's node_modules links are recreated; the root's node_modules is linked).
 */
function copyWorkspace() {
  const copy = mkdtempSync(join(tmpdir(), 'switchboard-release-'));
  for (const file of ['package.json', 'pnpm-workspace.yaml', 'pnpm-lock.yaml', 'LICENSE'])
    if (existsSync(join(root, file))) cpSync(join(root, file), join(copy, file));
  cpSync(join(root, '.changeset'), join(copy, '.changeset'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  for (const pkg of workspacePackages(root)) {
    const from = join(root, pkg.dir);
    const to = join(copy, pkg.dir);
    mkdirSync(to, { recursive: true });
    cpSync(join(from, 'package.json'), join(to, 'package.json'));
    if (!pkg.private)
      for (const entry of [...(pkg.manifest.files ?? []), 'LICENSE', 'README.md', 'CHANGELOG.md'])
        if (existsSync(join(from, entry))) cpSync(join(from, entry), join(to, entry), { recursive: true });
    copyLinks(join(from, 'node_modules'), join(to, 'node_modules'));
  }
  return copy;
}

/** Recreates the symbolic links of a package's node_modules (one scope level deep). */
function copyLinks(from, to) {
  if (!existsSync(from)) return;
  for (const entry of readdirSync(from)) {
    if (entry === '.bin') continue;
    const path = join(from, entry);
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) {
      mkdirSync(to, { recursive: true });
      symlinkSync(readlinkSync(path), join(to, entry));
    } else if (stat.isDirectory() && entry.startsWith('@')) copyLinks(path, join(to, entry));
  }
}

/** The newest section of a CHANGELOG.md (what `changeset version` just wrote). */
function newestSection(changelog) {
  const lines = changelog.split('\n');
  const start = lines.findIndex((line) => line.startsWith('## '));
  if (start < 0) return '';
  const end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
  return lines
    .slice(start, end < 0 ? undefined : end)
    .join('\n')
    .trim();
}

function dryRun() {
  const dirty = run('git', ['status', '--porcelain'], { what: 'git status' }).trim();
  if (dirty !== '') console.log('note uncommitted changes in the working tree: the dry run checks them as they are');
  staticChecks();
  build();
  const copy = copyWorkspace();
  try {
    const before = new Map(publishedPackages(copy).map((pkg) => [pkg.name, pkg.version]));
    run(changesetBin, ['version'], { cwd: copy, what: 'changeset version' });
    const after = publishedPackages(copy);
    const bumped = after.filter((pkg) => before.get(pkg.name) !== pkg.version);
    console.log(`ok   changeset version: ${bumped.length} of ${after.length} packages would get a new version`);
    for (const pkg of after) {
      const from = before.get(pkg.name);
      console.log(
        `     ${pkg.name.padEnd(26)} ${from === pkg.version ? `${from} (unchanged)` : `${from} -> ${pkg.version}`}`,
      );
    }
    if (flag('--changelogs'))
      for (const pkg of bumped) {
        const changelog = join(copy, pkg.dir, 'CHANGELOG.md');
        if (existsSync(changelog))
          console.log(`\n${pkg.name} CHANGELOG.md:\n${newestSection(readFileSync(changelog, 'utf8'))}\n`);
      }
    fail(
      'after changeset version',
      checkPackages(copy).filter((problem) => !problem.includes('must share one version')),
    );
    packAndCheck(copy, join(copy, '.tarballs'));
    const output = runPnpm(['publish', '-r', '--dry-run', '--no-git-checks', '--ignore-scripts'], {
      cwd: copy,
      what: 'pnpm publish -r --dry-run',
    });
    const published = output.split('\n').filter((line) => line.startsWith('+ '));
    console.log(
      `ok   pnpm publish -r --dry-run: ${published.length} packages (${published.map((l) => l.slice(2)).join(', ')})`,
    );
    if (published.length === 0)
      console.log('     (every version is on the registry already: nothing would be published)');
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
  console.log('release dry run passed: nothing was changed');
}

function pendingChangesets() {
  return readdirSync(join(root, '.changeset')).filter((file) => file.endsWith('.md') && file !== 'README.md');
}

/** A release starts from a committed tree, so that what is tagged is what was published. */
function requireCleanTree() {
  const dirty = run('git', ['status', '--porcelain'], { what: 'git status' }).trim();
  if (dirty !== '')
    throw new ReleaseError(`the working tree has uncommitted changes; commit or set them aside first:\n${dirty}`);
}

function release() {
  requireCleanTree();
  staticChecks();
  const pending = pendingChangesets();
  if (pending.length > 0) {
    run(changesetBin, ['version'], { show: true, what: 'changeset version' });
    console.log(
      `\n${pending.length} changesets applied. Review the new versions and every CHANGELOG.md, commit them,\n` +
        'then run `pnpm release` again to publish.',
    );
    return;
  }
  build();
  const tarballs = mkdtempSync(join(tmpdir(), 'switchboard-tarballs-'));
  try {
    packAndCheck(root, tarballs);
  } finally {
    rmSync(tarballs, { recursive: true, force: true });
  }
  run(changesetBin, ['publish'], { show: true, what: 'changeset publish' });
  console.log('\nPublished. Push the new tags: git push --follow-tags');
}

function releaseOne(name) {
  const pkg = publishedPackages(root).find((candidate) => candidate.name === name);
  if (!pkg) throw new ReleaseError(`${name} is not a published workspace package`);
  requireCleanTree();
  staticChecks();
  runPnpm(['--filter', name, 'run', 'build'], { what: `build ${name}` });
  const tarballs = mkdtempSync(join(tmpdir(), 'switchboard-tarballs-'));
  try {
    const destination = join(tarballs, 'out');
    mkdirSync(destination);
    runPnpm(['pack', '--pack-destination', destination], {
      cwd: join(root, pkg.dir),
      env: { npm_config_ignore_scripts: 'true' },
    });
    for (const file of readdirSync(destination)) fail('tarball', checkTarball(join(destination, file)));
  } finally {
    rmSync(tarballs, { recursive: true, force: true });
  }
  runPnpm(['publish', '--access', 'public', '--ignore-scripts'], { cwd: join(root, pkg.dir), show: true });
  run('git', ['tag', `${name}@${pkg.version}`], { what: 'git tag' });
  console.log(`\nPublished ${name}@${pkg.version}. Push the tag: git push --follow-tags`);
}

try {
  if (flag('--check-changesets')) staticChecks({ changesetsOnly: true });
  else if (flag('--check')) staticChecks();
  else if (flag('--dry-run')) dryRun();
  else if (flag('--only')) {
    const name = args[args.indexOf('--only') + 1];
    if (!name || name.startsWith('--')) throw new ReleaseError('--only needs a package name');
    releaseOne(name);
  } else if (args.length > 0) throw new ReleaseError(`unknown arguments: ${args.join(' ')} (see scripts/release.mjs)`);
  else release();
} catch (error) {
  if (!(error instanceof ReleaseError)) throw error;
  console.error(`\nFAIL ${error.message}`);
  process.exitCode = 1;
}
