import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = src('.');

/**
 * Seconds a test file takes on a busy 2-core machine, roughly, for the files that take long
 * (from the JSON report of a whole run: `endTime - startTime` per file). Only the order matters.
 */
const SLOW_FILES: Array<[RegExp, number]> = [
  // npm install from the registry, two type checks of the Agents SDK with skipLibCheck off, two calls.
  [/^interop\/test\/pack-install\.test\.ts$/, 120],
  [/^test-harness\/test\/outside-adapter/, 70],
  [/^test-harness\/test\/broken-adapters\.test\.ts$/, 60],
  [/^test-harness\/test\/broken-adapters-retry\.test\.ts$/, 50],
  [/^test-harness\/test\/cli\.test\.ts$/, 45],
  [/^test-harness\/test\/captures\.test\.ts$/, 25],
  [/^test-harness\/test\/trace-cli\.test\.ts$/, 18],
  [/^packages\/sip\/test\/endpoint-sipp\.test\.ts$/, 27],
  [/^test-harness\/test\/trace\.test\.ts$/, 22],
  [/^test-harness\/test\/faults\//, 20],
  // Offline calls through the realtime simulator and the fake Twilio, at eight times real time.
  [/^examples\/(outbound-reminder|twilio-warm-transfer)\/test\//, 20],
  [/^test-harness\/test\/(report|view)[^/]*\.test\.ts$/, 15],
  // Two runs of scripts/api-report.mjs: each loads TypeScript twice (the check and API Extractor).
  [/^test\/api-report\.test\.ts$/, 15],
];

/** A file that replays the whole bundled corpus into an adapter (`describeConformance` without `only`). */
const CONFORMANCE_FILE_SECONDS = 65;

function expectedSeconds(file: string): number {
  const path = relative(root, file).split('\\').join('/');
  for (const [pattern, seconds] of SLOW_FILES) if (pattern.test(path)) return seconds;
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return 0;
  }
  if (/describeConformance\(/.test(text)) return /\bonly:/.test(text) ? 5 : CONFORMANCE_FILE_SECONDS;
  return 0;
}

/**
 * Longest files first, so that no long file starts last and runs alone at the end: a clean clone
 * has no timings from an earlier run, and vitest's own order (largest file first) would start the
 * conformance files, each a few lines long and the longest of the suite, last. The files not known
 * to be long keep vitest's order after them.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const weighed = sorted.map((spec, index) => ({ spec, index, seconds: expectedSeconds(spec.moduleId) }));
    weighed.sort((a, b) => b.seconds - a.seconds || a.index - b.index);
    return weighed.map((w) => w.spec);
  }
}

/** Unit files that run with a shared module cache (see `projects` below). */
const SHARED_PACKAGES = '{core,twilio,telnyx,plivo,exotel,websocket}';
/** Unit files elsewhere: no replay, no child process, no process-wide stub. */
const SHARED_SINGLE_FILES = [
  'test/release.test.ts',
  'packages/vonage/test/{call-control,exports,jwt,max-payload,ncco,transport,webhook,webhook-fuzz,webhook-inputs}.test.ts',
  'packages/sip/test/{endpoint-message,endpoint-rtp-timeline,exports,fuzz,openai-call-control,openai-handler,openai-transport,openai-webhook,webhook-fuzz,webhook-inputs}.test.ts',
  'test-harness/test/{attribution,caller-pauses,caller,checks-bargein,checks-call,checks-capabilities,checks,filler,fuzz,input-lossless,malformed-frames,reply-gate,similarity,simulator,testing,trace-facts,trace}.test.ts',
];
const SHARED_FILES = [`packages/${SHARED_PACKAGES}/test/**/*.test.ts`, ...SHARED_SINGLE_FILES];
/** Of those, the ones that replay calls or stub process-wide state: each keeps its own module graph. */
const ISOLATED_FILES = [
  '**/*conformance*.test.ts',
  '**/*e2e*.test.ts',
  'packages/core/test/drain.test.ts',
  'node_modules/**',
];
/** Every other file: each with a fresh module graph. */
const CALL_FILES = [
  'packages/{cloudflare,redis,sip,vonage}/test/**/*.test.ts',
  `packages/${SHARED_PACKAGES}/test/**/*{conformance,e2e}*.test.ts`,
  'packages/core/test/drain.test.ts',
  'test-harness/test/**/*.test.ts',
  'examples/*/test/**/*.test.ts',
  'interop/test/**/*.test.ts',
  'test/check-readme-snippets.test.ts',
  'test/api-report.test.ts',
];

export default defineConfig({
  resolve: {
    alias: {
      '@switchboard/test-kit/fuzz': src('./test-kit/src/fuzz.ts'),
      '@switchboard/test-kit/webhook-fuzz': src('./test-kit/src/webhook-fuzz.ts'),
      '@switchboard/test-kit/random': src('./test-kit/src/random.ts'),
      '@switchboard/test-kit/agent-call': src('./test-kit/src/agent-call.ts'),
      '@switchboard/core/protocol': src('./packages/core/src/protocol.ts'),
      '@switchboard/core': src('./packages/core/src/index.ts'),
      '@switchboard/twilio/testing': src('./packages/twilio/src/testing.ts'),
      '@switchboard/twilio': src('./packages/twilio/src/index.ts'),
      '@switchboard/websocket/testing': src('./packages/websocket/src/testing.ts'),
      '@switchboard/websocket': src('./packages/websocket/src/index.ts'),
      '@switchboard/sip/testing': src('./packages/sip/src/testing.ts'),
      '@switchboard/sip': src('./packages/sip/src/index.ts'),
      '@switchboard/cloudflare/testing': src('./packages/cloudflare/src/testing.ts'),
      '@switchboard/cloudflare': src('./packages/cloudflare/src/index.ts'),
      '@switchboard/telnyx/testing': src('./packages/telnyx/src/testing.ts'),
      '@switchboard/telnyx': src('./packages/telnyx/src/index.ts'),
      '@switchboard/plivo/testing': src('./packages/plivo/src/testing.ts'),
      '@switchboard/plivo': src('./packages/plivo/src/index.ts'),
      '@switchboard/exotel/testing': src('./packages/exotel/src/testing.ts'),
      '@switchboard/exotel': src('./packages/exotel/src/index.ts'),
      '@switchboard/vonage/testing': src('./packages/vonage/src/testing.ts'),
      '@switchboard/vonage': src('./packages/vonage/src/index.ts'),
      '@switchboard/conformance/vitest': src('./test-harness/src/vitest.ts'),
      '@switchboard/conformance/testing': src('./test-harness/src/testing/index.ts'),
      '@switchboard/conformance': src('./test-harness/src/index.ts'),
    },
  },
  test: {
    // Two kinds of files. The unit files of core and the JSON carriers share their workers' module
    // cache (`isolate: false`): loading the SDK and the packages again for each of them was most of
    // the suite's CPU. Everything that replays calls, starts workerd or real SIP agents, or stubs
    // process-wide state keeps a fresh module graph per file.
    projects: [
      { extends: true, test: { name: 'unit', include: SHARED_FILES, exclude: ISOLATED_FILES, isolate: false } },
      {
        extends: true,
        test: {
          name: 'calls',
          include: CALL_FILES,
          exclude: [...SHARED_SINGLE_FILES, 'node_modules/**'],
          isolate: true,
        },
      },
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    sequence: { sequencer: LongestFirst },
    // Most of the suite waits on replays that run in real time, not on the CPU (a conformance
    // file, three replays at once, keeps a core about 40 % busy): at least four files at once,
    // even on a 2-core machine (where vitest would otherwise run one).
    maxWorkers: Math.max(4, availableParallelism() - 1),
  },
});
