import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { ConfigError, type MediaConnection, type MediaFrame } from '../src/index.js';
import { toBytes, toMediaConnection } from '../src/protocol.js';

/** A WHATWG-style socket (as in browsers, Deno and workerd) driven by the test. */
class WhatwgSocket extends EventTarget {
  readyState = 1;
  bufferedAmount = 12;
  binaryType = 'blob';
  sent: unknown[] = [];
  send(data: unknown) {
    this.sent.push(data);
  }
  close(code?: number, reason?: string) {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason }));
  }
  receive(data: unknown) {
    this.dispatchEvent(new MessageEvent('message', { data }));
  }
}

// Checked by the typecheck step: the platform WebSocket type (browsers, Deno, workerd) needs no cast.
export const acceptsPlatformSocket: (socket: globalThis.WebSocket) => MediaConnection = toMediaConnection;

describe('toMediaConnection', () => {
  it('wraps a WHATWG WebSocket: text and binary frames, close, listener removal', () => {
    const socket = new WhatwgSocket();
    const connection = toMediaConnection(socket);
    expect(socket.binaryType).toBe('arraybuffer');
    const frames: MediaFrame[] = [];
    const off = connection.onMessage((f) => frames.push(f));
    socket.receive('{"event":"connected"}');
    socket.receive(new Uint8Array([1, 2, 3]).buffer);
    off();
    socket.receive('ignored after removal');
    expect(frames).toEqual(['{"event":"connected"}', new Uint8Array([1, 2, 3])]);
    expect(connection.bufferedAmount).toBe(12);
    const closes: Array<number | undefined> = [];
    connection.onClose((code) => closes.push(code));
    connection.send('out');
    expect(socket.sent).toEqual(['out']);
    connection.close(1000, 'bye');
    expect(closes).toEqual([1000]);
    expect(connection.closed).toBe(true);
  });

  it('wraps a Node ws socket: text stays text, binary becomes bytes', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => server.once('listening', () => r()));
    const accepted = new Promise<WebSocket>((r) => server.once('connection', r));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}`);
    await new Promise<void>((r) => client.once('open', () => r()));
    const connection = toMediaConnection(await accepted);
    const frames: MediaFrame[] = [];
    connection.onMessage((f) => frames.push(f));
    const closed = new Promise<number | undefined>((r) => connection.onClose((code) => r(code)));
    client.send('{"event":"media"}');
    client.send(new Uint8Array([9, 8, 7]));
    await new Promise((r) => setTimeout(r, 50));
    expect(frames[0]).toBe('{"event":"media"}');
    expect(frames[1]).toEqual(new Uint8Array([9, 8, 7]));
    client.close(1000);
    expect(await closed).toBe(1000);
    expect(connection.closed).toBe(true);
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('passes a MediaConnection through and rejects anything else with a ConfigError', () => {
    const socket = toMediaConnection(new WhatwgSocket());
    expect(toMediaConnection(socket)).toBe(socket);
    expect(() => toMediaConnection({} as never)).toThrow(ConfigError);
  });

  it('joins fragmented binary frames', () => {
    expect(toBytes([new Uint8Array([1]), new Uint8Array([2, 3])])).toEqual(new Uint8Array([1, 2, 3]));
    expect(() => toBytes(42)).toThrow(TypeError);
  });
});
