#!/usr/bin/env node
// Checks every published package as npm would ship it: publint (package.json, exports, files)
// and Are The Types Wrong (ESM + CJS type resolution). Run after `pnpm build`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const packages = [
  { dir: 'packages/core' },
  { dir: 'packages/twilio' },
  // A test tool with a `./vitest` subpath: old `moduleResolution: node` (node10) has no subpaths.
  { dir: 'test-harness', attwProfile: 'node16' },
];

const bin = (name) => join(process.cwd(), 'node_modules', '.bin', name);
let failed = 0;
for (const { dir, attwProfile } of packages) {
  const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const [tool, args] of [
    ['publint', ['--strict', '--pack', 'npm', dir]],
    ['attw', ['--pack', dir, '--format', 'table-flipped', ...(attwProfile ? ['--profile', attwProfile] : [])]],
  ]) {
    try {
      execFileSync(bin(tool), args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      console.log(`ok   ${tool.padEnd(7)} ${name}`);
    } catch (error) {
      failed++;
      console.log(`FAIL ${tool.padEnd(7)} ${name}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
  }
}
console.log(`package checks: ${packages.length * 2 - failed} ok, ${failed} failing`);
process.exit(failed === 0 ? 0 : 1);
