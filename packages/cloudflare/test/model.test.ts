/**
 * The fetch-upgrade model connection with a stubbed `fetch` (no runtime needed): the request it
 * makes, what a refusal looks like, and the SDK transports driven through it.
 */
import { EventEmitter } from 'node:events';
import createDebug from 'debug';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, SwitchboardError } from '@switchboard/core';
import { TwilioRealtimeTransport } from '@switchboard/twilio';
import {
  CloudflareRealtimeTransport,
  ModelUnreachableError,
  enableLogging,
  ModelUpgradeError,
  fetchUpgradeOptions,
  fetchUpgradeWebSocket,
  handleMediaUpgrade,
  sdkRequestHeaders,
  upgradeUrl,
  type WorkersFetch,
} from '../src/index.js';

/** An already-open socket as workerd hands it out after `accept()`. */
class FakeWorkersSocket extends EventTarget {
  readyState = 1;
  accepted = 0;
  sent: string[] = [];
  accept() {
    this.accepted++;
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
    this.dispatchEvent(new Event('close'));
  }
}

function stubFetch(answer: () => Response | Promise<Response>) {
  const calls: Array<{ url: string; headers: Record<string, string> }> = [];
  const fetch: WorkersFetch = async (input, init) => {
    calls.push({ url: String(input), headers: { ...(init?.headers as Record<string, string>) } });
    return answer();
  };
  return { fetch, calls };
}

function upgraded(socket: FakeWorkersSocket): Response {
  // A Node Response cannot have status 101: shape one as workerd's.
  return {
    status: 101,
    statusText: 'Switching Protocols',
    webSocket: socket,
    text: async () => '',
  } as unknown as Response;
}

