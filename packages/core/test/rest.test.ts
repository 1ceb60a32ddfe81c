import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallControlError, ConfigError } from '../src/index.js';
import {
  basicAuthorization,
  carrierRequest,
  isJsonObject,
  parseJsonObjectFrame,
  restClientConfig,
  type RestFailure,
  type RestRequest,
} from '../src/protocol.js';

type Recorded = { method: string; path: string; headers: IncomingHttpHeaders; body: string };
type Reply = { status: number; body?: string };

const SECRET = 's3cr3t-token-0123456789';

let server: Server;
let baseUrl: string;
const requests: Recorded[] = [];
let reply: (request: Recorded) => Reply = () => ({ status: 200, body: '{}' });

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const { status, body } = reply(request);
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests.length = 0;
  reply = () => ({ status: 200, body: '{}' });
});

/** A request to the local server with the hooks of an imaginary carrier: 404 means the call is gone. */
function request(overrides: Partial<RestRequest> = {}): RestRequest {
  return {
    path: '/calls/c1',
    method: 'POST',
    authorization: `Bearer ${SECRET}`,
    what: 'Acme hang-up',
    rejected: 'Acme rejected the hang-up',
    isAlreadyEnded: (failure: RestFailure) => failure.status === 404,
    readError: (failure: RestFailure) => {
      const info = isJsonObject(failure.body) ? failure.body : {};
      const code = typeof info['code'] === 'string' || typeof info['code'] === 'number' ? info['code'] : undefined;
      return { code, text: typeof info['message'] === 'string' ? info['message'] : '' };
    },
    ...overrides,
  };
}

function client(options: { fetch?: typeof fetch; timeoutMs?: number } = {}) {
  return restClientConfig('AcmeCallControl', { baseUrl: `${baseUrl}/`, ...options }, 'https://api.acme.example');
}

describe('carrierRequest', () => {
  it('sends a JSON body with the authorization header and resolves with the parsed answer', async () => {
    reply = () => ({ status: 200, body: JSON.stringify({ result: 'ok' }) });
    await expect(carrierRequest(client(), request({ json: { action: 'hangup' } }))).resolves.toEqual({
      alreadyEnded: false,
      body: { result: 'ok' },
    });
    const [seen] = requests;
    expect(seen).toMatchObject({ method: 'POST', path: '/calls/c1', body: '{"action":"hangup"}' });
    expect(seen!.headers['authorization']).toBe(`Bearer ${SECRET}`);
    expect(seen!.headers['content-type']).toBe('application/json');
    expect(seen!.headers['accept']).toBe('application/json');
  });

  it('sends a form body as application/x-www-form-urlencoded', async () => {
    await carrierRequest(
      client(),
      request({ form: new URLSearchParams({ Status: 'completed', Twiml: '<Response/>' }) }),
    );
    expect(requests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(requests[0]!.body))).toEqual({
      Status: 'completed',
      Twiml: '<Response/>',
    });
  });

  it('sends no body and no content type without one', async () => {
    reply = () => ({ status: 204 });
    await expect(carrierRequest(client(), request({ method: 'DELETE' }))).resolves.toEqual({
      alreadyEnded: false,
      body: undefined,
    });
    expect(requests[0]).toMatchObject({ method: 'DELETE', body: '' });
    expect(requests[0]!.headers['content-type']).toBeUndefined();
  });

  it('resolves alreadyEnded when the carrier hook says the call is gone', async () => {
    reply = () => ({ status: 404, body: JSON.stringify({ message: 'not found' }) });
    await expect(carrierRequest(client(), request())).resolves.toEqual({ alreadyEnded: true });
  });

  it('gives the hook the status and the parsed body', async () => {
    reply = () => ({ status: 422, body: JSON.stringify({ errors: [{ code: '90018' }] }) });
    const seen: RestFailure[] = [];
    const result = await carrierRequest(
      client(),
      request({
        isAlreadyEnded: (failure) => {
          seen.push(failure);
          return true;
        },
      }),
    );
    expect(result).toEqual({ alreadyEnded: true });
    expect(seen).toEqual([{ status: 422, body: { errors: [{ code: '90018' }] } }]);
  });

  it('throws a CallControlError with status, provider code and the carrier message, never the secret', async () => {
    reply = () => ({ status: 401, body: JSON.stringify({ code: 20003, message: 'Authenticate' }) });
    const error = (await carrierRequest(client(), request()).catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.code).toBe('call_control_error');
    expect(error.status).toBe(401);
    expect(error.providerCode).toBe(20003);
    expect(error.message).toBe('Acme rejected the hang-up (HTTP 401, code 20003): Authenticate');
    expect(error.message).not.toContain(SECRET);
    expect(JSON.stringify(error)).not.toContain(SECRET);
  });

  it('keeps the provider code out of the message when asked, and cuts long carrier text', async () => {
    reply = () => ({ status: 400, body: JSON.stringify({ type: 'https://docs.example/errors#bad' }) });
    const long = 'x'.repeat(1000);
    const error = (await carrierRequest(
      client(),
      request({
        readError: (failure) => ({ code: (failure.body as { type: string }).type, quoteCode: false, text: long }),
      }),
    ).catch((e: unknown) => e)) as CallControlError;
    expect(error.providerCode).toBe('https://docs.example/errors#bad');
    expect(error.message).toBe(`Acme rejected the hang-up (HTTP 400): ${'x'.repeat(300)}`);
  });

  it('reports a refusal whose body is not JSON, or that has no hooks', async () => {
    reply = () => ({ status: 500, body: '<html>oops</html>' });
    const error = (await carrierRequest(client(), request({ isAlreadyEnded: undefined, readError: undefined })).catch(
      (e: unknown) => e,
    )) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.status).toBe(500);
    expect(error.providerCode).toBeUndefined();
    expect(error.message).toBe('Acme rejected the hang-up (HTTP 500)');
  });

  it('wraps a network failure, with the cause kept', async () => {
    const cause = new TypeError('fetch failed');
    const failing = (async () => {
      throw cause;
    }) as typeof fetch;
    const error = (await carrierRequest(client({ fetch: failing }), request()).catch(
      (e: unknown) => e,
    )) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.message).toBe('Acme hang-up failed: the request did not complete');
    expect(error.cause).toBe(cause);
    expect(error.status).toBeUndefined();
  });

  it('aborts a request that outlives the timeout', async () => {
    const hanging = ((_input: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      )) as typeof fetch;
    const error = (await carrierRequest(client({ fetch: hanging, timeoutMs: 5 }), request()).catch(
      (e: unknown) => e,
    )) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.message).toBe('Acme hang-up timed out after 5 ms');
  });

  it('calls an injected fetch as a plain function with the full URL', async () => {
    const seen: Array<{ self: unknown; url: string }> = [];
    const injected = function (this: unknown, input: RequestInfo | URL) {
      seen.push({ self: this, url: String(input) });
      return Promise.resolve(new Response(null, { status: 204 }));
    } as typeof fetch;
    await carrierRequest(client({ fetch: injected }), request({ path: '/v1/calls/abc/dtmf' }));
    expect(seen).toEqual([{ self: undefined, url: `${baseUrl}/v1/calls/abc/dtmf` }]);
  });
});

