// The published packages packed as `pnpm publish` packs them (workspace: ranges replaced), once per
// test run: `scripts/test.mjs` packs them right after the build into a temp folder and names it in
// SWITCHBOARD_PACKED_DIR; the package checks (scripts/lint-packages.mjs) and the tests that install
// them (interop/test/pack-install.test.ts, test-harness/test/outside-adapter.test.ts) read the
// tarballs from there, and pack them themselves when it is not set (each still runs alone). The
// folder holds `packed.json` once the packing has ended: `{ "tarballs": { name: path } }`, or
// `{ "error": "..." }` when it failed.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The environment variable that names the folder of tarballs packed for this run. */
export const PACKED_DIR_ENV = 'SWITCHBOARD_PACKED_DIR';
const INDEX = 'packed.json';

/** The file name pnpm gives the tarball of `name` at `version`. */
export const tarballName = (name, version) => `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;

/** The command that runs pnpm: the pnpm that runs this process (`npm_execpath`), else pnpm through npx. */
export function pnpmCommand() {
  const execpath = process.env.npm_execpath ?? '';
  return /pnpm/.test(execpath) ? [process.execPath, execpath] : ['npx', '-y', 'pnpm@10'];
}

/**
 * pnpm's arguments that pack the workspace packages `names` into `destination`, as they are built:
 * without the lifecycle scripts (`prepack` builds, which would rewrite dist/ under running tests).
 */
export const packArgs = (names, destination) => [
  '-r',
  ...names.flatMap((name) => ['--filter', name]),
  'pack',
  '--config.ignore-scripts=true',
  '--pack-destination',
  destination,
];

/**
 * Packs `packages` (`{ name, version }`, run from the workspace root `root`) into `destination` with
 * one pnpm process. Resolves with the tarball of each package by name; rejects with pnpm's output
 * when pnpm fails or a tarball is missing. `onSpawn` receives the child (to lower its priority).
 */
export function packPackages(root, packages, destination, { onSpawn } = {}) {
  const [command, ...args] = pnpmCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(
      command,
      [
        ...args,
        ...packArgs(
          packages.map((p) => p.name),
          destination,
        ),
      ],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    onSpawn?.(child);
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const text = Buffer.concat(output).toString('utf8');
      if (code !== 0) return reject(new Error(`pnpm pack exited with ${code}:\n${text}`));
      const tarballs = {};
      const missing = [];
      for (const { name, version } of packages) {
        const file = join(destination, tarballName(name, version));
        if (existsSync(file)) tarballs[name] = file;
        else missing.push(tarballName(name, version));
      }
      if (missing.length > 0) {
        const found = existsSync(destination) ? readdirSync(destination).join(', ') : 'nothing';
        return reject(new Error(`pnpm pack wrote no ${missing.join(', ')} (wrote ${found}):\n${text}`));
      }
      resolve(tarballs);
    });
  });
}

/** Writes the folder's `packed.json`: the tarballs by name, or why there are none. */
export function writePackedIndex(dir, result) {
  const json = 'error' in result ? { error: result.error } : { tarballs: result.tarballs };
  const temp = join(dir, `${INDEX}.partial`);
  writeFileSync(temp, JSON.stringify(json, null, 2));
  renameSync(temp, join(dir, INDEX)); // whole or absent, for a reader that polls for it
}

/**
 * The tarballs packed for this run (by package name), once the packing has ended; undefined when
 * SWITCHBOARD_PACKED_DIR is not set. Rejects when the packing failed or has not ended in `timeoutMs`.
 */
export async function packedTarballs({ timeoutMs = 540_000 } = {}) {
  const dir = process.env[PACKED_DIR_ENV];
  if (!dir) return undefined;
  const index = join(dir, INDEX);
  const deadline = performance.now() + timeoutMs;
  while (!existsSync(index)) {
    if (performance.now() > deadline)
      throw new Error(`${PACKED_DIR_ENV}=${dir}: no ${INDEX} after ${timeoutMs / 1000} s (is the packing stuck?)`);
    await sleep(250);
  }
  const json = JSON.parse(readFileSync(index, 'utf8'));
  if (json.error !== undefined) throw new Error(`the packing for this run failed: ${json.error}`);
  return json.tarballs;
}
