/**
 * A small HTTP server on 127.0.0.1 (port 0) that records every request it receives and answers
 * with a configurable JSON response. Point an SDK client (or our own code) at `url` and compare
 * what arrived in `requests`.
 *
 *   const server = await startHttpCapture();
 *   server.respond({ status: 200, body: { sid: 'CA1' } });
 *   ... make requests to server.url ...
 *   server.requests[0].method, .path, .query, .headers, .rawBody, .body
 *   await server.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type QueryValue = string | string[];

export interface CapturedRequest {
  method: string;
  /** Path without the query string, exactly as sent (not percent-decoded). */
  path: string;
  /** The request target as sent: path plus `?query` if any. */
  target: string;
  /** Query parameters, decoded; a name sent more than once maps to an array. */
  query: Record<string, QueryValue>;
  /** Header names lower-cased; repeated headers joined with ", " (as Node does). */
  headers: Record<string, string>;
  /** The body bytes as received. */
  rawBytes: Uint8Array;
  /** The body as UTF-8 text. */
  rawBody: string;
  /**
   * The body parsed by its content type: JSON -> the value (or undefined when it does not parse),
   * application/x-www-form-urlencoded -> Record<string, string | string[]>, otherwise the text.
   * An empty body is undefined.
   */
  body: unknown;
}

export interface CaptureResponse {
  status?: number;
  /** Serialised as JSON unless it is a string (sent as is). Default `{}`. */
  body?: unknown;
  headers?: Record<string, string>;
}

export type Responder = (req: CapturedRequest) => CaptureResponse;

export interface HttpCapture {
  /** Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly requests: CapturedRequest[];
  /** Sets the answer for the following requests (a fixed response or a function of the request). */
  respond(response: CaptureResponse | Responder): void;
  /** Resolves once at least `count` requests were recorded; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<CapturedRequest[]>;
  /** Forgets the recorded requests. */
  clear(): void;
  close(): Promise<void>;
}

export interface HttpCaptureOptions {
  /** Initial response. Default: status 200, body `{}`. */
  response?: CaptureResponse | Responder;
  /** Largest body recorded; a larger request is answered 413 and still recorded (truncated). Default 1 MiB. */
  maxBodyBytes?: number;
}

