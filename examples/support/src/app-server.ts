/**
 * The HTTP plumbing the Twilio examples' servers share: form bodies, plain replies, the signed
 * Media Stream upgrade, the agent's final lines and shutting down.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { validateTwilioWebSocketUpgrade } from '@switchboard/twilio';

/** The API key the examples use with an offline stand-in for OpenAI (the realtime simulator). */
export const OFFLINE_API_KEY = 'sk-offline-placeholder';

/** The OpenAI API key to use: the one given, else a placeholder when a stand-in serves the model. */
export function exampleApiKey(
  options: { openaiApiKey?: string | undefined; realtimeUrl?: string | undefined },
  caller: string,
): string {
  const key = options.openaiApiKey || (options.realtimeUrl ? OFFLINE_API_KEY : undefined);
  if (key === undefined) throw new Error(`${caller}: set openaiApiKey (or realtimeUrl for an offline stand-in)`);
  return key;
}

/** Reads a form-encoded request body of at most 64 KiB. */
export async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

export function reply(res: ServerResponse, status: number, body: string | Uint8Array = '', type = 'text/plain'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

/** What a `ws` WebSocketServer (noServer) offers the examples. */
export type UpgradeAcceptor<Socket> = {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: Socket) => void): void;
};

/**
 * Takes the server's WebSocket upgrades: on /media with a valid X-Twilio-Signature it hands the
 * socket to `startCall` (closing it with 1011 when that throws); anything else gets a 403.
 */
export function acceptTwilioMediaStreams<Socket extends { close(code?: number, reason?: string): void }>(
  server: Server,
  options: {
    authToken: string;
    /** The server's public URL (http or https), read at each upgrade. */
    publicUrl: () => string;
    wss: UpgradeAcceptor<Socket>;
    log: (line: string) => void;
    startCall: (ws: Socket) => void;
  },
): void {
  const { authToken, wss, log } = options;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void (async () => {
      const ok =
        (req.url ?? '').split('?')[0] === '/media' &&
        (await validateTwilioWebSocketUpgrade({
          authToken,
          headers: req.headers,
          url: `${options.publicUrl().replace(/^http/, 'ws')}${req.url ?? ''}`,
        }));
      if (!ok) {
        log('rejected a /media upgrade: wrong path or missing or invalid X-Twilio-Signature');
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        try {
          options.startCall(ws);
        } catch (error) {
          log(`could not take the call: ${(error as Error).message}`);
          ws.close(1011, 'internal error');
        }
      });
    })().catch(() => socket.destroy());
  });
}

/** Ends every open stream and stops the server. */
export async function closeAppServer(
  server: Server,
  wss: { clients: Iterable<{ terminate(): void }>; close(): void },
): Promise<void> {
  for (const client of wss.clients) client.terminate();
  wss.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A realtime history item, as far as `agentLine` reads it. */
export type HistoryItemLike = {
  type: string;
  role?: string;
  status?: string;
  content?: ReadonlyArray<object>;
};

/** The final transcript of an assistant message, else undefined. */
export function agentLine(item: HistoryItemLike): string | undefined {
  if (item.type !== 'message' || item.role !== 'assistant' || item.status === 'in_progress') return undefined;
  let text = '';
  for (const part of item.content ?? [])
    if ('transcript' in part && typeof part.transcript === 'string') text += part.transcript;
  return text.trim() || undefined;
}
