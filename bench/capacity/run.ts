/**
 * Capacity benchmark: how many concurrent real-time calls one bridge process holds with its
 * event-loop delay p99 at most `--limit-ms` (20 ms), per carrier.
 *
 * Three processes on loopback, as in the soak (whose realtime simulator and callers it reuses):
 * the realtime simulator, the bridge (one `RealtimeSession` per call on the carrier's Switchboard
 * transport, measured) and the carrier's callers (speech at real time, barge-ins, DTMF, marks
 * acknowledged as played). For each step the callers place N calls; once all are live and a
 * warm-up has passed, the bridge measures its event-loop delay for `--measure-seconds`; then the
 * callers hang up. N doubles from `--start` until a step fails, then the search halves the gap
 * until it is within `--precision` of the count that held.
 *
 *   pnpm bench:capacity [--carriers twilio,vonage] [--start 100] [--max 1600] [--limit-ms 20]
 *                       [--warmup-seconds 2] [--measure-seconds 5] [--precision 0.2] [--json]
 *
 * `twilio` streams μ-law 8 kHz, which goes to the model as it is; `vonage` streams L16 16 kHz, which
 * the bridge resamples both ways (the model runs PCM 24 kHz). Any carrier the soak takes works.
 */
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { benchPath, exited, nextMessage, startChild, type Message } from '../shared.js';
import type { CarrierConfig } from '../soak/carrier.js';
import type { CapacityBridgeConfig, CapacityMeasurement } from './bridge.js';

const { values } = parseArgs({
  options: {
    carriers: { type: 'string', default: 'twilio,vonage' },
    start: { type: 'string', default: '100' },
    max: { type: 'string', default: '1600' },
    'limit-ms': { type: 'string', default: '20' },
    'warmup-seconds': { type: 'string', default: '2' },
    'measure-seconds': { type: 'string', default: '5' },
    precision: { type: 'string', default: '0.2' },
    json: { type: 'boolean', default: false },
  },
});
const number = (name: keyof typeof values, min: number) => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < min) {
    console.error(`capacity: --${name} must be a number of at least ${min}`);
    process.exit(2);
  }
  return n;
};
const carriers = values.carriers!.split(',').filter(Boolean);
const start = Math.round(number('start', 1));
const max = Math.max(start, Math.round(number('max', 1)));
const limitMs = number('limit-ms', 0);
const warmupMs = number('warmup-seconds', 0) * 1000;
const measureMs = number('measure-seconds', 1) * 1000;
const precision = number('precision', 0);
/** The search stops once the gap between held and failed is at most this many calls. */
const MIN_GAP = 5;
const log = (line: string) => console.error(line);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Step = CapacityMeasurement & { calls: number; held: boolean; why?: string };

type Status = { liveCalls: number; calls: number; errors: number };

async function status(bridge: ChildProcess): Promise<Status> {
  bridge.send({ type: 'status' });
  return nextMessage<Message & Status>(bridge, 'status');
}

/** Polls the bridge until `cond` holds for its live calls, or `timeoutMs` passed; the last status. */
async function waitLive(bridge: ChildProcess, cond: (live: number) => boolean, timeoutMs: number): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await status(bridge);
    if (cond(last.liveCalls) || Date.now() > deadline) return last;
    await sleep(200);
  }
}

async function step(carrier: string, bridge: ChildProcess, bridgeUrl: string, calls: number): Promise<Step> {
  // The soak's callers place their calls over min(10 s, 100 ms per call).
  const staggerMs = Math.min(10_000, calls * 100);
  const callMs = staggerMs + warmupMs + measureMs + 120_000;
  const config: CarrierConfig = {
    bridgeUrl,
    carrier,
    calls,
    runMs: callMs,
    minCallMs: callMs,
    maxCallMs: callMs,
    seed: calls,
    bargeInChance: 0.25,
    dtmfChance: 0.15,
  };
  const callers = startChild(benchPath('./soak/carrier.ts'), [JSON.stringify(config)], { dist: true });
  try {
    const before = await status(bridge);
    await nextMessage(callers, 'started');
    const { liveCalls: live, calls: total } = await waitLive(bridge, (n) => n >= calls, staggerMs + 15_000);
    let measurement: CapacityMeasurement;
    if (live < calls) {
      const connected = total - before.calls;
      measurement = {
        liveCalls: live,
        loopDelayP50Ms: NaN,
        loopDelayP99Ms: NaN,
        loopDelayMaxMs: NaN,
        cpuMs: 0,
        wallMs: 0,
        errors: 0,
      };
      const why = `only ${live} of ${calls} calls live (${connected} connected, ${connected - live} of them ended)`;
      return { calls, held: false, why, ...measurement };
    }
    await sleep(warmupMs);
    bridge.send({ type: 'measure' });
    await nextMessage(bridge, 'measuring');
    await sleep(measureMs);
    bridge.send({ type: 'report' });
    ({ measurement } = await nextMessage<Message & { measurement: CapacityMeasurement }>(bridge, 'report'));
    if (measurement.liveCalls < calls)
      return { calls, held: false, why: `${calls - measurement.liveCalls} calls ended early`, ...measurement };
    const held = measurement.loopDelayP99Ms <= limitMs;
    return { calls, held, ...measurement };
  } finally {
    callers.kill();
    await exited(callers);
    // The bridge's side of every call closes before the next step.
    await waitLive(bridge, (n) => n === 0, 30_000);
  }
}

