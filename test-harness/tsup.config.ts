import { defineConfig } from 'tsup';
import { packageBuild } from '../tsup.base.js';

export default defineConfig([
  packageBuild({
    entry: { index: 'src/index.ts', vitest: 'src/vitest.ts', testing: 'src/testing/index.ts' },
    platform: 'node',
    external: ['vitest'],
    shims: true,
  }),
  packageBuild({ entry: ['src/cli.ts'], format: ['esm'], platform: 'node', dts: false, clean: false }),
  // `require('@switchboard/conformance/vitest')`: an error that says to import it (see the file).
  packageBuild({
    entry: { 'vitest-require': 'src/vitest-require.cts' },
    format: ['cjs'],
    dts: false,
    sourcemap: false,
    clean: false,
  }),
]);
