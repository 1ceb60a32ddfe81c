/**
 * `TwilioCallControl` with `signalwireSpaceUrl` compared on the wire with SignalWire's official
 * `@signalwire/compatibility-api` REST client: both send real HTTP requests to a local server
 * (127.0.0.1); the library's own RequestClient is pointed there through its `httpClient` option.
 *
 * Where they differ, on purpose: the path prefix. SignalWire documents the Compatibility REST API
 * under `https://<space>/api/laml/2010-04-01/…`
 * (https://developer.signalwire.com/rest/compatibility-api/overview), and we send there; this
 * version of the library sends to `https://<space>/2010-04-01/…`. Everything after the prefix,
 * the Basic auth of Project ID and token, and every form field agree.
 */
// The package's exports map names no types, so TypeScript does not find its declarations.
// @ts-expect-error -- untyped under moduleResolution "bundler"; the shape used is declared below
import * as signalwireSdk from '@signalwire/compatibility-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TwilioCallControl, TwilioWarmTransfer, connectStreamCxml } from '@switchboard/twilio';
import { sdkThenOurs, useHttpCapture, type CapturedRequest } from './support/http-capture.js';
import { parseXml } from './support/xml-tree.js';

const PROJECT = 'b3a1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const TOKEN = 'PT9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const CALL = 'c0ffee00-1234-4abc-8def-0123456789ab';
const HUMAN = 'deadbeef-5678-4abc-9def-0123456789ab';
const SPACE = 'example.signalwire.com';

type RequestOpts = { uri: string; [key: string]: unknown };
type Client = {
  calls: ((sid: string) => { update(params: Record<string, unknown>): Promise<unknown> }) & {
    create(params: Record<string, unknown>): Promise<{ sid: string }>;
  };
};
/** The part of the library these tests use. */
type SignalWireCompatibility = {
  RestClient: ((project: string, token: string, options: Record<string, unknown>) => Client) & {
    RequestClient: new () => { request(opts: RequestOpts): Promise<unknown> };
  };
};
const { RestClient } = signalwireSdk as unknown as SignalWireCompatibility;

const server = useHttpCapture({ beforeAll, afterAll, beforeEach }, (request) =>
  request.path.endsWith('/Calls.json')
    ? { status: 201, body: { sid: HUMAN, status: 'queued' } }
    : { status: 200, body: { sid: CALL, status: 'in-progress' } },
);

/** The library with its own RequestClient, sending to the local server instead of the Space. */
function sdk(): Client {
  class LocalRequestClient extends RestClient.RequestClient {
    override request(opts: RequestOpts) {
      const target = new URL(opts.uri);
      return super.request({ ...opts, uri: `${server.url}${target.pathname}${target.search}` });
    }
  }
  return RestClient(PROJECT, TOKEN, { signalwireSpaceUrl: SPACE, httpClient: new LocalRequestClient() });
}

const ours = () =>
  new TwilioCallControl({ accountSid: PROJECT, authToken: TOKEN, signalwireSpaceUrl: SPACE, baseUrl: server.url });

function wire(request: CapturedRequest) {
  const { Twiml: _twiml, ...form } = (request.body ?? {}) as Record<string, unknown>;
  return {
    method: request.method,
    mediaType: (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(),
    authorization: request.headers['authorization'],
    form,
  };
}
const cxmlOf = (request: CapturedRequest) => parseXml((request.body as { Twiml: string }).Twiml);

describe('TwilioCallControl on SignalWire and the SignalWire library make the same requests', () => {
  it('a call whose media comes to the media route, with asynchronous machine detection', async () => {
    const twiml = connectStreamCxml({ url: 'wss://media.example.com/signalwire', codec: 'L16@16000h' });
    const [theirs, our] = await sdkThenOurs(
      server,
      () =>
        sdk().calls.create({
          to: '+15551230000',
          from: '+15559870000',
          twiml,
          machineDetection: 'DetectMessageEnd',
          asyncAmd: 'true',
          asyncAmdStatusCallback: 'https://app.example.com/amd',
          statusCallback: 'https://app.example.com/status',
          statusCallbackEvent: ['answered', 'completed'],
          timeout: 30,
        }),
      () =>
        ours().createCall({
          to: '+15551230000',
          from: '+15559870000',
          twiml,
          machineDetection: { mode: 'DetectMessageEnd', callbackUrl: 'https://app.example.com/amd' },
          statusCallback: 'https://app.example.com/status',
          statusCallbackEvents: ['answered', 'completed'],
          timeoutSeconds: 30,
        }),
    );
    expect(wire(our)).toEqual(wire(theirs));
    expect(cxmlOf(our)).toEqual(cxmlOf(theirs));
    expect(theirs.path).toBe(`/2010-04-01/Accounts/${PROJECT}/Calls.json`);
    expect(our.path).toBe(`/api/laml${theirs.path}`);
  });

  it('hang-up and a warm transfer’s hold: call updates of the same call', async () => {
    const [theirs, our] = await sdkThenOurs(
      server,
      () => sdk().calls(CALL).update({ status: 'completed' }),
      () => ours().hangup(CALL),
    );
    expect(wire(our)).toEqual(wire(theirs));
    expect(our.path).toBe(`/api/laml/2010-04-01/Accounts/${PROJECT}/Calls/${CALL}.json`);

    server.clear();
    const warm = new TwilioWarmTransfer({
      callControl: ours(),
      from: '+15559870000',
      statusCallback: 'https://app.example.com/warm',
    });
    const hold = warm.holdTwiml(CALL);
    await sdk().calls(CALL).update({ twiml: hold });
    await warm.start({ callSid: CALL, to: '+15557654321', summary: 'Billing question' });
    const [theirHold, ourHold, ourHuman] = await server.waitForRequests(3);
    expect(wire(ourHold!)).toEqual(wire(theirHold!));
    expect(cxmlOf(ourHold!)).toEqual(cxmlOf(theirHold!));
    expect(ourHuman!.path).toBe(`/api/laml/2010-04-01/Accounts/${PROJECT}/Calls.json`);
  });
});
