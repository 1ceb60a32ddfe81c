/**
 * The bridge under test: a Twilio Media Streams WebSocket server that runs one RealtimeSession per
 * call, with either Switchboard's TwilioRealtimeTransport or the Agents SDK's
 * TwilioRealtimeTransportLayer. It measures only itself: CPU, peak RSS, event-loop delay.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { TwilioRealtimeTransportLayer } from '@openai/agents-extensions';
import type { RealtimeTransportLayer } from '@openai/agents/realtime';
import { conformanceAgent } from '@switchboard/conformance';
import { TwilioRealtimeTransport } from '@switchboard/twilio';
import { WebSocketServer } from 'ws';
import { collectGarbage, threadCpuMs } from '../shared.js';
import { startCallSession } from './call-session.js';
import { floorRelay, modelSocket } from './floor.js';
import { SessionFloorTransport } from './session-floor.js';
import { wallNow, type BridgeReport, type Impl } from './shared.js';

const impl = process.argv[2] as Impl;
const simulatorUrl = process.argv[3]!;

const agent = conformanceAgent();
/** With `--cpu-prof`: a V8 CPU profile of the measured window only (not start-up), written here. */
const profileDir = process.argv[4];
const profiler = profileDir ? new Session() : undefined;
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) =>
    profiler!.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
  );

let calls = 0;
let errors = 0;
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (socket, request) => {
  calls++;
  const call = new URL(request.url ?? '/', 'http://x').searchParams.get('call') ?? String(calls);
  const url = `${simulatorUrl}?model=gpt-realtime&call=${call}`;
  if (impl === 'floor') {
    floorRelay(socket, modelSocket(url));
    return;
  }
  const transport: RealtimeTransportLayer =
    impl === 'switchboard'
      ? new TwilioRealtimeTransport({ twilioWebSocket: socket, url })
      : impl === 'session-floor'
        ? new SessionFloorTransport(socket, url)
        : new TwilioRealtimeTransportLayer({ twilioWebSocket: socket as never, url });
  startCallSession(agent, transport, socket, () => {
    errors++;
  });
});
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
const port = (wss.address() as { port: number }).port;

let threadsAtStart: Record<string, number> = {};

let start: { cpu: NodeJS.CpuUsage; wall: number; rss: number } | undefined;
let rssPeak = 0;
/** Peak heap reserved by V8 and peak memory outside it, to tell where an RSS peak comes from. */
let heapTotalPeak = 0;
let externalPeak = 0;
let heapTotalBaseline = 0;
let externalBaseline = 0;
function samplePeaks(): void {
  const memory = process.memoryUsage();
  rssPeak = Math.max(rssPeak, memory.rss);
  heapTotalPeak = Math.max(heapTotalPeak, memory.heapTotal);
  externalPeak = Math.max(externalPeak, memory.external + memory.arrayBuffers);
}
let heapBaseline = 0;
let sampler: NodeJS.Timeout | undefined;
const eld = monitorEventLoopDelay({ resolution: 5 });

process.on('message', (message: { type: string }) => {
  if (message.type === 'sample') {
    // Mid-call: what the live calls hold after a full collection.
    collectGarbage();
    const memory = process.memoryUsage();
    if (process.env.RELAY_HEAP_SNAPSHOT) writeHeapSnapshot(`${process.env.RELAY_HEAP_SNAPSHOT}-${impl}.heapsnapshot`);
    process.send!({
      type: 'sample',
      heapUsedBytes: memory.heapUsed + memory.arrayBuffers,
      rssBytes: memory.rss,
      openCalls: wss.clients.size,
    });
    return;
  }
  if (message.type === 'start') {
    calls = 0;
    errors = 0;
    collectGarbage();
    const memory = process.memoryUsage();
    heapBaseline = memory.heapUsed + memory.arrayBuffers;
    start = { cpu: process.cpuUsage(), wall: wallNow(), rss: memory.rss };
    threadsAtStart = threadCpuMs();
    rssPeak = start.rss;
    heapTotalPeak = heapTotalBaseline = memory.heapTotal;
    externalPeak = externalBaseline = memory.external + memory.arrayBuffers;
    sampler = setInterval(samplePeaks, 50);
    eld.enable();
    if (profiler) {
      profiler.connect();
      void post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 250 }))
        .then(() => post('Profiler.start'))
        .then(() => process.send!({ type: 'started' }));
    } else process.send!({ type: 'started' });
    return;
  }
  if (message.type === 'stop' && start) {
    const cpu = process.cpuUsage(start.cpu);

    clearInterval(sampler);
    eld.disable();
    samplePeaks();
    const report: BridgeReport = {
      impl,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      wallMs: wallNow() - start.wall,
      rssBaselineBytes: start.rss,
      rssPeakBytes: rssPeak,
      threadCpuMs: Object.fromEntries(
        Object.entries(threadCpuMs()).map(([name, ms]) => [name, ms - (threadsAtStart[name] ?? 0)]),
      ),
      heapTotalGrowthBytes: heapTotalPeak - heapTotalBaseline,
      externalGrowthBytes: externalPeak - externalBaseline,
      heapBaselineBytes: heapBaseline,
      eventLoopDelayP99Ms: eld.percentile(99) / 1e6,
      calls,
      errors,
    };
    if (!profiler) {
      process.send!({ type: 'report', report }, () => undefined);
      return;
    }
    void post('Profiler.stop').then((result) => {
      const file = `${profileDir}/relay-${impl}-${Date.now()}.cpuprofile`;
      writeFileSync(file, JSON.stringify((result as { profile: unknown }).profile));
      console.error(`  CPU profile of the measured window: ${file}`);
      process.send!({ type: 'report', report }, () => undefined);
    });
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url: `ws://127.0.0.1:${port}` });
