#!/usr/bin/env node
// `pnpm build`: every package (packages/* and test-harness) built as its own `tsup` build would
// build it, in a fraction of the CPU time.
//
// A package's `tsup` build spends most of its time writing declarations: its declaration build
// starts a TypeScript program of its own, which reads and checks the SDK's, Node's and the DOM's
// declarations again, fifteen times over. Here the work is split:
// - the JavaScript of each package: `tsup --no-dts` in the package (esbuild, a second or two each),
//   two at a time;
// - beside them, the declarations of every package's sources from ONE TypeScript program
//   (tsconfig.dts.json, into a temporary folder), which also fails the build on a type error in
//   the sources, as tsup's declaration build does;
// - then each package's declaration files bundled from those with rollup-plugin-dts, the plugin
//   tsup's own declaration build runs, with the same entries, externals and file names as the
//   package's tsup.config.ts gives it. The files written are the same as tsup writes.
// A package built alone (`pnpm --filter <name> build`) still runs plain `tsup`.
//
//   node scripts/build.mjs            build everything; prints one line a package, then a summary
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The packages the root build builds: every folder of packages/ and test-harness with a `build` script. */
export function buildablePackages(root = ROOT) {
  const dirs = [...readdirSync(join(root, 'packages')).map((d) => join('packages', d)), 'test-harness'];
  return dirs
    .filter((dir) => existsSync(join(root, dir, 'package.json')))
    .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) }))
    .filter((p) => typeof p.json.scripts?.build === 'string');
}

/**
 * Runs `cmd args` in `cwd` with the folder's and the root's `.bin` folders on the PATH; resolves
 * `{ ok, output, seconds }`. `onSpawn` sees the child (to lower its priority).
 */
export function runCommand(cmd, args, cwd, onSpawn) {
  const started = performance.now();
  const bins = [...new Set([join(cwd, 'node_modules', '.bin'), join(ROOT, 'node_modules', '.bin')])];
  return new Promise((done) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, PATH: [...bins, process.env.PATH].join(delimiter) },
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: process.platform === 'win32',
    });
    onSpawn?.(child);
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    const finish = (ok, note) =>
      done({
        ok,
        output: Buffer.concat(note ? [...output, Buffer.from(`${note}\n`)] : output).toString('utf8'),
        seconds: (performance.now() - started) / 1000,
      });
    child.on('error', (error) => finish(false, error.message));
    child.on('close', (code) => finish(code === 0));
  });
}

/** Runs `task(item)` for every item, at most `jobs` at once; resolves the results in order. */
async function pool(items, jobs, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return results;
}

/** tsup's names for an entry list: one file keeps its base name, several their paths below their common folder. */
function entryNames(entry) {
  if (typeof entry === 'string') entry = [entry];
  if (!Array.isArray(entry)) return entry;
  if (entry.length === 1) return { [basename(entry[0]).replace(/\.[a-z]+$/, '')]: entry[0] };
  const parts = entry.map((e) => e.replace(/\\/g, '/').split('/'));
  let common = parts[0].slice(0, -1);
  for (const p of parts) {
    let i = 0;
    while (i < common.length && i < p.length - 1 && common[i] === p[i]) i++;
    common = common.slice(0, i);
  }
  return Object.fromEntries(
    parts.map((p, i) => [
      p
        .slice(common.length)
        .join('/')
        .replace(/\.[a-z]+$/, ''),
      entry[i],
    ]),
  );
}

/** The declaration builds a package's tsup.config.ts asks for: entries, output extensions, externals. */
async function declarationBuilds(pkg) {
  const { tsImport } = await import('tsx/esm/api');
  const file = join(ROOT, pkg.dir, 'tsup.config.ts');
  const loaded = await tsImport(pathToFileURL(file).href, import.meta.url);
  let configs = loaded.default ?? loaded;
  if (typeof configs === 'function') configs = await configs({});
  const deps = [
    ...new Set([...Object.keys(pkg.json.dependencies ?? {}), ...Object.keys(pkg.json.peerDependencies ?? {})]),
  ];
  const isModule = pkg.json.type === 'module';
  return (Array.isArray(configs) ? configs : [configs])
    .filter((config) => config.dts)
    .map((config) => {
      const dts = typeof config.dts === 'object' ? config.dts : {};
      const formats = Array.isArray(config.format) ? config.format : [config.format ?? 'cjs'];
      return {
        entries: entryNames(dts.entry ?? config.entry),
        extensions: formats.map((format) =>
          format === 'cjs' ? (isModule ? '.d.cts' : '.d.ts') : format === 'esm' && !isModule ? '.d.mts' : '.d.ts',
        ),
        external: [...deps.map((dep) => new RegExp(`^${dep}($|\\/|\\\\)`)), ...(config.external ?? [])],
        outDir: join(ROOT, pkg.dir, config.outDir ?? 'dist'),
      };
    });
}

