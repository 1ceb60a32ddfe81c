/**
 * Loopback check of a carrier's `maxPayload`: a `ws` server on 127.0.0.1 with the bound, a socket
 * that sends one message over it (closed with 1009), and another that sends the carrier's largest
 * real messages (each acknowledged: the bound lets them through and the server still serves).
 */
import { expect } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

type Frame = string | Uint8Array;

async function open(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

/** The byte size of a frame as sent (UTF-8 for text). */
export function frameBytes(frame: Frame): number {
  return typeof frame === 'string' ? Buffer.byteLength(frame, 'utf8') : frame.byteLength;
}

export async function expectMaxPayloadHolds(maxPayload: number, largestReal: readonly Frame[]): Promise<void> {
  for (const frame of largestReal) expect(frameBytes(frame)).toBeLessThanOrEqual(maxPayload);
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const serverErrors: unknown[] = [];
  server.on('connection', (socket) => {
    // As every transport does: an error listener for the socket's whole life.
    socket.on('error', (error) => serverErrors.push(error));
    socket.on('message', (data: Buffer) => socket.send(`ok ${data.byteLength}`));
  });
  const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/media`;
  try {
    const big = await open(url);
    const closed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)));
    big.send(new Uint8Array(maxPayload + 1));
    expect(await closed).toBe(1009);
    expect(serverErrors).toHaveLength(1);

    const next = await open(url);
    const acks: string[] = [];
    next.on('message', (data: Buffer) => acks.push(String(data)));
    for (const frame of largestReal) next.send(frame);
    next.send(new Uint8Array(maxPayload));
    const deadline = Date.now() + 20_000;
    while (acks.length < largestReal.length + 1 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(acks).toEqual([...largestReal.map((frame) => `ok ${frameBytes(frame)}`), `ok ${maxPayload}`]);
    next.terminate();
  } finally {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
