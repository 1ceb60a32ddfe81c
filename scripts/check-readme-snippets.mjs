#!/usr/bin/env node
// Type-checks every TypeScript block of the documentation, as a reader would paste it.
//
//   node scripts/check-readme-snippets.mjs            every README.md in the repository, and test-harness/ADAPTERS.md
//   node scripts/check-readme-snippets.mjs a.md b.md  those files only
//
// Each ```ts / ```typescript block is a module of its own, compiled in one TypeScript program
// (strict, `module: nodenext`, Node's types) next to the Markdown file it comes from. Packages
// resolve the way they do for a user: `@switchboard/*` through node_modules and each package's
// `exports` map to its built `dist` types (run `pnpm build` first), and third-party packages from
// node_modules. A package that the Markdown file's own folder cannot see is looked up from the
// workspace folders that depend on it (`RESOLVE_FROM`), so the examples' dependencies (Fastify,
// ws, miniflare) serve every README.
//
// A block may need context the reader does not see (a request object, a value an earlier block
// made). It declares it in a hidden preamble, an HTML comment right before the block:
//
//   <!-- preamble: declare const app: import('fastify').FastifyInstance; -->
//   ```ts
//
// Everything after `preamble:` (several lines allowed) is compiled before the block. A block that
// imports a module of the reader's own (`import { conformance } from '../src/index.js'`) gets it
// from a hidden file comment, one per module, also right before the block (several comments may
// follow each other):
//
//   <!-- file ../src/index.ts: export declare const conformance: ConformanceAdapter; -->
//
// The path is relative to the block, which sits in a folder of its own (`main/`), so `./x.ts` is
// next to it and `../src/x.ts` beside that folder. `<!-- file ../src/acme.ts: @block // acme.ts -->`
// makes the module another block of the same file: the first TypeScript block whose first line
// starts with the text after `@block`. Everything else the block uses must be imported in the
// block itself. Blocks that are not TypeScript (output, shell, pseudo-code) use another fence:
// ```text, ```sh.
//
// Second check: every package a block imports (not a Node built-in, not a relative path) appears
// in an install line of the same file (`npm install …`, `npm i -D …`, `pnpm add …`), and so does
// its `@types/…` package when its types come from one (`ws` needs `@types/ws`).
//
// Errors print as `file:line:column message`, with the line of the Markdown file. Exit code 1 when
// any block fails, 2 on a usage error.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Folders whose node_modules are searched, in order, when a block's own folder cannot resolve a package. */
const RESOLVE_FROM = [
  '.',
  'examples/twilio-fastify',
  'examples/websocket-vonage',
  'examples/cloudflare-worker',
  'packages/core',
  'packages/cloudflare',
  'packages/sip',
  'test-harness',
  'interop',
].map((dir) => join(root, dir));

const COMPILER_OPTIONS = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts'],
  types: ['node'],
  typeRoots: [join(root, 'node_modules/@types')],
  strict: true,
  skipLibCheck: true,
  esModuleInterop: true,
  noEmit: true,
};

/** The Markdown files checked by default: every tracked or new README.md, and the adapter guide. */
function defaultFiles() {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = listed
    .split('\n')
    .filter((f) => /(^|\/)README\.md$/.test(f) || f === 'test-harness/ADAPTERS.md')
    .filter((f) => !f.split('/').includes('node_modules'))
    .map((f) => join(root, f))
    .filter((f) => existsSync(f));
  return [...new Set(files)].sort();
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/;

/**
 * The code blocks of a Markdown file: `{ lang, code, line, preamble, preambleLine, files }`, `line`
 * the 1-based line of the block's first code line, `files` the hidden modules (`{ path, text, line }`).
 */
export function extractBlocks(text) {
  const lines = text.split(/\r?\n/);
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^(\s*)(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[2][0] === fence[0] && close[2].length >= fence.length) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    blocks.push({ lang: lang.toLowerCase(), code: body.join('\n'), line: i + 2, ...hiddenContext(lines, i) });
    i = j;
  }
  return blocks;
}

/**
 * The hidden context right before the fence on line `fence` (0-based): the HTML comments that end
 * there, one after the other, each a `preamble:` or a `file <path>:`; other comments end the search.
 */
