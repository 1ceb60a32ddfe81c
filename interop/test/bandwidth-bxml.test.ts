/**
 * `@switchboard/bandwidth` against Bandwidth's Node SDK (`bandwidth-sdk`): its BXML classes
 * build the documents our builders write (compared as XML trees: attribute order, quoting and the
 * declaration do not matter), and its `CallsApi.updateCall` sends the hang-up and redirect that
 * `BandwidthCallControl` sends (method, path, authorization, JSON body) to a local HTTP server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Bxml, CallsApi, Configuration } from 'bandwidth-sdk';
import {
  BandwidthCallControl,
  bandwidthStreamBxml,
  bandwidthTransferBxml,
  bxmlResponse,
  bxmlStartStream,
} from '@switchboard/bandwidth';
import { onlySdkThenOurs, useHttpCapture, type CapturedRequest } from './support/http-capture.js';
import { parseXml } from './support/xml-tree.js';

const URL_WSS = 'wss://agent.example.com/media?tenant=a&b=1';

function sameXml(ours: string, sdk: string): void {
  expect(parseXml(ours)).toEqual(parseXml(sdk));
}

describe('BXML: bandwidth-sdk classes and our builders write the same documents', () => {
  it('StartStream with params, credentials and an event URL, alone and in a Response', () => {
    const ours = bxmlStartStream({
      url: URL_WSS,
      name: 'agent-1',
      tracks: 'both',
      params: { tenant: 'a&b', lang: 'fr "FR"' },
      username: 'user',
      password: 'p<a>ss',
      eventUrl: 'https://app.example.com/stream-events',
      eventMethod: 'GET',
    });
    const sdk = new Bxml.StartStream(
      {
        name: 'agent-1',
        mode: 'bidirectional',
        tracks: 'both',
        destination: URL_WSS,
        destinationUsername: 'user',
        destinationPassword: 'p<a>ss',
        streamEventUrl: 'https://app.example.com/stream-events',
        streamEventMethod: 'GET',
      },
      [
        new Bxml.StreamParam({ name: 'tenant', value: 'a&b' }),
        new Bxml.StreamParam({ name: 'lang', value: 'fr "FR"' }),
      ],
    );
    sameXml(bxmlResponse(ours), new Bxml.Response(sdk).toBxml());
  });

  it('the default stream document: StartStream (inbound) held by StopStream wait="true"', () => {
    const ours = bandwidthStreamBxml({ url: URL_WSS });
    const sdk = new Bxml.Response([
      new Bxml.StartStream({ name: 'agent', mode: 'bidirectional', tracks: 'inbound', destination: URL_WSS }),
      new Bxml.StopStream({ name: 'agent', wait: true }),
    ]).toBxml();
    sameXml(ours, sdk);
    expect(parseXml(ours).children).toHaveLength(2);
  });

  it('hold: false ends the document after StartStream', () => {
    const sdk = new Bxml.Response(
      new Bxml.StartStream({ name: 'agent', mode: 'bidirectional', tracks: 'inbound', destination: URL_WSS }),
    ).toBxml();
    sameXml(bandwidthStreamBxml({ url: URL_WSS, hold: false }), sdk);
  });

  it('Transfer to a number, with caller id and timeout, and to a SIP URI', () => {
    sameXml(
      bandwidthTransferBxml({ to: '+19195551234', callerId: '+19195550000', timeoutSeconds: 25 }),
      new Bxml.Response(
        new Bxml.Transfer({ transferCallerId: '+19195550000', callTimeout: 25 }, new Bxml.PhoneNumber('+19195551234')),
      ).toBxml(),
    );
    sameXml(
      bandwidthTransferBxml({ to: 'sip:agent@pbx.example.com' }),
      new Bxml.Response(new Bxml.Transfer({}, new Bxml.SipUri('sip:agent@pbx.example.com'))).toBxml(),
    );
  });
});

const ACCOUNT = '9900000';
const USER = 'api-user';
const PASSWORD = 'api-p@ss:word';
const CALL = 'c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85';

const server = useHttpCapture({ beforeAll, afterAll, beforeEach }, { status: 200, body: '' });

function clients(): { sdk: CallsApi; ours: BandwidthCallControl } {
  const configuration = new Configuration({ username: USER, password: PASSWORD, basePath: server.url });
  return {
    sdk: new CallsApi(configuration, server.url),
    ours: new BandwidthCallControl({ accountId: ACCOUNT, username: USER, password: PASSWORD, baseUrl: server.url }),
  };
}

/** Runs the SDK's call, then ours, and returns the two requests the server received. */
const both = (viaSdk: () => Promise<unknown>, viaOurs: () => Promise<unknown>) =>
  onlySdkThenOurs(server, viaSdk, viaOurs);

function sameRequest(a: CapturedRequest, b: CapturedRequest): void {
  expect(b.method).toBe(a.method);
  expect(b.path).toBe(a.path);
  expect(b.query).toEqual(a.query);
  expect(b.headers['authorization']).toBe(a.headers['authorization']);
  expect(a.headers['content-type']).toMatch(/^application\/json/);
  expect(b.headers['content-type']).toMatch(/^application\/json/);
  expect(b.body).toEqual(a.body);
}

describe('BandwidthCallControl against bandwidth-sdk CallsApi.updateCall (basic auth)', () => {
  it('hang-up: the same request', async () => {
    const { sdk, ours } = clients();
    const { sdk: a, ours: b } = await both(
      () => sdk.updateCall(ACCOUNT, CALL, { state: 'completed' }),
      () => ours.hangup(CALL),
    );
    sameRequest(a, b);
    expect(a.method).toBe('POST');
    expect(a.path).toBe(`/accounts/${ACCOUNT}/calls/${CALL}`);
    expect(a.headers['authorization']).toBe(`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`);
    expect(a.body).toEqual({ state: 'completed' });
  });

  it('redirect: the same request', async () => {
    const { sdk, ours } = clients();
    const { sdk: a, ours: b } = await both(
      () =>
        sdk.updateCall(ACCOUNT, CALL, {
          state: 'active',
          redirectUrl: 'https://app.example.com/transfer',
          redirectMethod: 'POST',
          redirectFallbackUrl: 'https://backup.example.com/transfer',
          tag: 'agent-1',
        }),
      () =>
        ours.redirect(CALL, {
          url: 'https://app.example.com/transfer',
          method: 'POST',
          fallbackUrl: 'https://backup.example.com/transfer',
          tag: 'agent-1',
        }),
    );
    sameRequest(a, b);
  });
});
