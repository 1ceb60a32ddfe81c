/**
 * Loopback check of a carrier's `maxPayload`: a `ws` server on 127.0.0.1 with the bound, a socket
 * that sends one message over it (closed with 1009), and another that sends the carrier's largest
 * real messages (each acknowledged: the bound lets them through and the server still serves).
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';

type Frame = string | Uint8Array;

const utf8 = new TextEncoder();

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
  return typeof frame === 'string' ? utf8.encode(frame).byteLength : frame.byteLength;
}

/**
 * Checks that a server with `maxPayload` closes a socket that sends one byte more (1009, one
 * socket error, the server unharmed) and lets through every frame of `largestReal` and a frame of
 * exactly `maxPayload` bytes. Throws an `AssertionError` otherwise.
 */
export async function expectMaxPayloadHolds(maxPayload: number, largestReal: readonly Frame[]): Promise<void> {
  for (const frame of largestReal) {
    ok(frameBytes(frame) <= maxPayload, `a real frame of ${frameBytes(frame)} bytes is over the bound ${maxPayload}`);
  }
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const serverErrors: unknown[] = [];
  server.on('connection', (socket) => {
    // As every transport does: an error listener for the socket's whole life.
    socket.on('error', (error) => serverErrors.push(error));
    socket.on('message', (data: Uint8Array) => socket.send(`ok ${data.byteLength}`));
  });
  const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/media`;
  try {
    const big = await open(url);
    const closed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)));
    big.send(new Uint8Array(maxPayload + 1));
    strictEqual(await closed, 1009);
    strictEqual(serverErrors.length, 1);

    const next = await open(url);
    const acks: string[] = [];
    next.on('message', (data) => acks.push(String(data)));
    for (const frame of largestReal) next.send(frame);
    next.send(new Uint8Array(maxPayload));
    const deadline = Date.now() + 20_000;
    while (acks.length < largestReal.length + 1 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    deepStrictEqual(acks, [...largestReal.map((frame) => `ok ${frameBytes(frame)}`), `ok ${maxPayload}`]);
    next.terminate();
  } finally {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