function hiddenContext(lines, fence) {
  const context = { preamble: undefined, preambleLine: 0, files: [] };
  let end = fence - 1;
  for (;;) {
    while (end >= 0 && lines[end].trim() === '') end--;
    if (end < 0 || !lines[end].trimEnd().endsWith('-->')) return context;
    let start = end;
    while (start >= 0 && !lines[start].includes('<!--')) start--;
    if (start < 0) return context;
    const comment = lines
      .slice(start, end + 1)
      .join('\n')
      .replace(/^[\s\S]*?<!--/, '')
      .replace(/-->\s*$/, '');
    const preamble = /^\s*preamble:([\s\S]*)$/.exec(comment);
    const file = /^\s*file\s+(\S+):([\s\S]*)$/.exec(comment);
    if (preamble && context.preamble === undefined) {
      context.preamble = preamble[1].trim();
      context.preambleLine = start + 1;
    } else if (file) {
      context.files.push({ path: file[1], text: `${file[2].trim()}\n`, line: start + 1 });
    } else {
      return context;
    }
    end = start - 1;
  }
}

/** `@scope/name` or `name` of a bare module specifier; undefined for relative paths and Node built-ins. */
function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  if (builtinModules.includes(name)) return undefined;
  return name;
}

/**
 * Packages a Markdown file tells the reader to install: `npm install a b`, `npm i -D c`, `pnpm add d`, `yarn add e`.
 */
