#!/usr/bin/env node
// The public API of every published package, as its users' compilers see it (the built .d.ts
// files, so run `pnpm build` first), in three checks:
// 1. Types that resolve for a user: every module a published .d.ts/.d.cts imports is a Node
//    built-in, the package itself, or one of its dependencies/peer dependencies whose types come
//    from that package or from an `@types/` package it also depends on. A type import of a dev
//    dependency works here and fails for a user with `skipLibCheck: false` (TS7016/TS2307).
// 2. The declarations compile: each package's .d.ts/.d.cts files, type-checked (skipLibCheck off,
//    for our files) under `module: nodenext`, with no `@internal` declaration left in them
//    (`stripInternal` in tsconfig.base.json takes them out).
// 3. API reports: one per entry point of the `exports` map, at `<package>/etc/<entry>.api.md`
//    (`.` is `index`, `./protocol` is `protocol`), written by API Extractor. A change to a
//    public surface changes its report, and so shows in review.
//
//   node scripts/api-report.mjs            check (`pnpm api:check`): exit 1, with a diff, when a
//                                          report is stale, missing or left over
//   node scripts/api-report.mjs --update   write the reports (`pnpm api:update`)
//   ... [package dir or name ...]          only these packages
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';

// Both are CommonJS: required, rather than imported, they load without a scan of their exports.
const require = createRequire(import.meta.url);
const { CompilerState, Extractor, ExtractorConfig } = require('@microsoft/api-extractor');
const ts = require('typescript');
const root = process.cwd();
const args = process.argv.slice(2);
const update = args.includes('--update');
const only = args.filter((a) => !a.startsWith('--'));

/** The published packages: every folder under packages/, and the harness. */
function packages() {
  const dirs = [
    ...readdirSync('packages', { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join('packages', e.name, 'package.json')))
      .map((e) => join('packages', e.name))
      .sort(),
    'test-harness',
  ].filter((dir) => existsSync(join(dir, 'package.json')));
  return dirs
    .map((dir) => ({ dir: resolve(dir), json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter(({ json }) => !json.private)
    .filter(({ dir, json }) => only.length === 0 || only.some((o) => o === json.name || resolve(o) === dir))
    .map((pkg) => ({ ...pkg, entries: entriesOf(pkg) }));
}

/** The `exports` map's entry points that have types: `{ name, subpath, dts }` (the ESM types). */
function entriesOf({ dir, json }) {
  const entries = [];
  for (const [subpath, target] of Object.entries(json.exports ?? { '.': json })) {
    const types = (branch) => (typeof branch === 'object' && branch !== null ? branch.types : undefined);
    const dts = types(target?.import) ?? types(target);
    if (typeof dts !== 'string') continue; // ./package.json, or a file without types
    const name = subpath === '.' ? 'index' : subpath.replace(/^\.\//, '').replaceAll('/', '-');
    entries.push({ name, subpath, dts: resolve(dir, dts) });
  }
  return entries;
}

/** Every declaration file under a package's dist/. */
function declarationFiles(dir) {
  const dist = join(dir, 'dist');
  if (!existsSync(dist)) return [];
  return readdirSync(dist, { recursive: true })
    .map(String)
    .filter((f) => /\.d\.[cm]?ts$/.test(f))
    .map((f) => join(dist, f));
}

const packageNameOf = (specifier) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
/** Node's own modules (and `/// <reference types="node" />`): a user of a Node package has their types. */
const isBuiltin = (specifier) =>
  specifier === 'node' ||
  specifier.startsWith('node:') ||
  builtinModules.includes(packageNameOf(specifier).replace(/^node:/, ''));

const compilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
  strict: true,
  skipLibCheck: false,
  noEmit: true,
};

/** The same settings, as a tsconfig.json says them (for API Extractor). */
const TSCONFIG = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  lib: ['ES2022', 'DOM'],
  types: ['node'],
  strict: true,
};

/** 1 and 2: the modules each declaration file imports, and its own type errors. */
function checkDeclarations(pkgs) {
  const problems = [];
  const files = pkgs.flatMap(({ dir }) => declarationFiles(dir));
  const host = ts.createCompilerHost(compilerOptions);
  const cache = ts.createModuleResolutionCache(root, (f) => f, compilerOptions);
  for (const pkg of pkgs) {
    const declared = new Set(Object.keys({ ...pkg.json.dependencies, ...pkg.json.peerDependencies }));
    for (const file of declarationFiles(pkg.dir)) {
      const text = readFileSync(file, 'utf8');
      const where = relative(root, file);
      const info = ts.preProcessFile(text, true, true);
      const mode = ts.getImpliedNodeFormatForFile(file, cache.getPackageJsonInfoCache(), host, compilerOptions);
      // `/// <reference types="x" />` needs what `import 'x'` needs.
      for (const { fileName: specifier } of [...info.importedFiles, ...info.typeReferenceDirectives]) {
        if (specifier.startsWith('.') || isBuiltin(specifier)) continue;
        const name = packageNameOf(specifier);
        if (name === pkg.json.name) continue;
        if (!declared.has(name)) {
          problems.push(`${where}: imports '${specifier}', which is not a dependency or peer dependency`);
          continue;
        }
        const { resolvedModule } = ts.resolveModuleName(specifier, file, compilerOptions, host, cache, undefined, mode);
        const from = resolvedModule?.packageId?.name;
        if (!resolvedModule) {
          problems.push(
            `${where}: the types of '${specifier}' do not resolve (${mode === ts.ModuleKind.CommonJS ? 'require' : 'import'})`,
          );
        } else if (from !== undefined && from !== name && !declared.has(from)) {
          problems.push(`${where}: the types of '${specifier}' come from ${from}, which is not a dependency`);
        }
      }
      text.split('\n').forEach((line, i) => {
        if (line.includes('@internal')) problems.push(`${where}:${i + 1}: an @internal declaration is published`);
      });
    }
  }
  const program = ts.createProgram(files, compilerOptions, host);
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) continue;
    for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const { line } = d.start === undefined ? { line: 0 } : source.getLineAndCharacterOfPosition(d.start);
      const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
      problems.push(`${relative(root, file)}:${line + 1}: TS${d.code}: ${message}`);
    }
  }
  return problems;
}

