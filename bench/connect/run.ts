/**
 * Connect benchmark: how long a caller waits for the agent's first words once the carrier's media
 * stream starts. Each call plays the carrier's sequence: the voice webhook, then (some hundreds of
 * ms later, as carriers do) the media stream, `connected` and `start`, with μ-law silence every
 * 20 ms from then on. The model is the realtime simulator, whose WebSocket upgrade takes
 * `--handshake-ms` (a real model handshake takes hundreds of ms). The application asks for a
 * greeting as soon as its session is connected.
 *
 *   pnpm bench:connect [--calls 20] [--stream-delay-ms 400] [--handshake-ms 500] [--concurrency 2]
 *                      [--mode all|cold|prewarm|sdk] [--json]
 *
 * Modes: Switchboard's TwilioRealtimeTransport created when the stream connects (cold); the same,
 * created and connected at the webhook by a PrewarmPool and claimed by the stream (pre-warmed);
 * the Agents SDK's TwilioRealtimeTransportLayer created when the stream connects.
 *
 * Per mode, median and p95 over the calls of: the stream's `start` to the model session being
 * ready (`session.updated` reaching the bridge; 0 when it was ready before the stream started),
 * and the stream's `start` to the first agent audio reaching the carrier.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { TwilioRealtimeTransportLayer } from '@openai/agents-extensions';
import { RealtimeSession, type RealtimeTransportLayer } from '@openai/agents/realtime';
import { RealtimeSimulator, conformanceAgent } from '@switchboard/conformance';
import { PrewarmPool, type MediaConnection } from '@switchboard/core';
import { TwilioMediaStreamProtocol, TwilioRealtimeTransport } from '@switchboard/twilio';
import { TwilioPeerSimulator } from '@switchboard/twilio/testing';
import { WebSocket, WebSocketServer } from 'ws';

type Mode = 'cold' | 'prewarm' | 'sdk';
const MODE_LABELS: Record<Mode, string> = {
  cold: 'Switchboard, cold (transport created at the stream)',
  prewarm: 'Switchboard, pre-warmed at the webhook',
  sdk: 'SDK TwilioRealtimeTransportLayer (at the stream)',
};

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20' },
    'stream-delay-ms': { type: 'string', default: '400' },
    'handshake-ms': { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '2' },
    mode: { type: 'string', default: 'all' },
    json: { type: 'boolean', default: false },
  },
});
const calls = Number(values.calls);
const streamDelayMs = Number(values['stream-delay-ms']);
const handshakeMs = Number(values['handshake-ms']);
const concurrency = Math.max(1, Number(values.concurrency));
const modes: Mode[] = values.mode === 'all' ? ['cold', 'prewarm', 'sdk'] : [values.mode as Mode];
for (const mode of modes) if (!(mode in MODE_LABELS)) throw new Error(`--mode: cold, prewarm, sdk or all; got ${mode}`);
/** Calls per mode run first and not counted (module loading, JIT). */
const WARMUP_CALLS = 2;

/** What one call measured, ms on this process's clock. */
type CallTimes = { start: number; ready: number; firstAudio: number };

const simulator = new RealtimeSimulator({ acceptDelayMs: handshakeMs, requireAuth: false });
const { url: modelUrl } = await simulator.start();
const agent = conformanceAgent();
const SESSION_CONFIG = {
  model: 'gpt-realtime',
  config: { audio: { input: { format: 'g711_ulaw' }, output: { format: 'g711_ulaw' } } },
} as const;

/** When each call's model session was ready, by call sid. */
const readyAt = new Map<string, number>();

/** A session on `transport` whose greeting is asked for as soon as it is connected. */
function startSession(callSid: string, transport: RealtimeTransportLayer): RealtimeSession {
  const session = new RealtimeSession(agent, { transport, ...SESSION_CONFIG });
  session.on('transport_event', (event) => {
    if (event.type === 'session.updated' && !readyAt.has(callSid)) readyAt.set(callSid, performance.now());
  });
  session.on('error', () => undefined);
  session.connect({ apiKey: 'sk-bench' }).then(
    () => transport.sendEvent({ type: 'response.create' }),
    () => undefined,
  );
  return session;
}

type Warm = { transport: TwilioRealtimeTransport; session: RealtimeSession };
const pool = new PrewarmPool<Warm>({
  create: ({ callId, connection }) => {
    const transport = new TwilioRealtimeTransport({ twilioWebSocket: connection, url: modelUrl });
    return { transport, session: startSession(callId, transport) };
  },
});

