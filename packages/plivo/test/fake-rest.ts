import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export type RecordedRequest = { method: string; path: string; headers: IncomingHttpHeaders; body: string };
export type Reply = { status: number; body?: unknown };

/**
 * A REST server on 127.0.0.1 standing in for the carrier's API: it records every request and
 * answers with what `reply` returns for it.
 */
export class FakeRestServer {
  readonly requests: RecordedRequest[] = [];
  reply: (request: RecordedRequest) => Reply = () => ({ status: 200, body: {} });
  #server: Server | undefined;

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.requests.push(request);
        const { status, body } = this.reply(request);
        res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
        res.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', () => resolve()));
    const address = this.#server.address() as { port: number };
    return `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