/** The API Extractor messages that say nothing about the API: tags and TSDoc (eslint checks TSDoc). */
const SILENT = new Set([
  'ae-missing-release-tag',
  'ae-internal-missing-underscore',
  'ae-unresolved-link',
  'ae-undocumented',
]);

/**
 * A report as committed: without the release-tag and "(undocumented)" comments API Extractor puts
 * above every declaration (the packages do not use release tags; eslint checks the TSDoc).
 */
function tidy(report) {
  return report
    .split('\n')
    .filter((line) => !/^\s*\/\/ (@public|@beta|@alpha)?\s*(\(undocumented\))?$/.test(line))
    .join('\n');
}

/** The names a report's entry point exports. */
const EXPORTED =
  /^export (?:declare )?(?:abstract )?(?:class|function|const|let|var|type|interface|enum|namespace) (\w+)/gm;

/** API Extractor's settings for one entry point; its report goes to `temp`. */
function configFor(pkg, entry, temp) {
  return ExtractorConfig.prepare({
    configObject: {
      projectFolder: pkg.dir,
      mainEntryPointFilePath: entry.dts,
      compiler: {
        // The declarations were type-checked above; here only our own are read.
        overrideTsconfig: { compilerOptions: { ...TSCONFIG, skipLibCheck: true }, files: [entry.dts] },
      },
      apiReport: {
        enabled: true,
        reportFileName: entry.name,
        reportFolder: join(temp, 'committed'),
        reportTempFolder: temp,
        // A type that an export uses but the entry point does not export is shown too (unexported).
        includeForgottenExports: true,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      newlineKind: 'lf',
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: { default: { logLevel: 'warning', addToApiReportFile: false } },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
    packageJsonFullPath: join(pkg.dir, 'package.json'),
  });
}

/**
 * 3: the reports of every entry point, written to `temp/<package folder>/`. One program holds
 * every package's declarations (each is read once). Returns, per package, the types its entry
 * points use without exporting them, and the other messages worth reading.
 */
function extract(pkgs, temp) {
  const jobs = pkgs.flatMap((pkg) => {
    const dir = join(temp, basename(pkg.dir));
    mkdirSync(join(dir, 'committed'), { recursive: true });
    return pkg.entries.map((entry) => ({ pkg, entry, config: configFor(pkg, entry, dir) }));
  });
  const state = CompilerState.create(jobs[0].config, { additionalEntryPoints: jobs.map((j) => j.entry.dts) });
  const found = new Map(pkgs.map((pkg) => [pkg, { unexported: new Set(), notes: [], failed: [] }]));
  for (const { pkg, entry, config } of jobs) {
    try {
      invoke(pkg, entry, config);
    } catch (error) {
      // API Extractor stops at declarations that do not compile (the check above names them).
      found.get(pkg).failed.push(`${entry.name}: no report: ${String(error?.message ?? error).split('\n')[0]}`);
    }
  }
  return found;

  function invoke(pkg, entry, config) {
    Extractor.invoke(config, {
      localBuild: true,
      compilerState: state,
      messageCallback(message) {
        message.handled = true;
        if (message.logLevel === 'none' || message.logLevel === 'verbose' || message.logLevel === 'info') return;
        if (SILENT.has(message.messageId) || message.category === 'TSDoc') return;
        if (message.category === 'console') return; // API Extractor's file handling: ours is below
        const { unexported, notes } = found.get(pkg);
        const symbol = /The symbol "([^"]+)"/.exec(message.text)?.[1];
        if (message.messageId === 'ae-forgotten-export' && symbol) unexported.add({ symbol, entry: entry.name });
        else {
          const at = message.sourceFilePath ? ` (${relative(root, message.sourceFilePath)})` : '';
          notes.push(`${entry.name}: ${message.messageId}: ${message.text}${at}`);
        }
      },
    });
  }
}

