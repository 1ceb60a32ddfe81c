/**
 * Call control compared on the wire with the official `twilio` library: both clients talk to the
 * same local HTTP server (127.0.0.1), and the requests they make for the same operation must
 * agree in method, path, content type, Authorization and body fields.
 *
 * The library makes real HTTP requests through its own RequestClient; the only change is the
 * origin: a RequestClient whose request() sends `https://api.twilio.com/...` to the local server
 * instead (`httpClient` is a documented client option).
 *
 * DTMF: `TwilioCallControl` offers no helper for it. Twilio plays digits into a call only through
 * TwiML (`<Play digits>`), and replacing a call's TwiML ends its `<Connect><Stream>`, so the
 * agent would lose the call; `update()` with a `Twiml` of your own still does it, and makes the
 * same request as the library (checked below).
 */
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallControlError } from '@switchboard/core';
import { TwilioCallControl } from '@switchboard/twilio';
import { sdkThenOurs, useHttpCapture, type CapturedRequest } from './support/http-capture.js';
import { LocalRequestClient } from './support/twilio-client.js';
import { parseXml } from './support/xml-tree.js';

const ACCOUNT_SID = 'AC25e16e9a716a4a1786a7c83f58e30482';
const AUTH_TOKEN = 'b7e4c1d9a2f35e6c8d0a1b2c3d4e5f60';
const API_KEY_SID = 'SK0123456789abcdef0123456789abcdef';
const API_KEY_SECRET = 'apikeysecret0123456789';
const CALL_SID = 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701';
const CALL_RESOURCE = { sid: CALL_SID, account_sid: ACCOUNT_SID, status: 'completed' };

const server = useHttpCapture({ beforeAll, afterAll, beforeEach }, { status: 200, body: CALL_RESOURCE });

function sdkClient(auth: 'token' | 'apiKey' = 'token') {
  const httpClient = new LocalRequestClient(server.url);
  return auth === 'token'
    ? twilio(ACCOUNT_SID, AUTH_TOKEN, { httpClient })
    : twilio(API_KEY_SID, API_KEY_SECRET, { accountSid: ACCOUNT_SID, httpClient });
}

function ours(auth: 'token' | 'apiKey' = 'token') {
  return auth === 'token'
    ? new TwilioCallControl({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: server.url })
    : new TwilioCallControl({
        accountSid: ACCOUNT_SID,
        apiKeySid: API_KEY_SID,
        apiKeySecret: API_KEY_SECRET,
        baseUrl: server.url,
      });
}

