import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  COPYRIGHT_LINE,
  SHARED_CHANGESET_MAX_CHARS,
  checkChangesets,
  checkInstalled,
  checkManifest,
  checkPackages,
  checkTarball,
  expectedMetadata,
  parseChangeset,
  publishedPackages,
} from '../scripts/release-checks.mjs';
import { PACKED_DIR_ENV, packedTarballs, tarballName, writePackedIndex } from '../scripts/pack.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const LICENSE_TEXT = `MIT License\n\n${COPYRIGHT_LINE}\n\nPermission is hereby granted...\n`;

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-release-test-'));
  scratch.push(dir);
  return dir;
}

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

/** A manifest that passes every check, for the package in `dir`. */
function goodManifest(name: string, dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    version: '0.0.0',
    description: 'A package that passes every release check.',
    ...expectedMetadata(dir),
    keywords: ['telephony', 'voice', 'openai'],
    type: 'module',
    main: './dist/index.cjs',
    exports: { '.': { import: './dist/index.js', require: './dist/index.cjs' }, './package.json': './package.json' },
    files: ['dist', 'LICENSE', 'README.md', 'CHANGELOG.md'],
    scripts: { build: 'tsup', prepack: 'pnpm run build' },
    publishConfig: { access: 'public' },
    ...extra,
  };
}