const started = performance.now();
const pkgs = packages();
const missing = pkgs.flatMap((p) => p.entries.filter((e) => !existsSync(e.dts)).map((e) => relative(root, e.dts)));
if (missing.length > 0) {
  console.log(`api reports: not built (run \`pnpm build\` first): ${missing.join(', ')}`);
  process.exit(1);
}

let failed = 0;
const declarationProblems = checkDeclarations(pkgs);
if (declarationProblems.length > 0) {
  failed += declarationProblems.length;
  console.log(`FAIL published types: ${declarationProblems.length} problems\n  ${declarationProblems.join('\n  ')}`);
} else {
  console.log(`ok   published types: ${pkgs.length} packages resolve with their dependencies and compile`);
}

const temp = mkdtempSync(join(tmpdir(), 'switchboard-api-'));
try {
  const found = extract(pkgs, temp);
  for (const pkg of pkgs) {
    const dir = join(temp, basename(pkg.dir));
    const { unexported, notes, failed: unreported } = found.get(pkg);
    if (unreported.length > 0) {
      failed++;
      console.log(`FAIL api report   ${pkg.json.name}\n     ${unreported.join('\n     ')}`);
      continue;
    }
    const etc = join(pkg.dir, 'etc');
    const wanted = new Set(pkg.entries.map((e) => `${e.name}.api.md`));
    const stale = [];
    for (const file of wanted) {
      const fresh = tidy(readFileSync(join(dir, file), 'utf8'));
      writeFileSync(join(dir, file), fresh);
      const committed = join(etc, file);
      const old = existsSync(committed) ? readFileSync(committed, 'utf8') : undefined;
      if (old === fresh) continue;
      stale.push(old === undefined ? `${file} (missing)` : file);
      if (update) {
        mkdirSync(etc, { recursive: true });
        writeFileSync(committed, fresh);
      } else if (old !== undefined) {
        console.log(diff(committed, join(dir, file)));
      }
    }
    const leftOver = existsSync(etc) ? readdirSync(etc).filter((f) => f.endsWith('.api.md') && !wanted.has(f)) : [];
    for (const file of leftOver) {
      if (update) rmSync(join(etc, file));
      stale.push(`${file} (no such entry point)`);
    }
    const name = pkg.json.name;
    const label = [...wanted].map((f) => f.replace('.api.md', '')).join(', ');
    if (stale.length === 0) console.log(`ok   api report   ${name} (${label})`);
    else if (update) console.log(`new  api report   ${name}: ${stale.join(', ')}`);
    else {
      failed++;
      console.log(`FAIL api report   ${name}: ${stale.join(', ')} out of date: run \`pnpm api:update\` and commit`);
    }
    // What an entry point uses and another one exports is part of the package's API all the same.
    const exported = new Set(
      [...wanted].flatMap((file) => [...readFileSync(join(dir, file), 'utf8').matchAll(EXPORTED)].map((m) => m[1])),
    );
    const hidden = [...unexported].filter((u) => !exported.has(u.symbol)).map((u) => `${u.symbol} (${u.entry})`);
    if (hidden.length > 0) console.log(`     used, not exported: ${hidden.join(', ')}`);
    for (const note of notes) console.log(`     note: ${note}`);
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
const seconds = ((performance.now() - started) / 1000).toFixed(0);
const cpu = process.cpuUsage();
const cpuSeconds = ((cpu.user + cpu.system) / 1e6).toFixed(0);
console.log(`api checks: ${failed === 0 ? 'all ok' : `${failed} failing`} (${seconds} s, ${cpuSeconds} s of CPU)`);
process.exit(failed === 0 ? 0 : 1);

/** A unified diff of a committed report against the fresh one. */
function diff(committed, fresh) {
  const name = relative(root, committed);
  const result = spawnSync(
    'diff',
    ['-u', '--label', `${name} (committed)`, '--label', `${name} (now)`, committed, fresh],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return (result.stdout || result.stderr || result.error?.message || '').trimEnd();
}
