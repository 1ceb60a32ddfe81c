/**
 * Captures the traffic one bridge gets during one call, for the in-process relay harness
 * (`inproc.ts`): every text frame the caller sends (Twilio Media Streams) and every message the
 * model sends, in the order they arrived, plus the names of the marks the bridge sent.
 *
 * It runs the relay bench's simulator and caller processes (one call) against a bridge of its own
 * in this process: Switchboard's `TwilioRealtimeTransport` under a `RealtimeSession`, built as
 * `bridge.ts` builds it, with the model socket made through the SDK's `createWebSocket` hook so
 * that each model message is recorded before the transport sees it.
 *
 *   node --import tsx relay/inproc-capture.ts [--trace demo-call] [--seconds 32] [--speed 1]
 *        [--out out/relay-inproc-capture.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundledTracesDir, conformanceAgent, loadTrace, traceExpect } from '@switchboard/conformance';
import { TwilioRealtimeTransport } from '@switchboard/twilio';
import { startCallSession } from './call-session.js';
import { WebSocket, WebSocketServer } from 'ws';
import { exited, nextMessage, startChild } from '../shared.js';

/** One message the bridge received: `twilio` from the caller, `model` from the model. */
export type CapturedMessage = { from: 'twilio' | 'model'; text: string };

export type Capture = {
  trace: string;
  seconds: number;
  speed: number;
  capturedAt: string;
  messages: CapturedMessage[];
  /** The names of the marks the bridge sent to the caller, in order. */
  marksSent: string[];
  /** Media frames the bridge sent to the caller, and appends it sent to the model. */
  mediaSent: number;
  appendsSent: number;
};

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
export const DEFAULT_CAPTURE = here('../out/relay-inproc-capture.json');

async function capture(options: { trace: string; seconds: number; speed: number; out: string }): Promise<Capture> {
  const tracePath = options.trace.endsWith('.jsonl') ? options.trace : `${bundledTracesDir()}/${options.trace}.jsonl`;
  const trace = await loadTrace(tracePath);
  const seconds = Math.min(options.seconds, traceExpect(trace).durationMs / 1000);

  const simulator = startChild(here('./simulator.ts'), [String(options.speed)]);
  const { url: simulatorUrl } = (await nextMessage(simulator, 'ready')) as unknown as { url: string };

  const messages: CapturedMessage[] = [];
  const marksSent: string[] = [];
  let mediaSent = 0;
  let appendsSent = 0;
  let errors = 0;
  let captured = false;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (socket) => {
    // One call only: any other connection is refused.
    if (captured) {
      socket.close();
      return;
    }
    captured = true;
    socket.on('message', (data, isBinary) => {
      if (!isBinary) messages.push({ from: 'twilio', text: String(data) });
    });
    const send = socket.send.bind(socket) as (data: unknown, ...rest: unknown[]) => void;
    (socket as unknown as { send: typeof send }).send = (data, ...rest) => {
      const text = typeof data === 'string' ? data : Buffer.from(data as Uint8Array).toString();
      if (text.includes('"event":"media"')) mediaSent++;
      else if (text.includes('"event":"mark"'))
        marksSent.push((JSON.parse(text) as { mark: { name: string } }).mark.name);
      send(data, ...rest);
    };
    const transport = new TwilioRealtimeTransport({
      twilioWebSocket: socket,
      url: `${simulatorUrl}?model=gpt-realtime&call=0`,
      createWebSocket: async ({ url, apiKey }) => {
        const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${apiKey}` } });
        // Added before the SDK's own listener: each message is recorded before the transport acts on it.
        ws.addEventListener('message', (event) => {
          messages.push({ from: 'model', text: String(event.data) });
        });
        const modelSend = ws.send.bind(ws) as (data: unknown, ...rest: unknown[]) => void;
        (ws as unknown as { send: typeof modelSend }).send = (data, ...rest) => {
          if (typeof data === 'string' && data.includes('"input_audio_buffer.append"')) appendsSent++;
          modelSend(data, ...rest);
        };
        return ws as never;
      },
    });
    startCallSession(conformanceAgent(), transport, socket, () => {
      errors++;
    });
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const bridgeUrl = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;

  simulator.send({ type: 'reset' });
  await nextMessage(simulator, 'reset-done');
  const caller = startChild(here('./caller.ts'), [bridgeUrl, tracePath, '1', String(options.speed), String(seconds)]);
  await nextMessage(caller, 'report');
  await exited(caller);
  await new Promise((resolve) => setTimeout(resolve, 500));
  simulator.disconnect();
  await exited(simulator);
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  if (errors > 0) console.error(`capture: the bridge reported ${errors} error(s)`);

  const result: Capture = {
    trace: trace.header.name,
    seconds,
    speed: options.speed,
    capturedAt: new Date().toISOString(),
    messages,
    marksSent,
    mediaSent,
    appendsSent,
  };
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, JSON.stringify(result));
  return result;
}

/** Captures one call of `trace` into `out` (run as a script, or from `inproc.ts`). */
export async function runCapture(
  options: Partial<{ trace: string; seconds: number; speed: number; out: string }> = {},
): Promise<Capture> {
  const result = await capture({
    trace: options.trace ?? 'demo-call',
    seconds: options.seconds ?? 32,
    speed: options.speed ?? 1,
    out: options.out ?? DEFAULT_CAPTURE,
  });
  const count = (from: CapturedMessage['from']) => result.messages.filter((m) => m.from === from).length;
  console.error(
    `capture: "${result.trace}", ${result.seconds.toFixed(1)} s: ${count('twilio')} Twilio frames and ${count('model')} model messages received; ` +
      `${result.mediaSent} media frames and ${result.marksSent.length} marks sent to Twilio, ${result.appendsSent} appends sent to the model` +
      ` -> ${options.out ?? DEFAULT_CAPTURE}`,
  );
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      trace: { type: 'string', default: 'demo-call' },
      seconds: { type: 'string', default: '32' },
      speed: { type: 'string', default: '1' },
      out: { type: 'string', default: DEFAULT_CAPTURE },
    },
  });
  await runCapture({
    trace: values.trace!,
    seconds: Number(values.seconds),
    speed: Number(values.speed),
    out: values.out!,
  });
  process.exit(0);
}
