// scripts/check-readme-snippets.mjs (`pnpm docs:check`) on Markdown files written for the test: what it
// refuses and what it lets through. One run of the checker over every file (it builds one TypeScript
// program), then each file's problems are read from its output. Needs the packages built (`pnpm build`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../scripts/check-readme-snippets.mjs', import.meta.url));
const fence = '```';

const FILES: Record<string, string> = {
  'good.md': [
    '# good',
    `${fence}sh`,
    'npm install @switchboard/core',
    fence,
    `${fence}ts`,
    "import { ConfigError } from '@switchboard/core';",
    '',
    "const error: Error = new ConfigError('bad option');",
    'console.log(error.message);',
    fence,
    'Output is not code:',
    `${fence}text`,
    'this is not TypeScript at all (',
    fence,
  ].join('\n'),
  'undefined-name.md': [
    '# a name the reader never sees defined',
    '',
    `${fence}ts`,
    'const greeting: string = "hello";',
    'console.log(greeting, transport.metrics);',
    fence,
  ].join('\n'),
  'preamble.md': [
    '# the same name, declared in a hidden preamble',
    '',
    '<!-- preamble:',
    'declare const transport: { metrics: object };',
    '-->',
    `${fence}typescript`,
    'console.log(transport.metrics);',
    fence,
  ].join('\n'),
  'not-installed.md': [
    '# an import no install line installs',
    `${fence}sh`,
    'npm install @switchboard/twilio',
    fence,
    `${fence}ts`,
    "import { ConfigError } from '@switchboard/core';",
    "console.log(new ConfigError('x'));",
    fence,
  ].join('\n'),
  'types-not-installed.md': [
    '# ws without its types package',
    `${fence}sh`,
    'npm install ws',
    fence,
    `${fence}ts`,
    "import { WebSocketServer } from 'ws';",
    'new WebSocketServer({ port: 0 }).close();',
    fence,
  ].join('\n'),
  'own-module.md': [
    '# a module of the reader, given by a file comment and by another block',
    `${fence}ts`,
    '// acme.ts',
    'export const answer = 42;',
    fence,
    '<!-- file ../src/acme.ts: @block // acme.ts -->',
    '<!-- file ./config.ts: export declare const retries: number; -->',
    `${fence}ts`,
    "import { answer } from '../src/acme.js';",
    "import { retries } from './config.js';",
    'const total: number = answer + retries;',
    'console.log(total);',
    fence,
  ].join('\n'),
  'wrong-type.md': [
    '# a type error on the fourth line of the block',
    `${fence}ts`,
    '// one',
    '// two',
    '// three',
    'const count: number = "three";',
    fence,
  ].join('\n'),
};

let dir = '';
let output = '';
let status: number | null = null;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'readme-snippets-'));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
  const run = spawnSync(process.execPath, [script, ...Object.keys(FILES).map((name) => join(dir, name))], {
    cwd: dir,
    encoding: 'utf8',
  });
  output = `${run.stdout}${run.stderr}`;
  status = run.status;
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The problems printed for one file, as `line:column message`. */
const problemsOf = (name: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith(`${name}:`))
    .map((line) => line.slice(name.length + 1));

describe('check-readme-snippets', () => {
  it('fails the run when any block fails, and counts the blocks it checked', () => {
    expect(status, output).toBe(1);
    expect(output).toMatch(/: 8 TypeScript block\(s\) in 7 Markdown file\(s\)/);
  });

  it('passes a block that imports what it uses from an installed package, and skips ```text', () => {
    expect(problemsOf('good.md'), output).toEqual([]);
  });

  it('refuses a name the block neither imports nor declares, at its line in the Markdown file', () => {
    const problems = problemsOf('undefined-name.md');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^5:\d+ TS2304: Cannot find name 'transport'/);
  });

  it('accepts the same name declared in a hidden preamble', () => {
    expect(problemsOf('preamble.md'), output).toEqual([]);
  });

  it('refuses an import that no install line of the file installs', () => {
    expect(problemsOf('not-installed.md')).toEqual([
      "6:29 '@switchboard/core' is imported but no install line of this file installs it",
    ]);
  });

  it('asks for the @types package of a package whose types come from one', () => {
    expect(problemsOf('types-not-installed.md')).toEqual([
      "6:33 '@types/ws' is where 'ws' gets its types but no install line of this file installs it",
    ]);
  });

  it("compiles the reader's own modules from file comments and from another block", () => {
    expect(problemsOf('own-module.md'), output).toEqual([]);
  });

  it('reports a type error at the line of the Markdown file where it is', () => {
    const problems = problemsOf('wrong-type.md');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^6:7 TS2322: Type 'string' is not assignable to type 'number'/);
  });
});