/** A workspace with two published packages, a private one, and `.changeset/` with the given files. */
function fixtureWorkspace(changesets: Record<string, string> = {}): string {
  const ws = tempDir();
  write(join(ws, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n  - examples/*\n');
  for (const [name, dir] of [
    ['@x/a', 'packages/a'],
    ['@x/b', 'packages/b'],
  ] as const) {
    write(join(ws, dir, 'package.json'), JSON.stringify(goodManifest(name, dir), null, 2));
    write(join(ws, dir, 'LICENSE'), LICENSE_TEXT);
    write(join(ws, dir, 'README.md'), `# ${name}\n`);
  }
  write(join(ws, 'examples/app/package.json'), JSON.stringify({ name: '@x/app', version: '0.0.0', private: true }));
  write(join(ws, '.changeset/config.json'), JSON.stringify({ ignore: [], privatePackages: { version: false } }));
  for (const [file, text] of Object.entries(changesets)) write(join(ws, '.changeset', file), text);
  return ws;
}

function editManifest(ws: string, dir: string, change: (manifest: Record<string, unknown>) => void): void {
  const path = join(ws, dir, 'package.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  change(manifest);
  writeFileSync(path, JSON.stringify(manifest, null, 2));
}

describe('the repository as it is', () => {
  it('has every published package with its LICENSE, metadata, prepack build and files list', () => {
    expect(publishedPackages(root).map((pkg) => pkg.name)).toContain('@switchboard/core');
    expect(checkPackages(root)).toEqual([]);
  });

  it('has changesets that name published packages, and no long note shared between packages', () => {
    expect(checkChangesets(root)).toEqual([]);
  });

  it('passes `pnpm release --check`', () => {
    const result = spawnSync(process.execPath, [join(root, 'scripts/release.mjs'), '--check'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
  });
});

describe('checkManifest', () => {
  it('accepts a package with everything', () => {
    const ws = fixtureWorkspace();
    expect(checkManifest(ws, 'packages/a')).toEqual([]);
    expect(checkPackages(ws)).toEqual([]);
  });

  it('names a missing LICENSE file, and one that is not the MIT licence with our copyright', () => {
    const ws = fixtureWorkspace();
    rmSync(join(ws, 'packages/a/LICENSE'));
    expect(checkManifest(ws, 'packages/a')).toEqual([expect.stringContaining('no LICENSE file')]);
    writeFileSync(join(ws, 'packages/a/LICENSE'), 'ISC License\n');
    expect(checkManifest(ws, 'packages/a')).toEqual([expect.stringContaining('LICENSE is not the MIT licence')]);
  });

  it('names each missing or wrong metadata field', () => {
    const ws = fixtureWorkspace();
    editManifest(ws, 'packages/a', (m) => {
      delete m.repository;
      delete m.bugs;
      m.homepage = 'https://example.com';
      m.keywords = ['Voice'];
      delete m.engines;
    });
    const problems = checkManifest(ws, 'packages/a').join('\n');
    for (const field of ['"repository"', '"bugs"', '"homepage"', '"keywords"', '"engines"'])
      expect(problems).toContain(field);
  });

  it('wants the repository directory to be the package folder', () => {
    const ws = fixtureWorkspace();
    editManifest(ws, 'packages/a', (m) => {
      m.repository = expectedMetadata('packages/b').repository;
    });
    expect(checkManifest(ws, 'packages/a')).toEqual([expect.stringContaining('"repository" must be')]);
  });

  it('wants a build before packing, and a files list with LICENSE, no stale entry and every exported file', () => {
    const ws = fixtureWorkspace();
    editManifest(ws, 'packages/a', (m) => {
      m.scripts = { build: 'tsup' };
      m.files = ['dist', 'README.md', 'CHANGELOG.md', 'traces'];
      m.bin = { tool: './bin/tool.js' };
    });
    const problems = checkManifest(ws, 'packages/a').join('\n');
    expect(problems).toContain('"scripts.prepack" must build');
    expect(problems).toContain('"files" must include "LICENSE"');
    expect(problems).toContain('"files" names "traces", which does not exist');
    expect(problems).toContain('"bin/tool.js" (main, types, bin or exports) is outside "files"');
  });

  it('refuses a dependency on a private workspace package', () => {
    const ws = fixtureWorkspace();
    editManifest(ws, 'packages/a', (m) => {
      m.dependencies = { '@x/app': 'workspace:^' };
    });
    expect(checkManifest(ws, 'packages/a')).toEqual([
      expect.stringContaining('"dependencies" names the private workspace package @x/app'),
    ]);
  });

  it('wants packages not released yet to share one version', () => {
    const ws = fixtureWorkspace();
    editManifest(ws, 'packages/b', (m) => {
      m.version = '0.1.0';
    });
    expect(checkPackages(ws)).toEqual([expect.stringContaining('must share one version')]);
    // Once a package has a changelog it has been released, and its version moves on its own.
    write(join(ws, 'packages/b/CHANGELOG.md'), '# @x/b\n\n## 0.1.0\n');
    expect(checkPackages(ws)).toEqual([]);
  });
});

describe('checkInstalled', () => {
  it('names a workspace dependency that is not linked, which would stop pnpm publish halfway', () => {
    const ws = fixtureWorkspace();
    editManifest(ws, 'packages/b', (m) => {
      m.dependencies = { '@x/a': 'workspace:^' };
    });
    expect(checkInstalled(ws)).toEqual([
      expect.stringContaining('@x/b: @x/a (workspace:^) is not linked in packages/b/node_modules'),
      expect.stringContaining('pnpm install'),
    ]);
    mkdirSync(join(ws, 'packages/b/node_modules/@x'), { recursive: true });
    symlinkSync('../../../a', join(ws, 'packages/b/node_modules/@x/a'));
    expect(checkInstalled(ws)).toEqual([]);
  });

  it('finds every workspace dependency of the repository linked', () => {
    expect(checkInstalled(root)).toEqual([]);
  });
});

describe('checkChangesets', () => {
  const shared = (text: string) => `---\n'@x/a': minor\n'@x/b': minor\n---\n\n${text}\n`;

  it('accepts a short note shared by several packages and a long note for one', () => {
    const ws = fixtureWorkspace({
      'shared.md': shared('Both packages read frames with the same reader now.'),
      'long.md': `---\n'@x/a': minor\n---\n\n${'A long, detailed paragraph about one package. '.repeat(20)}\n`,
    });
    expect(checkChangesets(ws)).toEqual([]);
  });

  it('refuses a long note that several changelogs would repeat', () => {
    const long = 'This paragraph would be copied into every named package. '.repeat(6);
    expect(long.length).toBeGreaterThan(SHARED_CHANGESET_MAX_CHARS);
    const ws = fixtureWorkspace({ 'copied.md': shared(long) });
    expect(checkChangesets(ws)).toEqual([expect.stringMatching(/copied\.md: names 2 packages with \d+ characters/)]);
  });

  it('refuses unknown and private packages, bad bumps, empty notes and unreadable front matter', () => {
    const ws = fixtureWorkspace({
      'unknown.md': `---\n'@x/nope': minor\n---\n\nText.\n`,
      'private.md': `---\n'@x/app': patch\n---\n\nText.\n`,
      'bump.md': `---\n'@x/a': huge\n---\n\nText.\n`,
      'empty.md': `---\n'@x/a': patch\n---\n`,
      'nofront.md': 'Just text.\n',
    });
    expect(checkChangesets(ws)).toEqual([
      expect.stringContaining('bump.md: "huge" is not patch, minor or major'),
      expect.stringContaining('empty.md: says nothing'),
      expect.stringContaining('nofront.md: no front matter'),
      expect.stringContaining('private.md: @x/app is not published'),
      expect.stringContaining('unknown.md: @x/nope is not a workspace package'),
    ]);
  });

  it('wants every private package left out of versioning', () => {
    const ws = fixtureWorkspace();
    writeFileSync(join(ws, '.changeset/config.json'), JSON.stringify({ ignore: [] }));
    expect(checkChangesets(ws)).toEqual([expect.stringContaining('the private package @x/app')]);
  });

  it('reads quoted and unquoted names in the front matter', () => {
    expect(parseChangeset(`---\n"@x/a": minor\n@x/b: patch\n---\n\nText.\n`)).toEqual({
      releases: [
        { name: '@x/a', type: 'minor' },
        { name: '@x/b', type: 'patch' },
      ],
      summary: 'Text.',
    });
  });
});

describe('checkTarball', () => {
  /** Packs `files` (paths under `package/`) with the system tar, as npm lays a tarball out. */
  function tarball(files: Record<string, string>): string {
    const dir = tempDir();
    for (const [path, text] of Object.entries(files)) write(join(dir, 'package', path), text);
    const out = join(dir, 'out.tgz');
    execFileSync('tar', ['czf', out, '-C', dir, 'package']);
    return out;
  }
  const manifest = (deps: Record<string, string> = {}) =>
    JSON.stringify({ name: '@x/a', version: '0.1.0', main: './dist/index.cjs', dependencies: deps });
  const complete = {
    'dist/index.cjs': 'module.exports = {};',
    LICENSE: LICENSE_TEXT,
    'README.md': '# a',
  };

  it('accepts a tarball with dist, LICENSE, README.md and resolved ranges', () => {
    expect(checkTarball(tarball({ 'package.json': manifest({ '@x/b': '^0.1.0' }), ...complete }))).toEqual([]);
  });

  it('names a workspace: range left in package.json', () => {
    const path = tarball({ 'package.json': manifest({ '@x/b': 'workspace:^' }), ...complete });
    expect(checkTarball(path)).toEqual([expect.stringContaining('workspace: range')]);
  });

  it('names a missing dist, LICENSE and README.md, and a file the manifest points at', () => {
    const problems = checkTarball(tarball({ 'package.json': manifest(), 'src/index.ts': '' }));
    expect(problems).toEqual([
      expect.stringContaining('no dist'),
      expect.stringContaining('no LICENSE'),
      expect.stringContaining('no README.md'),
      expect.stringContaining('dist/index.cjs is named in package.json but not in the tarball'),
    ]);
  });

  it('names source maps', () => {
    const path = tarball({ 'package.json': manifest(), ...complete, 'dist/index.cjs.map': '{}' });
    expect(checkTarball(path)).toEqual([expect.stringContaining('ships source maps (package/dist/index.cjs.map)')]);
  });

  it('says so when the file is not a tarball', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'broken.tgz'), 'not gzip');
    expect(checkTarball(join(dir, 'broken.tgz'))).toEqual([expect.stringContaining('not a readable tarball')]);
  });
});