describe('restClientConfig', () => {
  it('fills in the defaults and drops trailing slashes', () => {
    const config = restClientConfig('AcmeCallControl', {}, 'https://api.acme.example');
    expect(config.baseUrl).toBe('https://api.acme.example');
    expect(config.timeoutMs).toBe(10_000);
    expect(typeof config.fetch).toBe('function');
    expect(
      restClientConfig('AcmeCallControl', { baseUrl: 'http://127.0.0.1:4010//' }, 'https://x.example').baseUrl,
    ).toBe('http://127.0.0.1:4010');
  });

  it.each([
    ['a relative base URL', { baseUrl: 'api.acme.example' }, 'AcmeCallControl: baseUrl is not an absolute URL'],
    [
      'a base URL that is not http(s)',
      { baseUrl: 'ftp://api.acme.example' },
      'AcmeCallControl: baseUrl must be an http(s) URL',
    ],
    ['a zero timeout', { timeoutMs: 0 }, 'AcmeCallControl: timeoutMs must be a positive number'],
    ['a NaN timeout', { timeoutMs: Number.NaN }, 'AcmeCallControl: timeoutMs must be a positive number'],
    [
      'a fetch that is not a function',
      { fetch: 'nope' as unknown as typeof fetch },
      'AcmeCallControl: fetch must be a function',
    ],
  ])('throws ConfigError for %s', (_label, options, message) => {
    expect(() => restClientConfig('AcmeCallControl', options, 'https://api.acme.example')).toThrow(
      new ConfigError(message),
    );
  });
});

describe('basicAuthorization', () => {
  it('encodes user and password as HTTP Basic', () => {
    expect(basicAuthorization('MA0000000000', 'tok:en')).toBe(
      `Basic ${Buffer.from('MA0000000000:tok:en').toString('base64')}`,
    );
  });
});

describe('parseJsonObjectFrame', () => {
  it('returns the object of a JSON object text frame', () => {
    expect(parseJsonObjectFrame('  {"event":"start","stream_id":"s1"}')).toEqual({ event: 'start', stream_id: 's1' });
  });

  it.each([
    ['a binary frame', new Uint8Array([123, 125])],
    ['an array', '[1,2]'],
    ['a string', '"{"'],
    ['broken JSON', '{"event":'],
    ['null', 'null'],
    ['a frame over 100 000 characters', `{"pad":"${'a'.repeat(100_000)}"}`],
  ])('gives up on %s', (_label, frame) => {
    expect(parseJsonObjectFrame(frame)).toBeUndefined();
  });
});
