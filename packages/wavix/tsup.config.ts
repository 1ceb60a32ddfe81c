import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// The root (what runs a call) and `./testing` (conformance adapters, peer simulators) share their
// modules through common chunks, so that both entries hand out the same classes.
export default defineConfig(packageBuild({ entry: ['src/index.ts', 'src/testing.ts'], splitting: true }));
