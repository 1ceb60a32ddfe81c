/**
 * The bridge of the capacity benchmark: a media WebSocket server that runs one `RealtimeSession`
 * per call on the carrier's Switchboard transport (built from the carrier's conformance adapter,
 * as in the soak). Between `measure` and `report` it watches its event-loop delay
 * (`monitorEventLoopDelay`) and its CPU; it reports the live calls whenever asked.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { RealtimeSession, type RealtimeTransportLayer } from '@openai/agents/realtime';
import { conformanceAgent } from '@switchboard/conformance';
import { WebSocketServer } from 'ws';
import type { Message } from '../shared.js';
import { loadCarrier } from '../soak/common.js';

export type CapacityBridgeConfig = { carrier: string; simulatorUrl: string };

export type CapacityMeasurement = {
  liveCalls: number;
  /** Event-loop delay percentiles over the measured window, ms. */
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Bridge CPU (user + system) over the window, ms, and the window's length. */
  cpuMs: number;
  wallMs: number;
  /** Session errors since the bridge started. */
  errors: number;
};

const config = JSON.parse(process.argv[2]!) as CapacityBridgeConfig;
const adapter = await loadCarrier(config.carrier);
const agent = conformanceAgent();

let live = 0;
let calls = 0;
let errors = 0;
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (socket, request) => {
  calls++;
  live++;
  const call = new URL(request.url ?? '/', 'http://x').searchParams.get('call') ?? String(calls);
  const transport = adapter.createTransport!({
    connection: socket,
    url: `${config.simulatorUrl}?model=gpt-realtime&call=${call}`,
  }) as RealtimeTransportLayer;
  const session = new RealtimeSession(agent, { transport, model: 'gpt-realtime' });
  session.on('error', () => errors++);
  session.connect({ apiKey: 'sk-bench' }).catch(() => errors++);
  socket.once('close', () => {
    session.close();
    live--;
  });
});
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
const port = (wss.address() as { port: number }).port;

const eld = monitorEventLoopDelay({ resolution: 5 });
let window: { cpu: NodeJS.CpuUsage; at: number } | undefined;

process.on('message', (message: Message) => {
  if (message.type === 'status') {
    process.send!({ type: 'status', liveCalls: live, calls, errors });
    return;
  }
  if (message.type === 'measure') {
    eld.reset();
    eld.enable();
    window = { cpu: process.cpuUsage(), at: performance.now() };
    process.send!({ type: 'measuring' });
    return;
  }
  if (message.type === 'report' && window) {
    eld.disable();
    const cpu = process.cpuUsage(window.cpu);
    const measurement: CapacityMeasurement = {
      liveCalls: live,
      loopDelayP50Ms: eld.percentile(50) / 1e6,
      loopDelayP99Ms: eld.percentile(99) / 1e6,
      loopDelayMaxMs: eld.max / 1e6,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - window.at,
      errors,
    };
    window = undefined;
    process.send!({ type: 'report', measurement });
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url: `ws://127.0.0.1:${port}` });