let mode: Mode = 'cold';
const bridge = new WebSocketServer({ host: '127.0.0.1', port: 0 });
bridge.on('connection', (socket, request) => {
  const callSid = new URL(request.url ?? '/', 'http://x').searchParams.get('call') ?? '';
  const cold = (connection: MediaConnection | WebSocket) => {
    const transport =
      mode === 'sdk'
        ? new TwilioRealtimeTransportLayer({ twilioWebSocket: connection as never, url: modelUrl })
        : new TwilioRealtimeTransport({ twilioWebSocket: connection as MediaConnection, url: modelUrl });
    const session = startSession(callSid, transport);
    socket.on('close', () => session.close());
  };
  if (mode !== 'prewarm') {
    cold(socket);
    return;
  }
  pool.accept(socket, new TwilioMediaStreamProtocol()).then(
    (result) => {
      if (result.kind === 'prewarmed') socket.on('close', () => result.call.session.close());
      else if (result.kind === 'cold') cold(result.connection);
    },
    () => socket.close(),
  );
});
await new Promise<void>((resolve) => bridge.once('listening', () => resolve()));
const bridgeUrl = `ws://127.0.0.1:${(bridge.address() as { port: number }).port}/media`;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One call as the carrier plays it; resolves once the agent's first audio arrived. */
async function placeCall(callSid: string): Promise<CallTimes> {
  // The voice webhook: the application answers with its TwiML (and, pre-warming, warms the call).
  if (mode === 'prewarm') pool.warm(callSid);
  await delay(streamDelayMs);
  const carrier = new WebSocket(`${bridgeUrl}?call=${callSid}`);
  const peer = new TwilioPeerSimulator({ callSid });
  await new Promise<void>((resolve, reject) => {
    carrier.once('open', () => resolve());
    carrier.once('error', reject);
  });
  let start = 0;
  const firstAudio = new Promise<number>((resolve) => {
    carrier.on('message', (data) => {
      const text = String(data);
      if (text.includes('"event":"media"')) resolve(performance.now());
    });
  });
  const format = { encoding: 'pcmu', sampleRate: 8000, channels: 1 } as const;
  const opening = peer.encodeInbound({
    type: 'call_start',
    callId: callSid,
    streamId: '',
    format,
    customParameters: {},
    raw: null,
  });
  for (const frame of opening) carrier.send(frame);
  start = performance.now();
  const quiet = new Uint8Array(160).fill(0xff);
  const silence = setInterval(() => {
    for (const frame of peer.encodeInbound({ type: 'audio', payload: quiet })) carrier.send(frame);
  }, 20);
  const heard = await Promise.race([firstAudio, delay(30_000).then(() => Number.NaN)]);
  clearInterval(silence);
  carrier.close();
  const ready = readyAt.get(callSid) ?? Number.NaN;
  readyAt.delete(callSid);
  return { start, ready, firstAudio: heard };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

type ModeReport = {
  mode: Mode;
  calls: number;
  failed: number;
  readyMs: { median: number; p95: number };
  firstAudioMs: { median: number; p95: number };
};

let sequence = 0;
async function runMode(current: Mode): Promise<ModeReport> {
  mode = current;
  for (let i = 0; i < WARMUP_CALLS; i++) await placeCall(`CAwarmup${current}${sequence++}`);
  const results: CallTimes[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, calls) }, async () => {
      while (next < calls) {
        next++;
        results.push(await placeCall(`CA${current}${String(sequence++).padStart(6, '0')}`));
      }
    }),
  );
  const ok = results.filter((r) => Number.isFinite(r.firstAudio) && Number.isFinite(r.ready));
  const ready = ok.map((r) => Math.max(0, r.ready - r.start));
  const first = ok.map((r) => r.firstAudio - r.start);
  return {
    mode: current,
    calls: results.length,
    failed: results.length - ok.length,
    readyMs: { median: percentile(ready, 50), p95: percentile(ready, 95) },
    firstAudioMs: { median: percentile(first, 50), p95: percentile(first, 95) },
  };
}

const reports: ModeReport[] = [];
for (const current of modes) reports.push(await runMode(current));
await pool.close();
await new Promise<void>((resolve) => bridge.close(() => resolve()));
await simulator.stop();

if (values.json) {
  console.log(JSON.stringify({ calls, streamDelayMs, handshakeMs, concurrency, reports }, null, 2));
} else {
  const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : '–');
  console.log(
    `connect: ${calls} calls per mode (${concurrency} at a time), stream ${streamDelayMs} ms after the webhook, ` +
      `model handshake ${handshakeMs} ms; times from the stream's start (median / p95)\n`,
  );
  const rows = [
    ['mode', 'model ready', 'first agent audio', 'failed'],
    ...reports.map((r) => [
      MODE_LABELS[r.mode],
      `${ms(r.readyMs.median)} / ${ms(r.readyMs.p95)}`,
      `${ms(r.firstAudioMs.median)} / ${ms(r.firstAudioMs.p95)}`,
      String(r.failed),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
}
process.exit(0);