describe('fetchUpgradeWebSocket', () => {
  it('upgrades over fetch with the key, the realtime subprotocol and the SDK headers, then accepts', async () => {
    const socket = new FakeWorkersSocket();
    const { fetch, calls } = stubFetch(() => upgraded(socket));
    const create = fetchUpgradeWebSocket({ fetch, headers: { 'OpenAI-Project': 'proj_1' } });
    const ws = await create({ url: 'wss://api.openai.com/v1/realtime?model=gpt-realtime', apiKey: 'sk-secret' });
    expect(ws).toBe(socket);
    expect(socket.accepted).toBe(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe('https://api.openai.com/v1/realtime?model=gpt-realtime');
    expect(calls[0]!.headers).toMatchObject({
      Authorization: 'Bearer sk-secret',
      'Sec-WebSocket-Protocol': 'realtime',
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'OpenAI-Project': 'proj_1',
      ...sdkRequestHeaders(),
    });
    expect(sdkRequestHeaders()['User-Agent']).toMatch(/^Agents\/JavaScript /);
  });

  it('maps ws:// to http:// and refuses other schemes', () => {
    expect(upgradeUrl('ws://127.0.0.1:8788/v1/realtime')).toBe('http://127.0.0.1:8788/v1/realtime');
    expect(upgradeUrl('https://example.test/x')).toBe('https://example.test/x');
    expect(() => upgradeUrl('ftp://example.test/?key=sk-secret')).toThrow(ConfigError);
    expect(() => upgradeUrl('ftp://example.test/?key=sk-secret')).not.toThrow(/sk-secret/);
  });

  it('rejects a refused upgrade with a ModelUpgradeError carrying the status and the body', async () => {
    const { fetch } = stubFetch(
      () => new Response('{"error":{"code":"invalid_api_key"}}', { status: 401, statusText: 'Unauthorized' }),
    );
    const error = await fetchUpgradeWebSocket({ fetch })({
      url: 'wss://api.openai.com/v1/realtime',
      apiKey: 'sk-bad',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelUpgradeError);
    expect(error).toBeInstanceOf(SwitchboardError);
    expect(error).toMatchObject({ code: 'model_upgrade_refused', status: 401, statusText: 'Unauthorized' });
    expect((error as ModelUpgradeError).message).toBe(
      'The model endpoint refused the WebSocket upgrade: 401 Unauthorized.',
    );
    expect((error as ModelUpgradeError).body).toContain('invalid_api_key');
    expect((error as ModelUpgradeError).message).not.toContain('sk-bad');
  });

  it('keeps the key out of the body of a refusal that echoes the request', async () => {
    const { fetch } = stubFetch(
      () => new Response('bad request: Authorization: Bearer sk-live-secret was refused', { status: 400 }),
    );
    const error = (await fetchUpgradeWebSocket({ fetch })({
      url: 'wss://x.test/v1/realtime',
      apiKey: 'sk-live-secret',
    }).catch((e: unknown) => e)) as ModelUpgradeError;
    expect(error).toBeInstanceOf(ModelUpgradeError);
    expect(error.body).toBe('bad request: Authorization: Bearer [redacted] was refused');
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain('sk-live-secret');
  });

  it('treats a 101 without a socket as refused', async () => {
    const { fetch } = stubFetch(
      () => ({ status: 101, statusText: '', webSocket: null, text: async () => '' }) as unknown as Response,
    );
    await expect(
      fetchUpgradeWebSocket({ fetch })({ url: 'wss://x.test/v1/realtime', apiKey: 'sk' }),
    ).rejects.toMatchObject({
      code: 'model_upgrade_refused',
      status: 101,
    });
  });

  it('reports an unreachable endpoint with its own code, without the query string', async () => {
    const { fetch } = stubFetch(() => {
      throw new TypeError('connect ECONNREFUSED');
    });
    const error = await fetchUpgradeWebSocket({ fetch })({
      url: 'wss://x.test/v1/realtime?model=m',
      apiKey: 'sk',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelUnreachableError);
    expect(error).toMatchObject({ code: 'model_unreachable' });
    expect((error as Error).message).toContain('https://x.test/v1/realtime:');
    expect((error as Error).message).not.toContain('model=m');
  });

  it('lets accept() errors through', async () => {
    const socket = new FakeWorkersSocket();
    socket.accept = () => {
      throw new Error('already accepted');
    };
    const { fetch } = stubFetch(() => upgraded(socket));
    await expect(fetchUpgradeWebSocket({ fetch })({ url: 'wss://x.test/', apiKey: 'sk' })).rejects.toThrow(
      'already accepted',
    );
  });
});

describe('transports on a fetch-upgrade socket', () => {
  it('CloudflareRealtimeTransport connects without an open event and sends the session', async () => {
    const socket = new FakeWorkersSocket();
    const { fetch, calls } = stubFetch(() => upgraded(socket));
    const transport = new CloudflareRealtimeTransport({
      fetch,
      url: 'wss://api.openai.com/v1/realtime?model=gpt-realtime',
    });
    const states: string[] = [];
    transport.on('connection_change', (status) => states.push(status));
    await transport.connect({ apiKey: 'sk-secret' });
    expect(states).toEqual(['connecting', 'connected']);
    expect(transport.status).toBe('connected');
    expect(calls[0]!.headers).toMatchObject({ Authorization: 'Bearer sk-secret', ...sdkRequestHeaders() });
    expect(JSON.parse(socket.sent[0]!)).toMatchObject({ type: 'session.update' });
    transport.close();
    expect(transport.status).toBe('disconnected');
  });

  it('TwilioRealtimeTransport takes the factory through fetchUpgradeOptions and keeps G.711', async () => {
    const socket = new FakeWorkersSocket();
    const { fetch } = stubFetch(() => upgraded(socket));
    const carrier = Object.assign(new EventEmitter(), {
      readyState: 1,
      bufferedAmount: 0,
      send: vi.fn(),
      close: vi.fn(),
    });
    const transport = new TwilioRealtimeTransport({
      twilioWebSocket: carrier as never,
      ...fetchUpgradeOptions({ fetch }),
    });
    const connecting = transport.connect({
      apiKey: 'sk-secret',
      url: 'wss://api.openai.com/v1/realtime?model=gpt-realtime',
    });
    // connect() resolves once the service has set the session up.
    while (socket.sent.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const created = {
      type: 'session.created',
      event_id: 'evt_1',
      session: { type: 'realtime', id: 'sess_1', tracing: null },
    };
    socket.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(created) }));
    await connecting;
    const update = JSON.parse(socket.sent[0]!) as {
      session: { audio: { input: { format: unknown }; output: { format: unknown } } };
    };
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcmu' });
    expect(update.session.audio.output.format).toEqual({ type: 'audio/pcmu' });
    transport.close();
  });

  it('makes connect() reject with the ModelUpgradeError when the model refuses', async () => {
    const { fetch } = stubFetch(() => new Response('nope', { status: 403, statusText: 'Forbidden' }));
    const transport = new CloudflareRealtimeTransport({ fetch });
    await expect(transport.connect({ apiKey: 'sk', url: 'wss://x.test/v1/realtime' })).rejects.toMatchObject({
      code: 'model_upgrade_refused',
      status: 403,
    });
    expect(transport.status).toBe('disconnected');
  });
});

describe('handleMediaUpgrade outside a Worker', () => {
  const agent = { name: 'a' } as never;

  it('answers 426 to a request that is no upgrade', async () => {
    const response = await handleMediaUpgrade(new Request('https://example.test/media'), { apiKey: 'sk', agent });
    expect(response.status).toBe(426);
  });

  it('answers 403 before touching any socket when the signature is bad', async () => {
    const request = new Request('https://example.test/media', {
      headers: { Upgrade: 'websocket', 'X-Twilio-Signature': 'AAAA' },
    });
    const response = await handleMediaUpgrade(request, {
      apiKey: 'sk',
      agent,
      verification: { twilio: { authToken: 'token' } },
    });
    expect(response.status).toBe(403);
    const refused = await handleMediaUpgrade(request, { apiKey: 'sk', agent, verification: { validate: () => false } });
    expect(refused.status).toBe(403);
  });

  it('says clearly that a WebSocketPair needs workerd', async () => {
    const request = new Request('https://example.test/media', { headers: { Upgrade: 'websocket' } });
    await expect(handleMediaUpgrade(request, { apiKey: 'sk', agent })).rejects.toThrow(
      /WebSocketPair is not available/,
    );
  });

  it('rejects incomplete options with a ConfigError', async () => {
    const request = new Request('https://example.test/media');
    await expect(handleMediaUpgrade(request, { apiKey: '', agent })).rejects.toThrow(ConfigError);
    await expect(handleMediaUpgrade(request, { apiKey: 'sk' })).rejects.toThrow(/agent` or `session/);
  });
});

describe('enableLogging', () => {
  it('switches on what it is given, everything when called bare, and nothing for an unset var', () => {
    const saved = createDebug.disable();
    try {
      enableLogging(undefined);
      enableLogging('');
      expect(createDebug.enabled('switchboard:cloudflare')).toBe(false);
      enableLogging('switchboard:core');
      expect(createDebug.enabled('switchboard:core')).toBe(true);
      expect(createDebug.enabled('switchboard:cloudflare')).toBe(false);
      enableLogging();
      expect(createDebug.enabled('switchboard:cloudflare')).toBe(true);
    } finally {
      createDebug.enable(saved);
    }
  });
});
