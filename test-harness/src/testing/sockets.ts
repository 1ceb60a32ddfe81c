import { WebSocket, WebSocketServer } from 'ws';

/** Both ends of one carrier media socket over loopback. */
export interface CarrierSocketPair {
  /** The carrier's end: what it sends reaches the bridge. */
  readonly carrier: WebSocket;
  /** The bridge's end, as the server accepted it: give it to the transport under test. */
  readonly bridgeSide: Promise<WebSocket>;
  /** The URL the carrier connected to. */
  readonly url: string;
  /** Terminates the carrier's end and closes the server. */
  close(): Promise<void>;
}

/**
 * Opens a real WebSocket on 127.0.0.1 between a carrier (a `ws` client) and a bridge (a `ws`
 * server), for transport tests that need a socket rather than an in-memory connection.
 */
export async function openCarrierSocket(path = '/media'): Promise<CarrierSocketPair> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const bridgeSide = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}${path}`;
  const carrier = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    carrier.once('open', () => resolve());
    carrier.once('error', reject);
  });
  return {
    carrier,
    bridgeSide,
    url,
    close: async () => {
      carrier.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
