// An adapter written outside this repository, as a third party would: plain ESM JavaScript
// (test/outside-adapter/) against @switchboard/core, installed with the harness from the
// tarballs `pnpm pack` makes of the built packages, then run through the installed
// `switchboard-conformance` CLI. It catches what the workspace hides: a file missing from a
// package's `files`, an export only the source has, a dependency only the workspace provides.
// The test command packs every package once after the build (SWITCHBOARD_PACKED_DIR,
// scripts/pack.mjs) and this installs those tarballs; run alone, it packs the two it needs.
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packArgs, packedTarballs, pnpmCommand, tarballName } from '../../scripts/pack.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const adapterSource = fileURLToPath(new URL('./outside-adapter/', import.meta.url));

type Manifest = {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** The workspace's published packages by name: packages/* and test-harness. */
function workspacePackages(): Map<string, string> {
  const dirs = [
    ...readdirSync(join(repo, 'packages')).map((d) => join(repo, 'packages', d)),
    join(repo, 'test-harness'),
  ];
  return new Map(dirs.filter((d) => existsSync(join(d, 'package.json'))).map((d) => [readManifest(d).name, d]));
}

type Run = { code: number; stdout: string; stderr: string };

/** Runs a command without a shell; resolves with its exit code and output (never rejects). */
function run(command: string, args: string[], cwd: string, timeout = 120_000): Promise<Run> {
  // The workspace's `pnpm test` leaves its own package's settings in the environment; the temp project is not part of
  // it.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_(package|lifecycle)_|^npm_config_frozen_lockfile$/i.test(k)),
  );
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env, timeout, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error
          ? typeof (error as { code?: unknown }).code === 'number'
            ? (error as { code: number }).code
            : -1
          : 0;
        resolve({ code, stdout, stderr: `${stderr}${error && code === -1 ? `\n${error.message}` : ''}` });
      },
    );
  });
}

/** pnpm: the one that runs this process (`pnpm test`), else through npx. */
const pnpm = (args: string[], cwd: string) => {
  const [command, ...pnpmArgs] = pnpmCommand();
  return run(command!, [...pnpmArgs, ...args], cwd, 180_000);
};

/** The workspace packages `names` need, themselves included (what their tarballs will ask the registry for). */
function withWorkspaceDeps(names: string[], packages: Map<string, string>): string[] {
  const out = new Set<string>();
  const visit = (name: string) => {
    if (out.has(name) || !packages.has(name)) return;
    out.add(name);
    for (const dep of Object.keys(readManifest(packages.get(name)!).dependencies ?? {})) visit(dep);
  };
  names.forEach(visit);
  return [...out];
}

/** The version of `dep` installed for the workspace package in `dir`. */
function installedVersion(dir: string, dep: string): string | undefined {
  const manifest = join(dir, 'node_modules', dep, 'package.json');
  return existsSync(manifest) ? readManifest(join(dir, 'node_modules', dep)).version : undefined;
}

/** A bundled trace of the installed harness, whether it ships plain or gzipped. */
function bundledTrace(harness: string, name: string): string {
  for (const file of [`${name}.jsonl`, `${name}.jsonl.gz`])
    if (existsSync(join(harness, 'traces', file))) return join(harness, 'traces', file);
  throw new Error(`the packed harness has no trace ${name}`);
}

