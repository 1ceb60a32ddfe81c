/**
 * Nothing Node-only runs in the Worker: the package (with core and the Twilio protocol) bundles
 * for the bare Workers runtime, a Node built-in anywhere in the graph fails the bundle, and
 * workerd itself refuses one without the nodejs_compat flag.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeBuiltinImportError, bundleWorker, startWorkerd } from '../src/testing.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'switchboard-bundle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function entry(name: string, code: string): string {
  const path = join(scratch, name);
  writeFileSync(path, code);
  return path;
}

/** Source files (comments removed) of the modules that run inside a Worker. */
function workerSources(): Array<{ file: string; code: string }> {
  const dirs = ['packages/core/src', 'packages/core/src/audio', 'packages/twilio/src', 'packages/cloudflare/src'];
  const nodeSide = new Set(['packages/cloudflare/src/testing.ts']);
  const out: Array<{ file: string; code: string }> = [];
  for (const dir of dirs) {
    for (const name of readdirSync(join(repo, dir))) {
      const file = `${dir}/${name}`;
      if (!name.endsWith('.ts') || nodeSide.has(file)) continue;
      const code = readFileSync(join(repo, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
      out.push({ file, code });
    }
  }
  return out;
}

describe('no Node built-ins in the Worker', () => {
  it('bundles the package, core and the Twilio protocol for the bare runtime', async () => {
    const code = await bundleWorker({ entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)), tsconfig });
    expect(code).not.toMatch(/["']node:/);
  });

  it('bundles the conformance Worker, SDK included, for the bare runtime', async () => {
    const code = await bundleWorker({
      entry: fileURLToPath(new URL('../src/conformance-worker.ts', import.meta.url)),
      tsconfig,
    });
    expect(code).toContain('handleMediaUpgrade');
    expect(code).not.toMatch(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/);
  });

  it('fails the bundle on any Node built-in, prefixed or not, naming the importer', async () => {
    const prefixed = entry(
      'prefixed.ts',
      "import { Buffer } from 'node:buffer';\nexport default { fetch: () => new Response(Buffer.from('x')) };\n",
    );
    const bare = entry(
      'bare.ts',
      "import { EventEmitter } from 'events';\nexport default { fetch: () => new Response(String(new EventEmitter())) };\n",
    );
    await expect(bundleWorker({ entry: prefixed })).rejects.toThrow(NodeBuiltinImportError);
    const error = (await bundleWorker({ entry: bare }).catch((e: unknown) => e)) as NodeBuiltinImportError;
    expect(error).toBeInstanceOf(NodeBuiltinImportError);
    expect(error.imports[0]).toMatch(/^events \(from .*bare\.ts\)$/);
    // With nodejs_compat the same import is left to the runtime.
    await expect(bundleWorker({ entry: bare, nodeCompat: true })).resolves.toContain('node:events');
    // Built-ins whose names have digits too.
    const digits = entry(
      'digits.ts',
      "import { getHeapStatistics } from 'v8';\nimport { constants } from 'node:http2';\nexport default { fetch: () => new Response(String(getHeapStatistics()) + constants.HTTP2_HEADER_PATH) };\n",
    );
    const digitsError = (await bundleWorker({ entry: digits }).catch((e: unknown) => e)) as NodeBuiltinImportError;
    expect(digitsError).toBeInstanceOf(NodeBuiltinImportError);
    expect(digitsError.imports.map((i) => i.split(' ')[0])).toEqual(['v8', 'node:http2']);
    const compat = await bundleWorker({ entry: digits, nodeCompat: true });
    expect(compat).toContain('node:v8');
    expect(compat).toContain('node:http2');
  });

  it('has workerd refuse a Node built-in without nodejs_compat (the flag every test here runs without)', async () => {
    const script =
      "import { Buffer } from 'node:buffer';\nexport default { fetch: () => new Response(typeof Buffer) };\n";
    const servers = () => process.getActiveResourcesInfo().filter((name) => name === 'TCPServerWrap').length;
    const before = servers();
    await expect(startWorkerd({ script })).rejects.toThrow();
    // The failed start left no server behind (it would keep the Node process alive).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(servers()).toBe(before);
    const compat = await startWorkerd({ script, compatibilityFlags: ['nodejs_compat'] });
    try {
      expect(await (await fetch(compat.url)).text()).toBe('function');
    } finally {
      await compat.dispose();
    }
  });

  it('uses no Buffer, process or Node import in the source of core, the Twilio protocol and this package', () => {
    const offenders: string[] = [];
    for (const { file, code } of workerSources()) {
      if (/from\s+['"]node:|import\(\s*['"]node:|require\(/.test(code)) offenders.push(`${file}: Node import`);
      if (/\bBuffer\b/.test(code)) offenders.push(`${file}: Buffer`);
      if (/\bprocess\./.test(code)) offenders.push(`${file}: process`);
    }
    expect(offenders).toEqual([]);
  });
});
