import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@switchboard/core': src('./packages/core/src/index.ts'),
      '@switchboard/twilio': src('./packages/twilio/src/index.ts'),
      '@switchboard/websocket': src('./packages/websocket/src/index.ts'),
      '@switchboard/sip': src('./packages/sip/src/index.ts'),
      '@switchboard/cloudflare/conformance': src('./packages/cloudflare/src/conformance.ts'),
      '@switchboard/cloudflare': src('./packages/cloudflare/src/index.ts'),
      '@switchboard/telnyx': src('./packages/telnyx/src/index.ts'),
      '@switchboard/plivo': src('./packages/plivo/src/index.ts'),
      '@switchboard/exotel': src('./packages/exotel/src/index.ts'),
      '@switchboard/vonage': src('./packages/vonage/src/index.ts'),
      '@switchboard/conformance/vitest': src('./test-harness/src/vitest.ts'),
      '@switchboard/conformance/testing': src('./test-harness/src/testing/index.ts'),
      '@switchboard/conformance': src('./test-harness/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test-harness/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'interop/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most of the suite waits on replays that run in real time, not on the CPU: at least three
    // files at once, even on a 2-core machine (where vitest would otherwise run one).
    maxWorkers: Math.max(3, availableParallelism() - 1),
  },
});
