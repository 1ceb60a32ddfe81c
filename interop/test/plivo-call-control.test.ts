/**
 * `PlivoCallControl` against the `plivo` SDK: both clients send hang-up, transfer and DTMF to one
 * local HTTP server, and the requests must agree on what Plivo reads (method, path, Basic
 * authorization, content type, the JSON body).
 *
 * The SDK sends its call requests to a fixed `https://api.plivo.com/v1/Account/` (its `url`
 * option does not apply to them), through its own copy of axios. The test reaches that copy and
 * gives it an adapter that sends the same request to the local server instead: only the origin
 * changes, method, path, headers and body are the SDK's own.
 */
import { createRequire } from 'node:module';
import plivo from 'plivo';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallControlError } from '@switchboard/core';
import { PlivoCallControl } from '@switchboard/plivo';
import { apiView, sdkThenOurs, startHttpCapture, type HttpCapture } from './support/http-capture.js';

const AUTH_ID = 'MAXXXXXXXXXXXXXXXXXX';
const AUTH_TOKEN = 'ZWI3ZGU0ZjM2NTljZTk1ZWE5NGE0OGE0MDBiNDE3';
const CALL = '97ceeb52-58b6-11e1-86da-77300b68f8bb';
const PLIVO_ORIGIN = 'https://api.plivo.com';

type AxiosConfig = { url?: string };
/** The SDK's type wants the B-leg fields too, which its code treats as optional. */
type TransferParams = Parameters<InstanceType<typeof plivo.Client>['calls']['transfer']>[1];
type Adapter = (config: AxiosConfig) => Promise<unknown>;
type AxiosLike = { defaults: { adapter?: unknown }; getAdapter(name: string): Adapter };

let server: HttpCapture;
let axios: AxiosLike;
let previousAdapter: unknown;
let sdk: InstanceType<typeof plivo.Client>;
let ours: PlivoCallControl;

beforeAll(async () => {
  server = await startHttpCapture();
  const fromPlivo = createRequire(createRequire(import.meta.url).resolve('plivo'));
  axios = fromPlivo('axios') as AxiosLike;
  const http = axios.getAdapter('http');
  previousAdapter = axios.defaults.adapter;
  axios.defaults.adapter = (config: AxiosConfig) => {
    const url = String(config.url ?? '');
    if (!url.startsWith(PLIVO_ORIGIN)) throw new Error(`unexpected request to ${url}`);
    return http({ ...config, url: server.url + url.slice(PLIVO_ORIGIN.length) });
  };
  sdk = new plivo.Client(AUTH_ID, AUTH_TOKEN);
  ours = new PlivoCallControl({ authId: AUTH_ID, authToken: AUTH_TOKEN, baseUrl: server.url });
});
afterAll(async () => {
  if (axios) axios.defaults.adapter = previousAdapter;
  await server?.close();
});
beforeEach(() => {
  server.clear();
  server.respond({ status: 202, body: { api_id: 'a1b2', message: 'call transferred' } });
});

/** What Plivo reads from a request. */
const wire = apiView;

/** Runs the SDK's request, then ours, and returns both as Plivo reads them. */
async function both(viaSdk: () => Promise<unknown>, viaOurs: () => Promise<unknown>) {
  const [theirs, mine] = await sdkThenOurs(server, viaSdk, viaOurs);
  return { sdk: wire(theirs), ours: wire(mine) };
}