/** Bundles one package's declarations from the emitted ones in `emitted` (a folder laid out as the repository). */
async function bundleDeclarations(pkg, emitted) {
  const [{ rollup }, { default: dts }] = await Promise.all([import('rollup'), import('rollup-plugin-dts')]);
  for (const build of await declarationBuilds(pkg)) {
    const input = Object.fromEntries(
      Object.entries(build.entries).map(([name, source]) => [
        name,
        join(emitted, relative(ROOT, join(ROOT, pkg.dir, source))).replace(/\.(c|m)?tsx?$/, (ext) =>
          ext === '.cts' ? '.d.cts' : ext === '.mts' ? '.d.mts' : '.d.ts',
        ),
      ]),
    );
    const bundle = await rollup({
      input,
      plugins: [dts({ compilerOptions: { skipLibCheck: true } })],
      external: build.external,
      onwarn(warning, handler) {
        if (['UNRESOLVED_IMPORT', 'CIRCULAR_DEPENDENCY', 'EMPTY_BUNDLE'].includes(warning.code)) return;
        handler(warning);
      },
    });
    try {
      for (const extension of build.extensions) {
        await bundle.write({
          dir: build.outDir,
          format: 'esm',
          exports: 'named',
          entryFileNames: `[name]${extension}`,
          // The emitted files are named x.d.ts where tsup's inputs were x.ts: the chunk keeps the name tsup gives it.
          chunkFileNames: (chunk) => `${chunk.name.replace(/\.d$/, '')}-[hash]${extension}`,
        });
      }
    } finally {
      await bundle.close();
    }
  }
}

/**
 * Builds every package. `log` gets one line per finished part; `onSpawn` each child process (the
 * test command lowers none: the build is what it waits for). Resolves true when everything built;
 * on a failure the failing part's output has gone to `log`.
 */
export async function buildAll({ log = console.log, jobs = 2, onSpawn } = {}) {
  const started = performance.now();
  const packages = buildablePackages();
  const emitted = mkdtempSync(join(tmpdir(), 'switchboard-dts-'));
  try {
    const tsc = process.platform === 'win32' ? 'tsc.cmd' : 'tsc';
    const declarations = runCommand(tsc, ['-p', 'tsconfig.dts.json', '--outDir', emitted], ROOT, onSpawn).then(
      (result) => {
        log(
          result.ok
            ? `  declarations of every package, one program (${result.seconds.toFixed(0)} s)`
            : `  declarations: failed after ${result.seconds.toFixed(0)} s\n${result.output}`,
        );
        return result.ok;
      },
    );
    let failed = false;
    const scripts = await pool(packages, jobs, async (pkg) => {
      if (failed) return false;
      // A package whose build is not plain `tsup` runs its own script, declarations included.
      const plain = pkg.json.scripts.build.trim() === 'tsup';
      const [cmd, args] = plain ? ['tsup', ['--no-dts']] : ['sh', ['-c', pkg.json.scripts.build]];
      const result = await runCommand(cmd, args, join(ROOT, pkg.dir), onSpawn);
      if (!result.ok) {
        failed = true;
        log(`  ${pkg.json.name}: failed after ${result.seconds.toFixed(0)} s\n${result.output}`);
      } else log(`  ${pkg.json.name} (${result.seconds.toFixed(0)} s)`);
      return result.ok;
    });
    if (!(await declarations) || !scripts.every(Boolean)) return false;
    const bundling = performance.now();
    for (const pkg of packages) {
      if (pkg.json.scripts.build.trim() !== 'tsup') continue;
      try {
        await bundleDeclarations(pkg, emitted);
      } catch (error) {
        log(`  ${pkg.json.name}: bundling its declarations failed\n${error?.stack ?? error}`);
        return false;
      }
    }
    log(
      `  declaration bundles of ${packages.length} packages (${((performance.now() - bundling) / 1000).toFixed(0)} s)`,
    );
    log(`built ${packages.length} packages in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return true;
  } finally {
    rmSync(emitted, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = (await buildAll()) ? 0 : 1;
}
