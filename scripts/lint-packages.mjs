#!/usr/bin/env node
// Checks every published package as npm would ship it: publint (package.json, exports, files),
// Are The Types Wrong (ESM + CJS type resolution), and then scripts/api-report.mjs (`pnpm
// api:check`: the published types resolve with the package's own dependencies, and the committed
// API reports are up to date). Run after `pnpm build`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { packedTarballs, packPackages } from './pack.mjs';

// Every package under packages/ (each is published), and the harness. Every one has subpath
// exports (`./testing`, `@switchboard/core/protocol`, `@switchboard/conformance/vitest`), which
// old `moduleResolution: node` (node10) cannot see: attw checks the resolutions the README
// promises (node16/nodenext, ESM and CommonJS, and bundler), its `node16` profile. A package may
// name another profile with `"attwProfile"` under `switchboard` in its package.json.
const packages = [
  ...readdirSync('packages', { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join('packages', entry.name, 'package.json')))
    .map((entry) => join('packages', entry.name))
    .sort(),
  'test-harness',
].map((dir) => {
  const { name, version, switchboard } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return { dir, name, version, attwProfile: switchboard?.attwProfile ?? 'node16' };
});

// One process for every package: publint and attw run in it on each package's tarball, as `pnpm
// publish` packs it (workspace: ranges replaced). The test command packs every package once, right
// after the build, for these checks and the pack-and-install test (SWITCHBOARD_PACKED_DIR, see
// scripts/pack.mjs); run alone, this packs them itself, in one pnpm process, without the lifecycle
// scripts (`prepack` builds, and the packages are built already). attw's profile drops the
// resolutions it names, as its command line does.
const ATTW_PROFILES = { strict: [], node16: ['node10'], 'esm-only': ['node10', 'node16-cjs'] };
let tarballs = {};
let packError;
let packedHere;
try {
  tarballs = (await packedTarballs()) ?? {};
  const missing = packages.filter((p) => !tarballs[p.name]);
  if (missing.length > 0) {
    packedHere = mkdtempSync(join(tmpdir(), 'switchboard-pack-'));
    tarballs = { ...tarballs, ...(await packPackages(process.cwd(), missing, packedHere)) };
  }
} catch (error) {
  packError = String(error?.message ?? error);
}

/** publint, strict (a warning fails too), on the tarball npm would publish. */
async function runPublint(tarball) {
  const { messages, pkg } = await publint({
    pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
    strict: true,
  });
  return messages
    .filter((m) => m.type !== 'suggestion')
    .map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`);
}

/** Are The Types Wrong on the tarball, less the resolutions the package's profile leaves out. */
async function runAttw(tarball, profile) {
  const ignored = ATTW_PROFILES[profile];
  if (!ignored) return [`unknown attw profile ${profile}`];
  const analysis = await checkPackage(createPackageFromTarballData(tarball));
  if (!analysis.types) return [];
  return analysis.problems
    .filter((p) => !('resolutionKind' in p && ignored.includes(p.resolutionKind)))
    .map(({ kind, ...where }) => `${kind} ${JSON.stringify(where)}`);
}

let failed = 0;
for (const { name, attwProfile } of packages) {
  let tarball;
  try {
    if (!tarballs[name]) throw new Error(packError ?? 'no tarball');
    tarball = new Uint8Array(readFileSync(tarballs[name]));
  } catch (error) {
    failed += 2;
    console.log(`FAIL pack    ${name}\n${error.message ?? error}`);
    continue;
  }
  for (const [tool, run] of [
    ['publint', () => runPublint(tarball)],
    ['attw', () => runAttw(tarball, attwProfile)],
  ]) {
    let problems;
    try {
      problems = await run();
    } catch (error) {
      problems = [String(error?.stack ?? error)];
    }
    if (problems.length === 0) console.log(`ok   ${tool.padEnd(7)} ${name}`);
    else {
      failed++;
      console.log(`FAIL ${tool.padEnd(7)} ${name}\n${problems.map((p) => `  ${p}`).join('\n')}`);
    }
  }
}
if (packedHere) rmSync(packedHere, { recursive: true, force: true });
const api = spawnSync(process.execPath, [join('scripts', 'api-report.mjs')], {
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
});
process.stdout.write(`${api.stdout ?? ''}${api.stderr ?? ''}`);
if (api.status !== 0) failed++;
console.log(`package checks: ${packages.length * 2 + 1 - failed} ok, ${failed} failing`);
process.exit(failed === 0 ? 0 : 1);
