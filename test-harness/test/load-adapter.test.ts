import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAdapters } from '../src/load-adapter.js';

const ADAPTER = (name: string) =>
  `export const conformance = { name: ${JSON.stringify(name)}, capabilities: {}, createTransport() {}, createPeerSimulator() {} };\n`;

const scratch = mkdtempSync(join(tmpdir(), 'load-adapter-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A package under `<scratch>/<project>/node_modules/<name>` with the given files and subpath exports. */
function writePackage(project: string, name: string, files: Record<string, string>): string {
  const dir = join(scratch, project, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  const exports: Record<string, { import: string }> = {};
  for (const file of Object.keys(files)) {
    const subpath = file === 'index.mjs' ? '.' : `./${file.replace(/\.mjs$/, '')}`;
    exports[subpath] = { import: `./${file}` };
    writeFileSync(join(dir, file), files[file]!);
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', exports }));
  return join(scratch, project);
}

describe('loadAdapters by package name', () => {
  it('finds the adapter at ./testing when the root export has none', async () => {
    const project = writePackage('a', '@acme/carrier', {
      'index.mjs': 'export const transportName = "acme";\n',
      'testing.mjs': ADAPTER('from-testing'),
    });
    const adapters = await loadAdapters('@acme/carrier', project);
    expect(adapters.map((adapter) => adapter.name)).toEqual(['from-testing']);
  });

  it('prefers ./testing to ./conformance, and still finds ./conformance alone', async () => {
    const both = writePackage('b', 'carrier', {
      'index.mjs': 'export {};\n',
      'testing.mjs': ADAPTER('from-testing'),
      'conformance.mjs': ADAPTER('from-conformance'),
    });
    expect((await loadAdapters('carrier', both)).map((adapter) => adapter.name)).toEqual(['from-testing']);
    const legacy = writePackage('c', 'carrier', {
      'index.mjs': 'export {};\n',
      'conformance.mjs': ADAPTER('from-conformance'),
    });
    expect((await loadAdapters('carrier', legacy)).map((adapter) => adapter.name)).toEqual(['from-conformance']);
  });

  it('names both subpaths when neither exports an adapter', async () => {
    const project = writePackage('d', 'carrier', {
      'index.mjs': 'export {};\n',
      'testing.mjs': 'export const nothing = 1;\n',
    });
    await expect(loadAdapters('carrier', project)).rejects.toThrow(/nor its \.\/testing subpath/);
    const bare = writePackage('e', 'bare', { 'index.mjs': 'export {};\n' });
    await expect(loadAdapters('bare', bare)).rejects.toThrow(/no \.\/testing or \.\/conformance subpath/);
  });
});
