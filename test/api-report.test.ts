/**
 * scripts/api-report.mjs (`pnpm api:check`, `pnpm api:update`) on small packages of its own: what
 * a published declaration file may import, what it may not keep, and when a report is stale.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../scripts/api-report.mjs', import.meta.url));
const nodeTypes = fileURLToPath(new URL('../node_modules/@types/node', import.meta.url));

let root: string;

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** A package whose only entry point is `.`, ESM and CommonJS, with the same declarations. */
function writePackage(name: string, manifest: Record<string, unknown>, declarations: string): void {
  const dir = `packages/${name}`;
  write(
    `${dir}/package.json`,
    JSON.stringify({
      name: `@fixture/${name}`,
      version: '0.0.0',
      type: 'module',
      exports: {
        '.': {
          import: { types: './dist/index.d.ts', default: './dist/index.js' },
          require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
        },
        './package.json': './package.json',
      },
      ...manifest,
    }),
  );
  write(`${dir}/dist/index.d.ts`, declarations);
  write(`${dir}/dist/index.d.cts`, declarations);
}

function run(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'switchboard-api-report-test-'));
  // Node's types, as a user of a Node package has them.
  mkdirSync(join(root, 'node_modules/@types'), { recursive: true });
  symlinkSync(nodeTypes, join(root, 'node_modules/@types/node'), 'dir');
  // A module without types of its own, typed by an @types package, as `debug` is.
  write('node_modules/untyped/package.json', JSON.stringify({ name: 'untyped', version: '1.0.0', main: 'index.js' }));
  write('node_modules/untyped/index.js', 'module.exports = () => {};\n');
  write(
    'node_modules/@types/untyped/package.json',
    JSON.stringify({ name: '@types/untyped', version: '1.0.0', types: 'index.d.ts' }),
  );
  write('node_modules/@types/untyped/index.d.ts', 'export interface Printer {\n  (message: string): void;\n}\n');

  // Never reported: a report is missing, and one names an entry point that no longer exists.
  writePackage('unreported', {}, 'export declare function add(a: number, b: number): number;\n');
  write('packages/unreported/etc/gone.api.md', 'an old report\n');
  // Reported by the first run: one stays as it is, the other's API changes before the second run.
  writePackage('steady', {}, 'export declare const answer: 42;\n');
  write('packages/steady/etc/gone.api.md', 'an old report\n');
  writePackage('changed', {}, 'export declare function add(a: number, b: number): number;\n');
  writePackage(
    'leaky',
    { devDependencies: { untyped: '^1.0.0' } },
    [
      "import { Printer } from 'untyped';",
      'export declare function printer(): Printer;',
      '/** @internal */',
      'export declare const hidden: number;',
      'export declare function broken(): Missing;',
      '',
    ].join('\n'),
  );
  writePackage(
    'typed-by-dev-dependency',
    { dependencies: { untyped: '^1.0.0' }, devDependencies: { '@types/untyped': '^1.0.0' } },
    "import { Printer } from 'untyped';\nexport declare function printer(): Printer;\n",
  );
  writePackage(
    'typed',
    { dependencies: { untyped: '^1.0.0', '@types/untyped': '^1.0.0' } },
    "import { EventEmitter } from 'node:events';\nimport { Printer } from 'untyped';\nexport declare function printer(): Printer;\nexport declare const events: EventEmitter;\n",
  );
});

let updated: { status: number | null; output: string };
let checked: { status: number | null; output: string };
beforeAll(() => {
  updated = run('--update', 'packages/steady', 'packages/changed');
  write('packages/changed/dist/index.d.ts', 'export declare function add(a: number, b: number, c?: number): number;\n');
  checked = run();
}, 180_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('api-report', () => {
  it('fails for declarations that import a dev dependency, keep @internal or do not compile', () => {
    const { status, output } = checked;
    expect(status).toBe(1);
    expect(output).toContain("packages/leaky/dist/index.d.ts: imports 'untyped', which is not a dependency");
    expect(output).toContain("packages/leaky/dist/index.d.cts: imports 'untyped', which is not a dependency");
    expect(output).toContain('packages/leaky/dist/index.d.ts:3: an @internal declaration is published');
    expect(output).toMatch(/packages\/leaky\/dist\/index\.d\.ts:5: TS2304: Cannot find name 'Missing'/);
    expect(output).toContain(
      "packages/typed-by-dev-dependency/dist/index.d.ts: the types of 'untyped' come from @types/untyped, which is not a dependency",
    );
    // API Extractor cannot read declarations that do not compile: no report, and the check fails.
    expect(output).toMatch(/FAIL api report +@fixture\/leaky\n +index: no report/);
    // Types from an @types package the package depends on, and Node's built-ins, are fine.
    expect(output).not.toMatch(/packages\/typed\/dist/);
  });

  it('writes a report per entry point with --update and removes the reports of entry points that are gone', () => {
    expect(updated.status).toBe(0);
    expect(readFileSync(join(root, 'packages/steady/etc/index.api.md'), 'utf8')).toContain('export const answer: 42;');
    expect(existsSync(join(root, 'packages/steady/etc/gone.api.md'))).toBe(false);
    expect(checked.output).toMatch(/ok +api report +@fixture\/steady \(index\)/);
  });

  it('fails with a diff when an API changed, and for missing and left-over reports', () => {
    const { output } = checked;
    expect(output).toContain('-export function add(a: number, b: number): number;');
    expect(output).toContain('+export function add(a: number, b: number, c?: number): number;');
    expect(output).toMatch(/FAIL api report +@fixture\/changed: index\.api\.md out of date: run `pnpm api:update`/);
    expect(output).toMatch(
      /FAIL api report +@fixture\/unreported: index\.api\.md \(missing\), gone\.api\.md \(no such entry point\)/,
    );
  });
});
