import { createPublicKey, createVerify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CallControlError, ConfigError } from '@switchboard/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VonageCallControl, connectWebSocketNcco, talkAction } from '../src/index.js';
import { rsaKeyPair } from './helpers.js';

const keys = rsaKeyPair();
const APP = 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab';
const CALL = '63f61863-4a51-4f6b-86e1-46edebcf9356';

type Seen = { method: string; path: string; authorization: string; contentType: string; body: unknown };
const seen: Seen[] = [];
let reply: (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: text ? JSON.parse(text) : undefined,
      });
      reply(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen.length = 0;
  reply = (req, res) => {
    if (req.url?.endsWith('/dtmf')) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: 'DTMF sent', uuid: CALL }));
    } else {
      res.writeHead(204).end();
    }
  };
});

const controls = (extra: Partial<ConstructorParameters<typeof VonageCallControl>[0]> = {}) =>
  new VonageCallControl({ applicationId: APP, privateKey: keys.privateKey, baseUrl, ...extra });

/** The bearer token verifies with the application's public key and carries the application's claims. */
function checkToken(authorization: string): Record<string, unknown> {
  const match = /^Bearer (.+)$/.exec(authorization);
  expect(match).not.toBeNull();
  const [header, payload, signature] = match![1]!.split('.');
  const ok = createVerify('RSA-SHA256')
    .update(`${header}.${payload}`)
    .verify(createPublicKey(keys.publicKey), Buffer.from(signature!, 'base64url'));
  expect(ok).toBe(true);
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
  expect(claims).toMatchObject({
    application_id: APP,
    iat: expect.any(Number),
    exp: expect.any(Number),
    jti: expect.any(String),
  });
  return claims;
}

