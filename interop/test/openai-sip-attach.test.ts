/**
 * Attaching to an OpenAI SIP call by its id, held against the `openai` SDK's own sideband
 * connection (`OpenAIRealtimeWS` with `callID`, and the URL builder behind it): the same URL
 * (`/v1/realtime?call_id=<id>`), and the same WebSocket upgrade request where it matters
 * (path, query, bearer key, no beta header), captured on a local server.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import OpenAI from 'openai';
import { buildRealtimeURL } from 'openai/realtime/internal-base';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAI_REALTIME_URL, OpenAISipTransport, openAIRealtimeCallUrl } from '@switchboard/sip';
import { waitUntil } from './support/wait.js';

const API_KEY = 'sk-interop-attach-0001';
const CALL_IDS = ['rtc_c3b9c0f2a1d24c7f', 'rtc_with space&and=equals', 'rtc_ü/?#'];

describe('the attach URL', () => {
  it("is the SDK's sideband URL for the same call id, on the default endpoint", () => {
    const client = new OpenAI({ apiKey: API_KEY });
    for (const callId of CALL_IDS) {
      expect(openAIRealtimeCallUrl(OPENAI_REALTIME_URL, callId)).toBe(
        buildRealtimeURL(client, { callID: callId }).toString(),
      );
    }
  });

  it("is the SDK's for an endpoint behind a proxy path with its own query, and replaces a call_id already there", () => {
    const client = new OpenAI({
      apiKey: API_KEY,
      baseURL: 'https://gateway.example.com/openai/v1?tenant=acme&call_id=stale',
    });
    const ours = openAIRealtimeCallUrl(
      'wss://gateway.example.com/openai/v1/realtime?tenant=acme&call_id=stale',
      'rtc_1',
    );
    expect(ours).toBe(buildRealtimeURL(client, { callID: 'rtc_1' }).toString());
  });
});

type Upgrade = { url: string; headers: IncomingMessage['headers'] };

/** Records WebSocket upgrade requests and refuses them (401), so that no session starts. */
async function startUpgradeCapture(): Promise<{ server: Server; port: number; upgrades: Upgrade[] }> {
  const upgrades: Upgrade[] = [];
  const server = createServer((_req, res) => {
    res.writeHead(404).end();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, upgrades };
}

describe('the WebSocket upgrade request', () => {
  let capture: Awaited<ReturnType<typeof startUpgradeCapture>>;
  beforeAll(async () => {
    capture = await startUpgradeCapture();
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      capture.server.close(() => resolve());
      capture.server.closeAllConnections();
    });
  });

  it("OpenAISipTransport asks for what the openai SDK's OpenAIRealtimeWS({ callID }) asks for", async () => {
    const callId = 'rtc_upgrade_1';
    // The SDK only builds wss:// URLs; its socket is handed a plain TCP connection to the capture
    // server instead (the ws library's createConnection option), so the request is the same.
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `https://127.0.0.1:${capture.port}/v1` });
    const sdkSocket = new OpenAIRealtimeWS(
      { callID: callId, options: { createConnection: () => netConnect(capture.port, '127.0.0.1') } },
      client,
    );
    const sdkErrors: unknown[] = [];
    sdkSocket.on('error', (error) => sdkErrors.push(error));
    await waitUntil("the SDK's upgrade request", () => capture.upgrades.length === 1);
    await waitUntil(
      'the SDK socket to give up',
      () => sdkErrors.length > 0 || sdkSocket.socket.readyState === sdkSocket.socket.CLOSED,
    );

    const transport = new OpenAISipTransport({ url: `ws://127.0.0.1:${capture.port}/v1/realtime` });
    transport.on('error', () => undefined);
    await expect(transport.connect({ apiKey: API_KEY, callId })).rejects.toBeDefined();
    await waitUntil('our upgrade request', () => capture.upgrades.length === 2);
    transport.close();

    const [theirs, ours] = capture.upgrades as [Upgrade, Upgrade];
    expect(ours.url).toBe(theirs.url);
    expect(ours.url).toBe(`/v1/realtime?call_id=${callId}`);
    expect(ours.headers['authorization']).toBe(theirs.headers['authorization']);
    expect(ours.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    // The GA interface: neither sends the beta header, nor a subprotocol carrying the key.
    expect(theirs.headers['openai-beta']).toBeUndefined();
    expect(ours.headers['openai-beta']).toBeUndefined();
    expect(ours.headers['sec-websocket-protocol']).toBe(theirs.headers['sec-websocket-protocol']);
    expect(ours.headers['upgrade']?.toLowerCase()).toBe('websocket');
    expect(ours.headers['sec-websocket-version']).toBe(theirs.headers['sec-websocket-version']);
    // Where they differ, harmlessly: the user agent (each SDK names itself; the agents SDK adds
    // x-openai-agents-sdk), and compression: the openai SDK turns permessage-deflate off, the
    // agents SDK's socket offers it (the server may decline an offered extension).
    expect(theirs.headers['sec-websocket-extensions']).toBeUndefined();
    expect(ours.headers['sec-websocket-extensions'] ?? 'permessage-deflate').toMatch(/^permessage-deflate/);
  });
});
