import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

/**
 * A model link (see the replayer's `modelLink`) on which a barge-in's `response.cancel` crosses the
 * end of the response, as it does over a real network when the caller speaks just as the model
 * finishes its reply: a cancel the bridge sends while a response is in flight is held, with every
 * client event after it, until the model has sent that response's `response.done`; then they go
 * on, in order. Server events pass at once.
 */
export async function lateCancelLink(
  simulatorUrl: string,
): Promise<{ url: string; held: () => number; close(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const upstreams = new Set<WebSocket>();
  let held = 0;
  server.on('connection', (bridge: WebSocket, request: IncomingMessage) => {
    const protocols = String(request.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    const headers: Record<string, string> = {};
    if (typeof request.headers.authorization === 'string') headers.authorization = request.headers.authorization;
    const upstream = new WebSocket(new URL(request.url ?? '/', simulatorUrl).href, protocols, { headers });
    upstreams.add(upstream);
    let responding = false;
    let holding: string[] | undefined;
    const early: string[] = [];
    const toModel = (text: string) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else if (upstream.readyState === WebSocket.CONNECTING) early.push(text);
    };
    upstream.on('open', () => {
      for (const text of early.splice(0)) upstream.send(text);
    });
    upstream.on('message', (data: RawData) => {
      const text = String(data);
      const type = eventType(text);
      if (type === 'response.created') responding = true;
      if (bridge.readyState === WebSocket.OPEN) bridge.send(text);
      if (type === 'response.done') {
        responding = false;
        if (holding) {
          const queued = holding;
          holding = undefined;
          for (const message of queued) toModel(message);
        }
      }
    });
    bridge.on('message', (data: RawData) => {
      const text = String(data);
      if (holding) {
        holding.push(text);
        return;
      }
      if (responding && eventType(text) === 'response.cancel') {
        held++;
        holding = [text];
        return;
      }
      toModel(text);
    });
    const end = () => {
      if (bridge.readyState === WebSocket.OPEN) bridge.close();
      if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
    };
    bridge.on('close', end);
    upstream.on('close', end);
    bridge.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/v1/realtime`,
    held: () => held,
    close: async () => {
      for (const socket of upstreams) socket.terminate();
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function eventType(text: string): string | undefined {
  try {
    const type = (JSON.parse(text) as { type?: unknown }).type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}