describe('an outside adapter installed from the packed tarballs', () => {
  let dir = '';
  let app = '';
  let installLog = '';

  beforeAll(async () => {
    const packages = workspacePackages();
    const wanted = withWorkspaceDeps(['@switchboard/core', '@switchboard/conformance'], packages);
    // The harness needs no carrier package: a third party installs only the core and the harness.
    expect([...wanted].sort()).toEqual(['@switchboard/conformance', '@switchboard/core']);
    for (const name of wanted) {
      if (!existsSync(join(packages.get(name)!, 'dist')))
        throw new Error(`${name} is not built: run \`pnpm build\` first (the test command does)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'switchboard-outside-'));
    const tarballs = join(dir, 'tarballs');
    const [store, shared] = await Promise.all([pnpm(['store', 'path'], repo), packedTarballs()]);
    if (!shared) {
      // Without the lifecycle scripts: `prepack` builds, which would rewrite dist/ under the other tests.
      const packed = await pnpm(packArgs(wanted, tarballs), repo);
      expect(packed.code, packed.stderr).toBe(0);
    }
    const tarballOf = (name: string) => {
      if (shared) {
        expect(shared[name], `${name} among the tarballs packed for this run`).toBeDefined();
        return `file:${shared[name]!}`;
      }
      const file = tarballName(name, readManifest(packages.get(name)!).version);
      expect(existsSync(join(tarballs, file)), `${file} in ${readdirSync(tarballs).join(', ')}`).toBe(true);
      return `file:${join(tarballs, file)}`;
    };

    // The adapter as its author publishes it, and an application that depends on it.
    const adapter = join(dir, 'larkline');
    cpSync(adapterSource, adapter, { recursive: true });
    app = join(dir, 'app');
    mkdirSync(app);
    const overrides: Record<string, string> = {};
    for (const name of wanted) overrides[name] = tarballOf(name);
    // Third-party dependencies at the versions the workspace installed: already in the local store.
    for (const name of wanted) {
      const source = readManifest(packages.get(name)!);
      for (const dep of [...Object.keys(source.dependencies ?? {}), ...Object.keys(source.peerDependencies ?? {})]) {
        if (dep.startsWith('@switchboard/') || dep === 'vitest' || overrides[dep]) continue;
        const version = installedVersion(packages.get(name)!, dep);
        if (version) overrides[dep] = version;
      }
    }
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify(
        {
          name: 'larkline-app',
          private: true,
          type: 'module',
          dependencies: {
            'larkline-switchboard': `file:${adapter}`,
            '@switchboard/core': overrides['@switchboard/core'],
            '@switchboard/conformance': overrides['@switchboard/conformance'],
            '@openai/agents-realtime': overrides['@openai/agents-realtime'] ?? '^0.20.0',
          },
          pnpm: { overrides },
        },
        null,
        2,
      ),
    );
    // Offline from the store `pnpm install` filled. A store filled from a lockfile has no
    // registry metadata to resolve version ranges with: then the metadata alone comes from the
    // registry, the packages still from the store.
    const common = [
      'install',
      '--ignore-workspace',
      '--no-frozen-lockfile',
      '--config.auto-install-peers=true',
      '--reporter=append-only',
    ];
    if (store.code === 0 && store.stdout.trim()) common.push('--store-dir', store.stdout.trim());
    let install = await pnpm([...common, '--offline'], app);
    installLog = `--offline: exit ${install.code}\n${install.stdout}${install.stderr}`;
    if (install.code !== 0 && /NO_OFFLINE_META|NO_OFFLINE_TARBALL/.test(install.stdout + install.stderr)) {
      install = await pnpm([...common, '--prefer-offline'], app);
      installLog += `\n--prefer-offline: exit ${install.code}\n${install.stdout}${install.stderr}`;
    }
    expect(install.code, installLog).toBe(0);
  }, 240_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes the installed CLI, DTMF n/a for a carrier without DTMF in', async () => {
    const harness = join(app, 'node_modules', '@switchboard', 'conformance');
    const traces = ['dtmf', 'no-stop'].flatMap((name) => ['--trace', bundledTrace(harness, name)]);
    const result = await run(
      join(app, 'node_modules', '.bin', 'switchboard-conformance'),
      ['run', '--adapter', 'larkline-switchboard', ...traces, '--json', '--quiet'],
      app,
    );
    expect(result.code, `${result.stderr}\n${result.stdout}`).toBe(0);
    const report = JSON.parse(result.stdout) as {
      adapter: string;
      passed: boolean;
      traces: Array<{ trace: string; outcomes: Array<{ id: string; status: string }> }>;
    };
    expect(report.adapter).toBe('larkline');
    expect(report.passed).toBe(true);
    expect(report.traces.map((t) => t.trace)).toEqual(['dtmf', 'no-stop']);
    for (const trace of report.traces) {
      expect(trace.outcomes.find((o) => o.id === 'dtmf.order')?.status, trace.trace).toBe('n/a');
      expect(trace.outcomes.find((o) => o.id === 'input.lossless')?.status, trace.trace).toBe('pass');
    }
  }, 120_000);

  it('installed the packed packages, not the workspace', () => {
    for (const name of ['@switchboard/core', '@switchboard/conformance', 'larkline-switchboard']) {
      const installed = realpathSync(join(app, 'node_modules', name));
      expect(installed.startsWith(realpathSync(repo)), `${name} at ${installed}`).toBe(false);
    }
  });
});