describe('VonageCallControl', () => {
  it('hangs up with PUT /v1/calls/{uuid} {"action":"hangup"} and an application JWT', async () => {
    expect(await controls().hangup(CALL)).toEqual({ alreadyEnded: false });
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request).toMatchObject({
      method: 'PUT',
      path: `/v1/calls/${CALL}`,
      contentType: 'application/json',
      body: { action: 'hangup' },
    });
    checkToken(request!.authorization);
  });

  it('transfers to an NCCO, to an NCCO URL, or to a number or SIP URI', async () => {
    const calls = controls();
    const ncco = [
      talkAction('Transferring you.'),
      { action: 'connect', endpoint: [{ type: 'phone', number: '447700900002' }] },
    ];
    await calls.transfer(CALL, { ncco });
    await calls.transfer(CALL, { url: 'https://example.com/ncco.json' });
    await calls.transfer(CALL, { to: '+447700900002', from: '+447700900000' });
    await calls.transfer(CALL, { to: 'sip:agent@pbx.example.com' });
    expect(seen.map((s) => [s.method, s.path])).toEqual(Array(4).fill(['PUT', `/v1/calls/${CALL}`]));
    expect(seen.map((s) => s.body)).toEqual([
      { action: 'transfer', destination: { type: 'ncco', ncco } },
      { action: 'transfer', destination: { type: 'ncco', url: ['https://example.com/ncco.json'] } },
      {
        action: 'transfer',
        destination: {
          type: 'ncco',
          ncco: [{ action: 'connect', endpoint: [{ type: 'phone', number: '447700900002' }], from: '447700900000' }],
        },
      },
      {
        action: 'transfer',
        destination: {
          type: 'ncco',
          ncco: [{ action: 'connect', endpoint: [{ type: 'sip', uri: 'sip:agent@pbx.example.com' }] }],
        },
      },
    ]);
    // A fresh token per request.
    const jtis = seen.map((s) => checkToken(s.authorization)['jti']);
    expect(new Set(jtis).size).toBe(4);
  });

  it('plays DTMF with PUT /v1/calls/{uuid}/dtmf {"digits":…}', async () => {
    expect(await controls().sendDtmf(CALL, '1713#')).toEqual({ alreadyEnded: false });
    expect(seen[0]).toMatchObject({ method: 'PUT', path: `/v1/calls/${CALL}/dtmf`, body: { digits: '1713#' } });
    checkToken(seen[0]!.authorization);
    expect((await controls().update(CALL, { action: 'mute' })).alreadyEnded).toBe(false);
    expect(seen[1]!.body).toEqual({ action: 'mute' });
  });

  it('resolves as already ended on 404, or on a refusal saying the call is completed', async () => {
    reply = (_req, res) =>
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ type: 'https://developer.nexmo.com/api-errors#not-found', title: 'Not Found' }));
    expect(await controls().hangup(CALL)).toEqual({ alreadyEnded: true });
    expect(await controls().sendDtmf(CALL, '1')).toEqual({ alreadyEnded: true });
    reply = (_req, res) =>
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ title: 'Bad Request', detail: 'The call is already completed' }));
    expect(await controls().hangup(CALL)).toEqual({ alreadyEnded: true });
  });

  it('throws a CallControlError with the status and Vonage’s error, never the key or the token', async () => {
    reply = (_req, res) =>
      res.writeHead(401, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          type: 'https://developer.nexmo.com/api-errors#unauthorized',
          title: 'Unauthorized',
          detail: 'Invalid token',
        }),
      );
    const error = (await controls()
      .hangup(CALL)
      .catch((e: unknown) => e)) as CallControlError;
    expect(error).toBeInstanceOf(CallControlError);
    expect(error.status).toBe(401);
    expect(error.providerCode).toBe('https://developer.nexmo.com/api-errors#unauthorized');
    expect(error.message).toContain('Unauthorized: Invalid token');
    expect(error.message).not.toContain(seen[0]!.authorization.slice(7, 40));
    expect(error.message).not.toMatch(/PRIVATE KEY/);
    reply = (_req, res) =>
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ title: 'Bad Request', detail: 'Invalid digits' }));
    await expect(controls().sendDtmf(CALL, '1')).rejects.toMatchObject({ status: 400 });
  });

  it('times out a request that hangs, as a CallControlError', async () => {
    reply = () => undefined; // never answers
    const error = await controls({ timeoutMs: 50 })
      .hangup(CALL)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallControlError);
    expect((error as Error).message).toMatch(/timed out after 50 ms/);
  });

  it('uses the injected fetch and https://api.nexmo.com by default', async () => {
    const urls: string[] = [];
    const calls = new VonageCallControl({
      applicationId: APP,
      privateKey: keys.privateKey,
      fetch: async (input) => {
        urls.push(String(input));
        return new Response(null, { status: 204 });
      },
    });
    await calls.hangup(CALL);
    expect(urls).toEqual([`https://api.nexmo.com/v1/calls/${CALL}`]);
  });

  it('refuses bad options and arguments with a ConfigError before any request', async () => {
    expect(() => new VonageCallControl({ applicationId: '', privateKey: keys.privateKey })).toThrow(ConfigError);
    expect(() => new VonageCallControl({ applicationId: APP, privateKey: '' })).toThrow(ConfigError);
    expect(() => controls({ baseUrl: 'api.nexmo.com' })).toThrow(ConfigError);
    expect(() => controls({ timeoutMs: 0 })).toThrow(ConfigError);
    await expect(controls().hangup('../accounts')).rejects.toBeInstanceOf(ConfigError);
    await expect(controls().sendDtmf(CALL, '12x')).rejects.toBeInstanceOf(ConfigError);
    await expect(controls().transfer(CALL, { ncco: [] })).rejects.toBeInstanceOf(ConfigError);
    await expect(controls().transfer(CALL, { ncco: [{ text: 'no action' }] })).rejects.toBeInstanceOf(ConfigError);
    await expect(
      controls().transfer(CALL, { ncco: [{ action: 'talk', text: 'hi' }, null as unknown as { action: string }] }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(controls().transfer(CALL, { url: 'ftp://x' })).rejects.toBeInstanceOf(ConfigError);
    await expect(controls({ privateKey: 'nope' }).hangup(CALL)).rejects.toBeInstanceOf(ConfigError);
    expect(() => new VonageCallControl({ applicationId: APP, privateKey: new Uint8Array(0) })).toThrow(ConfigError);
    expect(() => new VonageCallControl({ applicationId: APP, privateKey: { pem: 'x' } as unknown as string })).toThrow(
      ConfigError,
    );
    expect(seen).toHaveLength(0);
  });

  it('takes the private key file as bytes, as the Vonage SDK does', async () => {
    await controls({ privateKey: Buffer.from(keys.privateKey) }).hangup(CALL);
    expect(seen).toHaveLength(1);
  });
});

