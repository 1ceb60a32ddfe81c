import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** One request the fake REST server received. */
export interface RecordedRequest {
  method: string;
  /** The request target as sent: path and query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text (`''` when there was none). */
  body: string;
}

/**
 * What the fake REST server answers. `body` is sent as JSON with `content-type: application/json`
 * (a string is sent as is, with the same content type); without `body` the response is empty.
 */
export interface FakeRestReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A carrier's REST API on 127.0.0.1, for call-control tests. */
export interface FakeRest {
  /** `http://127.0.0.1:<port>`: the base URL to give the client under test. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Decides the answer to each request; may be replaced at any time. Default: 200 with `{}`. */
  reply: (request: RecordedRequest) => FakeRestReply;
  /** Closes the server. */
  stop(): Promise<void>;
}

/**
 * Starts a loopback HTTP server standing in for a carrier's REST API: it records the method,
 * path, headers and body of every request and answers with what `reply` returns for it.
 */
export async function startFakeRest(reply: FakeRest['reply'] = () => ({ status: 200, body: {} })): Promise<FakeRest> {
  const requests: RecordedRequest[] = [];
  let server: Server;
  const rest = {
    requests,
    reply,
    url: '',
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const { status, body, headers = {} } = rest.reply(request);
      res.writeHead(status, body === undefined ? headers : { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  rest.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return rest;
}
