import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// Three entries, the application surface, the adapter kit and the OpenTelemetry metrics, that
// share their modules through chunks: one copy of each class (errors, ReplayGuard, ...), so
// `instanceof` holds across entries. `@opentelemetry/api` (a peer) stays external.
export default defineConfig(
  packageBuild({
    entry: { index: 'src/index.ts', protocol: 'src/protocol.ts', otel: 'src/otel/index.ts' },
    splitting: true,
  }),
);
