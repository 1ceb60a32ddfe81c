import { defineConfig } from 'tsup';
import { packageBuild } from '../tsup.base.js';

export default defineConfig([
  packageBuild({ entry: ['src/index.ts', 'src/vitest.ts'], platform: 'node', external: ['vitest'], shims: true }),
  packageBuild({ entry: ['src/cli.ts'], format: ['esm'], platform: 'node', dts: false, clean: false, }),
]);