describe('PlivoCallControl against plivo (SDK) calls', () => {
  it('transfer: the same request (legs, aleg_url, aleg_method as JSON)', async () => {
    const { sdk: a, ours: b } = await both(
      () =>
        sdk.calls.transfer(CALL, {
          legs: 'aleg',
          alegUrl: 'https://agent.example.com/plivo/queue.xml',
          alegMethod: 'POST',
        } as TransferParams),
      () => ours.transfer(CALL, { url: 'https://agent.example.com/plivo/queue.xml' }),
    );
    expect(b).toEqual(a);
    expect(a).toEqual({
      method: 'POST',
      target: `/v1/Account/${AUTH_ID}/Call/${CALL}/`,
      authorization: `Basic ${Buffer.from(`${AUTH_ID}:${AUTH_TOKEN}`).toString('base64')}`,
      contentType: 'application/json',
      body: { legs: 'aleg', aleg_url: 'https://agent.example.com/plivo/queue.xml', aleg_method: 'POST' },
    });
    server.clear();
    const get = await both(
      () =>
        sdk.calls.transfer(CALL, {
          legs: 'aleg',
          alegUrl: 'https://agent.example.com/q',
          alegMethod: 'GET',
        } as TransferParams),
      () => ours.transfer(CALL, { url: 'https://agent.example.com/q', method: 'GET' }),
    );
    expect(get.ours).toEqual(get.sdk);
  });

  it('DTMF: the same request, on either leg', async () => {
    for (const leg of ['aleg', 'bleg'] as const) {
      server.clear();
      const { sdk: a, ours: b } = await both(
        () => sdk.calls.sendDigits(CALL, '12w3#', { leg }),
        () => ours.sendDtmf(CALL, '12w3#', { leg }),
      );
      expect(b).toEqual(a);
      expect(a).toMatchObject({
        method: 'POST',
        target: `/v1/Account/${AUTH_ID}/Call/${CALL}/DTMF/`,
        body: { digits: '12w3#', leg },
      });
    }
  });

  it('hang-up: the same method, path and authorization; the SDK sends an empty JSON object as body, we send none — on purpose', async () => {
    server.respond({ status: 204, body: '' });
    const { sdk: a, ours: b } = await both(
      () => sdk.calls.hangup(CALL),
      () => ours.hangup(CALL),
    );
    expect({ method: b.method, target: b.target, authorization: b.authorization }).toEqual({
      method: a.method,
      target: a.target,
      authorization: a.authorization,
    });
    expect(a.target).toBe(`/v1/Account/${AUTH_ID}/Call/${CALL}/`);
    // A DELETE carries nothing for Plivo to read: the SDK's `{}` (with a JSON content type) and no
    // body at all ask for the same thing.
    expect(a).toMatchObject({ method: 'DELETE', contentType: 'application/json', body: {} });
    expect(b).toMatchObject({ method: 'DELETE', contentType: undefined, body: undefined });
  });

  it('a call that is no longer live (404): the SDK rejects, we resolve alreadyEnded — on purpose; other errors reject in both', async () => {
    // Hanging up a call the caller already left is the normal end of most calls.
    server.respond({ status: 404, body: { api_id: 'a1b2', error: 'not found' } });
    await expect(sdk.calls.hangup(CALL)).rejects.toBeTruthy();
    await expect(ours.hangup(CALL)).resolves.toEqual({ alreadyEnded: true });
    const [theirs, mine] = await server.waitForRequests(2);
    expect(wire(mine!).target).toBe(wire(theirs!).target);

    server.clear();
    server.respond({ status: 400, body: { api_id: 'a1b2', error: 'invalid digits' } });
    await expect(sdk.calls.sendDigits(CALL, '1', { leg: 'aleg' })).rejects.toBeTruthy();
    await expect(ours.sendDtmf(CALL, '1')).rejects.toBeInstanceOf(CallControlError);
  });

  it('new call with machine detection: the same request as calls.create (from, to, answer_url, machine_detection*)', async () => {
    server.respond({
      status: 201,
      body: { api_id: 'a1b2', message: 'call fired', request_uuid: '9834029e-58b6-11e1-b8b7-a5bd0e4e126f' },
    });
    const { sdk: a, ours: b } = await both(
      () =>
        sdk.calls.create('14155550100', '14155550123', 'https://agent.example.com/plivo/answer', {
          answerMethod: 'POST',
          machineDetection: 'true',
          machineDetectionTime: 4000,
          machineDetectionUrl: 'https://agent.example.com/plivo/amd',
          machineDetectionMethod: 'POST',
          ringTimeout: 30,
        }),
      () =>
        ours.createCall({
          from: '+14155550100',
          to: '+14155550123',
          answerUrl: 'https://agent.example.com/plivo/answer',
          answerMethod: 'POST',
          machineDetection: 'true',
          machineDetectionTime: 4000,
          machineDetectionUrl: 'https://agent.example.com/plivo/amd',
          machineDetectionMethod: 'POST',
          ringTimeout: 30,
        }),
    );
    expect(b).toEqual(a);
    expect(a).toMatchObject({
      method: 'POST',
      target: `/v1/Account/${AUTH_ID}/Call/`,
      contentType: 'application/json',
      body: {
        from: '14155550100',
        to: '14155550123',
        answer_url: 'https://agent.example.com/plivo/answer',
        machine_detection: 'true',
        machine_detection_time: 4000,
      },
    });
  });

  it('new call to several targets with SIP headers: the same request as calls.create', async () => {
    server.respond({ status: 201, body: { api_id: 'a1b2', message: 'call fired', request_uuid: 'r' } });
    const { sdk: a, ours: b } = await both(
      () =>
        // The SDK's typings want one string (its documented `<`-separated list); it joins an array the same way.
        sdk.calls.create('14155550100', '14155550123<sip:agent@phone.plivo.com', 'https://a.example.com/x', {
          sipHeaders: 'Campaign=spring,Ref=A1',
          machineDetection: 'hangup',
        }),
      () =>
        ours.createCall({
          from: '14155550100',
          to: ['14155550123', 'sip:agent@phone.plivo.com'],
          answerUrl: 'https://a.example.com/x',
          sipHeaders: { Campaign: 'spring', Ref: 'A1' },
          machineDetection: 'hangup',
        }),
    );
    expect(b).toEqual(a);
    expect(a.body).toMatchObject({
      to: '14155550123<sip:agent@phone.plivo.com',
      sip_headers: 'Campaign=spring,Ref=A1',
    });
  });
});
