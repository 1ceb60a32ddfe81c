/**
 * The bridge under test: a Twilio Media Streams WebSocket server that runs one RealtimeSession per
 * call, with either Switchboard's TwilioRealtimeTransport or the Agents SDK's
 * TwilioRealtimeTransportLayer. It measures only itself: CPU, peak RSS, event-loop delay.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { TwilioRealtimeTransportLayer } from '@openai/agents-extensions';
import { RealtimeSession, type RealtimeTransportLayer } from '@openai/agents/realtime';
import { conformanceAgent } from '@switchboard/conformance';
import { TwilioRealtimeTransport } from '@switchboard/twilio';
import { WebSocketServer } from 'ws';
import { wallNow, type BridgeReport, type Impl } from './shared.js';

const impl = process.argv[2] as Impl;
const simulatorUrl = process.argv[3]!;

const agent = conformanceAgent();

let calls = 0;
let errors = 0;
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (socket, request) => {
  calls++;
  const call = new URL(request.url ?? '/', 'http://x').searchParams.get('call') ?? String(calls);
  const url = `${simulatorUrl}?model=gpt-realtime&call=${call}`;
  const transport: RealtimeTransportLayer =
    impl === 'switchboard'
      ? new TwilioRealtimeTransport({ twilioWebSocket: socket, url })
      : new TwilioRealtimeTransportLayer({ twilioWebSocket: socket as never, url });
  // Both get the telephony format explicitly, so the SDK adapter is measured working correctly.
  const session = new RealtimeSession(agent, {
    transport,
    model: 'gpt-realtime',
    config: { audio: { input: { format: 'g711_ulaw' }, output: { format: 'g711_ulaw' } } },
  });
  session.on('error', () => {
    errors++;
  });
  socket.on('close', () => session.close());
  session.connect({ apiKey: 'sk-bench' }).catch(() => {
    errors++;
  });
});
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
const port = (wss.address() as { port: number }).port;

let start: { cpu: NodeJS.CpuUsage; wall: number; rss: number } | undefined;
let rssPeak = 0;
let heapBaseline = 0;
let sampler: NodeJS.Timeout | undefined;
const eld = monitorEventLoopDelay({ resolution: 5 });

process.on('message', (message: { type: string }) => {
  if (message.type === 'sample') {
    // Mid-call: what the live calls hold after a full collection.
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    if (process.env.RELAY_HEAP_SNAPSHOT) writeHeapSnapshot(`${process.env.RELAY_HEAP_SNAPSHOT}-${impl}.heapsnapshot`);
    process.send!({ type: 'sample', heapUsedBytes: memory.heapUsed + memory.arrayBuffers, rssBytes: memory.rss, openCalls: wss.clients.size });
    return;
  }
  if (message.type === 'start') {
    calls = 0;
    errors = 0;
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    heapBaseline = memory.heapUsed + memory.arrayBuffers;
    start = { cpu: process.cpuUsage(), wall: wallNow(), rss: memory.rss };
    rssPeak = start.rss;
    sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    }, 50);
    eld.enable();
    process.send!({ type: 'started' });
    return;
  }
  if (message.type === 'stop' && start) {
    const cpu = process.cpuUsage(start.cpu);
    clearInterval(sampler);
    eld.disable();
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    const report: BridgeReport = {
      impl,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      wallMs: wallNow() - start.wall,
      rssBaselineBytes: start.rss,
      rssPeakBytes: rssPeak,
      heapBaselineBytes: heapBaseline,
      eventLoopDelayP99Ms: eld.percentile(99) / 1e6,
      calls,
      errors,
    };
    process.send!({ type: 'report', report }, () => undefined);
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url: `ws://127.0.0.1:${port}` });
