/**
 * The fake Twilio answers like Twilio where the examples depend on it: Basic authentication,
 * Twilio's error bodies, a call's TwiML fetched with a valid signature, status callbacks signed.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { computeTwilioSignature } from '@switchboard/twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTwilio, parseTwiml, person, streamOf } from '../src/index.js';

const TOKEN = 'test-auth-token';

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A webhook receiver recording each request with whether its X-Twilio-Signature is valid. */
async function receiver(answer: (path: string) => { status: number; body: string }) {
  const seen: Array<{ path: string; params: Record<string, string>; signed: boolean }> = [];
  let base = '';
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      void computeTwilioSignature(TOKEN, `${base}${req.url}`, params).then((expected) => {
        seen.push({ path: req.url ?? '', params, signed: req.headers['x-twilio-signature'] === expected });
        const { status, body } = answer(req.url ?? '');
        res.writeHead(status, { 'content-type': 'text/xml' });
        res.end(body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { base, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function fake(): Promise<FakeTwilio> {
  const twilio = await FakeTwilio.start({
    authToken: TOKEN,
    answer: (to) => (to === '+15550000001' ? person('Hello?', []) : undefined),
    speed: 10,
  });
  cleanups.push(() => twilio.stop());
  return twilio;
}

function post(twilio: FakeTwilio, path: string, form: Record<string, string>, token = TOKEN) {
  return fetch(`${twilio.url}/2010-04-01/Accounts/${twilio.accountSid}/${path}`, {
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from(`${twilio.accountSid}:${token}`).toString('base64') },
    body: new URLSearchParams(form),
  });
}

describe('FakeTwilio', () => {
  it("refuses a wrong token and a call without To, with Twilio's error codes", async () => {
    const twilio = await fake();
    const denied = await post(
      twilio,
      'Calls.json',
      { To: '+15550000001', From: '+1555', Twiml: '<Response/>' },
      'nope',
    );
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ code: 20003 });
    const noTo = await post(twilio, 'Calls.json', { From: '+1555', Twiml: '<Response/>' });
    expect(noTo.status).toBe(400);
    expect(await noTo.json()).toMatchObject({ code: 21201 });
    const unknown = await post(twilio, `Calls/CA${'0'.repeat(31)}9.json`, { Status: 'completed' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 20404 });
  });

  it('fetches the TwiML of a call with a signed request, runs it and reports the end to StatusCallback, signed', async () => {
    const app = await receiver((path) =>
      path === '/twiml'
        ? { status: 200, body: '<?xml version="1.0"?><Response><Say>Hi &amp; bye</Say><Hangup/></Response>' }
        : { status: 204, body: '' },
    );
    cleanups.push(app.close);
    const twilio = await fake();
    const created = await post(twilio, 'Calls.json', {
      To: '+15550000001',
      From: '+15550000002',
      Url: `${app.base}/twiml`,
      StatusCallback: `${app.base}/status?leg=a`,
    });
    expect(created.status).toBe(201);
    const { sid } = (await created.json()) as { sid: string };
    await until(() => app.seen.some((r) => r.path === '/status?leg=a'), 'the status callback');
    expect(app.seen.map((r) => [r.path, r.signed])).toEqual([
      ['/twiml', true],
      ['/status?leg=a', true],
    ]);
    expect(app.seen[0]!.params).toMatchObject({ CallSid: sid, To: '+15550000001', CallStatus: 'in-progress' });
    expect(app.seen[1]!.params).toMatchObject({ CallSid: sid, CallStatus: 'completed' });
    expect(twilio.events.map((e) => e.text)).toContain('the person hears <Say>: "Hi & bye"');
  });

  it('a call nobody answers ends no-answer', async () => {
    const twilio = await fake();
    const created = await post(twilio, 'Calls.json', { To: '+15559999999', From: '+1555', Twiml: '<Response/>' });
    const { sid } = (await created.json()) as { sid: string };
    const leg = twilio.legs.get(sid)!;
    await leg.ended;
    expect(leg.status).toBe('no-answer');
  });
});

describe('parseTwiml', () => {
  it('reads a <Connect><Stream> with its parameters, entities decoded', () => {
    const response = parseTwiml(
      '<Response><Connect><Stream url="wss://x.example/media"><Parameter name="a" value="1 &lt; 2"/></Stream></Connect></Response>',
    );
    expect(streamOf(response.children[0]!)).toEqual({ url: 'wss://x.example/media', parameters: { a: '1 < 2' } });
  });

  it('refuses what is not one <Response>', () => {
    expect(() => parseTwiml('<Say>hi</Say>')).toThrow(/Response/);
    expect(() => parseTwiml('<Response><Say>hi</Response>')).toThrow();
  });
});
