import { afterAll, expect, it } from 'vitest';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { conformance as twilio } from '@switchboard/twilio/testing';
import { bundledTracesDir, loadTrace, replayTrace, runChecks } from '@switchboard/conformance';

// The end of a call is judged once it had the time to show everywhere: on a starved machine the
// model socket's closing handshake alone may take seconds, and a bridge that does close it passes.

/** Real ms the link holds the close of the model socket before passing it on. */
const CLOSE_DELAY_MS = 3000;

/** A model link (see the replayer's `modelLink`) that passes every event at once and a close late. */
async function slowClosingLink(simulatorUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const upstreams = new Set<WebSocket>();
  const timers = new Set<NodeJS.Timeout>();
  server.on('connection', (bridge: WebSocket, request: IncomingMessage) => {
    const protocols = String(request.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    const headers: Record<string, string> = {};
    if (typeof request.headers.authorization === 'string') headers.authorization = request.headers.authorization;
    const upstream = new WebSocket(new URL(request.url ?? '/', simulatorUrl).href, protocols, { headers });
    upstreams.add(upstream);
    const early: string[] = [];
    upstream.on('open', () => {
      for (const text of early.splice(0)) upstream.send(text);
    });
    upstream.on('message', (data: RawData) => {
      if (bridge.readyState === WebSocket.OPEN) bridge.send(String(data));
    });
    bridge.on('message', (data: RawData) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(String(data));
      else if (upstream.readyState === WebSocket.CONNECTING) early.push(String(data));
    });
    bridge.on('close', () => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        upstream.close();
      }, CLOSE_DELAY_MS);
      timers.add(timer);
    });
    upstream.on('close', () => bridge.terminate());
    bridge.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/v1/realtime`,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of upstreams) socket.terminate();
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

afterAll(async () => {
  await twilio.dispose?.();
});

it('waits for a model socket that closes seconds after the call ended', async () => {
  const trace = await loadTrace(join(bundledTracesDir(), 'no-stop.jsonl'));
  const result = await replayTrace(twilio, trace, { modelLink: slowClosingLink });
  expect(result.callEndedAt).toBeDefined();
  expect(result.modelClosedAt).toBeDefined();
  const lifecycle = runChecks(result).find((o) => o.check.id === 'lifecycle.close')!.outcome;
  expect(lifecycle.status, lifecycle.detail).toBe('pass');
}, 120_000);