export function installedPackages(text) {
  const installed = new Set();
  const command = /\b(?:npm\s+(?:install|i|add)|pnpm\s+(?:add|install|i)|yarn\s+add)\b([^\n#;&|`]*)/g;
  for (const match of text.matchAll(command)) {
    for (const word of match[1].trim().split(/\s+/)) {
      if (!word || word.startsWith('-')) continue;
      const at = word.indexOf('@', 1);
      installed.add(at === -1 ? word : word.slice(0, at));
    }
  }
  return installed;
}

/** Type-checks the blocks of `files`; returns the list of problems, each `{ file, line, column, message }`. */
export function checkFiles(files) {
  const snippets = new Map(); // virtual file name -> { markdown, block, preambleLines, text }
  const hidden = new Map(); // virtual file name of a hidden module -> { markdown, line, text }
  const unresolved = []; // `@block` references that name no block
  const texts = new Map();
  for (const markdown of files) {
    const text = readFileSync(markdown, 'utf8');
    texts.set(markdown, text);
    const blocks = extractBlocks(text).filter((b) => b.lang === 'ts' || b.lang === 'typescript');
    blocks.forEach((block, index) => {
      const head = block.preamble === undefined ? '' : `${block.preamble}\n`;
      // Each block in a folder of its own, beside the Markdown file (its node_modules resolve).
      const folder = join(dirname(markdown), `__snippets_of_${markdown.split(/[\\/]/).pop()}`, String(index + 1));
      const name = join(folder, 'main', 'snippet.mts');
      for (const file of block.files) {
        const ref = /^@block\s+(.+)$/.exec(file.text.trim());
        const same = ref && blocks.find((b) => b.code.trimStart().startsWith(ref[1].trim()));
        const module = same ? { line: same.line, text: `${same.code}\n` } : { line: file.line, text: file.text };
        if (ref && !same) {
          const message = `no TypeScript block of this file starts with ${JSON.stringify(ref[1].trim())}`;
          unresolved.push({ file: markdown, line: file.line, column: 1, message });
        }
        hidden.set(resolve(folder, 'main', file.path), { markdown, ...module });
      }
      snippets.set(name, {
        markdown,
        block,
        preambleLines: head === '' ? 0 : head.split('\n').length - 1,
        text: `${head}${block.code}\nexport {};\n`,
      });
    });
  }

  const host = ts.createCompilerHost(COMPILER_OPTIONS, true);
  const { getSourceFile, fileExists, readFile, directoryExists } = host;
  const virtual = (f) => snippets.get(f)?.text ?? hidden.get(f)?.text;
  const virtualDirs = new Set();
  for (const f of [...snippets.keys(), ...hidden.keys()]) {
    for (let dir = dirname(f); !existsSync(dir) && !virtualDirs.has(dir); dir = dirname(dir)) virtualDirs.add(dir);
  }
  host.fileExists = (f) => virtual(f) !== undefined || fileExists.call(host, f);
  host.readFile = (f) => virtual(f) ?? readFile.call(host, f);
  host.directoryExists = (d) => virtualDirs.has(d) || (directoryExists ? directoryExists.call(host, d) : existsSync(d));
  host.getSourceFile = (f, languageVersion, onError, shouldCreate) => {
    const text = virtual(f);
    if (text !== undefined) return ts.createSourceFile(f, text, languageVersion, true);
    return getSourceFile.call(host, f, languageVersion, onError, shouldCreate);
  };
  const cache = ts.createModuleResolutionCache(root, (f) => f, COMPILER_OPTIONS);
  /** What each bare import of a block resolved to: virtual file -> Map(specifier -> resolved module). */
  const resolutions = new Map();
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, options, containingSource) =>
    literals.map((literal) => {
      const mode = ts.getModeForUsageLocation(containingSource, literal, options);
      const specifier = literal.text;
      let result = ts.resolveModuleName(specifier, containingFile, options, host, cache, redirected, mode);
      if (
        !result.resolvedModule &&
        (snippets.has(containingFile) || hidden.has(containingFile)) &&
        packageOf(specifier)
      ) {
        for (const dir of RESOLVE_FROM) {
          const attempt = ts.resolveModuleName(
            specifier,
            join(dir, '__snippet.mts'),
            options,
            host,
            cache,
            redirected,
            mode,
          );
          if (attempt.resolvedModule) {
            result = attempt;
            break;
          }
        }
      }
      if (snippets.has(containingFile)) {
        if (!resolutions.has(containingFile)) resolutions.set(containingFile, new Map());
        resolutions.get(containingFile).set(specifier, result.resolvedModule);
      }
      return result;
    });

  const program = ts.createProgram({ rootNames: [...snippets.keys()], options: COMPILER_OPTIONS, host });
  const problems = [...unresolved];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const snippet = diagnostic.file && snippets.get(diagnostic.file.fileName);
    if (!diagnostic.file) {
      problems.push({ file: root, line: 0, column: 0, message: `TS${diagnostic.code}: ${message}` });
      continue;
    }
    const module = hidden.get(diagnostic.file.fileName);
    if (module) {
      problems.push({
        file: module.markdown,
        line: module.line,
        column: 1,
        message: `(in the file comment) TS${diagnostic.code}: ${message}`,
      });
      continue;
    }
    if (!snippet) continue; // a library's declarations: skipLibCheck, not the documentation's business
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const inPreamble = line < snippet.preambleLines;
    problems.push({
      file: snippet.markdown,
      line: inPreamble ? snippet.block.preambleLine : snippet.block.line + line - snippet.preambleLines,
      column: inPreamble ? 1 : character + 1,
      message: `${inPreamble ? '(in the preamble) ' : ''}TS${diagnostic.code}: ${message}`,
    });
  }

  // Install lines: what the visible block imports must be installable from the same file.
  for (const [name, snippet] of snippets) {
    const installed = installedPackages(texts.get(snippet.markdown));
    const seen = new Set();
    for (const imported of ts.preProcessFile(snippet.block.code, true, true).importedFiles) {
      const pkg = packageOf(imported.fileName);
      if (!pkg) continue;
      const needed = [pkg];
      const typesPackage = resolutions.get(name)?.get(imported.fileName)?.packageId?.name;
      if (typesPackage && typesPackage.startsWith('@types/') && typesPackage !== pkg) needed.push(typesPackage);
      for (const want of needed) {
        if (installed.has(want) || seen.has(want)) continue;
        seen.add(want);
        const { line, character } = ts.getLineAndCharacterOfPosition(
          ts.createSourceFile('x.ts', snippet.block.code, ts.ScriptTarget.ES2022),
          imported.pos,
        );
        problems.push({
          file: snippet.markdown,
          line: snippet.block.line + line,
          column: character + 1,
          message: `'${want}' is ${want === pkg ? 'imported' : `where '${pkg}' gets its types`} but no install line of this file installs it`,
        });
      }
    }
  }
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  return { problems, blocks: snippets.size, files: files.length };
}

const invokedDirectly =
  process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  const args = process.argv.slice(2);
  if (args.some((a) => a.startsWith('-'))) {
    console.error('usage: check-readme-snippets.mjs [file.md ...]');
    process.exit(2);
  }
  const started = performance.now();
  const files = args.length > 0 ? args.map((f) => resolve(f)) : defaultFiles();
  const { problems, blocks } = checkFiles(files);
  for (const p of problems) console.log(`${relative(process.cwd(), p.file)}:${p.line}:${p.column} ${p.message}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `${problems.length === 0 ? 'ok' : `${problems.length} problem(s)`}: ${blocks} TypeScript block(s) in ${files.length} Markdown file(s), ${seconds} s`,
  );
  process.exit(problems.length === 0 ? 0 : 1);
}
