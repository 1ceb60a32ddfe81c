/**
 * Local fakes for the OpenAI SIP tests: the Calls REST API and Standard Webhooks signing.
 * Everything listens on 127.0.0.1.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RealtimeCallIncomingWebhookEvent } from 'openai/resources/webhooks';
import { RealtimeSimulator } from '@switchboard/conformance';

export const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
export const API_KEY = 'sk-test-local-fake';

/**
 * The HMAC key of a signing secret, as OpenAI reads it: the base64 after `whsec_`, or (without
 * that prefix) the secret's own UTF-8 bytes.
 */
export function signingKey(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 over `${id}.${timestamp}.${body}`. */
export function sign(secret: string, id: string, timestamp: number | string, body: string): string {
  return `v1,${createHmac('sha256', signingKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export type SignedDelivery = { body: string; headers: Record<string, string> };

let deliveries = 0;

/** A `realtime.call.incoming` event, typed as the `openai` SDK declares it. */
export function incomingCallEvent(
  callId: string,
  sipHeaders: Array<{ name: string; value: string }> = defaultSipHeaders(),
  extra: Partial<RealtimeCallIncomingWebhookEvent.Data> & Record<string, unknown> = {},
): RealtimeCallIncomingWebhookEvent {
  return {
    object: 'event',
    id: `evt_${randomBytes(8).toString('hex')}`,
    type: 'realtime.call.incoming',
    created_at: Math.floor(Date.now() / 1000),
    data: { call_id: callId, sip_headers: sipHeaders, ...extra },
  };
}

export function defaultSipHeaders(): Array<{ name: string; value: string }> {
  return [
    { name: 'From', value: '"Alice Caller" <sip:+15551230001@pstn.example.net>;tag=a1b2' },
    { name: 'To', value: '<sip:+15559870002@sip.api.openai.com>' },
    { name: 'Call-ID', value: 'dlg-4f2a9c@10.0.0.7' },
    { name: 'X-Customer-Id', value: 'cust-42' },
    { name: 'x-campaign', value: 'spring' },
    { name: 'X-Customer-Id', value: 'ignored-second' },
    { name: 'User-Agent', value: 'TestTrunk/1.0' },
  ];
}

/** A signed delivery of `event`. `timestamp` defaults to now; `id` to a fresh `msg_…`. */
export function signedDelivery(
  event: unknown,
  options: { id?: string; timestamp?: number; secret?: string; body?: string } = {},
): SignedDelivery {
  const id = options.id ?? `msg_${++deliveries}_${randomBytes(6).toString('hex')}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const body = options.body ?? JSON.stringify(event);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': sign(options.secret ?? WEBHOOK_SECRET, id, timestamp, body),
    },
  };
}

export type RecordedRequest = {
  method: string;
  path: string;
  callId: string;
  operation: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
  rawBody: string;
};

type CallState = 'ringing' | 'accepted' | 'ended';

/**
 * The Calls REST API: `POST /v1/realtime/calls/{id}/accept|reject|refer|hangup`. It checks the
 * request shapes (400 with an OpenAI error body otherwise) and answers 404 for calls it does
 * not know or that ended.
 */
export class FakeOpenAICallsApi {
  readonly requests: RecordedRequest[] = [];
  readonly calls = new Map<string, CallState>();
  /** Statuses to answer the next requests with, before any checks. */
  readonly failures: number[] = [];
  /** Delay before answering, in ms. */
  delayMs = 0;
  #server: Server | null = null;
  #baseURL = '';

  get baseURL(): string {
    return this.#baseURL;
  }

  ring(callId: string): void {
    this.calls.set(callId, 'ringing');
  }

  requestsFor(operation: string): RecordedRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    return this.#baseURL;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const match = /^\/v1\/realtime\/calls\/([^/]+)\/(accept|reject|refer|hangup)$/.exec(req.url ?? '');
    let body: unknown;
    try {
      body = rawBody.length > 0 ? JSON.parse(rawBody) : undefined;
    } catch {
      body = Symbol.for('invalid-json');
    }
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      callId: match ? decodeURIComponent(match[1]!) : '',
      operation: match ? match[2]! : '',
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body,
      rawBody,
    };
    this.requests.push(record);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));

    const send = (status: number, payload?: unknown) => {
      const headers: Record<string, string> = { 'x-request-id': `req_fake_${this.requests.length}` };
      if (payload !== undefined) headers['content-type'] = 'application/json';
      res.writeHead(status, headers);
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    const error = (status: number, message: string, code: string | null = null) =>
      send(status, { error: { message, type: 'invalid_request_error', param: null, code } });

    const forced = this.failures.shift();
    if (forced !== undefined) return error(forced, `forced failure ${forced}`, 'forced');
    if (req.method !== 'POST' || !match) return error(404, `no route ${req.method} ${req.url}`);
    if (record.authorization !== `Bearer ${API_KEY}`)
      return error(401, 'Incorrect API key provided: sk-tes***ake', 'invalid_api_key');

    const state = this.calls.get(record.callId);
    if (state === undefined || state === 'ended')
      return error(404, `Call ${record.callId} not found`, 'call_not_found');

    const isObject = (v: unknown): v is Record<string, unknown> =>
      typeof v === 'object' && v !== null && !Array.isArray(v);
    switch (record.operation) {
      case 'accept': {
        if (!isObject(body) || body['type'] !== 'realtime') return error(400, "accept: 'type' must be 'realtime'");
        if (state !== 'ringing') return error(400, 'accept: the call was already answered', 'call_already_accepted');
        if (!String(record.contentType).includes('application/json')) return error(400, 'accept: expected JSON');
        this.calls.set(record.callId, 'accepted');
        return send(200);
      }
      case 'reject': {
        if (!isObject(body)) return error(400, 'reject: expected a JSON object');
        const keys = Object.keys(body);
        if (keys.some((k) => k !== 'status_code')) return error(400, `reject: unknown parameter ${keys.join(',')}`);
        if (body['status_code'] !== undefined && !Number.isInteger(body['status_code']))
          return error(400, 'reject: status_code must be an integer');
        if (state !== 'ringing') return error(400, 'reject: the call was already answered');
        this.calls.set(record.callId, 'ended');
        return send(200);
      }
      case 'refer': {
        if (!isObject(body) || typeof body['target_uri'] !== 'string' || !/^(tel|sips?):/.test(body['target_uri'])) {
          return error(400, 'refer: target_uri must be a tel: or sip: URI');
        }
        if (Object.keys(body).length !== 1) return error(400, 'refer: unknown parameter');
        if (state !== 'accepted') return error(400, 'refer: the call is not active');
        this.calls.set(record.callId, 'ended');
        return send(200);
      }
      case 'hangup': {
        if (rawBody.length > 0) return error(400, 'hangup takes no body');
        this.calls.set(record.callId, 'ended');
        return send(200);
      }
    }
    return error(404, 'not found');
  }
}

/** Waits until `predicate` is true (polling), or fails after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The realtime simulator (20× speed) and the fake Calls API for a test file: started before its
 * tests, stopped after them.
 */
export function useOpenAIFakes(hooks: {
  beforeAll(fn: () => Promise<void>): void;
  afterAll(fn: () => Promise<void>): void;
}): { simulator: RealtimeSimulator; api: FakeOpenAICallsApi } {
  const simulator = new RealtimeSimulator({ speed: 20 });
  const api = new FakeOpenAICallsApi();
  hooks.beforeAll(async () => {
    await simulator.start();
    await api.start();
  });
  hooks.afterAll(async () => {
    await simulator.stop();
    await api.stop();
  });
  return { simulator, api };
}
