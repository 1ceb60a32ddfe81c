import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// Two entries, the application surface and the adapter kit, that share their modules through
// chunks: one copy of each class (errors, ReplayGuard, ...), so `instanceof` holds across entries.
export default defineConfig(packageBuild({ entry: ['src/index.ts', 'src/protocol.ts'], splitting: true }));
