#!/usr/bin/env node
// `pnpm build` in one line: builds every package (the root `build` script) with its output kept
// back, then prints what was built and how long it took. On a failure the whole output is printed,
// and the exit code is the build's. Used by the scripts whose own output is what the reader wants
// to see (`pnpm demo`, the benchmarks).
import { spawn } from 'node:child_process';
import { pnpmCommand } from './pack.mjs';

const pnpm = pnpmCommand();

const started = performance.now();
const child = spawn(pnpm[0], [...pnpm.slice(1), 'run', 'build'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: process.env,
});
const output = [];
child.stdout.on('data', (chunk) => output.push(chunk));
child.stderr.on('data', (chunk) => output.push(chunk));
const code = await new Promise((resolve) => {
  child.on('error', (error) => {
    output.push(Buffer.from(`${error.message}\n`));
    resolve(1);
  });
  child.on('close', (status) => resolve(status ?? 1));
});
const seconds = ((performance.now() - started) / 1000).toFixed(0);
if (code !== 0) {
  process.stdout.write(Buffer.concat(output));
  console.log(`build failed after ${seconds} s (exit code ${code})`);
  process.exit(code);
}
// The build (scripts/build.mjs) ends with "built N packages in N s".
const built = /^built (\d+) packages/m.exec(Buffer.concat(output).toString('utf8'))?.[1];
console.log(`built ${built ? `${built} packages` : 'the packages'} in ${seconds} s`);
