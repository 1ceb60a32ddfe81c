/**
 * `@switchboard/conformance/testing` loads without a test framework: every module it reaches
 * imports only Node built-ins and the package's own dependencies, never vitest (an optional peer
 * that only `./vitest` needs).
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The bare specifiers of every module reachable from `entry` through relative imports. */
function externalImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else external.add(specifier);
    }
  };
  visit(entry);
  return external;
}

const packageName = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;

describe('the ./testing entry', () => {
  it('imports no test framework, only Node built-ins and the dependencies a user installs with it', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    const required = [
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies).filter((name) => !manifest.peerDependenciesMeta?.[name]?.optional),
    ];
    const imports = [...externalImports(join(root, 'src/testing/index.ts'))];
    // The walk found the rig and the fakes (so the check below looks at the whole entry).
    expect(imports).toContain('@openai/agents-realtime');
    expect(imports).toContain('ws');
    const builtins = new Set(builtinModules);
    const outside = imports.filter(
      (specifier) =>
        !specifier.startsWith('node:') && !builtins.has(specifier) && !required.includes(packageName(specifier)),
    );
    expect(outside).toEqual([]);
    expect(imports.filter((specifier) => packageName(specifier) === 'vitest')).toEqual([]);
  });
});