describe('the tarballs packed once per test run (scripts/pack.mjs)', () => {
  const before = process.env[PACKED_DIR_ENV];
  afterEach(() => {
    if (before === undefined) delete process.env[PACKED_DIR_ENV];
    else process.env[PACKED_DIR_ENV] = before;
  });

  it('names a tarball as pnpm pack does', () => {
    expect(tarballName('@switchboard/core', '0.3.1')).toBe('switchboard-core-0.3.1.tgz');
    expect(tarballName('plain', '1.0.0')).toBe('plain-1.0.0.tgz');
  });

  it('has none when the run packed none: a check then packs for itself', async () => {
    delete process.env[PACKED_DIR_ENV];
    await expect(packedTarballs()).resolves.toBeUndefined();
  });

  it('gives the tarballs by name once the packing has ended', async () => {
    const dir = tempDir();
    process.env[PACKED_DIR_ENV] = dir;
    const tarballs = { '@x/a': join(dir, 'x-a-0.1.0.tgz') };
    const later = setTimeout(() => writePackedIndex(dir, { tarballs }), 300);
    try {
      await expect(packedTarballs({ timeoutMs: 60_000 })).resolves.toEqual(tarballs);
    } finally {
      clearTimeout(later);
    }
  });

  it('fails with the reason when the packing failed, and when it never ends', async () => {
    const failed = tempDir();
    process.env[PACKED_DIR_ENV] = failed;
    writePackedIndex(failed, { error: 'pnpm pack exited with 1' });
    await expect(packedTarballs()).rejects.toThrow(/packing for this run failed: pnpm pack exited with 1/);
    process.env[PACKED_DIR_ENV] = tempDir();
    await expect(packedTarballs({ timeoutMs: 300 })).rejects.toThrow(/no packed\.json after 0\.3 s/);
  });
});
