import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

export default defineConfig([
  // What runs in a Worker: platform-neutral, no Node built-ins.
  packageBuild({ entry: ['src/index.ts'] }),
  // The conformance adapter runs in Node and starts workerd.
  packageBuild({
    entry: ['src/testing.ts'],
    platform: 'node',
    shims: true,
    clean: false,
    external: ['miniflare', 'esbuild'],
  }),
  // The conformance Worker, bundled again (with the SDK) by the adapter when it starts workerd.
  packageBuild({ entry: ['src/conformance-worker.ts'], format: ['esm'], dts: false, sourcemap: false, clean: false }),
]);
