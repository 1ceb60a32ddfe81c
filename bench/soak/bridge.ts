/**
 * The bridge of the soak: a media WebSocket server that runs one `RealtimeSession` per call on the
 * carrier's Switchboard transport, as an application would. Every few seconds it takes a full
 * collection (with `--expose-gc`) and prints its memory, live calls and calls completed; at the
 * end it prints the summary and reports everything, with each call's `transport.metrics` summed.
 *
 * `SOAK_HEAP_SNAPSHOT=/tmp/soak` writes heap snapshots before the first call, halfway through and
 * after the last call ended (`/tmp/soak-start.heapsnapshot`, `-half`, `-end`).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { RealtimeSession, type RealtimeTransportLayer } from '@openai/agents/realtime';
import { conformanceAgent } from '@switchboard/conformance';
import { WebSocketServer } from 'ws';
import { collectGarbage, type Message } from '../shared.js';
import { LOSS_COUNTERS, loadCarrier, type BridgeReport, type Sample } from './common.js';
import { formatSummary, sampleLine, summarise } from './stats.js';

export type BridgeConfig = {
  carrier: string;
  simulatorUrl: string;
  sampleSeconds: number;
  runMs: number;
  json: boolean;
};

const config = JSON.parse(process.argv[2]!) as BridgeConfig;
const adapter = await loadCarrier(config.carrier);
const agent = conformanceAgent();
const print = (line: string) => (config.json ? process.stderr : process.stdout).write(`${line}\n`);

let callsStarted = 0;
let callsCompleted = 0;
let live = 0;
const metrics: Record<string, number> = {};
const errors: Record<string, number> = {};
const endReasons: Record<string, number> = {};
const lossyCalls: BridgeReport['lossyCalls'] = [];
const count = (table: Record<string, number>, key: string) => (table[key] = (table[key] ?? 0) + 1);

/** The code of an `error` event (or of what `connect()` rejected with), else its name. */
function errorCode(error: unknown): string {
  const inner = (error as { error?: unknown })?.error ?? error;
  return String((inner as { code?: unknown })?.code ?? (inner as { name?: unknown })?.name ?? 'unknown');
}

/** Adds one call's metrics to the totals: numbers summed, lists counted (`<name>.count`). */
function fold(callMetrics: Record<string, unknown> | undefined): void {
  if (!callMetrics) return;
  for (const [key, value] of Object.entries(callMetrics)) {
    if (typeof value === 'number') metrics[key] = (metrics[key] ?? 0) + value;
    else if (Array.isArray(value)) metrics[`${key}.count`] = (metrics[`${key}.count`] ?? 0) + value.length;
  }
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (socket, request) => {
  callsStarted++;
  live++;
  const call = new URL(request.url ?? '/', 'http://x').searchParams.get('call') ?? String(callsStarted);
  const transport = adapter.createTransport!({
    connection: socket,
    url: `${config.simulatorUrl}?model=gpt-realtime&call=${call}`,
  }) as RealtimeTransportLayer & {
    metrics?: Record<string, unknown>;
  };
  const startedAt = performance.now();
  const callErrors: string[] = [];
  let endReason = 'none';
  (transport as unknown as { on(name: 'call_end', listener: (event: { reason?: string }) => void): void }).on(
    'call_end',
    (event) => {
      endReason = event.reason ?? 'unknown';
    },
  );
  const session = new RealtimeSession(agent, { transport, model: 'gpt-realtime' });
  const record = (error: unknown) => {
    const code = errorCode(error);
    count(errors, code);
    if (callErrors.length < 5) callErrors.push(code);
  };
  session.on('error', record);
  // A failed connect surfaces as the session's `error` event too: counted once, there, if it did.
  session.connect({ apiKey: 'sk-bench' }).catch((error: unknown) => {
    if (callErrors.length === 0) record(error);
  });
  socket.once('close', () => {
    session.close();
    fold(transport.metrics);
    count(endReasons, endReason);
    const losses = Object.fromEntries(
      LOSS_COUNTERS.map((key) => [key, Number(transport.metrics?.[key] ?? 0)]).filter(([, n]) => (n as number) > 0),
    );
    if (Object.keys(losses).length > 0 && lossyCalls.length < 20) {
      lossyCalls.push({ call, endReason, seconds: (performance.now() - startedAt) / 1000, errors: callErrors, losses });
    }
    live--;
    callsCompleted++;
  });
});
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
const port = (wss.address() as { port: number }).port;

const eld = monitorEventLoopDelay({ resolution: 10 });
const samples: Sample[] = [];
const snapshots: string[] = [];
let t0 = 0;
let cpuAt = process.cpuUsage();
let cpuStart = cpuAt;
let sampledAt = 0;
let gcExposed = false;

function snapshot(name: string): void {
  const prefix = process.env.SOAK_HEAP_SNAPSHOT;
  if (prefix) snapshots.push(writeHeapSnapshot(`${prefix}-${name}.heapsnapshot`));
}

function sample(): Sample {
  const afterGc = collectGarbage();
  const now = performance.now();
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage(cpuAt);
  cpuAt = process.cpuUsage();
  const s: Sample = {
    at: t0 === 0 ? 0 : now - t0,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    rss: memory.rss,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    liveCalls: live,
    callsCompleted,
    afterGc,
    cpu: sampledAt === 0 ? 0 : (cpu.user + cpu.system) / 1000 / (now - sampledAt),
    loopDelayP99Ms: eld.count > 0 ? eld.percentile(99) / 1e6 : 0,
  };
  sampledAt = now;
  eld.reset();
  return s;
}

let baseline: Sample | undefined;
let sampler: NodeJS.Timeout | undefined;
let halfTaken = false;

process.on('message', (message: Message) => {
  if (message.type === 'start') {
    baseline = sample();
    gcExposed = baseline.afterGc;
    snapshot('start');
    t0 = performance.now();
    cpuStart = process.cpuUsage();
    eld.enable();
    sampler = setInterval(() => {
      const s = sample();
      samples.push(s);
      print(sampleLine(s));
      if (!halfTaken && s.at >= config.runMs / 2) {
        halfTaken = true;
        snapshot('half');
      }
    }, config.sampleSeconds * 1000);
    process.send!({ type: 'started' });
    return;
  }
  if (message.type === 'stop') void stop();
});

async function stop(): Promise<void> {
  clearInterval(sampler);
  // The carrier has hung up every call; wait for the bridge's side of the last ones to close.
  const deadline = performance.now() + 30_000;
  while (live > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  // Let the model sockets close and their timers run out before the last measurement.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const cpu = process.cpuUsage(cpuStart);
  const afterHangUp = sample();
  eld.disable();
  snapshot('end');
  const summary = summarise(samples, config.runMs);
  print(
    `\nbridge memory (${gcExposed ? 'each sample after a full collection' : 'no --expose-gc: samples without a forced collection'})`,
  );
  print(formatSummary(summary, baseline!, afterHangUp));
  const report: BridgeReport = {
    carrier: adapter.name,
    samples,
    baseline: baseline!,
    afterHangUp,
    callsStarted,
    callsCompleted,
    metrics,
    errors,
    endReasons,
    lossyCalls,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: performance.now() - t0,
    gcExposed,
    heapSnapshots: snapshots,
  };
  process.send!({ type: 'report', report }, () => undefined);
}

process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url: `ws://127.0.0.1:${port}` });