function toQuery(params: URLSearchParams): Record<string, QueryValue> {
  const out: Record<string, QueryValue> = {};
  for (const [key, value] of params) {
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

function parseBody(contentType: string | undefined, text: string): unknown {
  if (text.length === 0) return undefined;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }
  if (type === 'application/x-www-form-urlencoded') return toQuery(new URLSearchParams(text));
  return text;
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export async function startHttpCapture(options: HttpCaptureOptions = {}): Promise<HttpCapture> {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const requests: CapturedRequest[] = [];
  let responder: CaptureResponse | Responder = options.response ?? { status: 200, body: {} };
  const waiters = new Set<() => void>();
  const cancels = new Set<() => void>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (size + chunk.length > maxBodyBytes) {
        tooLarge = true;
        chunks.push(chunk.subarray(0, Math.max(0, maxBodyBytes - size)));
        size = maxBodyBytes;
        return;
      }
      size += chunk.length;
      chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const bytes = new Uint8Array(Buffer.concat(chunks));
      const rawBody = Buffer.from(bytes).toString('utf8');
      const target = req.url ?? '/';
      const parsed = new URL(target, 'http://127.0.0.1');
      const headers = headersOf(req);
      const captured: CapturedRequest = {
        method: req.method ?? 'GET',
        path: target.split('?')[0]!,
        target,
        query: toQuery(parsed.searchParams),
        headers,
        rawBytes: bytes,
        rawBody,
        body: parseBody(headers['content-type'], rawBody),
      };
      requests.push(captured);
      for (const wake of [...waiters]) wake();

      let answer: CaptureResponse;
      try {
        answer = tooLarge
          ? { status: 413, body: { error: 'body too large' } }
          : typeof responder === 'function'
            ? responder(captured)
            : responder;
      } catch (err) {
        answer = { status: 500, body: { error: String(err) } };
      }
      const payload = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
      const outHeaders: Record<string, string> = {
        'content-type': 'application/json',
        ...(answer.headers ?? {}),
      };
      res.writeHead(answer.status ?? 200, outHeaders);
      res.end(payload);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respond(response) {
      responder = response;
    },
    waitForRequests(count, timeoutMs = 30_000) {
      if (requests.length >= count) return Promise.resolve(requests.slice());
      return new Promise((resolve, reject) => {
        const check = () => {
          if (requests.length >= count) {
            clearTimeout(timer);
            waiters.delete(check);
            cancels.delete(cancel);
            resolve(requests.slice());
          }
        };
        const fail = (why: string) => {
          clearTimeout(timer);
          waiters.delete(check);
          cancels.delete(cancel);
          reject(new Error(`expected ${count} request(s), got ${requests.length}: ${why}`));
        };
        const cancel = () => fail('server closed');
        const timer = setTimeout(() => fail(`not within ${timeoutMs} ms`), timeoutMs);
        waiters.add(check);
        cancels.add(cancel);
      });
    },
    clear() {
      requests.length = 0;
    },
    close() {
      for (const cancel of [...cancels]) cancel();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/**
 * Runs the SDK's request, then ours, one after the other (so that they arrive in that order), and
 * resolves with the two requests as the server received them: `[the SDK's, ours]`.
 */
export async function sdkThenOurs(
  server: HttpCapture,
  viaSdk: () => Promise<unknown>,
  viaOurs: () => Promise<unknown>,
): Promise<[CapturedRequest, CapturedRequest]> {
  await viaSdk();
  await viaOurs();
  const [theirs, ours] = await server.waitForRequests(2);
  return [theirs!, ours!];
}

/**
 * {@link sdkThenOurs} on a server cleared first, resolving with `{ sdk, ours }`; it rejects unless
 * those two requests are all the server received.
 */
export async function onlySdkThenOurs(
  server: HttpCapture,
  viaSdk: () => Promise<unknown>,
  viaOurs: () => Promise<unknown>,
): Promise<{ sdk: CapturedRequest; ours: CapturedRequest }> {
  server.clear();
  const [sdk, ours] = await sdkThenOurs(server, viaSdk, viaOurs);
  if (server.requests.length !== 2) {
    throw new Error(`expected the SDK's request and ours alone, the server received ${server.requests.length}`);
  }
  return { sdk, ours };
}

/**
 * What a carrier's REST API reads from a request: the method, the target (path and query as
 * sent), the Authorization header, the body's media type (without parameters) and the body.
 */
export function apiView(request: CapturedRequest) {
  return {
    method: request.method,
    target: request.target,
    authorization: request.headers['authorization'],
    contentType: request.headers['content-type']?.split(';')[0]?.trim(),
    body: request.body,
  };
}

/**
 * One capture server for a test file: started before its tests, closed after them, its recorded
 * requests cleared and its answer set to `response` before each test. The object returned stands
 * for that server.
 */
export function useHttpCapture(
  hooks: {
    beforeAll(fn: () => Promise<void>): void;
    afterAll(fn: () => Promise<void>): void;
    beforeEach(fn: () => void): void;
  },
  response: CaptureResponse | Responder,
): HttpCapture {
  let current: HttpCapture | undefined;
  const server = (): HttpCapture => {
    if (!current) throw new Error('useHttpCapture: the server runs only while the file’s tests do');
    return current;
  };
  hooks.beforeAll(async () => {
    current = await startHttpCapture();
  });
  hooks.afterAll(async () => {
    await current?.close();
    current = undefined;
  });
  hooks.beforeEach(() => {
    server().clear();
    server().respond(response);
  });
  return {
    get url() {
      return server().url;
    },
    get port() {
      return server().port;
    },
    get requests() {
      return server().requests;
    },
    respond: (next) => server().respond(next),
    waitForRequests: (count, timeoutMs) => server().waitForRequests(count, timeoutMs),
    clear: () => server().clear(),
    close: () => server().close(),
  };
}