/** What must agree: method, path, query, media type, Authorization, Accept, and the form fields. */
function wire(request: CapturedRequest) {
  return {
    method: request.method,
    path: request.path,
    query: request.query,
    mediaType: (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(),
    authorization: request.headers['authorization'],
    accept: request.headers['accept'],
    form: request.body,
  };
}

/** Runs the library's operation, then ours, and returns the two requests as the server saw them. */
const bothRequests = (sdk: () => Promise<unknown>, mine: () => Promise<unknown>) => sdkThenOurs(server, sdk, mine);

describe('TwilioCallControl and the twilio library make the same requests', () => {
  it('hang up: POST Status=completed to the call resource, Basic auth of account sid and token', async () => {
    const [theirs, our] = await bothRequests(
      () => sdkClient().calls(CALL_SID).update({ status: 'completed' }),
      () => ours().hangup(CALL_SID),
    );
    expect(wire(our)).toEqual(wire(theirs));
    expect(wire(our)).toMatchObject({
      method: 'POST',
      path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls/${CALL_SID}.json`,
      mediaType: 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`,
      form: { Status: 'completed' },
    });
  });

  it('hang up with an API key: Basic auth of the key pair, the account sid in the path', async () => {
    const [theirs, our] = await bothRequests(
      () => sdkClient('apiKey').calls(CALL_SID).update({ status: 'completed' }),
      () => ours('apiKey').hangup(CALL_SID),
    );
    expect(wire(our)).toEqual(wire(theirs));
    expect(our.headers['authorization']).toBe(
      `Basic ${Buffer.from(`${API_KEY_SID}:${API_KEY_SECRET}`).toString('base64')}`,
    );
  });

  it('transfer to a number: a Twiml update whose document matches the library’s VoiceResponse', async () => {
    const response = new twilio.twiml.VoiceResponse();
    response.dial({ callerId: '+15550001111' }, '+15551234567');
    const [theirs, our] = await bothRequests(
      () => sdkClient().calls(CALL_SID).update({ twiml: response }),
      () => ours().transfer(CALL_SID, { to: '+15551234567', callerId: '+15550001111' }),
    );
    const { form: theirForm, ...theirRest } = wire(theirs);
    const { form: ourForm, ...ourRest } = wire(our);
    expect(ourRest).toEqual(theirRest);
    expect(Object.keys(ourForm as object)).toEqual(['Twiml']);
    expect(Object.keys(theirForm as object)).toEqual(['Twiml']);
    // The library writes an XML declaration first; we do not. Compared as documents, they agree.
    expect(parseXml((ourForm as { Twiml: string }).Twiml)).toEqual(parseXml((theirForm as { Twiml: string }).Twiml));
  });

  it('transfer to a SIP URI: <Dial><Sip>', async () => {
    const response = new twilio.twiml.VoiceResponse();
    response.dial().sip('sip:agent@pbx.example.com;transport=tls');
    const [theirs, our] = await bothRequests(
      () => sdkClient().calls(CALL_SID).update({ twiml: response }),
      () => ours().transfer(CALL_SID, { to: 'sip:agent@pbx.example.com;transport=tls' }),
    );
    const twimlOf = (r: CapturedRequest) => parseXml((r.body as { Twiml: string }).Twiml);
    expect(twimlOf(our)).toEqual(twimlOf(theirs));
  });

  it('transfer with TwiML of your own: passed through as the Twiml field, byte for byte', async () => {
    const twiml = '<Response><Say voice="alice">Transferring &amp; goodbye</Say><Dial>+15551234567</Dial></Response>';
    const [theirs, our] = await bothRequests(
      () => sdkClient().calls(CALL_SID).update({ twiml }),
      () => ours().transfer(CALL_SID, { twiml }),
    );
    expect(wire(our)).toEqual(wire(theirs));
    expect(our.body).toEqual({ Twiml: twiml });
  });

  it('redirect to a URL: Url and Method through update()', async () => {
    const [theirs, our] = await bothRequests(
      () => sdkClient().calls(CALL_SID).update({ url: 'https://app.example.com/next?step=2', method: 'POST' }),
      () => ours().update(CALL_SID, { Url: 'https://app.example.com/next?step=2', Method: 'POST' }),
    );
    expect(wire(our)).toEqual(wire(theirs));
    expect(our.body).toEqual({ Url: 'https://app.example.com/next?step=2', Method: 'POST' });
  });

  it('DTMF through <Play digits> in a Twiml update (not a helper: it ends the media stream)', async () => {
    const response = new twilio.twiml.VoiceResponse();
    response.play({ digits: 'ww1234#' });
    const [theirs, our] = await bothRequests(
      () => sdkClient().calls(CALL_SID).update({ twiml: response }),
      () => ours().update(CALL_SID, { Twiml: '<Response><Play digits="ww1234#"/></Response>' }),
    );
    const twimlOf = (r: CapturedRequest) => parseXml((r.body as { Twiml: string }).Twiml);
    expect(twimlOf(our)).toEqual(twimlOf(theirs));
    expect(wire(our).path).toBe(wire(theirs).path);
  });
});

describe('where the answers differ on purpose', () => {
  it('a call that already ended (404, code 20404): the library throws, we resolve alreadyEnded', async () => {
    // Hanging up a call the caller already left is the normal end of a call, not an error.
    server.respond({
      status: 404,
      body: { code: 20404, message: 'The requested resource was not found', status: 404 },
    });
    const error = await sdkClient()
      .calls(CALL_SID)
      .update({ status: 'completed' })
      .catch((e: unknown) => e);
    expect((error as { code?: number; status?: number }).code).toBe(20404);
    expect((error as { status?: number }).status).toBe(404);
    await expect(ours().hangup(CALL_SID)).resolves.toEqual({ alreadyEnded: true });
    const [theirs, our] = await server.waitForRequests(2);
    expect(wire(our!)).toEqual(wire(theirs!));
  });

  it('other failures: both reject, ours as a CallControlError with the status and Twilio code', async () => {
    server.respond({ status: 400, body: { code: 21220, message: 'Invalid parameter', status: 400 } });
    const error = await sdkClient()
      .calls(CALL_SID)
      .update({ status: 'completed' })
      .catch((e: unknown) => e);
    expect((error as { code?: number }).code).toBe(21220);
    const ourError = await ours()
      .hangup(CALL_SID)
      .catch((e: unknown) => e);
    expect(ourError).toBeInstanceOf(CallControlError);
    expect(ourError).toMatchObject({ status: 400 });
    expect(String((ourError as Error).message)).not.toContain(AUTH_TOKEN);
  });
});