function describe(s: Step): string {
  if (s.why) return `${String(s.calls).padStart(5)} calls: failed (${s.why})`;
  const share = s.wallMs > 0 ? (100 * s.cpuMs) / s.wallMs : NaN;
  const perCallSecond = s.wallMs > 0 ? s.cpuMs / ((s.calls * s.wallMs) / 1000) : NaN;
  return (
    `${String(s.calls).padStart(5)} calls: loop delay p50 ${s.loopDelayP50Ms.toFixed(1)} / p99 ${s.loopDelayP99Ms.toFixed(1)} / max ${s.loopDelayMaxMs.toFixed(1)} ms, ` +
    `bridge CPU ${share.toFixed(0)} % of a core (${perCallSecond.toFixed(2)} CPU-ms per call-second) -> ${s.held ? 'held' : 'over the limit'}`
  );
}

async function capacity(carrier: string, simulatorUrl: string) {
  const bridgeConfig: CapacityBridgeConfig = { carrier, simulatorUrl };
  const bridge = startChild(benchPath('./capacity/bridge.ts'), [JSON.stringify(bridgeConfig)], { dist: true });
  const steps: Step[] = [];
  try {
    const { url } = await nextMessage<Message & { url: string }>(bridge, 'ready');
    let held: Step | undefined;
    let failed: Step | undefined;
    let calls = start;
    for (;;) {
      const s = await step(carrier, bridge, url, calls);
      steps.push(s);
      log(`  ${carrier} ${describe(s)}`);
      if (s.held) held = s;
      else failed = s;
      const low = held?.calls ?? 0;
      if (!failed) {
        if (calls >= max) break;
        calls = Math.min(max, calls * 2);
        continue;
      }
      const gap = failed.calls - low;
      if (gap <= Math.max(MIN_GAP, low * precision)) break;
      calls = Math.round((low + failed.calls) / 2);
    }
    return { carrier, held: held ?? null, failed: failed ?? null, steps };
  } finally {
    bridge.disconnect();
    await exited(bridge);
  }
}

const startedAt = Date.now();
const simulator = startChild(benchPath('./soak/simulator.ts'), [], { dist: true });
const results = [];
try {
  const { url: simulatorUrl } = await nextMessage<Message & { url: string }>(simulator, 'ready');
  log(
    `capacity: event-loop delay p99 <= ${limitMs} ms over ${measureMs / 1000} s after a ${warmupMs / 1000} s warm-up; from ${start} calls, doubling, then halving the gap to ${Math.round(precision * 100)} %`,
  );
  for (const carrier of carriers) results.push(await capacity(carrier, simulatorUrl));
} finally {
  simulator.disconnect();
  await exited(simulator);
}

if (values.json) {
  console.log(JSON.stringify({ limitMs, warmupMs, measureMs, node: process.version, results }, null, 2));
} else {
  console.log(
    `\ncalls one bridge process holds with event-loop delay p99 <= ${limitMs} ms (node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; ${((Date.now() - startedAt) / 1000).toFixed(0)} s)`,
  );
  for (const r of results) {
    const held = r.held ? `${r.held.calls} calls held (p99 ${r.held.loopDelayP99Ms.toFixed(1)} ms)` : 'no step held';
    const failed = r.failed
      ? `; ${r.failed.calls} did not (${r.failed.why ?? `p99 ${r.failed.loopDelayP99Ms.toFixed(1)} ms`})`
      : `; the largest step tried (--max ${max}) held`;
    console.log(`  ${r.carrier}: ${held}${failed}`);
  }
}
