import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { plan, weigh } from './test/plan.js';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * Files running at once: the npm install test (which waits on its niced children) and four replay
 * files, about 1.1 cores between them on a 2-core machine (five were seen to stall each other's
 * timing checks on a busy one); the static checks of the test command take the CPU they leave.
 * Then the files that use the CPU, in as many workers.
 */
const WORKERS = Math.max(5, availableParallelism() + 1);

/**
 * The files in the order of {@link plan}: a clean clone has no timings from an earlier run, and
 * vitest's own order (largest file first) would start the conformance files, each a few lines long
 * and the longest of the suite, last.
 */
class Planned extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const weighed = sorted.map((spec, index) => ({ spec, index, ...weigh(spec.moduleId) }));
    return plan(weighed).map((w) => w.spec);
  }
}

/** Unit files that run with a shared module cache (see `projects` below). */
const SHARED_PACKAGES = '{core,twilio,telnyx,plivo,exotel,websocket,bandwidth,genesys,azure,wavix}';
/** Unit files elsewhere: no replay, no child process, no process-wide stub. */
const SHARED_SINGLE_FILES = [
  'test/release.test.ts',
  'test/plan.test.ts',
  'packages/vonage/test/{call-control,exports,hangup,jwt,machine-detection,max-payload,ncco,prewarm,transfer,transport,webhook,webhook-fuzz,webhook-inputs}.test.ts',
  'packages/sip/test/{endpoint-behind-proxy,endpoint-call-features,endpoint-digest,endpoint-hold,endpoint-malformed,endpoint-message,endpoint-rtp-timeline,endpoint-session-timer,exports,fuzz,openai-call-control,openai-call-features,openai-handler,openai-transport,openai-webhook,webhook-fuzz,webhook-inputs}.test.ts',
  'packages/{cloudflare,redis}/test/exports.test.ts',
  // The examples' servers built in this process (no child process, no replay): frame size limits, the fake Twilio.
  'examples/{twilio-fastify,websocket-vonage}/test/max-payload.test.ts',
  'examples/support/test/fake-twilio.test.ts',
  'test-harness/test/{attribution,caller-pauses,caller-placement,caller-second-start,caller,checks-bargein,checks-call,checks-capabilities,checks,filler,fuzz,input-lossless,malformed-frames,load-adapter,reply-gate,similarity,simulator,simulator-generation,answer-heard,testing,testing-entry,trace-facts,trace}.test.ts',
  // The carriers' official SDKs against ours: each SDK loaded once per worker, not once per file.
  'interop/test/{azure,bandwidth,exotel,openai,plivo,signalwire,telnyx,twilio,vonage}-*.test.ts',
];
const SHARED_FILES = [`packages/${SHARED_PACKAGES}/test/**/*.test.ts`, ...SHARED_SINGLE_FILES];
/** Of those, the ones that replay calls or stub process-wide state: each keeps its own module graph. */
const ISOLATED_FILES = [
  '**/*conformance*.test.ts',
  '**/*e2e*.test.ts',
  'packages/core/test/drain.test.ts',
  'node_modules/**',
];
/**
 * The files that replay the whole corpus into an adapter (kind `replay` in test/plan.ts): each a
 * minute on the replay's clock. They share their workers' module cache among themselves (a worker
 * that ran one takes the next): the SDK, the harness and the adapters are loaded, and their hot
 * paths compiled, once per worker rather than once per file. Each replay still has its own
 * simulator, bridge and sockets, which the lifecycle checks see closed; no file of another kind
 * runs in these workers (a file that uses the CPU would leave its worker at a lower priority).
 */
const REPLAY_FILES = [...readdirSync('packages').map((dir) => `packages/${dir}/test`), 'test-harness/test'].flatMap(
  (dir) =>
    existsSync(dir)
      ? readdirSync(dir, { recursive: true, encoding: 'utf8' })
          .filter((file) => file.endsWith('.test.ts') && !file.split(/[\\/]/).includes('node_modules'))
          .map((file) => `${dir}/${file.split('\\').join('/')}`)
          .filter((file) => weigh(src(`./${file}`)).kind === 'replay')
      : [],
);
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
      '@switchboard/core/otel': src('./packages/core/src/otel/index.ts'),
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
      '@switchboard/bandwidth/testing': src('./packages/bandwidth/src/testing.ts'),
      '@switchboard/bandwidth': src('./packages/bandwidth/src/index.ts'),
      '@switchboard/genesys/testing': src('./packages/genesys/src/testing.ts'),
      '@switchboard/genesys': src('./packages/genesys/src/index.ts'),
      '@switchboard/azure/testing': src('./packages/azure/src/testing.ts'),
      '@switchboard/azure': src('./packages/azure/src/index.ts'),
      '@switchboard/wavix/testing': src('./packages/wavix/src/testing.ts'),
      '@switchboard/wavix': src('./packages/wavix/src/index.ts'),
      '@switchboard/conformance/vitest': src('./test-harness/src/vitest.ts'),
      '@switchboard/conformance/testing': src('./test-harness/src/testing/index.ts'),
      '@switchboard/conformance': src('./test-harness/src/index.ts'),
    },
  },
  test: {
    // Three kinds of files. The unit files of core and the JSON carriers share their workers' module
    // cache (`isolate: false`): loading the SDK and the packages again for each of them was most of
    // the suite's CPU. The corpus replays share theirs among themselves (`REPLAY_FILES`). Every
    // other file that replays calls, starts workerd or real SIP agents, or stubs process-wide state
    // keeps a fresh module graph per file.
    projects: [
      { extends: true, test: { name: 'unit', include: SHARED_FILES, exclude: ISOLATED_FILES, isolate: false } },
      { extends: true, test: { name: 'replays', include: REPLAY_FILES, isolate: false } },
      {
        extends: true,
        test: {
          name: 'calls',
          include: CALL_FILES,
          exclude: [...SHARED_SINGLE_FILES, ...REPLAY_FILES, 'node_modules/**'],
          isolate: true,
        },
      },
    ],
    // Files that use the CPU give way to the replays beside them (test/plan.ts decides which).
    setupFiles: [src('./test/setup-priority.ts')],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    sequence: { sequencer: Planned },
    // Much of the suite waits on replays that run in real time, not on the CPU (a conformance
    // file, three replays at once, keeps a core about 25 % busy): more files at once than cores,
    // in the order `Planned` gives them (see `WORKERS`).
    maxWorkers: WORKERS,
  },
});
