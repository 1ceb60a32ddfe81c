#!/usr/bin/env node
// Checks every published package as npm would ship it: publint (package.json, exports, files),
// Are The Types Wrong (ESM + CJS type resolution), and then scripts/api-report.mjs (`pnpm
// api:check`: the published types resolve with the package's own dependencies, and the committed
// API reports are up to date). Run after `pnpm build`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
].map((dir) => ({
  dir,
  attwProfile: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).switchboard?.attwProfile ?? 'node16',
}));

const bin = (name) => join(process.cwd(), 'node_modules', '.bin', name);
// attw reads a tarball: packed here without the lifecycle scripts (`prepack` builds, and the
// packages are built already; a build now would also rewrite dist/ under the running tests).
const tarballs = mkdtempSync(join(tmpdir(), 'switchboard-pack-'));
const pack = (dir) => {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tarballs], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  return join(tarballs, JSON.parse(out)[0].filename);
};
let failed = 0;
for (const { dir, attwProfile } of packages) {
  const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const [tool, args] of [
    ['publint', () => ['--strict', '--pack', 'npm', dir]],
    ['attw', () => [pack(dir), '--format', 'table-flipped', '--profile', attwProfile]],
  ]) {
    try {
      execFileSync(bin(tool), args(), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      console.log(`ok   ${tool.padEnd(7)} ${name}`);
    } catch (error) {
      failed++;
      console.log(`FAIL ${tool.padEnd(7)} ${name}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
  }
}
rmSync(tarballs, { recursive: true, force: true });
const api = spawnSync(process.execPath, [join('scripts', 'api-report.mjs')], {
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
});
process.stdout.write(`${api.stdout ?? ''}${api.stderr ?? ''}`);
if (api.status !== 0) failed++;
console.log(`package checks: ${packages.length * 2 + 1 - failed} ok, ${failed} failing`);
process.exit(failed === 0 ? 0 : 1);