describe('VonageCallControl.createCall', () => {
  const created = { uuid: CALL, status: 'started', direction: 'outbound', conversation_uuid: 'CON-1' };
  const replyCreated = () => {
    reply = (_req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(created));
  };

  it('places a call with POST /v1/calls, an answer URL and advanced machine detection', async () => {
    replyCreated();
    const result = await controls().createCall({
      to: '+447700900001',
      from: '+447700900000',
      answerUrl: 'https://agent.example.com/vonage/answer',
      eventUrl: 'https://agent.example.com/vonage/event',
      eventMethod: 'POST',
      advancedMachineDetection: { behavior: 'continue', mode: 'detect_beep', beep_timeout: 45 },
      ringingTimer: 30,
    });
    expect(result).toMatchObject({ uuid: CALL, status: 'started', direction: 'outbound', conversationUuid: 'CON-1' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/v1/calls', contentType: 'application/json' });
    expect(seen[0]!.body).toEqual({
      to: [{ type: 'phone', number: '447700900001' }],
      from: { type: 'phone', number: '447700900000' },
      answer_url: ['https://agent.example.com/vonage/answer'],
      event_url: ['https://agent.example.com/vonage/event'],
      event_method: 'POST',
      advanced_machine_detection: { behavior: 'continue', mode: 'detect_beep', beep_timeout: 45 },
      ringing_timer: 30,
    });
    checkToken(seen[0]!.authorization);
  });

  it('places a call that runs an NCCO connecting it to the media WebSocket, to a SIP URI too', async () => {
    replyCreated();
    const ncco = connectWebSocketNcco({ uri: 'wss://agent.example.com/media', headers: { campaign: 'spring' } });
    await controls().createCall({
      to: 'sip:alice@pbx.example.com',
      from: '447700900000',
      ncco,
      machineDetection: 'hangup',
    });
    expect(seen[0]!.body).toEqual({
      to: [{ type: 'sip', uri: 'sip:alice@pbx.example.com' }],
      from: { type: 'phone', number: '447700900000' },
      ncco,
      machine_detection: 'hangup',
    });
  });

  it('rejects a refused call (even a 404) as a CallControlError', async () => {
    reply = (_req, res) =>
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ title: 'Not found' }));
    const error = await controls()
      .createCall({ to: '447700900001', from: '447700900000', answerUrl: 'https://a.example.com/' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallControlError);
    expect((error as CallControlError).status).toBe(404);
  });

  it('refuses options Vonage would refuse, before any request', async () => {
    const base = { to: '447700900001', from: '447700900000', answerUrl: 'https://a.example.com/' };
    const bad: Array<Parameters<VonageCallControl['createCall']>[0]> = [
      { ...base, to: 'nobody' },
      { ...base, from: 'sip:me@example.com' },
      { to: base.to, from: base.from },
      { ...base, ncco: [talkAction('hi')] },
      { to: base.to, from: base.from, ncco: [] },
      { ...base, answerUrl: 'wss://a.example.com/' },
      { ...base, machineDetection: 'detect' as 'hangup' },
      { ...base, advancedMachineDetection: { behavior: 'stop' as 'hangup' } },
      { ...base, advancedMachineDetection: { behavior: 'continue', mode: 'beep' as 'detect' } },
      { ...base, advancedMachineDetection: { behavior: 'continue', beep_timeout: 30 } },
      { ...base, ringingTimer: 121 },
    ];
    for (const options of bad) await expect(controls().createCall(options)).rejects.toThrow(ConfigError);
    expect(seen).toHaveLength(0);
  });
});
